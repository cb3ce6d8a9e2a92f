"""Throw-away servers the scale-out tests and benchmark need: PostgreSQL from Debian's package (`make test`
installs it) and an S3-compatible server (moto, a dev dependency). Each runs on a free loopback port under tmp."""

from __future__ import annotations

import contextlib
import glob
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx

from tests.helpers import free_port, wait_for


def pg_bindir() -> Path | None:
    bins = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"))
    return Path(bins[-1]).parent if bins else None


@contextlib.contextmanager
def postgres_server(tmp: Path) -> Iterator[str]:
    """A PostgreSQL server of its own; yields the URL of its `postgres` database (user vigil, no password)."""
    bindir = pg_bindir()
    if bindir is None:
        raise AssertionError("no PostgreSQL server: `apt-get install postgresql` (make test does)")
    tmp.mkdir(parents=True, exist_ok=True)
    data, port = tmp / "pg", free_port()
    run_as: list[str] = []
    if os.geteuid() == 0:  # PostgreSQL refuses to run as root
        for parent in [tmp, *tmp.parents]:
            if parent == Path("/"):
                break
            parent.chmod(parent.stat().st_mode | 0o011)  # let user postgres reach it
        shutil.chown(tmp, "postgres")
        run_as = ["runuser", "-u", "postgres", "--"]
    subprocess.run([*run_as, str(bindir / "initdb"), "-D", str(data), "-A", "trust", "-U", "vigil"], check=True,
                   stdout=subprocess.DEVNULL)
    subprocess.run([*run_as, str(bindir / "pg_ctl"), "-D", str(data), "-l", str(tmp / "pg.log"), "-w", "-o",
                    f"-p {port} -k {tmp} -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=300",
                    "start"], check=True, stdout=subprocess.DEVNULL)
    try:
        yield f"postgresql://vigil@127.0.0.1:{port}/postgres"
    finally:
        subprocess.run([*run_as, str(bindir / "pg_ctl"), "-D", str(data), "-m", "immediate", "stop"],
                       stdout=subprocess.DEVNULL, check=False)


def fresh_database(url: str, name: str) -> str:
    """A new empty database on the server of `url`; returns its URL."""
    from sqlalchemy import create_engine

    admin = create_engine(url.replace("postgresql://", "postgresql+psycopg://"), isolation_level="AUTOCOMMIT")
    with admin.connect() as c:
        c.exec_driver_sql(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
        c.exec_driver_sql(f"CREATE DATABASE {name}")
    admin.dispose()
    return url.rsplit("/", 1)[0] + "/" + name


@contextlib.contextmanager
def s3_server(tmp: Path, bucket: str = "vigil") -> Iterator[str]:
    """moto's S3 server with one empty bucket; yields its endpoint URL."""
    port = free_port()
    log = (tmp / f"moto-{port}.log").open("ab")
    proc = subprocess.Popen([str(Path(sys.executable).parent / "moto_server"), "-H", "127.0.0.1", "-p", str(port)],
                            stdout=log, stderr=log)
    url = f"http://127.0.0.1:{port}"
    try:
        wait_for(lambda: httpx.get(url + "/moto-api/", timeout=2).status_code < 500, 30, what="the S3 server")
        import boto3

        boto3.client("s3", endpoint_url=url, region_name="us-east-1", aws_access_key_id="test",
                     aws_secret_access_key="test").create_bucket(Bucket=bucket)
        yield url
    finally:
        proc.kill()
        proc.wait(10)


@contextlib.contextmanager
def mqtt_broker(tmp: Path) -> Iterator[tuple[int, list[tuple[str, bytes, bool]]]]:
    """Debian's mosquitto on a free loopback port, and a listener subscribed to every topic; yields (port, the
    messages heard so far: topic, payload, retained)."""
    import asyncio
    import threading

    port = free_port()
    conf = tmp / f"mosquitto-{port}.conf"
    conf.write_text(f"listener {port} 127.0.0.1\nallow_anonymous true\n")
    broker = subprocess.Popen([shutil.which("mosquitto") or "/usr/sbin/mosquitto", "-c", str(conf)],
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    heard: list[tuple[str, bytes, bool]] = []
    stop = threading.Event()
    listener = threading.Thread(target=asyncio.run, args=(_listen(port, heard, stop),), daemon=True)
    listener.start()
    try:
        yield port, heard
    finally:
        stop.set()
        broker.terminate()
        broker.wait(10)


async def _listen(port: int, out: list[tuple[str, bytes, bool]], stop: object) -> None:
    import asyncio

    import aiomqtt

    for _ in range(50):  # the broker may take a moment to listen
        try:
            async with aiomqtt.Client("127.0.0.1", port, identifier=f"test-listener-{port}") as client:
                await client.subscribe("#")
                async for m in client.messages:
                    out.append((str(m.topic), bytes(m.payload), bool(m.retain)))  # type: ignore[arg-type]
                    if stop.is_set():  # type: ignore[attr-defined]
                        return
        except aiomqtt.MqttError:
            await asyncio.sleep(0.2)
