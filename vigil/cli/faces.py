"""`vigil faces …`: face databases and photo import."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer

from vigil.cli.common import ConfigOpt, _faces, _fail, app
from vigil.errors import VigilError

faces_app = typer.Typer(help="Face databases: list, create, import photos.", no_args_is_help=True)
app.add_typer(faces_app, name="faces")



@faces_app.command("databases")
def faces_databases(config: ConfigOpt = None) -> None:
    """List the face databases."""
    for d in _faces(config).databases():
        typer.echo(f"{d.id}\t{d.name}\t{d.kind}\t{d.persons} persons\t{d.images} images")


@faces_app.command("create")
def faces_create(
    name: str,
    kind: Annotated[str, typer.Option(help="allow (VIP: matches are info events) | block (alarm) | info")] = "allow",
    description: str = "",
    config: ConfigOpt = None,
) -> None:
    """Create a face database."""
    try:
        d = _faces(config).create_database(name, kind, description)
    except VigilError as err:
        _fail(err)
    typer.echo(f"face database {d.name!r} created (id {d.id}, {d.kind})")


@faces_app.command("import")
def faces_import(
    folder: Annotated[Path, typer.Argument(help="one sub-folder per person, named after them, holding photos")],
    database: Annotated[str, typer.Option("--database", "-d", help="the face database's name")],
    kind: Annotated[str, typer.Option(help="the database's kind, if it has to be created")] = "allow",
    config: ConfigOpt = None,
) -> None:
    """Enrol a folder of photos; photos with no face or several faces are reported, not guessed."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

    service = _faces(config)
    try:
        db = service.store.database_by_name(database) or service.create_database(database, kind)
        with Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn(),
                      transient=not sys.stdout.isatty()) as bar:
            task = bar.add_task("enrolling", total=None)

            def step(done: int, total: int, name: str) -> None:
                bar.update(task, completed=done, total=total, description=f"enrolling {name}"[:60])

            report = service.import_folder(folder, db.id, step)
    except VigilError as err:
        _fail(err)
    typer.echo(f"enrolled {report.enrolled} image(s) of {report.persons} new person(s) into {db.name!r}")
    for file, problem in report.problems:
        typer.echo(f"  skipped {file}: {problem}")
