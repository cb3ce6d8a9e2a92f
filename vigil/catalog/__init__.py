"""The catalog: cameras, segments and events in SQL (SQLite by default, PostgreSQL by URL)."""

from vigil.catalog.rows import SegmentRow
from vigil.catalog.store import Catalog

__all__ = ["Catalog", "SegmentRow"]
