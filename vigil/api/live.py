"""Live view over WebSocket: a JSON 'init' message with the MSE type, then the init segment and one
fMP4 fragment per frame as binary messages; JSON 'state' messages while the camera is offline."""

from __future__ import annotations

import asyncio
import contextlib
from typing import Any

from fastapi import APIRouter, WebSocket, WebSocketDisconnect

from vigil.api.audit import record
from vigil.api.deps import SESSION_COOKIE, while_allowed, ws_user
from vigil.api.rights import may_see
from vigil.media.transcode import TranscodedStream
from vigil.services.streams import TranscodeLimit

router = APIRouter(tags=["live"])
STATE_EVERY_S = 1.0


@router.websocket("/api/cameras/{camera_id}/live")
async def live(ws: WebSocket, camera_id: str, stream: str = "sub", h264: bool = False) -> None:
    """`h264=1`: the browser decodes H.264 only; a camera sending another codec is transcoded for it."""
    vigil = ws.app.state.vigil
    user = await ws_user(ws)
    # Accept, then close with a code: a browser sees why (a refused handshake only says 403).
    await ws.accept()
    if user is None:
        await ws.close(code=4401, reason="authentication required")
        return
    if camera_id not in vigil.cameras or not may_see(user, camera_id):
        await ws.close(code=4404, reason=f"no camera {camera_id!r}")
        return
    await asyncio.to_thread(record, vigil.catalog, "live", user.username, ws.client.host if ws.client else "",
                            camera_id, None, {"stream": stream})
    try:
        while vigil.keeper is not None and camera_id not in vigil.recorders:
            # A cluster: another node records this camera; its viewers are served through this connection.
            there = await asyncio.to_thread(vigil.other_holder, camera_id)
            if there is not None and there.url:
                await while_allowed(ws, _proxy(ws, there.url, camera_id, stream), camera_id)
                return
            await ws.send_json({"type": "state", "online": False, "state": "moving", "error": None})
            await asyncio.sleep(STATE_EVERY_S)
        await while_allowed(ws, _serve(ws, vigil, camera_id, stream, h264), camera_id)
    except (WebSocketDisconnect, RuntimeError):
        pass
    finally:
        with contextlib.suppress(RuntimeError):
            await ws.close()


async def _serve(ws: WebSocket, vigil: Any, camera_id: str, stream: str, h264_only: bool) -> None:
    try:
        live_stream = vigil.streams.playable(camera_id, "main" if stream == "main" else "sub", h264_only)
    except TranscodeLimit as err:
        await ws.send_json({"type": "state", "online": False, "state": "busy", "error": str(err)})
        return
    sub = live_stream.subscribe(asyncio.get_running_loop())
    try:
        while True:
            try:
                data = await asyncio.wait_for(sub.queue.get(), STATE_EVERY_S)
            except TimeoutError:
                rec = vigil.recorders.get(camera_id)
                await ws.send_json({"type": "state", "online": live_stream.online,
                                    "state": rec.status.state if rec else "disabled",
                                    "error": rec.status.last_error if rec else None})
                continue
            if data is None:
                continue
            if data is live_stream.init or data == live_stream.init:
                await ws.send_json({"type": "init", "mime": live_stream.mime,
                                    "transcoded": isinstance(live_stream, TranscodedStream)})
            await ws.send_bytes(data)
    finally:
        live_stream.unsubscribe(sub)


async def _proxy(ws: WebSocket, node_url: str, camera_id: str, stream: str) -> None:
    """Relays the holder node's live WebSocket, with the viewer's own credentials (the catalog is shared)."""
    import aiohttp

    target = f"{'wss' if node_url.startswith('https') else 'ws'}{node_url[node_url.index(':'):]}" \
             f"/api/cameras/{camera_id}/live?stream={stream}"
    headers = {}
    if secret := ws.cookies.get(SESSION_COOKIE):
        headers["Cookie"] = f"{SESSION_COOKIE}={secret}"
    elif token := ws.query_params.get("token"):
        target += f"&token={token}"
    # Nodes' certificates are often the self-signed ones Vigil makes: the link between nodes is not verified.
    async with aiohttp.ClientSession() as http, http.ws_connect(target, headers=headers, ssl=False) as up:
        async def downstream_closed() -> None:
            while (await ws.receive())["type"] != "websocket.disconnect":
                pass

        watcher = asyncio.create_task(downstream_closed())
        try:
            async for msg in up:
                if msg.type == aiohttp.WSMsgType.BINARY:
                    await ws.send_bytes(msg.data)
                elif msg.type == aiohttp.WSMsgType.TEXT:
                    await ws.send_text(msg.data)
                if watcher.done():
                    break
        finally:
            watcher.cancel()
