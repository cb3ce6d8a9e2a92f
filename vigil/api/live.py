"""Live view over WebSocket: a JSON 'init' message with the MSE type, then the init segment and one
fMP4 fragment per frame as binary messages; JSON 'state' messages while the camera is offline."""

from __future__ import annotations

import asyncio
import contextlib

from fastapi import APIRouter, WebSocket, WebSocketDisconnect

from vigil.api.audit import record
from vigil.api.deps import ws_user
from vigil.api.rights import may_see

router = APIRouter(tags=["live"])
STATE_EVERY_S = 1.0


@router.websocket("/api/cameras/{camera_id}/live")
async def live(ws: WebSocket, camera_id: str, stream: str = "sub") -> None:
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
    live_stream = vigil.live_stream(camera_id, "main" if stream == "main" else "sub")
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
                await ws.send_json({"type": "init", "mime": live_stream.mime})
            await ws.send_bytes(data)
    except (WebSocketDisconnect, RuntimeError):
        pass
    finally:
        live_stream.unsubscribe(sub)
        with contextlib.suppress(RuntimeError):
            await ws.close()
