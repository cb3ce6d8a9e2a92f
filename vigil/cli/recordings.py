"""`vigil search`, `vigil export` and `vigil nodes`."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Annotated, Any

import typer

from vigil.cli.common import ConfigOpt, _catalog, _fail, _segment_files, app
from vigil.errors import VigilError


def _when(text: str, now_ms: int) -> int:
    """"2h", "3d", "45m" ago, epoch ms, or ISO-8601 (UTC unless it says otherwise)."""
    from vigil.clock import parse_time

    units = {"m": 60_000, "h": 3_600_000, "d": 86_400_000}
    if text[:-1].isdigit() and text[-1:] in units:
        return now_ms - int(text[:-1]) * units[text[-1]]
    try:
        return parse_time(text)
    except ValueError as err:
        _fail(ValueError(f"{err} (or 2h / 3d / 45m ago)"))
        raise AssertionError from None


@app.command("search")
def search_cmd(
    config: ConfigOpt = None,
    since: Annotated[str, typer.Option(help="start: 2h / 3d ago, epoch ms or ISO-8601")] = "24h",
    until: Annotated[str | None, typer.Option(help="end (default: now)")] = None,
    camera: Annotated[list[str] | None, typer.Option(help="camera id (repeatable)")] = None,
    type_: Annotated[list[str] | None, typer.Option("--type", help="event type (repeatable)")] = None,
    rule: Annotated[list[str] | None, typer.Option(help="rule id (repeatable)")] = None,
    cls: Annotated[str | None, typer.Option("--class", help="person, car, …, human or vehicle")] = None,
    upper: Annotated[str | None, typer.Option(help="upper-body colour")] = None,
    lower: Annotated[str | None, typer.Option(help="lower-body colour")] = None,
    body: Annotated[str | None, typer.Option(help="vehicle colour")] = None,
    color: Annotated[str | None, typer.Option(help="any colour")] = None,
    plate: Annotated[str | None, typer.Option(help="plate; * any run, ? one character")] = None,
    person: Annotated[str | None, typer.Option(help="recognised person (part of the name)")] = None,
    gender: Annotated[str | None, typer.Option(help="female or male")] = None,
    sort: Annotated[str, typer.Option(help="time or score")] = "time",
    limit: Annotated[int, typer.Option(min=1, max=1000)] = 50,
    as_json: Annotated[bool, typer.Option("--json", help="one JSON object per hit")] = False,
) -> None:
    """Search events and targets (AI search), newest first."""
    import json

    from rich.console import Console
    from rich.table import Table

    from vigil.analytics.colors import COLORS
    from vigil.analytics.rules import TARGETS
    from vigil.catalog.faces import FaceCatalog
    from vigil.catalog.search import SearchError, SearchQuery, search
    from vigil.clock import now_ms

    _, cat = _catalog(config)
    for name, value in (("upper", upper), ("lower", lower), ("body", body), ("color", color)):
        if value and value not in COLORS:
            _fail(ValueError(f"--{name} {value!r}: colours are {', '.join(COLORS)}"))
    now = now_ms()
    labels = tuple(sorted(TARGETS[cls])) if cls in TARGETS else ((cls,) if cls else ())
    persons: tuple[int, ...] = ()
    if person:
        persons = tuple(p.id for p in FaceCatalog(cat).persons(name=person))
        if not persons:
            _fail(ValueError(f"no person called {person!r} in any face database"))
    q = SearchQuery(_when(since, now), _when(until, now) if until else now, tuple(camera or ()), tuple(type_ or ()),
                    tuple(rule or ()), labels, upper, lower, body, color, plate, persons, gender,
                    sort="score" if sort == "score" else "time", limit=limit)
    try:
        page = search(cat, q)
    except SearchError as err:
        _fail(err)
        return
    if as_json:
        for h in page.hits:
            typer.echo(json.dumps({k: v for k, v in h.__dict__.items() if k != "details"}))
        return
    table = Table(title=f"{page.total}{'+' if page.total_capped else ''} events")
    for col in ("id", "time", "camera", "type", "class", "colours", "plate", "message"):
        table.add_column(col)
    for h in page.hits:
        colours = "/".join(c for c in (h.upper_color, h.lower_color, h.body_color) if c)
        when = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(h.start_ms / 1000))
        table.add_row(str(h.id), when, h.camera_id or "", h.type, h.label or "", colours, h.plate or "", h.message)
    Console().print(table)


@app.command("export")
def export_cmd(
    camera: Annotated[list[str], typer.Option("--camera", help="camera id; repeat for several")],
    start: Annotated[str, typer.Option(help="epoch ms or ISO-8601")],
    end: Annotated[str, typer.Option(help="epoch ms or ISO-8601")],
    to: Annotated[str, typer.Option(help="a folder (e.g. a mounted USB drive) or s3://bucket/prefix")],
    endpoint_url: Annotated[str | None, typer.Option(help="S3-compatible endpoint, e.g. http://minio:9000")] = None,
    config: ConfigOpt = None,
) -> None:
    """Export a time range of cameras to MP4 files (no re-encoding), with a progress bar."""
    from fastapi import HTTPException
    from rich.progress import BarColumn, DownloadColumn, Progress, TextColumn, TransferSpeedColumn

    from vigil.api.deps import time_window
    from vigil.clock import now_ms
    from vigil.media.export import Exporter, ExportJob, FolderTarget, S3Target, SegmentHolds, Target

    cfg, cat = _catalog(config)
    try:
        t0, t1 = time_window(start, end, now_ms())
    except HTTPException as err:
        _fail(VigilError(str(err.detail)))
        return
    target: Target
    if to.startswith("s3://"):
        bucket, _, prefix = to[5:].partition("/")
        target = S3Target(bucket, prefix, endpoint_url)
    else:
        target = FolderTarget(Path(to).resolve())
    with Progress(TextColumn("exporting"), BarColumn(), DownloadColumn(), TransferSpeedColumn()) as bar:
        task = bar.add_task("export", total=None)

        def progress(job: ExportJob) -> None:
            bar.update(task, total=job.bytes_total or None, completed=job.bytes_done)

        try:
            job = Exporter(cat, _segment_files(cfg, cat), SegmentHolds()).run(camera, t0, t1, target, progress)
        except VigilError as err:
            _fail(err)
            return
    if job.status != "done":
        _fail(VigilError(job.error or "export failed"))
    for f in job.files:
        typer.echo(f)


@app.command("nodes")
def nodes_cmd(
    config: ConfigOpt = None,
    as_json: Annotated[bool, typer.Option("--json", help="one JSON object per node")] = False,
) -> None:
    """The nodes of a scale-out cluster: alive or not, their cameras and load (from the shared catalog)."""
    import json

    from rich.console import Console
    from rich.table import Table

    from vigil.catalog.nodes import leases, nodes, segments_written
    from vigil.clock import now_ms

    cfg, cat = _catalog(config)
    if not cfg.cluster.enabled:
        typer.echo("this Vigil is not a cluster node (cluster.enabled is false): it records all its cameras")
    now = now_ms()
    lease_ms = int(cfg.cluster.lease_seconds * 1000)
    held: dict[str, list[str]] = {}
    for lease in leases(cat):
        if lease.expires_ms > now:
            held.setdefault(lease.node_id, []).append(lease.camera_id)
    written = segments_written(cat, now - 60_000)
    out: list[dict[str, Any]] = []
    for n in nodes(cat):
        out.append({"id": n.id, "url": n.url, "alive": n.seen_ms > now - lease_ms,
                    "seen_s_ago": (now - n.seen_ms) / 1000, "cameras": sorted(held.get(n.id, [])),
                    "online": int(n.details.get("online", 0)), "segments_last_minute": written.get(n.id, 0),
                    "uploaded": int(n.details.get("uploaded", 0))})
    if as_json:
        for row in out:
            typer.echo(json.dumps(row))
        return
    table = Table(title=f"{sum(r['alive'] for r in out)} of {len(out)} nodes alive")
    for col in ("node", "state", "url", "cameras", "online", "segments/min", "uploaded"):
        table.add_column(col)
    for r in out:
        state = "alive" if r["alive"] else f"down ({r['seen_s_ago']:.0f} s)"
        table.add_row(r["id"], state, r["url"], f"{len(r['cameras'])}: {' '.join(r['cameras'])}", str(r["online"]),
                      str(r["segments_last_minute"]), str(r["uploaded"]))
    Console().print(table)
