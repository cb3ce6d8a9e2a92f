"""Licence-plate allow and block lists (a blocklisted plate raises an alarm when a camera reads it)."""

from __future__ import annotations

from typing import Literal

from fastapi import APIRouter, Depends, HTTPException, Request, Response
from pydantic import BaseModel, Field

from vigil.api.deps import current_user, get_vigil
from vigil.catalog.plates import PlateEntry, PlateLists

router = APIRouter(prefix="/api/plates", tags=["plates"], dependencies=[Depends(current_user)])


class PlateIn(BaseModel):
    plate: str = Field(min_length=2, max_length=40, description="spaces and dashes are ignored: 'KX19 ABC'")
    list: Literal["allow", "block"]
    note: str = Field("", max_length=500, description="why, who: shown in the alarm")


class PlateOut(BaseModel):
    plate: str
    list: str
    note: str
    created_ms: int

    @classmethod
    def of(cls, e: PlateEntry) -> PlateOut:
        return cls(plate=e.plate, list=e.list, note=e.note, created_ms=e.created_ms)


@router.get("", response_model=list[PlateOut])
def plates(request: Request) -> list[PlateOut]:
    return [PlateOut.of(e) for e in PlateLists(get_vigil(request).catalog).entries()]


@router.post("", response_model=PlateOut, status_code=201)
def put_plate(body: PlateIn, request: Request) -> PlateOut:
    """Adds a plate to the allow or block list (or moves it to the other)."""
    try:
        return PlateOut.of(PlateLists(get_vigil(request).catalog).put(body.plate, body.list, body.note))
    except ValueError as err:
        raise HTTPException(422, str(err)) from None


@router.delete("/{plate}", status_code=204)
def delete_plate(plate: str, request: Request) -> Response:
    if not PlateLists(get_vigil(request).catalog).remove(plate):
        raise HTTPException(404, f"plate {plate!r} is on no list")
    return Response(status_code=204)
