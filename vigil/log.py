"""Structured logging: one line per event, key=value pairs."""

from __future__ import annotations

import logging
import sys
from typing import Any


def _fmt_value(value: Any) -> str:
    text = str(value)
    if not text or any(c in text for c in ' ="'):
        return '"' + text.replace('"', '\\"') + '"'
    return text


class Logger:
    """A thin wrapper that turns keyword arguments into key=value pairs."""

    def __init__(self, name: str) -> None:
        self._log = logging.getLogger(name)

    def _emit(self, level: int, event: str, fields: dict[str, Any], exc_info: bool = False) -> None:
        if self._log.isEnabledFor(level):
            parts = [f"event={event}"] + [f"{k}={_fmt_value(v)}" for k, v in fields.items()]
            self._log.log(level, " ".join(parts), exc_info=exc_info)

    def debug(self, event: str, **fields: Any) -> None:
        self._emit(logging.DEBUG, event, fields)

    def info(self, event: str, **fields: Any) -> None:
        self._emit(logging.INFO, event, fields)

    def warning(self, event: str, **fields: Any) -> None:
        self._emit(logging.WARNING, event, fields)

    def error(self, event: str, **fields: Any) -> None:
        self._emit(logging.ERROR, event, fields)

    def exception(self, event: str, **fields: Any) -> None:
        """An error with the traceback of the exception being handled (a bug to report)."""
        self._emit(logging.ERROR, event, fields, exc_info=True)


def get_logger(name: str) -> Logger:
    return Logger(name)


def setup_logging(level: str = "INFO") -> None:
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("ts=%(asctime)s level=%(levelname)s logger=%(name)s %(message)s"))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    # libav prints a line per RTP hiccup; its own errors reach us as exceptions.
    logging.getLogger("libav").setLevel(logging.ERROR)
