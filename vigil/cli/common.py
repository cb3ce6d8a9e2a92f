"""The `vigil` command's root and what its command groups share: the --config option, loading, errors."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated, Any

import typer

from vigil.config import Config, load_config
from vigil.errors import VigilError
from vigil.log import setup_logging

app = typer.Typer(help="Vigil: an open-source AI network video recorder.", no_args_is_help=True,
                  pretty_exceptions_enable=False)


ConfigOpt = Annotated[
    Path | None, typer.Option("--config", "-c", help="vigil.yml (default: $VIGIL_CONFIG, else built-in defaults)")
]


def _fail(err: Exception) -> None:
    typer.echo(f"vigil: error: {err}", err=True)
    raise typer.Exit(2)


def _load(path: Path | None) -> Config:
    if path is None and os.environ.get("VIGIL_CONFIG"):
        path = Path(os.environ["VIGIL_CONFIG"])
    try:
        return load_config(path)
    except VigilError as err:
        _fail(err)
        raise AssertionError from None


def _catalog(config: Path | None) -> tuple[Config, Any]:
    from vigil.catalog.store import Catalog
    from vigil.secretbox import SecretBox

    cfg = _load(config)
    setup_logging("WARNING")
    try:
        cat = Catalog(cfg.catalog_url, SecretBox.load(cfg.key_file), cfg.node_id)
    except VigilError as err:
        _fail(err)
    try:
        cat.migrate()
    except VigilError as err:
        _fail(err)
    return cfg, cat


def _segment_files(cfg: Config, cat: Any) -> Any:
    """Segments as this node reads them: its own disk, and the bucket when storage.s3 is set."""
    from vigil.media.segment_files import SegmentFiles
    from vigil.objectstore import ObjectStore

    return SegmentFiles(cfg.storage.path, cat, ObjectStore(cfg.storage.s3) if cfg.storage.s3 else None)


def _ask_password(password: str | None) -> str:
    if password:
        return password
    return str(typer.prompt("Password", hide_input=True, confirmation_prompt=True))


def _faces(config: Path | None) -> Any:
    from vigil.recognition import FaceService

    cfg, cat = _catalog(config)
    cfg.storage.path.mkdir(parents=True, exist_ok=True)
    service = FaceService(cat, cfg.storage.path, cfg.analytics.faces)
    service.load()
    return service
