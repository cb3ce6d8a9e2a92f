"""Export jobs: a time range of cameras to MP4 files in a folder or an S3-compatible bucket."""

from __future__ import annotations

import os
from pathlib import Path

from fastapi import APIRouter, Depends, HTTPException, Request

from vigil.api.deps import current_user, get_vigil, require_visible, seen, time_window
from vigil.api.schemas import ExportIn, ExportOut
from vigil.clock import now_ms
from vigil.errors import NotFoundError
from vigil.media.export import ExportJob, FolderTarget, S3Target, Target

router = APIRouter(prefix="/api/exports", tags=["export"], dependencies=[Depends(current_user)])


def confine_folder(path: Path, roots: list[Path]) -> None:
    """403 unless `path`, with every `..` and link resolved, lies inside one of `roots` (the same answer whether
    or not it exists: the refusal tells nothing about the disk)."""
    real = Path(os.path.realpath(path))
    if not any(real.is_relative_to(os.path.realpath(r)) for r in roots):
        raise HTTPException(403, "operators may export only inside " + (", ".join(str(r) for r in roots) or
                                                                        "no folder") + " (exports.folders in "
                                 "vigil.yml); ask an admin for another place")


def _out(job: ExportJob) -> ExportOut:
    return ExportOut(id=job.id, cameras=job.cameras, start_ms=job.start_ms, end_ms=job.end_ms, target=job.target,
                     status=job.status, percent=job.percent, bytes_total=job.bytes_total, bytes_done=job.bytes_done,
                     files=job.files, error=job.error)


@router.post("", response_model=ExportOut, status_code=202)
def create(body: ExportIn, request: Request) -> ExportOut:
    vigil = get_vigil(request)
    for cam in body.cameras:
        require_visible(request, cam)
    t0, t1 = time_window(body.start, body.end, now_ms())
    t = body.target
    admin = request.state.user.role == "admin"
    target: Target
    if t.type == "folder":
        if not t.path or not Path(t.path).is_absolute():
            raise HTTPException(422, "target.path must be an absolute folder path, e.g. /media/usb0/exports")
        if not admin:
            confine_folder(Path(t.path), vigil.cfg.exports.folders)
        target = FolderTarget(Path(t.path))
    else:
        if not t.bucket:
            raise HTTPException(422, "target.bucket is required for an S3 export")
        if not admin and t.endpoint_url is not None and t.endpoint_url.rstrip("/") not in {
                e.rstrip("/") for e in vigil.cfg.exports.s3_endpoints}:
            raise HTTPException(403, "operators may export only to AWS or to the endpoints in exports.s3_endpoints "
                                     "of vigil.yml; ask an admin")
        target = S3Target(t.bucket, t.prefix, t.endpoint_url, t.access_key, t.secret_key, t.region)
    try:
        job = vigil.exporter.submit(body.cameras, t0, t1, target)
    except NotFoundError as err:
        raise HTTPException(404, str(err)) from None
    return _out(job)


@router.get("", response_model=list[ExportOut])
def list_jobs(request: Request) -> list[ExportOut]:
    return [_out(j) for j in get_vigil(request).exporter.jobs.values()
            if all(seen(request, c) for c in j.cameras)]


@router.get("/{job_id}", response_model=ExportOut)
def get(job_id: str, request: Request) -> ExportOut:
    job = get_vigil(request).exporter.jobs.get(job_id)
    if job is None or not all(seen(request, c) for c in job.cameras):
        raise HTTPException(404, f"no export job {job_id!r}")
    return _out(job)
