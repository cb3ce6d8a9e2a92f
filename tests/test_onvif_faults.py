"""How an ONVIF fault reads to the user: a refused login only when the camera said so."""

from __future__ import annotations

import zeep.exceptions

from vigil.onvif.device import OnvifAuthError, _describe


class Subcode:
    """A subcode whose repr holds "401" (as an lxml QName's memory address can) and whose text does not."""

    def __str__(self) -> str:
        return "{http://www.onvif.org/ver10/error}NoToken"

    def __repr__(self) -> str:
        return "<lxml.etree.QName object at 0x7f55f0401a40>"


def test_a_missing_preset_is_not_a_refused_password() -> None:
    err = zeep.exceptions.Fault("no preset 'nope'", code="Sender", subcodes=[Subcode()])
    described = _describe("ONVIF 127.0.0.1:80", err)
    assert not isinstance(described, OnvifAuthError)
    assert "no preset 'nope'" in str(described)


def test_not_authorized_is_a_refused_password() -> None:
    class NotAuthorized(Subcode):
        def __str__(self) -> str:
            return "{http://www.onvif.org/ver10/error}NotAuthorized"

    err = zeep.exceptions.Fault("Sender not authorized", code="Sender", subcodes=[NotAuthorized()])
    assert isinstance(_describe("ONVIF 127.0.0.1:80", err), OnvifAuthError)
