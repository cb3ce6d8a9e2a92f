"""`vigil backup` / `vigil restore`: the catalog, the config, the key that seals camera passwords and the enrolled
face photographs in one archive — and, with `--recordings`, the recordings and event pictures the catalog indexes.

Consistent while recording: the catalog is copied first (SQLite's online backup API, a transaction-consistent copy
even while Vigil writes; `pg_dump` for PostgreSQL, one snapshot), and only then the files its rows name. A segment
still being written is copied as it is: on the restored Vigil's first start, crash recovery cuts it back to its last
whole fragment, as after a power cut. A segment deleted by retention between the two steps loses its row from the
copy, so the archive never names a file it does not hold.

The archive holds the key file: it opens the camera passwords in the catalog. Keep it as safe as the box itself
(it is written readable by its owner only).
"""

from __future__ import annotations

import io
import json
import os
import shutil
import sqlite3
import subprocess
import tarfile
import tempfile
import time
from contextlib import closing
from dataclasses import dataclass
from pathlib import Path

from vigil.config import Config, load_config
from vigil.errors import ConfigError, VigilError
from vigil.layout import FACES_DIR, SEGMENT_GLOB, SNAPSHOT_DIR

FORMAT = 1
MANIFEST = "manifest.json"
CONFIG = "vigil.yml"
SQLITE = "catalog.sqlite"
PGDUMP = "catalog.pgdump"
KEY = "vigil.key"
FILES = "files/"  # under it: paths relative to the storage root


class BackupError(VigilError):
    pass


@dataclass(frozen=True)
class Summary:
    archive: Path
    catalog: str  # sqlite | postgresql
    segments: int  # segment rows in the catalog copy
    files: int  # files under the storage root (faces, and with recordings: segments and event pictures)
    bytes: int
    seconds: float
    missing: int = 0  # restore: rows whose recording is not in the storage folder


def _sqlite_path(url: str) -> Path | None:
    return Path(url.split(":///", 1)[1]) if url.startswith("sqlite") else None


def _pg_url(url: str) -> str:
    """libpq's URL (pg_dump's): without SQLAlchemy's driver name."""
    scheme, rest = url.split("://", 1)
    return "postgresql://" + rest if scheme.startswith("postgres") else url


def _run(cmd: list[str], what: str) -> None:
    try:
        done = subprocess.run(cmd, capture_output=True, text=True, timeout=3600)
    except FileNotFoundError:
        raise BackupError(f"{cmd[0]} is not installed: install PostgreSQL's client tools "
                          "(Debian: apt-get install postgresql-client) to back up a PostgreSQL catalog") from None
    if done.returncode != 0:
        raise BackupError(f"{what} failed: {done.stderr.strip() or done.stdout.strip()}")


def _copy_sqlite(src: Path, dst: Path) -> None:
    if not src.exists():
        raise BackupError(f"no catalog at {src}: has Vigil run with this config?")
    # closing(): sqlite3's own context manager commits but does not close.
    with closing(sqlite3.connect(f"file:{src}?mode=ro", uri=True)) as s, closing(sqlite3.connect(dst)) as d:
        s.backup(d)  # pages copied under a read transaction: a consistent copy while Vigil writes


def _segment_rows(db: Path) -> list[tuple[int, str]]:
    """(id, path) of the segments on this node's disk in a copied SQLite catalog."""
    with closing(sqlite3.connect(db)) as c:
        return list(c.execute("select id, path from segments where stored = 'local'"))


def _add_tree(tar: tarfile.TarFile, storage: Path, folder: str) -> tuple[int, int]:
    n = size = 0
    root = storage / folder
    if root.is_dir():
        for f in sorted(p for p in root.rglob("*") if p.is_file()):
            tar.add(f, FILES + str(f.relative_to(storage)))
            n, size = n + 1, size + f.stat().st_size
    return n, size


def backup(cfg: Config, config_path: Path | None, out: Path, recordings: bool = False) -> Summary:
    t0 = time.monotonic()
    storage = cfg.storage.path
    out = out.resolve()
    if out.is_relative_to(storage.resolve()) and recordings:
        raise BackupError(f"{out} is inside the storage folder it would copy: write the backup elsewhere")
    with tempfile.TemporaryDirectory(prefix="vigil-backup-") as tmp_name:
        tmp = Path(tmp_name)
        sqlite_src = _sqlite_path(cfg.catalog_url)
        paths: list[str] = []
        gone: list[int] = []
        if sqlite_src is not None:
            kind, catalog_file = "sqlite", tmp / SQLITE
            _copy_sqlite(sqlite_src, catalog_file)
            rows = _segment_rows(catalog_file)
        else:
            kind, catalog_file = "postgresql", tmp / PGDUMP
            _run(["pg_dump", "--format=custom", "--no-owner", "--file", str(catalog_file), _pg_url(cfg.catalog_url)],
                 "pg_dump")
            rows = []  # the dump is opaque here; recordings are then taken from the disk (see below)
        part = out.with_name(out.name + ".part")
        files = total = 0
        with tarfile.open(part, "w" if recordings else "w:gz") as tar:
            if recordings:
                listed = rows if sqlite_src is not None else [  # recordings only: not _lost+found's
                    (0, str(p.relative_to(storage))) for p in sorted(storage.glob(SEGMENT_GLOB))
                    if not p.relative_to(storage).parts[0].startswith("_")]
                for seg_id, rel in listed:
                    f = storage / rel
                    try:
                        tar.add(f, FILES + rel)
                    except FileNotFoundError:  # retention took it after the catalog was copied
                        gone.append(seg_id)
                        continue
                    paths.append(rel)
                    files, total = files + 1, total + f.stat().st_size
                if gone and sqlite_src is not None:
                    with closing(sqlite3.connect(catalog_file)) as c, c:
                        c.executemany("delete from segments where id = ?", [(i,) for i in gone])
                n, size = _add_tree(tar, storage, SNAPSHOT_DIR)
                files, total = files + n, total + size
            n, size = _add_tree(tar, storage, FACES_DIR)
            files, total = files + n, total + size
            tar.add(catalog_file, SQLITE if kind == "sqlite" else PGDUMP)
            if cfg.key_file.exists():
                tar.add(cfg.key_file, KEY)
            config_text = config_path.read_text() if config_path is not None else "# built-in defaults\n"
            _add_bytes(tar, CONFIG, config_text.encode())
            manifest = {"format": FORMAT, "created_ms": int(time.time() * 1000), "catalog": kind,
                        "segments": len(rows) - len(gone) if sqlite_src is not None else None,
                        "recordings": recordings, "files": files, "storage": str(storage)}
            _add_bytes(tar, MANIFEST, json.dumps(manifest, indent=1).encode())
        part.chmod(0o600)
        os.replace(part, out)
    return Summary(out, kind, len(rows) - len(gone), files, out.stat().st_size, time.monotonic() - t0)


def _add_bytes(tar: tarfile.TarFile, name: str, data: bytes) -> None:
    info = tarfile.TarInfo(name)
    info.size, info.mtime, info.mode = len(data), int(time.time()), 0o600
    tar.addfile(info, io.BytesIO(data))


def _read(tar: tarfile.TarFile, name: str) -> bytes:
    try:
        f = tar.extractfile(name)
    except KeyError:
        raise BackupError(f"the archive has no {name}: is it a Vigil backup?") from None
    assert f is not None
    return f.read()


def restore(archive: Path, to: Path, force: bool = False) -> Summary:
    """Restores into `to` (its vigil.yml; the catalog, key and storage where that config puts them, relative paths
    under `to`). Refuses to overwrite anything that exists unless `force`."""
    t0 = time.monotonic()
    try:
        tar = tarfile.open(archive, "r:*")  # noqa: SIM115 - closed by the `with tar` below; opening is what can fail
    except OSError as err:
        raise BackupError(f"{archive}: cannot read it ({err.strerror})") from None
    except tarfile.TarError:
        raise BackupError(f"{archive}: not a Vigil backup (not a tar archive); `vigil backup` writes one") from None
    with tar:
        manifest = json.loads(_read(tar, MANIFEST))
        if manifest.get("format") != FORMAT:
            raise BackupError(f"{archive}: backup format {manifest.get('format')} is not one this Vigil reads "
                              f"({FORMAT})")
        to.mkdir(parents=True, exist_ok=True)
        config_path = to / CONFIG
        taken = [config_path] if config_path.exists() else []
        config_path_new = to / (CONFIG + ".restoring")
        config_path_new.write_bytes(_read(tar, CONFIG))
        try:
            cfg = load_config(config_path_new)
        except ConfigError as err:
            raise BackupError(f"the backed-up config no longer loads: {err}") from None
        finally:
            config_path_new.unlink()
        storage = cfg.storage.path  # relative paths are now under `to`
        db = _sqlite_path(cfg.catalog_url)
        kind = manifest["catalog"]
        if (kind == "sqlite") != (db is not None):
            raise BackupError(f"the backup holds a {kind} catalog but the config names "
                              f"{'SQLite' if db else 'PostgreSQL'}: restore it with a config of the same kind")
        members = [m for m in tar.getmembers() if m.name.startswith(FILES) and m.isfile()]
        taken += [p for p in (db, cfg.key_file) if p is not None and p.exists()]
        taken += [storage / m.name[len(FILES):] for m in members if (storage / m.name[len(FILES):]).exists()]
        if kind == "postgresql" and _pg_has_catalog(cfg.catalog_url):
            taken.append(Path(f"the PostgreSQL database {cfg.catalog_url.rsplit('/', 1)[-1]}"))
        if taken and not force:
            shown = ", ".join(str(p) for p in taken[:5]) + (f" and {len(taken) - 5} more" if len(taken) > 5 else "")
            raise BackupError(f"restoring would overwrite {shown}: restore into an empty folder, or add --force")
        config_path.write_bytes(_read(tar, CONFIG))
        if KEY in tar.getnames():
            _write(cfg.key_file, _read(tar, KEY), 0o600)
        if db is not None:
            for stale in (db, Path(f"{db}-wal"), Path(f"{db}-shm")):
                stale.unlink(missing_ok=True)
            _write(db, _read(tar, SQLITE), 0o600)
        else:
            with tempfile.NamedTemporaryFile(suffix=".pgdump") as dump:
                dump.write(_read(tar, PGDUMP))
                dump.flush()
                _run(["pg_restore", "--clean", "--if-exists", "--no-owner", "--dbname",
                      _pg_url(cfg.catalog_url), dump.name], "pg_restore")
        total = 0
        for m in members:
            dest = storage / m.name[len(FILES):]
            src = tar.extractfile(m)
            assert src is not None
            dest.parent.mkdir(parents=True, exist_ok=True)
            with dest.open("wb") as f:
                shutil.copyfileobj(src, f, 1 << 20)
            total += m.size
        rows = _segment_rows(db) if db is not None else []
        missing = sum(not (storage / rel).exists() for _id, rel in rows)
    return Summary(to, kind, len(rows), len(members), total, time.monotonic() - t0, missing)


def _write(path: Path, data: bytes, mode: int) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    path.chmod(mode)


def _pg_has_catalog(url: str) -> bool:
    from sqlalchemy import create_engine, inspect

    engine = create_engine("postgresql+psycopg://" + _pg_url(url).split("://", 1)[1])
    try:
        return "alembic_version" in inspect(engine).get_table_names()
    finally:
        engine.dispose()
