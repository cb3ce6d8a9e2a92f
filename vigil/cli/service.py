"""`vigil service install|uninstall`: Vigil as a systemd service, restarted whenever it stops, as the user it
records for (a dedicated system user, or the user's own session with `--user`)."""

from __future__ import annotations

import os
import shlex
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Annotated

import typer

from vigil.cli.common import ConfigOpt, _fail, _load, app
from vigil.config import Config
from vigil.errors import ConfigError

service_app = typer.Typer(help="Run Vigil as a systemd service.", no_args_is_help=True)
app.add_typer(service_app, name="service")

UNIT = "vigil.service"
SYSTEM_DIR = Path("/etc/systemd/system")
# Each camera holds a socket and a segment file open, each viewer a socket more: the default 1024 runs out at a few
# dozen cameras with viewers.
NOFILE = 65536


def _vigil_command() -> str:
    """The `vigil` this command runs from (its virtualenv's), so the service runs the same installation."""
    here = Path(sys.argv[0]).resolve() if sys.argv and sys.argv[0].endswith("vigil") else None
    found = here if here is not None and here.exists() else shutil.which("vigil")
    return str(found) if found else f"{sys.executable} -m vigil.cli"


def unit_text(cfg: Config, config: Path, user: str | None, command: str) -> str:
    """The unit file (pure). `user`: the dedicated account of a system service; None for a user service."""
    url = cfg.catalog_url
    catalog_dir = [str(Path(url.split(":///", 1)[1]).parent)] if url.startswith("sqlite") else []
    writable = sorted({str(cfg.storage.path), str(cfg.key_file.parent), *catalog_dir})
    home_paths = [p for p in (*writable, str(config)) if p.startswith(("/home/", "/root/"))]
    lines = [
        "[Unit]",
        "Description=Vigil network video recorder",
        "After=network-online.target",
        "Wants=network-online.target",
        "",
        "[Service]",
        "Type=simple",
        *([f"User={user}", f"Group={user}"] if user else []),
        f"ExecStart={command} serve --config {shlex.quote(str(config))}",
        "ExecReload=/bin/kill -HUP $MAINPID",  # vigil serve applies a changed vigil.yml on SIGHUP
        f"WorkingDirectory={config.parent}",
        "Restart=always",
        "RestartSec=2",
        "TimeoutStopSec=30",  # time to close every camera's segment
        f"LimitNOFILE={NOFILE}",
        "Environment=PYTHONUNBUFFERED=1",
        "NoNewPrivileges=yes",
    ]
    if not any(p.startswith(("/tmp/", "/var/tmp/")) for p in (*writable, str(config))):
        lines.append("PrivateTmp=yes")  # not when Vigil's own files live in /tmp: it would see an empty one
    if user:
        # Read-only everywhere but where Vigil writes; home folders hidden unless Vigil's files live there.
        lines += ["ProtectSystem=strict", f"ReadWritePaths={' '.join(writable)}",
                  "ProtectHome=" + ("read-only" if home_paths else "yes")]
    lines += ["", "[Install]", f"WantedBy={'multi-user.target' if user else 'default.target'}", ""]
    return "\n".join(lines)


def _systemctl(user_mode: bool, *args: str) -> str | None:
    """Runs systemctl; returns why it could not (no systemd here), else None."""
    cmd = ["systemctl", *(["--user"] if user_mode else []), *args]
    try:
        done = subprocess.run(cmd, capture_output=True, text=True, timeout=60)
    except FileNotFoundError:
        return "systemctl is not installed"
    if done.returncode != 0:
        return (done.stderr or done.stdout).strip()
    return None


def _ensure_user(name: str, home: Path, writable: list[Path]) -> None:
    import pwd

    try:
        pwd.getpwnam(name)
    except KeyError:
        done = subprocess.run(["useradd", "--system", "--home-dir", str(home), "--no-create-home",
                               "--shell", "/usr/sbin/nologin", "--user-group", name],
                              capture_output=True, text=True)
        if done.returncode != 0:
            raise ConfigError(f"could not create the user {name!r}: {done.stderr.strip()} (create it yourself, "
                              f"or pass --as an existing user)") from None
    for path in writable:
        path.mkdir(parents=True, exist_ok=True)
        shutil.chown(path, name, name)


@service_app.command("install")
def install(
    config: ConfigOpt = None,
    user_mode: Annotated[bool, typer.Option("--user", help="a service of your own session (no root needed)")] = False,
    account: Annotated[str, typer.Option("--as", help="the system user Vigil runs as (created if missing)")]
    = "vigil",
    unit_dir: Annotated[Path | None, typer.Option(help="where to write the unit (default: systemd's)")] = None,
    start: Annotated[bool, typer.Option(help="enable and start it now")] = True,
) -> None:
    """Write a systemd unit that runs `vigil serve` with this config, and enable and start it."""
    if config is None:
        _fail(ConfigError("a service needs a config file: pass --config /path/to/vigil.yml"))
        return
    config = config.resolve()
    cfg = _load(config)
    if not user_mode and os.geteuid() != 0 and unit_dir is None:
        _fail(ConfigError("installing a system service needs root: run it with sudo, or add --user"))
        return
    target = unit_dir or (Path.home() / ".config/systemd/user" if user_mode else SYSTEM_DIR)
    text = unit_text(cfg, config, None if user_mode else account, _vigil_command())
    if not user_mode and unit_dir is None:
        try:
            _ensure_user(account, cfg.storage.path.parent, [cfg.storage.path, cfg.key_file.parent])
        except ConfigError as err:
            _fail(err)
            return
    target.mkdir(parents=True, exist_ok=True)
    (target / UNIT).write_text(text)
    typer.echo(f"wrote {target / UNIT}")
    if not start or unit_dir is not None:
        return
    why = _systemctl(user_mode, "daemon-reload") or _systemctl(user_mode, "enable", "--now", UNIT)
    if why:
        typer.echo(f"the unit is written but systemd could not start it ({why}); on a machine running systemd: "
                   f"systemctl {'--user ' if user_mode else ''}enable --now {UNIT}", err=True)
        raise typer.Exit(1)
    typer.echo(f"vigil is running as a service: systemctl {'--user ' if user_mode else ''}status vigil"
               + ("; to keep it running after you log out: loginctl enable-linger" if user_mode else ""))


@service_app.command("uninstall")
def uninstall(
    user_mode: Annotated[bool, typer.Option("--user", help="the service of your own session")] = False,
    unit_dir: Annotated[Path | None, typer.Option(help="where the unit was written")] = None,
) -> None:
    """Stop and disable the service and remove its unit (recordings, catalog and config stay)."""
    target = (unit_dir or (Path.home() / ".config/systemd/user" if user_mode else SYSTEM_DIR)) / UNIT
    if not target.exists():
        _fail(ConfigError(f"no unit at {target}: nothing to uninstall"))
        return
    if unit_dir is None:
        _systemctl(user_mode, "disable", "--now", UNIT)  # already stopped or no systemd: removing it is what matters
    target.unlink()
    if unit_dir is None:
        _systemctl(user_mode, "daemon-reload")
    typer.echo(f"removed {target}; the recordings, catalog and config are untouched")
