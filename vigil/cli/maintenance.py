"""`vigil catalog rebuild|check` and `vigil models build`."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Annotated

import typer

from vigil.cli.common import ConfigOpt, _catalog, _fail, _load, app
from vigil.config.analytics import MODEL_DEFAULTS
from vigil.errors import VigilError
from vigil.log import setup_logging

catalog_app = typer.Typer(help="Maintain the catalog (the index of recordings).", no_args_is_help=True)
app.add_typer(catalog_app, name="catalog")


models_app = typer.Typer(help="Detection models: build the INT8 model.", no_args_is_help=True)
app.add_typer(models_app, name="models")


@catalog_app.command("rebuild")
def catalog_rebuild(config: ConfigOpt = None) -> None:
    """Recreate the segment index from the files on disk alone (Vigil must be stopped)."""
    from vigil.catalog.store import Catalog
    from vigil.recorder.recovery import rebuild

    cfg = _load(config)
    setup_logging("WARNING")
    cat = Catalog(cfg.catalog_url)
    try:
        cat.migrate()
        t = time.monotonic()
        n = rebuild(cat, cfg.storage.path)
    except VigilError as err:
        _fail(err)
        return
    typer.echo(f"indexed {n} segment(s) from {cfg.storage.path} in {time.monotonic() - t:.1f} s")


@catalog_app.command("check")
def catalog_check(
    config: ConfigOpt = None,
    repair: Annotated[bool, typer.Option("--repair", help="fix what can be fixed (best with Vigil stopped)")] = False,
) -> None:
    """Compare the index with the files: rows without files, files without rows, cut or damaged segments,
    overlapping segments. Exits 1 while a problem remains."""
    from vigil.recorder.fsck import check, repair_problem

    cfg, cat = _catalog(config)
    t = time.monotonic()
    problems = check(cat, cfg.storage.path)
    left = 0
    for p in problems:
        line = f"{p.kind:<14} {p.path}: {p.detail}"
        if repair and p.repairable:
            line += f" -> {repair_problem(cat, cfg.storage.path, p)}"
        else:
            left += 1
        typer.echo(line)
    rows = len(cat.segment_paths())
    typer.echo(f"checked {rows} segment row(s) and the files in {cfg.storage.path} in {time.monotonic() - t:.1f} s: "
               f"{len(problems)} problem(s)" + (f", {len(problems) - left} repaired" if repair else "")
               + ("; `vigil catalog check --repair` fixes what it can" if left and not repair else ""))
    if left:
        raise typer.Exit(1)


@models_app.command("build")
def models_build(
    out: Annotated[Path | None, typer.Option(help="where to write it (default: the models folder)")] = None,
    photos: Annotated[Path, typer.Option(help="calibration photographs (*.jpg)")] = Path("/usr/share/darknet/data"),
    video: Annotated[list[Path] | None, typer.Option(help="calibration footage (frames are sampled)")] = None,
    width: Annotated[int, typer.Option(help="the detector input width to calibrate at (analytics.input_width)")]
    = MODEL_DEFAULTS["yolov3-tiny"][1],
) -> None:
    """Build the INT8 detector (ONNX Runtime static quantization, calibrated on real pictures)."""
    from vigil.analytics.quantize import build_int8, calibration_pictures

    try:
        pictures = calibration_pictures(sorted(photos.glob("*.jpg")), [v for v in video or [] if v.exists()])
        path = build_int8(pictures, out, width=width)
    except VigilError as err:
        _fail(err)
        return
    typer.echo(f"INT8 model: {path} (calibrated on {len(pictures)} pictures)")
