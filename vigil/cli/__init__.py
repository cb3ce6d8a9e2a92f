"""The `vigil` command: one module per command group; importing them registers their commands on `app`."""

from vigil.cli import cameras, demo, faces, maintenance, recordings, serve, users
from vigil.cli.common import app

__all__ = ["app", "cameras", "demo", "faces", "main", "maintenance", "recordings", "serve", "users"]


def main() -> None:
    app()
