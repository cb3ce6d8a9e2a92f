"""`vigil backup` and `vigil restore`."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated

import typer

from vigil.cli.common import ConfigOpt, _fail, _load, app
from vigil.errors import VigilError


def _size(n: int) -> str:
    return f"{n / 1e6:.1f} MB" if n >= 1e5 else f"{n / 1e3:.1f} kB"


@app.command("backup")
def backup(
    file: Annotated[Path, typer.Argument(help="the archive to write (.tar.gz; .tar with --recordings)")],
    config: ConfigOpt = None,
    recordings: Annotated[bool, typer.Option("--recordings", help="also the recordings and event pictures")] = False,
) -> None:
    """Back up the catalog, config, key file and face photos (consistent while Vigil records)."""
    from vigil.services.backup import backup as run

    cfg = _load(config)
    if config is None and os.environ.get("VIGIL_CONFIG"):
        config = Path(os.environ["VIGIL_CONFIG"])
    try:
        s = run(cfg, config, file, recordings)
    except (VigilError, OSError) as err:
        _fail(err)
        return
    typer.echo(f"backed up the {s.catalog} catalog ({s.segments} segment row(s)) and {s.files} file(s) to "
               f"{s.archive} ({_size(s.bytes)}, {s.seconds:.1f} s); it holds the key to the camera passwords: keep it "
               "safe")


@app.command("restore")
def restore(
    file: Annotated[Path, typer.Argument(help="an archive written by `vigil backup`")],
    to: Annotated[Path, typer.Option(help="the folder to restore into (its vigil.yml; relative paths under it)")]
    = Path("."),
    force: Annotated[bool, typer.Option("--force", help="overwrite a catalog, key or files that exist")] = False,
) -> None:
    """Restore a backup (refuses to overwrite anything without --force); then `vigil serve -c <to>/vigil.yml`."""
    from vigil.services.backup import restore as run

    try:
        s = run(file, to.resolve(), force)
    except (VigilError, OSError) as err:
        _fail(err)
        return
    typer.echo(f"restored the {s.catalog} catalog ({s.segments} segment row(s)) and {s.files} file(s) "
               f"({_size(s.bytes)}) into {s.archive} in {s.seconds:.1f} s; start it with "
               f"`vigil serve --config {s.archive / 'vigil.yml'}`")
    if s.missing:
        typer.echo(f"note: {s.missing} segment row(s) name recordings that are not in the storage folder (the backup "
                   "was made without --recordings): put the recordings back first, or `vigil serve` drops those rows")
