"""Request-level auth for the console: who is logged in, role checks, CSRF on state changes.

Sessions are Starlette's signed cookie (itsdangerous) holding only the username and a CSRF token;
the user row is re-read on every request, so deactivating a user cuts them off at once.
CSRF: every non-GET request must carry the session's token, as the `X-CSRF-Token` header (fetch,
API clients) or a `csrf_token` form field (HTML forms).  `SameSite=Lax` cookies are a second layer.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from fastapi import Depends, HTTPException, Request
from starlette.concurrency import run_in_threadpool

from ivr.auth import csrf_matches, get_active_user, new_csrf_token, role_at_least
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
    name = request.session.get("user")
    if not name:
        raise LoginRequired()
    user = await run_in_threadpool(get_active_user, store_of(request), name)
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


def start_session(request: Request, user: CurrentUser) -> str:
    """Fresh session on login (no fixation): new CSRF token, returned for API clients."""
    request.session.clear()
    request.session["user"] = user.username
    return csrf_token(request)
