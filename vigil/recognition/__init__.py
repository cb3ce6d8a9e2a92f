"""Face recognition as a service (`service.py`), and the change of embedding model that re-embeds every
enrolled photo and face sighting (`reembed.py`)."""

from vigil.recognition.service import FaceService, ImportReport, Match, decode_image

__all__ = ["FaceService", "ImportReport", "Match", "decode_image"]
