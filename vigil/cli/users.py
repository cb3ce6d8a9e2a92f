"""`vigil users …`: who may log in."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from vigil.cli.common import ConfigOpt, _ask_password, _catalog, _fail, app
from vigil.errors import VigilError

users_app = typer.Typer(help="Manage the users who may log in.", no_args_is_help=True)
app.add_typer(users_app, name="users")


@users_app.command("add")
def users_add(
    username: str,
    role: Annotated[str, typer.Option(help="admin | operator | viewer")] = "admin",
    password: Annotated[str | None, typer.Option(help="asked for when omitted")] = None,
    camera: Annotated[list[str] | None, typer.Option(help="the only cameras the user sees (repeatable); "
                                                           "default: all")] = None,
    config: ConfigOpt = None,
) -> None:
    """Create a user."""
    from vigil.catalog.accounts import add_user

    _, cat = _catalog(config)
    try:
        add_user(cat, username, _ask_password(password), role, cameras=camera or None)
    except VigilError as err:
        _fail(err)
    typer.echo(f"user {username!r} created ({role}{', cameras ' + ', '.join(camera) if camera else ''})")


@users_app.command("passwd")
def users_passwd(
    username: str,
    password: Annotated[str | None, typer.Option(help="asked for when omitted")] = None,
    config: ConfigOpt = None,
) -> None:
    """Set a user's password (ends that user's browser sessions)."""
    from vigil.catalog.accounts import set_password

    _, cat = _catalog(config)
    try:
        set_password(cat, username, _ask_password(password))
    except VigilError as err:
        _fail(err)
    typer.echo(f"password of {username!r} changed")


@users_app.command("list")
def users_list(config: ConfigOpt = None) -> None:
    """List users and their roles."""
    from vigil.catalog.accounts import list_users

    _, cat = _catalog(config)
    for u in list_users(cat):
        typer.echo(f"{u.username}\t{u.role}" + ("\tdisabled" if u.disabled else ""))


def _set_disabled(username: str, disabled: bool, config: Path | None) -> None:
    from vigil.catalog.accounts import set_user

    _, cat = _catalog(config)
    try:
        set_user(cat, username, disabled=disabled)
    except VigilError as err:
        _fail(err)


@users_app.command("disable")
def users_disable(username: str, config: ConfigOpt = None) -> None:
    """Disable a user: no more logins; their sessions, tokens and open streams end (the account and its audit
    trail stay; `vigil users enable` undoes it)."""
    _set_disabled(username, True, config)
    typer.echo(f"user {username!r} disabled")


@users_app.command("enable")
def users_enable(username: str, config: ConfigOpt = None) -> None:
    """Enable a disabled user again."""
    _set_disabled(username, False, config)
    typer.echo(f"user {username!r} enabled")


@users_app.command("delete")
def users_delete(username: str, config: ConfigOpt = None) -> None:
    """Delete a user, their sessions and tokens (their audit rows stay)."""
    from vigil.catalog.accounts import delete_user

    _, cat = _catalog(config)
    try:
        delete_user(cat, username)
    except VigilError as err:
        _fail(err)
    typer.echo(f"user {username!r} deleted")
