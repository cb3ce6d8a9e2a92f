"""The FastAPI application: every route but health and login requires a user."""

from __future__ import annotations

from importlib import resources
from typing import TYPE_CHECKING, Any

from fastapi import APIRouter, Depends, FastAPI, HTTPException, Request
from fastapi.exceptions import RequestValidationError
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.responses import HTMLResponse, JSONResponse, Response
from fastapi.staticfiles import StaticFiles

from vigil import __version__
from vigil.api import (
    alarms,
    analytics,
    audit,
    auth,
    cameras,
    counting,
    events,
    exports,
    faces,
    live,
    metrics,
    onvif,
    overview,
    plates,
    playback,
    search,
    system,
    tags,
)
from vigil.api.audit import AuditMiddleware
from vigil.api.deps import SESSION_COOKIE, current_user, get_vigil
from vigil.api.hardening import Hardening
from vigil.api.metrics import RequestTimer
from vigil.api.schemas import Health
from vigil.clock import now_ms
from vigil.errors import ConfigError, FaceImageError, NotFoundError, OnvifError, VigilError
from vigil.ipfilter import IpFilter

if TYPE_CHECKING:
    from vigil.nvr import Vigil

# The manifest and service worker hold no data: a browser fetches them before (and without) a login.
PUBLIC_PATHS = {"/api/health", "/api/auth/login", "/api/auth/session", "/", "/login", "/manifest.webmanifest", "/sw.js"}


def _problem(status: int, detail: str, headers: dict[str, str] | None = None) -> JSONResponse:
    return JSONResponse({"detail": detail, "status": status}, status_code=status, headers=headers,
                        media_type="application/problem+json")


def create_app(vigil: Vigil) -> FastAPI:
    app = FastAPI(title="Vigil", version=__version__, description="Open-source AI network video recorder",
                  docs_url=None, redoc_url=None, openapi_url=None)
    app.state.vigil = vigil
    api = vigil.cfg.api

    @app.exception_handler(HTTPException)
    async def _http(_req: Request, err: HTTPException) -> JSONResponse:
        return _problem(err.status_code, str(err.detail), dict(err.headers or {}))

    @app.exception_handler(RequestValidationError)
    async def _invalid(_req: Request, err: RequestValidationError) -> JSONResponse:
        msgs = [f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}" for e in err.errors()]
        return _problem(422, "; ".join(msgs))

    @app.exception_handler(OverflowError)
    async def _overflow(_req: Request, err: OverflowError) -> JSONResponse:
        # A number the request carried that no catalog column holds (SQLite and PostgreSQL: 64-bit integers).
        return _problem(422, f"a number in the request is too large ({err}); ids and times fit in 64 bits")

    @app.exception_handler(UnicodeEncodeError)
    async def _surrogate(_req: Request, err: UnicodeEncodeError) -> JSONResponse:
        # JSON may carry a lone UTF-16 surrogate ("\ud800"): valid JSON, but no text a password hash or a
        # database can hold.
        return _problem(422, f"the request holds text that is not valid Unicode ({err.reason} at {err.start})")

    @app.exception_handler(VigilError)
    async def _vigil(_req: Request, err: VigilError) -> JSONResponse:
        status = (404 if isinstance(err, NotFoundError) else 409 if isinstance(err, ConfigError)
                  else 422 if isinstance(err, FaceImageError) else 502 if isinstance(err, OnvifError) else 500)
        return _problem(status, str(err))

    @app.get("/api/health", response_model=Health, tags=["system"])
    def health(request: Request) -> Health:
        v = get_vigil(request)
        states = [r.status.state for r in v.recorders.values()]
        return Health(status="ok", version=__version__, time_ms=now_ms(), cameras=len(v.cameras),
                      online=states.count("online"))

    protected = APIRouter(dependencies=[Depends(current_user)])

    @protected.get("/api/openapi.json", include_in_schema=False)
    def openapi() -> dict[str, Any]:
        return app.openapi()

    @protected.get("/api/docs", include_in_schema=False)
    def docs() -> HTMLResponse:
        return get_swagger_ui_html(openapi_url="/api/openapi.json", title="Vigil API")

    @app.get("/", response_class=HTMLResponse, include_in_schema=False)
    @app.get("/login", response_class=HTMLResponse, include_in_schema=False)
    def index() -> str:
        # The page itself holds no data; it logs in and then calls the protected API.
        return (resources.files("vigil.web") / "index.html").read_text()

    # The app manifest and the service worker make the UI installable; the worker must be served from the root to
    # control the whole site. Neither holds data.
    @app.get("/manifest.webmanifest", include_in_schema=False)
    def manifest() -> Response:
        text = (resources.files("vigil.web") / "manifest.webmanifest").read_text()
        return Response(text, media_type="application/manifest+json")

    @app.get("/sw.js", include_in_schema=False)
    def service_worker() -> Response:
        text = (resources.files("vigil.web") / "sw.js").read_text()
        return Response(text, media_type="text/javascript", headers={"Cache-Control": "no-cache"})

    # The page's own scripts and styles hold no data: they are part of the login page.
    app.mount("/web", StaticFiles(directory=str(resources.files("vigil.web"))), name="web")
    app.include_router(auth.public)
    app.include_router(auth.router)
    app.include_router(system.router)  # before cameras: /api/cameras/test is not a camera id
    app.include_router(overview.router)
    app.include_router(cameras.router)
    app.include_router(playback.router)
    app.include_router(tags.router)
    app.include_router(exports.router)
    app.include_router(protected)
    app.include_router(live.router)
    app.include_router(events.router)
    app.include_router(events.ws_router)
    app.include_router(analytics.router)
    app.include_router(faces.router)
    app.include_router(alarms.router)
    app.include_router(search.router)
    app.include_router(counting.router)
    app.include_router(plates.router)
    app.include_router(onvif.router)
    app.include_router(audit.router)
    app.include_router(metrics.router)
    app.add_middleware(AuditMiddleware)  # inside the hardening: refused requests never reach a route
    app.add_middleware(Hardening, session_cookie=SESSION_COOKIE, ip_filter=IpFilter(api.ip_allow, api.ip_block))
    app.add_middleware(RequestTimer, metrics=vigil.metrics)  # outermost: refused requests are timed too
    return app
