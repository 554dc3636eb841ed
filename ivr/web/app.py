"""The console's FastAPI application: `create_app(settings)`, run by `ivr serve` with uvicorn.

Everything needs a logged-in session except `/healthz`, `/metrics` (Prometheus: meant for a private
scrape network; set `IVR_METRICS_TOKEN` to require `Authorization: Bearer <token>`), `/openapi.json`
(the schema, SPEC.md §4; it holds no data), the login form and static files.
"""

from __future__ import annotations

import datetime as dt
import ipaddress
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import fastapi_offline
from fastapi import Depends, FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.responses import HTMLResponse, JSONResponse, Response
from fastapi.staticfiles import StaticFiles
from fastapi.templating import Jinja2Templates
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.middleware.sessions import SessionMiddleware

from ivr import metrics
from ivr.auth import SESSION_MAX_AGE, csrf_matches, session_secret
from ivr.flow import Flow, flow_of
from ivr.settings import Settings, load_settings
from ivr.store import Store
from ivr.web import api, labels, pages, queries
from ivr.web.login import LoginGate
from ivr.web.security import CurrentUser, LoginRequired, current_user

HERE = Path(__file__).parent
DOCS_STATIC = Path(fastapi_offline.__file__).parent / "static"  # Swagger UI files: /docs works offline
CSP = (
    "default-src 'self'; img-src 'self' data:; media-src 'self'; style-src 'self' 'unsafe-inline'; "
    "script-src 'self'; connect-src 'self'; frame-ancestors 'none'; form-action 'self'; base-uri 'none'"
)


def _localtime(value: str | None, fmt: str = "%m-%d %H:%M") -> str:
    """ISO UTC ("...Z") → UTC+8 wall clock, the time supervisors work in."""
    if not value:
        return ""
    t = dt.datetime.fromisoformat(value.rstrip("Z")).replace(tzinfo=dt.UTC)
    return t.astimezone(queries.DISPLAY_TZ).strftime(fmt)


def _wallclock(value: str | None, fmt: str = "%Y-%m-%d %H:%M") -> str:
    """A callback time as the dialog read it back (local wall clock, shown without conversion)."""
    if not value:
        return ""
    try:
        return dt.datetime.fromisoformat(value).strftime(fmt)
    except ValueError:
        return value


def _duration(seconds: float | None) -> str:
    if seconds is None:
        return ""
    s = int(seconds)
    if s < 60:
        return f"{s}秒"
    if s < 3600:
        return f"{s // 60}分{s % 60:02d}秒"
    return f"{s // 3600}小时{s % 3600 // 60}分"


def _templates(flow: Flow) -> Jinja2Templates:
    t = Jinja2Templates(directory=str(HERE / "templates"))
    t.env.filters.update(
        localtime=_localtime, wallclock=_wallclock, duration=_duration, pct=lambda v: f"{(v or 0) * 100:.1f}%"
    )
    # L: the console's own words; flow: menus, reasons and labels of grammars/flow.yaml
    t.env.globals.update(L=labels, flow=flow)
    return t


OPS_PATHS = frozenset({"/metrics", "/openapi.json"})
Network = ipaddress.IPv4Network | ipaddress.IPv6Network


def ops_networks(cidrs: Sequence[str]) -> list[Network]:
    """`ops_allow` as networks; a bad entry is one line naming the setting, expectation and value."""
    out = []
    for c in cidrs:
        try:
            out.append(ipaddress.ip_network(c.strip(), strict=False))
        except ValueError:
            raise ValueError(f"IVR_OPS_ALLOW: expected CIDR networks like 10.0.0.0/8, got {c!r}") from None
    return out


def source_allowed(request: Request, networks: Sequence[Network]) -> bool:
    try:
        addr = ipaddress.ip_address(request.client.host if request.client else "")
    except ValueError:
        return False
    return any(addr in n for n in networks)


def _wants_html(request: Request) -> bool:
    return not request.url.path.startswith("/api") and "text/html" in request.headers.get("accept", "")


def create_app(
    settings: Settings | None = None, *, ready: bool = False, store: Store | None = None, flow: Flow | None = None
) -> FastAPI:
    """The console app.  `ready` starts false for `ivr serve` (it flips `app.state.ready` once the
    model and prompts are loaded); tests and `create_app` alone may pass `ready=True`.  Menus,
    reasons and their labels come from `flow` (default: the settings' grammars/flow.yaml)."""
    settings = settings or load_settings()
    flow = flow or flow_of(settings.grammars_dir, settings.prompts_dir)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        yield
        app.state.stopping = True

    app = FastAPI(
        title="ivr console API",
        version="0.1.0",
        description="Supervisor console of the Mandarin collection IVR: escalation queue, calls, analytics.",
        docs_url=None,
        redoc_url=None,
        lifespan=lifespan,
    )
    app.state.settings = settings
    app.state.store = store or Store(settings.database_url)
    app.state.flow = flow
    app.state.ready = ready
    app.state.stopping = False  # set by the server before shutdown so live streams end at once
    app.state.templates = _templates(flow)
    app.state.login_gate = LoginGate(settings.login_concurrency)
    ops_allow = ops_networks(settings.ops_allow)
    app.add_middleware(
        SessionMiddleware,
        secret_key=session_secret(settings),
        session_cookie="ivr_session",
        max_age=SESSION_MAX_AGE,
        same_site="lax",
        https_only=settings.http_secure_cookies,
    )

    @app.middleware("http")
    async def security_headers(request: Request, call_next):
        if request.url.path in OPS_PATHS and not source_allowed(request, ops_allow):
            return JSONResponse({"detail": f"{request.url.path} is not served to this address (IVR_OPS_ALLOW)"}, 403)
        response = await call_next(request)
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        response.headers.setdefault("Referrer-Policy", "same-origin")
        if response.headers.get("content-type", "").startswith("text/html") and request.url.path != "/docs":
            response.headers.setdefault("Content-Security-Policy", CSP)
        return response

    @app.exception_handler(LoginRequired)
    async def login_required(request: Request, exc: LoginRequired) -> Response:
        if request.url.path.startswith("/api") or not _wants_html(request):
            return JSONResponse({"detail": "not logged in"}, status_code=401)
        return pages.login_redirect(request)

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> Response:
        if _wants_html(request):
            user = None
            if request.session.get("user"):
                user = CurrentUser(request.session["user"], "")
            return pages.render(
                request, "error.html", user, status_code=exc.status_code, status=exc.status_code, message=exc.detail
            )
        return JSONResponse({"detail": exc.detail}, status_code=exc.status_code, headers=exc.headers)

    @app.exception_handler(RequestValidationError)
    async def validation_error(request: Request, exc: RequestValidationError) -> Response:
        # One readable line per problem: "body.disposition: Input should be 'promise_taken', ... (got 'x')"
        problems = [
            f"{'.'.join(str(p) for p in e.get('loc', ()))}: {e.get('msg')} (got {e.get('input')!r})"
            for e in exc.errors()
        ]
        if _wants_html(request):
            return await http_error(request, StarletteHTTPException(422, "; ".join(problems)))
        return JSONResponse({"detail": "; ".join(problems), "errors": jsonable(exc.errors())}, status_code=422)

    @app.get(
        "/healthz", tags=["ops"], summary="200 once model and prompts are loaded and the store can write, else 503"
    )
    async def healthz(request: Request) -> JSONResponse:
        if not request.app.state.ready:
            return JSONResponse({"status": "starting"}, status_code=503)
        # a full or read-only data disk: calls would end without a record, so take no new ones (issue 13 #2)
        problem = await run_in_threadpool(request.app.state.store.writable)
        if problem:
            return JSONResponse({"status": "store_unwritable", "detail": problem}, status_code=503)
        return JSONResponse({"status": "ok"})

    @app.get("/metrics", tags=["ops"], summary="Prometheus metrics (this process + DB-derived gauges)")
    async def prometheus(request: Request) -> Response:
        token = settings.metrics_token
        if token and not csrf_matches(token, request.headers.get("authorization", "").removeprefix("Bearer ")):
            return JSONResponse({"detail": "metrics token missing or invalid"}, status_code=401)
        body = await run_in_threadpool(metrics.exposition, app.state.store)
        return Response(body, media_type="text/plain; version=0.0.4; charset=utf-8")

    @app.get("/docs", include_in_schema=False)
    async def docs(user: CurrentUser = Depends(current_user)) -> HTMLResponse:
        return get_swagger_ui_html(
            openapi_url="/openapi.json",
            title="ivr console API",
            swagger_js_url="/static-docs/swagger-ui-bundle.js",
            swagger_css_url="/static-docs/swagger-ui.css",
            swagger_favicon_url="/static-docs/favicon.png",
        )

    app.mount("/static", StaticFiles(directory=str(HERE / "static")), name="static")
    app.mount("/static-docs", StaticFiles(directory=str(DOCS_STATIC)), name="static-docs")
    app.include_router(api.router)
    app.include_router(pages.router)
    plain_openapi = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            app.openapi_schema = api.document_flow(plain_openapi(), flow)
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]
    return app


def jsonable(errors: Sequence[Any]) -> list:
    """Validation errors without non-JSON bits (exception objects in `ctx`)."""
    return [{k: (str(v) if k == "ctx" else v) for k, v in e.items() if k != "url"} for e in errors]


def create_app_from_env() -> FastAPI:
    """`uvicorn --factory ivr.web.app:create_app_from_env`: the console alone, settings from IVR_*."""
    from ivr.auth import SecretKeyError

    try:
        return create_app(load_settings(), ready=True)
    except SecretKeyError as e:  # one line, not a traceback
        raise SystemExit(f"ivr: error: {e}") from None
