"""The catalog: cameras, segments and events in SQL (SQLite by default, PostgreSQL by URL)."""

from vigil.catalog.store import Catalog, SegmentRow

__all__ = ["Catalog", "SegmentRow"]
