"""Request-level auth for the console: who is logged in, role checks, CSRF on state changes.

Sessions are server-side: Starlette's signed cookie (itsdangerous) holds a random session id and the
CSRF token; the `console_sessions` row and the user row are re-read on every request, so logout,
a password change, disabling or deleting a user end the session at once (`ivr.auth`).
CSRF: every non-GET request must carry the session's token, as the `X-CSRF-Token` header (fetch,
API clients) or a `csrf_token` form field (HTML forms).  `SameSite=Lax` cookies are a second layer.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from fastapi import Depends, HTTPException, Request
from starlette.concurrency import run_in_threadpool

from ivr.auth import close_session, csrf_matches, new_csrf_token, open_session, role_at_least, session_user
from ivr.flow import Flow
from ivr.store import Store

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
# JSON login cannot be forged cross-site: FastAPI refuses non-JSON bodies and a cross-site JSON POST
# needs a CORS preflight this app never grants.  It is the one state change without a token.
CSRF_EXEMPT = frozenset({"/api/login"})


class LoginRequired(Exception):
    """No valid session: API routes answer 401, pages redirect to the login form."""


@dataclass(frozen=True)
class CurrentUser:
    username: str
    role: str

    @property
    def masked(self) -> bool:
        """Agents see phone and ID numbers masked (pages and API)."""
        return self.role == "agent"

    def at_least(self, role: str) -> bool:
        return role_at_least(self.role, role)


def store_of(request: Request) -> Store:
    return request.app.state.store


def flow_of(request: Request) -> Flow:
    """The conversation as grammars/flow.yaml declares it: menus, funnel, labels, reasons."""
    return request.app.state.flow


async def current_user(request: Request) -> CurrentUser:
    sid = request.session.get("sid")
    if not sid or not isinstance(sid, str):
        raise LoginRequired()
    user = await run_in_threadpool(session_user, store_of(request), sid)
    if user is None:
        request.session.clear()
        raise LoginRequired()
    return CurrentUser(user.username, user.role)


def require(role: str) -> Callable:
    """Dependency: the logged-in user, refused with 403 below `role`."""

    async def dep(user: CurrentUser = Depends(current_user)) -> CurrentUser:
        if not user.at_least(role):
            raise HTTPException(403, f"需要{role}及以上权限 (role {user.role!r} is not allowed)")
        return user

    return dep


def csrf_token(request: Request) -> str:
    """The session's CSRF token, created on first use (also before login, for the login form)."""
    token = request.session.get("csrf")
    if not token:
        token = request.session["csrf"] = new_csrf_token()
    return token


async def csrf_guard(request: Request) -> None:
    """Router-wide dependency: refuse any state-changing request without the session's token."""
    if request.method in SAFE_METHODS or request.url.path in CSRF_EXEMPT:
        return
    given: object = request.headers.get("x-csrf-token")
    if given is None and request.headers.get("content-type", "").startswith(
        ("application/x-www-form-urlencoded", "multipart/form-data")
    ):
        given = (await request.form()).get("csrf_token")  # Starlette caches the parsed form
    if not csrf_matches(request.session.get("csrf"), given if isinstance(given, str) else None):
        raise HTTPException(403, "CSRF token missing or invalid")


async def start_session(request: Request, user: CurrentUser) -> str:
    """Fresh session on login (no fixation): a new server-side session id and CSRF token (returned
    for API clients)."""
    await end_session(request)
    request.session["sid"] = await run_in_threadpool(open_session, store_of(request), user.username)
    request.session["user"] = user.username  # shown on error pages; never trusted for access
    return csrf_token(request)


async def end_session(request: Request) -> None:
    """Logout: the server-side session is deleted, so a copy of the cookie no longer works."""
    sid = request.session.get("sid")
    request.session.clear()
    if isinstance(sid, str):
        await run_in_threadpool(close_session, store_of(request), sid)
