"""SOAP for the simulated ONVIF cameras: namespaces, envelopes and faults, and the WS-Security UsernameToken
check a real camera makes."""

from __future__ import annotations

import base64
import contextlib
import datetime as dt
import hashlib
import re
import secrets
import time
from typing import Any
from xml.sax.saxutils import escape

NS = {
    "s": "http://www.w3.org/2003/05/soap-envelope",
    "tds": "http://www.onvif.org/ver10/device/wsdl",
    "trt": "http://www.onvif.org/ver10/media/wsdl",
    "tptz": "http://www.onvif.org/ver20/ptz/wsdl",
    "tev": "http://www.onvif.org/ver10/events/wsdl",
    "tt": "http://www.onvif.org/ver10/schema",
    "wsnt": "http://docs.oasis-open.org/wsn/b-2",
    "wsa": "http://www.w3.org/2005/08/addressing",
    "tns1": "http://www.onvif.org/ver10/topics",
    "ter": "http://www.onvif.org/ver10/error",
    "wsse": "http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-secext-1.0.xsd",
    "wsu": "http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-utility-1.0.xsd",
    "d": "http://schemas.xmlsoap.org/ws/2005/04/discovery",
    "wsa4": "http://schemas.xmlsoap.org/ws/2004/08/addressing",
    "dn": "http://www.onvif.org/ver10/network/wsdl",
}
_DECL = " ".join(f'xmlns:{k}="{v}"' for k, v in NS.items())

def utc_iso(t: float | None = None) -> str:
    return dt.datetime.fromtimestamp(time.time() if t is None else t, dt.UTC).strftime(
        "%Y-%m-%dT%H:%M:%SZ")


def iso_duration(text: str | None, default: float) -> float:
    """ISO 8601 duration (PT5S, PT1M) in seconds."""
    m = re.fullmatch(r"P(?:T(?:(\d+)H)?(?:(\d+)M)?(?:([\d.]+)S)?)?", (text or "").strip())
    if not m:
        return default
    h, mi, s = m.groups()
    return int(h or 0) * 3600 + int(mi or 0) * 60 + float(s or 0)


def envelope(body: str, header: str = "") -> str:
    return (f'<?xml version="1.0" encoding="UTF-8"?><s:Envelope {_DECL}><s:Header>{header}</s:Header>'
            f"<s:Body>{body}</s:Body></s:Envelope>")


def fault(code: str, subcode: str, reason: str) -> str:
    """A SOAP 1.2 fault; `subcode` may nest (ter:InvalidArgVal/ter:NoToken), as ONVIF's do."""
    subs = ""
    for part in reversed(subcode.split("/")):
        subs = f"<s:Subcode><s:Value>{part}</s:Value>{subs}</s:Subcode>"
    return envelope(f"<s:Fault><s:Code><s:Value>s:{code}</s:Value>{subs}</s:Code>"
                    f'<s:Reason><s:Text xml:lang="en">{escape(reason)}</s:Text></s:Reason></s:Fault>')


class SoapFault(Exception):
    def __init__(self, subcode: str, reason: str, status: int = 400, code: str = "Sender") -> None:
        super().__init__(reason)
        self.subcode, self.reason, self.status, self.code = subcode, reason, status, code


def check_username_token(root: Any, user: str, password: str, max_skew: float = 300.0) -> None:
    """WS-Security UsernameToken with PasswordDigest = Base64(SHA-1(nonce + created + password))."""
    token = root.find(".//wsse:UsernameToken", NS)
    if token is None:
        raise SoapFault("ter:NotAuthorized", "Sender not authorized: no WS-Security UsernameToken")
    name = token.findtext("wsse:Username", default="", namespaces=NS)
    pw = token.find("wsse:Password", NS)
    nonce = token.findtext("wsse:Nonce", default="", namespaces=NS)
    created = token.findtext("wsu:Created", default="", namespaces=NS)
    if pw is None or name != user:
        raise SoapFault("ter:NotAuthorized", "Sender not authorized")
    if (pw.get("Type") or "").endswith("#PasswordText"):
        ok = secrets.compare_digest(pw.text or "", password)
    else:
        digest = base64.b64encode(hashlib.sha1(base64.b64decode(nonce) + created.encode() + password.encode())
                                  .digest()).decode()
        ok = secrets.compare_digest(pw.text or "", digest)
        with contextlib.suppress(ValueError):
            when = dt.datetime.fromisoformat(created.replace("Z", "+00:00")).timestamp()
            ok = ok and abs(when - time.time()) < max_skew
    if not ok:
        raise SoapFault("ter:NotAuthorized", "Sender not authorized")


