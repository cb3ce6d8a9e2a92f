"""Checks on the storage path, run before recording starts."""

from __future__ import annotations

import os
from pathlib import Path

from vigil.errors import StorageError


def check_storage(path: Path) -> None:
    """Create the path if needed and prove it takes a durable write, or say what to fix."""
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError as err:
        raise StorageError(
            f"storage.path {path}: cannot create it ({err.strerror}); create it, or set storage.path to a "
            "writable folder"
        ) from None
    probe = path / f".vigil-write-test-{os.getpid()}"
    try:
        fd = os.open(probe, os.O_CREAT | os.O_WRONLY | os.O_TRUNC, 0o600)
        try:
            os.write(fd, b"vigil")
            os.fsync(fd)
        finally:
            os.close(fd)
        probe.unlink()
    except OSError as err:
        raise StorageError(
            f"storage.path {path}: not writable ({err.strerror}); fix its permissions or free space, or choose "
            "another folder"
        ) from None
