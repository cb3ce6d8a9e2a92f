"""The simulated cameras' ONVIF side: device, media, PTZ and events services over real SOAP (WS-Security
UsernameToken digests checked, `sim/soap.py`; WS-Discovery in `sim/discovery.py`), so Vigil's ONVIF code is
tested against a device as a camera would answer it.

Each camera has its own HTTP port (`onvif_port + i - 1`) because ONVIF clients expect the device service at
`http://host:port/onvif/device_service`. Camera-side analytics events are raised over the sim's control
port: `GET /control/cam1?event=motion` (see `EVENT_TOPICS`).
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import itertools
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from xml.sax.saxutils import escape, quoteattr

from aiohttp import web
from lxml import etree

from vigil.log import get_logger
from vigil.sim.ptz import PtzHead
from vigil.sim.soap import NS, SoapFault, check_username_token, envelope, fault, iso_duration, utc_iso

log = get_logger(__name__)

# What `?event=` raises: (topic, source items, data item name, value when active, pulse?)
EVENT_TOPICS: dict[str, tuple[str, str, bool]] = {
    "motion": ("tns1:RuleEngine/CellMotionDetector/Motion", "IsMotion", False),
    "line": ("tns1:RuleEngine/LineDetector/Crossed", "ObjectId", True),
    "field": ("tns1:RuleEngine/FieldDetector/ObjectsInside", "IsInside", False),
    "tamper": ("tns1:RuleEngine/TamperDetector/Tamper", "IsTamper", False),
    "face": ("tns1:RuleEngine/FaceDetection/Face", "Likelihood", True),
    "plate": ("tns1:RuleEngine/LicensePlateRecognition/Plate", "PlateNumber", True),
}


@dataclass
class Notification:
    topic: str
    utc: float
    operation: str  # Initialized | Changed
    data: dict[str, str]


@dataclass
class Subscription:
    id: int
    expires: float
    queue: asyncio.Queue[Notification] = field(default_factory=asyncio.Queue)


@dataclass
class OnvifDevice:
    """One simulated camera's ONVIF services."""

    name: str  # cam1
    host: str
    port: int
    rtsp_main: str
    rtsp_sub: str | None
    main_size: tuple[int, int]
    sub_size: tuple[int, int] | None
    encoding: str  # H264 | H265
    user: str
    password: str
    head: PtzHead
    ptz: bool = True  # a PTZ camera: offers the PTZ service and a PTZ configuration in its profiles
    snapshot_url: str = ""
    serial: str = ""
    subs: dict[int, Subscription] = field(default_factory=dict)
    _ids: itertools.count[int] = field(default_factory=lambda: itertools.count(1))
    _states: dict[str, bool] = field(default_factory=dict)
    _runner: web.AppRunner | None = None

    @property
    def xaddr(self) -> str:
        return f"http://{self.host}:{self.port}/onvif/device_service"

    def scopes(self) -> list[str]:
        kinds = ["video_encoder", "ptz"] if self.ptz else ["video_encoder"]
        return [f"onvif://www.onvif.org/type/{k}" for k in kinds] + [
            "onvif://www.onvif.org/Profile/Streaming", "onvif://www.onvif.org/name/Vigil-Sim",
            f"onvif://www.onvif.org/hardware/{self.model}", f"onvif://www.onvif.org/location/{self.name}"]

    @property
    def model(self) -> str:
        return "SIM-PTZ-4K" if self.ptz else "SIM-BULLET-4K"

    # events raised by the control port
    def raise_event(self, kind: str, value: str | None = None) -> None:
        if kind not in EVENT_TOPICS:
            raise ValueError(f"event {kind!r}: use one of {', '.join(EVENT_TOPICS)}")
        topic, item, pulse = EVENT_TOPICS[kind]
        if pulse:
            data = {item: value or {"line": "1", "face": "0.93", "plate": "AB12CDE"}.get(kind, "1")}
            self._notify(Notification(topic, time.time(), "Changed", data))
            return
        active = (value or "true").lower() != "false"
        self._states[kind] = active
        self._notify(Notification(topic, time.time(), "Changed", {item: "true" if active else "false"}))

    def _notify(self, n: Notification) -> None:
        now = time.monotonic()
        for sid, sub in list(self.subs.items()):
            if sub.expires < now:
                del self.subs[sid]
            else:
                sub.queue.put_nowait(n)

    # the HTTP side
    async def start(self) -> None:
        app = web.Application()
        app.router.add_post("/onvif/{service}", self._soap)
        app.router.add_post("/onvif/pullpoint/{sid}", self._soap)
        app.router.add_get("/onvif/snapshot.jpg", self._snapshot)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        await web.TCPSite(self._runner, self.host, self.port, reuse_address=True).start()

    async def close(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()

    async def _snapshot(self, request: web.Request) -> web.Response:
        raise web.HTTPNotFound(text="the sim serves no snapshot over ONVIF")

    async def _soap(self, request: web.Request) -> web.Response:
        raw = await request.read()
        try:
            root = etree.fromstring(raw, etree.XMLParser(resolve_entities=False, no_network=True))
            body = root.find("s:Body", NS)
            if body is None or len(body) == 0:
                raise SoapFault("ter:InvalidArgVal", "no SOAP body")
            op = etree.QName(body[0]).localname
            if request.match_info.get("service") == "ptz_service" and not self.ptz:
                raise SoapFault("ter:ActionNotSupported", "this camera has no PTZ", code="Receiver")
            if op not in ("GetSystemDateAndTime",):
                check_username_token(root, self.user, self.password)
            handler = getattr(self, f"op_{op}", None)
            if handler is None:
                raise SoapFault("ter:ActionNotSupported", f"{op} is not supported", code="Receiver")
            out = await handler(body[0], request)
            return web.Response(text=envelope(out), content_type="application/soap+xml", charset="utf-8")
        except SoapFault as f:
            return web.Response(text=fault(f.code, f.subcode, f.reason), status=f.status,
                                content_type="application/soap+xml", charset="utf-8")
        except etree.XMLSyntaxError as err:
            return web.Response(text=fault("Sender", "ter:WellFormed", str(err)), status=400,
                                content_type="application/soap+xml", charset="utf-8")

    # device service
    async def op_GetSystemDateAndTime(self, req: Any, r: web.Request) -> str:
        t = dt.datetime.now(dt.UTC)
        return ("<tds:GetSystemDateAndTimeResponse><tds:SystemDateAndTime><tt:DateTimeType>NTP</tt:DateTimeType>"
                "<tt:DaylightSavings>false</tt:DaylightSavings><tt:TimeZone><tt:TZ>UTC0</tt:TZ></tt:TimeZone>"
                f"<tt:UTCDateTime><tt:Time><tt:Hour>{t.hour}</tt:Hour><tt:Minute>{t.minute}</tt:Minute>"
                f"<tt:Second>{t.second}</tt:Second></tt:Time><tt:Date><tt:Year>{t.year}</tt:Year>"
                f"<tt:Month>{t.month}</tt:Month><tt:Day>{t.day}</tt:Day></tt:Date></tt:UTCDateTime>"
                "</tds:SystemDateAndTime></tds:GetSystemDateAndTimeResponse>")

    def _services(self) -> list[tuple[str, str]]:
        base = f"http://{self.host}:{self.port}/onvif"
        return [(NS["tds"], f"{base}/device_service"), (NS["trt"], f"{base}/media_service"),
                (NS["tev"], f"{base}/events_service")] + ([(NS["tptz"], f"{base}/ptz_service")] if self.ptz else [])

    async def op_GetServices(self, req: Any, r: web.Request) -> str:
        items = "".join(f"<tds:Service><tds:Namespace>{ns}</tds:Namespace><tds:XAddr>{x}</tds:XAddr>"
                        "<tds:Version><tt:Major>2</tt:Major><tt:Minor>60</tt:Minor></tds:Version></tds:Service>"
                        for ns, x in self._services())
        return f"<tds:GetServicesResponse>{items}</tds:GetServicesResponse>"

    async def op_GetCapabilities(self, req: Any, r: web.Request) -> str:
        x = dict((ns, a) for ns, a in self._services())
        return ("<tds:GetCapabilitiesResponse><tds:Capabilities>"
                f"<tt:Device><tt:XAddr>{x[NS['tds']]}</tt:XAddr></tt:Device>"
                f"<tt:Events><tt:XAddr>{x[NS['tev']]}</tt:XAddr><tt:WSSubscriptionPolicySupport>false"
                "</tt:WSSubscriptionPolicySupport><tt:WSPullPointSupport>true</tt:WSPullPointSupport>"
                "<tt:WSPausableSubscriptionManagerInterfaceSupport>false"
                "</tt:WSPausableSubscriptionManagerInterfaceSupport></tt:Events>"
                f"<tt:Media><tt:XAddr>{x[NS['trt']]}</tt:XAddr></tt:Media>"
                + (f"<tt:PTZ><tt:XAddr>{x[NS['tptz']]}</tt:XAddr></tt:PTZ>" if self.ptz else "") +
                "</tds:Capabilities></tds:GetCapabilitiesResponse>")

    async def op_GetDeviceInformation(self, req: Any, r: web.Request) -> str:
        return ("<tds:GetDeviceInformationResponse><tds:Manufacturer>Vigil-Sim</tds:Manufacturer>"
                f"<tds:Model>{self.model}</tds:Model><tds:FirmwareVersion>1.0</tds:FirmwareVersion>"
                f"<tds:SerialNumber>{self.serial or self.name}</tds:SerialNumber>"
                f"<tds:HardwareId>{self.name}</tds:HardwareId></tds:GetDeviceInformationResponse>")

    async def op_GetScopes(self, req: Any, r: web.Request) -> str:
        items = "".join(f"<tds:Scopes><tt:ScopeDef>Fixed</tt:ScopeDef><tt:ScopeItem>{s}</tt:ScopeItem></tds:Scopes>"
                        for s in self.scopes())
        return f"<tds:GetScopesResponse>{items}</tds:GetScopesResponse>"

    # media service
    def _profiles(self) -> list[tuple[str, tuple[int, int]]]:
        out = [("main", self.main_size)]
        if self.sub_size is not None:
            out.append(("sub", self.sub_size))
        return out

    def _profile_xml(self, token: str, size: tuple[int, int]) -> str:
        w, h = size
        return (f'<trt:Profiles token="{token}" fixed="true"><tt:Name>{token}</tt:Name>'
                '<tt:VideoSourceConfiguration token="vsc0"><tt:Name>video</tt:Name><tt:UseCount>2</tt:UseCount>'
                f'<tt:SourceToken>vs0</tt:SourceToken><tt:Bounds x="0" y="0" width="{self.main_size[0]}" '
                f'height="{self.main_size[1]}"/></tt:VideoSourceConfiguration>'
                f'<tt:VideoEncoderConfiguration token="vec_{token}"><tt:Name>{token}</tt:Name>'
                f"<tt:UseCount>1</tt:UseCount><tt:Encoding>{self.encoding}</tt:Encoding>"
                f"<tt:Resolution><tt:Width>{w}</tt:Width><tt:Height>{h}</tt:Height></tt:Resolution>"
                "<tt:Quality>5</tt:Quality><tt:SessionTimeout>PT60S</tt:SessionTimeout>"
                "</tt:VideoEncoderConfiguration>"
                + ('<tt:PTZConfiguration token="ptz0"><tt:Name>ptz</tt:Name><tt:UseCount>2</tt:UseCount>'
                   "<tt:NodeToken>node0</tt:NodeToken></tt:PTZConfiguration>" if self.ptz else "")
                + "</trt:Profiles>")

    async def op_GetProfiles(self, req: Any, r: web.Request) -> str:
        return ("<trt:GetProfilesResponse>" + "".join(self._profile_xml(t, s) for t, s in self._profiles())
                + "</trt:GetProfilesResponse>")

    def _profile_token(self, req: Any) -> str:
        token = (req.findtext("trt:ProfileToken", namespaces=NS) or req.findtext("tptz:ProfileToken", namespaces=NS)
                 or "")
        if token not in dict(self._profiles()):
            raise SoapFault("ter:InvalidArgVal/ter:NoProfile", f"no profile {token!r}")
        return token

    async def op_GetStreamUri(self, req: Any, r: web.Request) -> str:
        token = self._profile_token(req)
        uri = self.rtsp_main if token == "main" else (self.rtsp_sub or self.rtsp_main)
        return (f"<trt:GetStreamUriResponse><trt:MediaUri><tt:Uri>{escape(uri)}</tt:Uri>"
                "<tt:InvalidAfterConnect>false</tt:InvalidAfterConnect><tt:InvalidAfterReboot>false"
                "</tt:InvalidAfterReboot><tt:Timeout>PT0S</tt:Timeout></trt:MediaUri></trt:GetStreamUriResponse>")

    # PTZ service
    @staticmethod
    def _vector(el: Any) -> tuple[float | None, float | None, float | None]:
        if el is None:
            return None, None, None
        pt, z = el.find("tt:PanTilt", NS), el.find("tt:Zoom", NS)
        return (float(pt.get("x", 0)) if pt is not None else None, float(pt.get("y", 0)) if pt is not None else None,
                float(z.get("x", 0)) if z is not None else None)

    async def op_ContinuousMove(self, req: Any, r: web.Request) -> str:
        self._profile_token(req)
        p, t, z = self._vector(req.find("tptz:Velocity", NS))
        self.head.continuous_move(p or 0.0, t or 0.0, z or 0.0,
                                  iso_duration(req.findtext("tptz:Timeout", namespaces=NS), 60.0))
        return "<tptz:ContinuousMoveResponse/>"

    async def op_Stop(self, req: Any, r: web.Request) -> str:
        self.head.stop()
        return "<tptz:StopResponse/>"

    async def op_AbsoluteMove(self, req: Any, r: web.Request) -> str:
        self._profile_token(req)
        p, t, z = self._vector(req.find("tptz:Position", NS))
        cp, ct, cz = self.head.position()
        self.head.absolute_move(cp if p is None else p, ct if t is None else t, cz if z is None else z)
        return "<tptz:AbsoluteMoveResponse/>"

    async def op_GetStatus(self, req: Any, r: web.Request) -> str:
        p, t, z = self.head.position()
        state = "MOVING" if self.head.moving() else "IDLE"
        return (f'<tptz:GetStatusResponse><tptz:PTZStatus><tt:Position><tt:PanTilt x="{p:.4f}" y="{t:.4f}"/>'
                f'<tt:Zoom x="{z:.4f}"/></tt:Position><tt:MoveStatus><tt:PanTilt>{state}</tt:PanTilt>'
                f"<tt:Zoom>{state}</tt:Zoom></tt:MoveStatus><tt:UtcTime>{utc_iso()}</tt:UtcTime></tptz:PTZStatus>"
                "</tptz:GetStatusResponse>")

    async def op_GetPresets(self, req: Any, r: web.Request) -> str:
        items = "".join(f'<tptz:Preset token={quoteattr(p.token)}><tt:Name>{escape(p.name)}</tt:Name>'
                        f'<tt:PTZPosition><tt:PanTilt x="{p.pan:.4f}" y="{p.tilt:.4f}"/><tt:Zoom x="{p.zoom:.4f}"/>'
                        "</tt:PTZPosition></tptz:Preset>" for p in self.head.presets.values())
        return f"<tptz:GetPresetsResponse>{items}</tptz:GetPresetsResponse>"

    async def op_SetPreset(self, req: Any, r: web.Request) -> str:
        self._profile_token(req)
        name = req.findtext("tptz:PresetName", namespaces=NS) or ""
        if len(self.head.presets) >= 64 and not req.findtext("tptz:PresetToken", namespaces=NS):
            raise SoapFault("ter:InvalidArgVal/ter:TooManyPresets", "64 presets at most", code="Receiver")
        token = self.head.set_preset(name, req.findtext("tptz:PresetToken", namespaces=NS) or None)
        return f"<tptz:SetPresetResponse><tptz:PresetToken>{escape(token)}</tptz:PresetToken></tptz:SetPresetResponse>"

    def _on_preset(self, req: Any, action: Callable[[str], None], answer: str) -> str:
        token = req.findtext("tptz:PresetToken", namespaces=NS) or ""
        try:
            action(token)
        except KeyError:
            raise SoapFault("ter:InvalidArgVal/ter:NoToken", f"no preset {token!r}") from None
        return f"<tptz:{answer}/>"

    async def op_GotoPreset(self, req: Any, r: web.Request) -> str:
        return self._on_preset(req, self.head.goto_preset, "GotoPresetResponse")

    async def op_RemovePreset(self, req: Any, r: web.Request) -> str:
        return self._on_preset(req, self.head.remove_preset, "RemovePresetResponse")

    # events service
    async def op_GetEventProperties(self, req: Any, r: web.Request) -> str:
        return ("<tev:GetEventPropertiesResponse><tev:TopicNamespaceLocation>"
                "http://www.onvif.org/onvif/ver10/topics/topicns.xml</tev:TopicNamespaceLocation>"
                "<wsnt:FixedTopicSet>true</wsnt:FixedTopicSet></tev:GetEventPropertiesResponse>")

    async def op_CreatePullPointSubscription(self, req: Any, r: web.Request) -> str:
        ttl = iso_duration(req.findtext("tev:InitialTerminationTime", namespaces=NS), 60.0)
        sid = next(self._ids)
        sub = Subscription(sid, time.monotonic() + ttl)
        self.subs[sid] = sub
        for kind, active in self._states.items():  # properties start with their current state
            topic, item, _ = EVENT_TOPICS[kind]
            sub.queue.put_nowait(Notification(topic, time.time(), "Initialized", {item: str(active).lower()}))
        now = time.time()
        return ("<tev:CreatePullPointSubscriptionResponse><tev:SubscriptionReference>"
                f"<wsa:Address>http://{self.host}:{self.port}/onvif/pullpoint/{sid}</wsa:Address>"
                f"</tev:SubscriptionReference><wsnt:CurrentTime>{utc_iso(now)}</wsnt:CurrentTime>"
                f"<wsnt:TerminationTime>{utc_iso(now + ttl)}</wsnt:TerminationTime>"
                "</tev:CreatePullPointSubscriptionResponse>")

    def _subscription(self, r: web.Request) -> Subscription:
        sub = self.subs.get(int(r.match_info.get("sid", "0") or 0))
        if sub is None or sub.expires < time.monotonic():
            raise SoapFault("wsrf-rw:ResourceUnknownFault", "no such subscription (expired?)")
        return sub

    async def op_PullMessages(self, req: Any, r: web.Request) -> str:
        sub = self._subscription(r)
        timeout = min(iso_duration(req.findtext("tev:Timeout", namespaces=NS), 5.0), 60.0)
        limit = int(req.findtext("tev:MessageLimit", namespaces=NS) or 10)
        out: list[Notification] = []
        with contextlib.suppress(asyncio.TimeoutError):
            out.append(await asyncio.wait_for(sub.queue.get(), timeout))
            while len(out) < limit and not sub.queue.empty():
                out.append(sub.queue.get_nowait())
        now = time.time()
        msgs = "".join(self._message(n) for n in out)
        return (f"<tev:PullMessagesResponse><tev:CurrentTime>{utc_iso(now)}</tev:CurrentTime>"
                f"<tev:TerminationTime>{utc_iso(now + sub.expires - time.monotonic())}</tev:TerminationTime>"
                f"{msgs}</tev:PullMessagesResponse>")

    def _message(self, n: Notification) -> str:
        stamp = dt.datetime.fromtimestamp(n.utc, dt.UTC).isoformat(timespec="milliseconds")
        data = "".join(f"<tt:SimpleItem Name={quoteattr(k)} Value={quoteattr(v)}/>" for k, v in n.data.items())
        return ('<wsnt:NotificationMessage><wsnt:Topic Dialect="http://www.onvif.org/ver10/tev/topicExpression/'
                f'ConcreteSet">{n.topic}</wsnt:Topic><wsnt:Message><tt:Message UtcTime="{stamp.replace("+00:00", "Z")}"'
                f' PropertyOperation="{n.operation}"><tt:Source><tt:SimpleItem Name="VideoSourceConfigurationToken" '
                'Value="vsc0"/><tt:SimpleItem Name="Rule" Value="Rule1"/></tt:Source>'
                f"<tt:Data>{data}</tt:Data></tt:Message></wsnt:Message></wsnt:NotificationMessage>")

    async def op_Renew(self, req: Any, r: web.Request) -> str:
        sub = self._subscription(r)
        ttl = iso_duration(req.findtext("wsnt:TerminationTime", namespaces=NS), 60.0)
        sub.expires = time.monotonic() + ttl
        now = time.time()
        return (f"<wsnt:RenewResponse><wsnt:TerminationTime>{utc_iso(now + ttl)}</wsnt:TerminationTime>"
                f"<wsnt:CurrentTime>{utc_iso(now)}</wsnt:CurrentTime></wsnt:RenewResponse>")

    async def op_Unsubscribe(self, req: Any, r: web.Request) -> str:
        self.subs.pop(int(r.match_info.get("sid", "0") or 0), None)
        return "<wsnt:UnsubscribeResponse/>"

    async def op_SetSynchronizationPoint(self, req: Any, r: web.Request) -> str:
        return "<tev:SetSynchronizationPointResponse/>"


