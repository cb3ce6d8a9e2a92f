"""`vigil service install|uninstall`: the systemd units it writes (a system service as a dedicated user, and a user
service), checked line by line and by systemd's own `systemd-analyze verify` where it is installed."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import yaml


def vigil(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "vigil.cli", *args], capture_output=True, text=True, timeout=60)


def keys(unit: str) -> dict[str, str]:
    return dict(line.split("=", 1) for line in unit.splitlines() if "=" in line)


def verify(unit: Path) -> None:
    """systemd's checker: unknown keys, bad values and a missing ExecStart binary are reported on stderr."""
    if shutil.which("systemd-analyze") is None:
        return  # the line checks above stand alone; Debian's systemd package adds this one
    done = subprocess.run(["systemd-analyze", "verify", str(unit)], capture_output=True, text=True, timeout=60,
                          cwd=unit.parent)
    problems = [x for x in done.stderr.splitlines() if unit.name in x or "vigil" in x]
    assert done.returncode == 0 and not problems, done.stderr


def test_system_and_user_units(tmp_path: Path) -> None:
    config = tmp_path / "etc" / "vigil.yml"
    config.parent.mkdir()
    config.write_text(yaml.safe_dump({"storage": {"path": str(tmp_path / "recordings")}}))

    made = vigil("service", "install", "--config", str(config), "--unit-dir", str(tmp_path / "system"))
    assert made.returncode == 0, made.stderr
    unit = tmp_path / "system" / "vigil.service"
    text = unit.read_text()
    k = keys(text)
    assert k["User"] == "vigil" and k["Restart"] == "always" and int(k["LimitNOFILE"]) >= 65536
    assert k["ExecStart"].endswith(f"serve --config {config}") and Path(k["ExecStart"].split()[0]).exists()
    assert k["ExecReload"] == "/bin/kill -HUP $MAINPID"  # vigil serve reloads vigil.yml on SIGHUP
    assert str(tmp_path / "recordings") in k["ReadWritePaths"].split() and k["ProtectSystem"] == "strict"
    assert k["WantedBy"] == "multi-user.target"
    verify(unit)

    made = vigil("service", "install", "--user", "--config", str(config), "--unit-dir", str(tmp_path / "user"))
    assert made.returncode == 0, made.stderr
    k = keys((tmp_path / "user" / "vigil.service").read_text())
    assert "User" not in k and k["WantedBy"] == "default.target" and k["Restart"] == "always"
    verify(tmp_path / "user" / "vigil.service")

    gone = vigil("service", "uninstall", "--unit-dir", str(tmp_path / "system"))
    assert gone.returncode == 0 and not unit.exists() and "untouched" in gone.stdout
    again = vigil("service", "uninstall", "--unit-dir", str(tmp_path / "system"))
    assert again.returncode == 2 and "nothing to uninstall" in again.stderr
    no_config = vigil("service", "install", "--unit-dir", str(tmp_path / "x"))
    assert no_config.returncode == 2 and "--config" in no_config.stderr
