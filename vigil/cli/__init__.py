"""The `vigil` command: one module per command group; importing them registers their commands on `app`."""

from vigil.cli import backup, cameras, demo, faces, maintenance, recordings, serve, service, users
from vigil.cli.common import app

__all__ = ["app", "backup", "cameras", "demo", "faces", "main", "maintenance", "recordings", "serve", "service",
           "users"]


def main() -> None:
    app()
