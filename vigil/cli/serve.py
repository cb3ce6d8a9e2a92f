"""`vigil serve` and `vigil check`."""

from __future__ import annotations

import asyncio
import os
from pathlib import Path

import typer

from vigil.cli.common import ConfigOpt, _fail, _load, app
from vigil.errors import VigilError
from vigil.log import setup_logging


@app.command()
def serve(config: ConfigOpt = None) -> None:
    """Record the configured cameras and serve the API and web UI."""
    from vigil.app import serve as run

    cfg = _load(config)
    setup_logging(cfg.log_level)
    if config is None and os.environ.get("VIGIL_CONFIG"):
        config = Path(os.environ["VIGIL_CONFIG"])
    try:
        asyncio.run(run(cfg, config))
    except VigilError as err:
        _fail(err)
    except KeyboardInterrupt:
        pass


@app.command()
def check(config: ConfigOpt = None) -> None:
    """Validate a config file, the storage path and the detector settings, then exit."""
    from vigil.analytics.engines import check_engine
    from vigil.storage import check_storage

    cfg = _load(config)
    try:
        check_storage(cfg.storage.path)
        check_engine(cfg.analytics)
    except VigilError as err:
        _fail(err)
    typer.echo(f"config OK: {len(cfg.cameras)} camera(s), storage {cfg.storage.path}")
