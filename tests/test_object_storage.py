"""Segments in an S3-compatible bucket (moto's server): tiered after a configurable time, read back transparently
(playback across disk and bucket, snapshots, exports, the raw segment), and deleted from the bucket by retention."""

from __future__ import annotations

import io
import time
from pathlib import Path

import av
import boto3
import pytest

from tests.helpers import Server, Sim, running, wait_for
from tests.services import s3_server
from vigil.catalog.store import Catalog

TIER_S = 4.0  # upload_after_hours, in seconds
KEEP_S = 24.0  # max_days, in seconds


def frames(data: bytes) -> int:
    with av.open(io.BytesIO(data), format="mp4") as c:
        return sum(1 for _ in c.decode(video=0))


def keys(endpoint: str) -> set[str]:
    s3 = boto3.client("s3", endpoint_url=endpoint, region_name="us-east-1", aws_access_key_id="test",
                      aws_secret_access_key="test")
    return {o["Key"] for page in s3.get_paginator("list_objects_v2").paginate(Bucket="vigil", Prefix="site-a/")
            for o in page.get("Contents", [])}


@pytest.mark.timeout(300)
def test_tiering_to_the_bucket_reading_back_and_retention(tmp: Path) -> None:
    with s3_server(tmp) as endpoint, running(Sim(tmp, cameras=1, codecs="h264", size="640x360", sub="none",
                                                 fps=15, gop=1.0, loop_seconds=4.0)) as sim:
        cams = [{"id": "cam1", "url": sim.url(1), "record": {"segment_seconds": 2, "max_days": KEEP_S / 86400}}]
        s3 = {"bucket": "vigil", "prefix": "site-a/", "endpoint_url": endpoint, "access_key": "test",
              "secret_key": "test", "upload_after_hours": TIER_S / 3600}
        with running(Server(tmp, cams, storage={"s3": s3})) as srv:
            cat = Catalog(f"sqlite:///{srv.db}")

            def both() -> bool:
                segs = [s for s in cat.segments("cam1") if s.status == "closed"]
                return any(s.stored == "s3" for s in segs) and sum(s.stored == "local" for s in segs) >= 2

            t = time.monotonic()
            wait_for(both, 60, interval=0.5, what="closed segments both in the bucket and on the disk")
            print(f"tiered after {time.monotonic() - t:.1f} s")
            segs = [s for s in cat.segments("cam1") if s.status == "closed"]
            remote = [s for s in segs if s.stored == "s3"]
            local = [s for s in segs if s.stored == "local"]
            # Tiered after TIER_S, not before: the uploaded ones are the old ones.
            assert max(s.end_ms for s in remote) < min(s.start_ms for s in local) + 1_000
            for s in remote:
                assert not (srv.storage / s.path).exists(), f"{s.path} left on the disk after its upload"
                assert f"site-a/{s.path}" in keys(endpoint)
            for s in local:  # (unless tiered since the rows were read)
                assert (srv.storage / s.path).exists() or cat.segments_by_id([s.id])[0].stored == "s3"

            with srv.client() as http:
                # One MP4 across bucket and disk.
                r = http.get("/api/cameras/cam1/playback.mp4",
                             params={"start": remote[0].start_ms, "end": local[-1].end_ms})
                assert r.status_code == 200, r.text
                span_s = (local[-1].end_ms - remote[0].start_ms) / 1000
                assert frames(r.content) >= 15 * span_s * 0.9
                assert int(r.headers["X-Start-Ms"]) <= remote[0].start_ms + 1_000
                # A range of it (what a browser's player asks for).
                part = http.get("/api/cameras/cam1/playback.mp4", headers={"Range": "bytes=100-4099"},
                                params={"start": remote[0].start_ms, "end": local[-1].end_ms})
                assert part.status_code == 206 and part.content == r.content[100:4100]
                # A snapshot from a segment that is in the bucket only.
                at = remote[0].start_ms + 500
                snap = http.get("/api/cameras/cam1/snapshot.jpg", params={"at": at})
                assert snap.status_code == 200 and snap.content[:2] == b"\xff\xd8"
                # The raw segment file, byte for byte the bucket's object.
                raw = http.get(f"/api/segments/{remote[0].id}.mp4")
                assert raw.status_code == 200 and len(raw.content) == remote[0].bytes
                # An export of what is in the bucket.
                job = http.post("/api/exports", json={"cameras": ["cam1"], "start": str(remote[0].start_ms),
                                                      "end": str(remote[-1].end_ms),
                                                      "target": {"type": "folder", "path": str(tmp / "out")}})
                assert job.status_code == 202, job.text
                done = wait_for(lambda: (j := http.get(f"/api/exports/{job.json()['id']}").json())["status"]
                                in ("done", "failed") and j, 30, what="the export")
            assert done["status"] == "done", done
            exported_s = (remote[-1].end_ms - remote[0].start_ms) / 1000
            assert frames(Path(done["files"][0]).read_bytes()) >= 15 * exported_s * 0.9

            # Retention deletes in the bucket too.
            first = remote[0]
            wait_for(lambda: not cat.segments_by_id([first.id]), KEEP_S + 30, interval=1,
                     what="retention to delete the oldest segment")
            assert f"site-a/{first.path}" not in keys(endpoint)
            left = {f"site-a/{s.path}" for s in cat.segments("cam1") if s.stored == "s3"}
            assert left <= keys(endpoint), "every row in the bucket has its object"
