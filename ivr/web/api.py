"""REST API (`/api/...`): the same records the pages show, as JSON.  OpenAPI at /docs.

Auth: `POST /api/login` (JSON) sets the session cookie and returns the CSRF token to send as
`X-CSRF-Token` on every POST.  Errors are JSON `{"detail": ...}`: 401 not logged in, 403 role or
CSRF, 404 unknown id, 409 wrong state (already resolved / claimed by someone else), 422 bad input.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, HTTPException, Query, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import FileResponse, Response
from pydantic import BaseModel, Field
from starlette.concurrency import run_in_threadpool

from ivr import auth
from ivr.flow import Flow
from ivr.store import DISPOSITIONS, REQUEST_STATUSES, ROLES
from ivr.web import actions, live, queries, tasks
from ivr.web.bounds import CallId, Day, Id, Page, PerPage
from ivr.web.login import LoginRefused
from ivr.web.login import attempt as login_attempt
from ivr.web.masking import contains_full_number, mask_text
from ivr.web.security import (
    CurrentUser,
    csrf_guard,
    current_user,
    end_session,
    flow_of,
    require,
    start_session,
    store_of,
)
from ivr.web.waveform import RecordingError, peaks, wav_info

router = APIRouter(prefix="/api", dependencies=[Depends(csrf_guard)])

Disposition = Literal[DISPOSITIONS]  # type: ignore[valid-type]
RequestStatus = Literal[REQUEST_STATUSES]  # type: ignore[valid-type]
CallbackState = Literal[tasks.CALLBACK_STATES]  # type: ignore[valid-type]
KIND_PATTERN = r"^[a-z_]{1,32}$"
Outcome = Literal["completed", "escalated", "hangup"]


class LoginIn(BaseModel):
    username: str = Field(max_length=64)
    password: str = Field(max_length=auth.MAX_PASSWORD)


class NoteIn(BaseModel):
    text: str = Field(min_length=1, max_length=actions.MAX_NOTE)


class ResolveIn(BaseModel):
    disposition: Disposition
    note: str | None = Field(default=None, max_length=actions.MAX_NOTE)


class RequestResolveIn(BaseModel):
    note: str = Field(min_length=1, max_length=actions.MAX_NOTE, description="the decision or answer given")


class CallbackDoneIn(BaseModel):
    note: str | None = Field(default=None, max_length=actions.MAX_NOTE)


class UserIn(BaseModel):
    username: str
    role: Literal[ROLES]  # type: ignore[valid-type]
    password: str


def _literal_error(loc: tuple[str, ...], expected: list[str], got: object) -> dict[str, Any]:
    """The error pydantic gives for a `Literal` parameter, for choices known only at run time."""
    choices = [repr(c) for c in expected]
    listed = choices[0] if len(choices) == 1 else f"{', '.join(choices[:-1])} or {choices[-1]}"
    return {
        "type": "literal_error",
        "loc": loc,
        "msg": f"Input should be {listed}",
        "input": got,
        "ctx": {"expected": listed},
    }


def document_flow(schema: dict[str, Any], flow: Flow) -> dict[str, Any]:
    """The OpenAPI schema with flow.yaml's reasons (the `reason` filter's choices) and menus."""
    params = schema.get("paths", {}).get("/api/calls", {}).get("get", {}).get("parameters", [])
    for p in params:
        if p.get("name") == "reason":
            p["schema"] = {
                "anyOf": [{"enum": list(flow.reasons), "type": "string"}, {"type": "null"}],
                "title": "Reason",
            }
            p["description"] = "Escalation reason, most urgent first: " + ", ".join(
                f"{r} ({w.label})" for r, w in flow.reasons.items()
            )
        elif p.get("name") == "menu":
            p["description"] = "Menu the call ended at: " + ", ".join(f"{m} ({flow.menu_label(m)})" for m in flow.menus)
    return schema


def _or_404(item: object, what: str, ident: object) -> object:
    if item is None:
        raise HTTPException(404, f"{what} {ident} not found")
    return item


async def run_action(fn, *args) -> None:
    """Run a write from ivr.web.actions, mapping its errors to HTTP status codes."""
    try:
        await run_in_threadpool(fn, *args)
    except actions.NotFound as e:
        raise HTTPException(404, str(e)) from None
    except actions.Conflict as e:
        raise HTTPException(409, str(e)) from None
    except ValueError as e:
        raise HTTPException(422, str(e)) from None


async def guard_search(request: Request, user: CurrentUser, q: str | None, surface: str) -> None:
    """Agents may not search by a whole phone, ID or bank number (in any spelling): the answer would
    confirm the number is on file.  Refused with 403 and audited (the number masked); supervisors
    and admins search as before."""
    if not user.masked or not contains_full_number(q):
        return
    shown = mask_text(q)
    await run_in_threadpool(
        actions.record, store_of(request), user.username, "search_refused", "search", surface, f"q={shown}"
    )
    raise HTTPException(
        403,
        f"q: expected part of a number (e.g. its last 4 digits), a case id or a name; a whole phone/ID/bank"
        f" number is not searchable for agents, got {shown!r}",
    )


# ---------------------------------------------------------------- session


@router.post("/login", tags=["auth"], summary="Log in; returns the CSRF token for later POSTs")
async def login(body: LoginIn, request: Request) -> dict:
    """401 wrong name or password; 429 (with Retry-After) after repeated failures of the account or
    the address (exponential back-off, then a 15-minute lockout); 503 when too many logins run at once."""
    try:
        user = await login_attempt(request, body.username, body.password)
    except LoginRefused as e:
        headers = {"Retry-After": str(e.retry_after)} if e.retry_after else None
        raise HTTPException(e.status, e.message, headers=headers) from None
    token = await start_session(request, CurrentUser(user.username, user.role))
    await run_in_threadpool(actions.record, store_of(request), user.username, "login", "user", user.username)
    return {"username": user.username, "role": user.role, "csrf_token": token}


@router.post("/logout", tags=["auth"], summary="End the session (the cookie stops working everywhere)")
async def logout(request: Request, user: CurrentUser = Depends(current_user)) -> dict:
    await end_session(request)
    return {"ok": True}


@router.get("/me", tags=["auth"], summary="The logged-in user and the session's CSRF token")
async def me(request: Request, user: CurrentUser = Depends(current_user)) -> dict:
    return {"username": user.username, "role": user.role, "csrf_token": request.session.get("csrf")}


# ---------------------------------------------------------------- escalations


@router.get("/escalations", tags=["escalations"], summary="The queue: open escalations in service order")
async def list_escalations(request: Request, user: CurrentUser = Depends(current_user)) -> dict:
    data = await run_in_threadpool(queries.queue, store_of(request), flow_of(request))
    return queries.present(data, user.masked)


@router.get("/escalations/stream", tags=["escalations"], summary="Server-sent events: the queue on every change")
async def stream_escalations(request: Request, user: CurrentUser = Depends(current_user)) -> Response:
    return live.queue_stream(request, user, as_html=False)


@router.get("/escalations/{esc_id}", tags=["escalations"], summary="One escalation: summary, transcript, notes, audit")
async def get_escalation(esc_id: Id, request: Request, user: CurrentUser = Depends(current_user)) -> dict:
    store = store_of(request)
    item = _or_404(
        await run_in_threadpool(queries.escalation_detail, store, flow_of(request), esc_id), "escalation", esc_id
    )
    await run_in_threadpool(actions.record, store, user.username, "view", "escalation", esc_id, "api")
    return queries.present(item, user.masked)


@router.post("/escalations/{esc_id}/claim", tags=["escalations"])
async def claim_escalation(esc_id: Id, request: Request, user: CurrentUser = Depends(current_user)) -> dict:
    await run_action(actions.claim, store_of(request), esc_id, user.username)
    return {"ok": True, "id": esc_id, "status": "claimed", "claimed_by": user.username}


@router.post("/escalations/{esc_id}/notes", tags=["escalations"])
async def note_escalation(
    esc_id: Id, body: NoteIn, request: Request, user: CurrentUser = Depends(current_user)
) -> dict:
    await run_action(actions.add_note, store_of(request), esc_id, user.username, body.text)
    return {"ok": True, "id": esc_id}


@router.post("/escalations/{esc_id}/resolve", tags=["escalations"])
async def resolve_escalation(
    esc_id: Id, body: ResolveIn, request: Request, user: CurrentUser = Depends(current_user)
) -> dict:
    await run_action(actions.resolve, store_of(request), esc_id, user.username, body.disposition, body.note)
    return {"ok": True, "id": esc_id, "status": "resolved", "disposition": body.disposition}


# ---------------------------------------------------------------- calls


@router.get("/calls", tags=["calls"], summary="Call history with search and filters (dates are UTC+8 days)")
async def list_calls(
    request: Request,
    user: CurrentUser = Depends(current_user),
    date_from: Day = None,
    date_to: Day = None,
    outcome: Outcome | None = None,
    # one of flow.yaml's `reasons` (checked below; listed in the OpenAPI schema by `document_flow`)
    reason: str | None = Query(default=None, max_length=32),
    menu: str | None = Query(default=None, max_length=32),
    q: str | None = Query(default=None, max_length=64),
    page: Page = 1,
    per_page: PerPage = 50,
) -> dict:
    flow = flow_of(request)
    if reason is not None and reason not in flow.reasons:
        raise RequestValidationError([_literal_error(("query", "reason"), list(flow.reasons), reason)])
    await guard_search(request, user, q, "calls")
    f = queries.CallFilter(date_from, date_to, outcome, reason, menu, q, page, per_page)
    return queries.present(await run_in_threadpool(queries.search_calls, store_of(request), flow, f), user.masked)


@router.get(
    "/calls/{call_id}",
    tags=["calls"],
    summary="One call with its turns, summary lines and follow-up work (`tasks`: requests, callback, contact preference)",
)
async def get_call(call_id: CallId, request: Request, user: CurrentUser = Depends(current_user)) -> dict:
    item = _or_404(
        await run_in_threadpool(queries.call_detail, store_of(request), flow_of(request), call_id), "call", call_id
    )
    out = queries.present(item, user.masked)
    out["tasks"] = tasks.present(await run_in_threadpool(tasks.call_tasks, store_of(request), call_id), user.masked)
    return out


async def recording_file(request: Request, call_id: str) -> str:
    path = await run_in_threadpool(queries.recording_path, store_of(request), call_id)
    if path is None:
        raise HTTPException(404, f"call {call_id} has no recording")
    try:
        await run_in_threadpool(wav_info, path)
    except RecordingError as e:
        raise HTTPException(404, str(e)) from None
    return path


@router.get("/calls/{call_id}/recording", tags=["calls"], summary="The call recording (WAV, HTTP range requests)")
async def get_recording(call_id: CallId, request: Request, user: CurrentUser = Depends(current_user)) -> FileResponse:
    path = await recording_file(request, call_id)
    if "range" not in request.headers or request.headers["range"].startswith("bytes=0-"):
        await run_in_threadpool(actions.record, store_of(request), user.username, "listen", "call", call_id)
    # Starlette's FileResponse answers Range requests (206) so the player can seek.
    return FileResponse(path, media_type="audio/wav", filename=f"{call_id}.wav", content_disposition_type="inline")


@router.get("/calls/{call_id}/waveform", tags=["calls"], summary="Waveform peaks (0..1) of the recording")
async def get_waveform(
    call_id: CallId,
    request: Request,
    buckets: int = Query(default=800, ge=10, le=4000),
    user: CurrentUser = Depends(current_user),
) -> dict:
    path = await recording_file(request, call_id)
    return await run_in_threadpool(peaks, path, buckets)


# ---------------------------------------------------------------- requests, callbacks, contact preferences


def _csv_response(body: str, name: str) -> Response:
    return Response(
        body, media_type="text/csv; charset=utf-8", headers={"Content-Disposition": f'attachment; filename="{name}"'}
    )


@router.get("/requests", tags=["requests"], summary="Caller requests (reduction, unanswered questions ...); open first")
async def list_requests(
    request: Request,
    user: CurrentUser = Depends(current_user),
    kind: str | None = Query(default=None, pattern=KIND_PATTERN, description="reduction, question, ..."),
    status: RequestStatus | None = None,
    date_from: Annotated[Day, Query(description="UTC+8 day the request was made, inclusive")] = None,
    date_to: Day = None,
    q: str | None = Query(default=None, max_length=64, description="case, number, name or call id prefix"),
    page: Page = 1,
    per_page: PerPage = 50,
) -> dict:
    await guard_search(request, user, q, "requests")
    f = tasks.RequestFilter(kind, status, date_from, date_to, q, page, per_page)
    return tasks.present(await run_in_threadpool(tasks.search_requests, store_of(request), f), user.masked)


@router.get("/requests.csv", tags=["requests"], summary="Caller requests as CSV (same filters; masked for agents)")
async def export_requests(
    request: Request,
    kind: str | None = Query(default=None, pattern=KIND_PATTERN),
    status: RequestStatus | None = None,
    date_from: Day = None,
    date_to: Day = None,
    user: CurrentUser = Depends(current_user),
) -> Response:
    f = tasks.RequestFilter(kind, status, date_from, date_to)
    rows = await run_in_threadpool(tasks.all_requests, store_of(request), f)
    await run_in_threadpool(
        actions.record, store_of(request), user.username, "export", "request", "requests", f"{len(rows)} rows"
    )
    return _csv_response(tasks.to_csv(tasks.present(rows, user.masked), tasks.REQUEST_COLUMNS), "requests.csv")


@router.get("/requests/{req_id}", tags=["requests"], summary="One caller request with its audit trail")
async def get_request(req_id: Id, request: Request, user: CurrentUser = Depends(current_user)) -> dict:
    item = _or_404(await run_in_threadpool(tasks.request_detail, store_of(request), req_id), "request", req_id)
    return tasks.present(item, user.masked)


@router.post("/requests/{req_id}/claim", tags=["requests"], summary="Claim (409 if resolved or claimed by another)")
async def claim_request(req_id: Id, request: Request, user: CurrentUser = Depends(current_user)) -> dict:
    await run_action(tasks.claim_request, store_of(request), req_id, user.username)
    return {"ok": True, "id": req_id, "status": "claimed", "claimed_by": user.username}


@router.post("/requests/{req_id}/resolve", tags=["requests"], summary="Resolve with the decision or answer given")
async def resolve_request(
    req_id: Id, body: RequestResolveIn, request: Request, user: CurrentUser = Depends(current_user)
) -> dict:
    await run_action(tasks.resolve_request, store_of(request), req_id, user.username, body.note)
    return {"ok": True, "id": req_id, "status": "resolved"}


@router.get("/callbacks", tags=["callbacks"], summary="Callback tasks: due, overdue (default: both) or done")
async def list_callbacks(
    request: Request,
    user: CurrentUser = Depends(current_user),
    state: CallbackState | None = None,
    date_from: Annotated[Day, Query(description="local day of the callback time, inclusive")] = None,
    date_to: Day = None,
    q: str | None = Query(default=None, max_length=64),
    page: Page = 1,
    per_page: PerPage = 50,
) -> dict:
    await guard_search(request, user, q, "callbacks")
    f = tasks.CallbackFilter(state, date_from, date_to, q, page, per_page)
    return tasks.present(await run_in_threadpool(tasks.search_callbacks, store_of(request), f), user.masked)


@router.get(
    "/callbacks.csv", tags=["callbacks"], summary="Callback tasks as CSV (default: every state; masked for agents)"
)
async def export_callbacks(
    request: Request,
    state: CallbackState | None = None,
    date_from: Day = None,
    date_to: Day = None,
    user: CurrentUser = Depends(current_user),
) -> Response:
    f = tasks.CallbackFilter(state, date_from, date_to, include_done=True)
    rows = await run_in_threadpool(tasks.all_callbacks, store_of(request), f)
    await run_in_threadpool(
        actions.record, store_of(request), user.username, "export", "callback", "callbacks", f"{len(rows)} rows"
    )
    return _csv_response(tasks.to_csv(tasks.present(rows, user.masked), tasks.CALLBACK_COLUMNS), "callbacks.csv")


@router.post("/callbacks/{cb_id}/done", tags=["callbacks"], summary="Mark a callback done (409 if already done)")
async def callback_done(
    cb_id: Id, body: CallbackDoneIn, request: Request, user: CurrentUser = Depends(current_user)
) -> dict:
    await run_action(tasks.mark_callback_done, store_of(request), cb_id, user.username, body.note)
    return {"ok": True, "id": cb_id, "status": "done", "done_by": user.username}


@router.get(
    "/contact-preferences",
    tags=["contact preferences"],
    summary="Contact preferences, newest first; q = case, phone number (any spelling) or name",
)
async def list_contact_preferences(
    request: Request,
    user: CurrentUser = Depends(current_user),
    q: str | None = Query(default=None, max_length=64),
    page: Page = 1,
    per_page: PerPage = 50,
) -> dict:
    await guard_search(request, user, q, "contact-preferences")
    data = await run_in_threadpool(tasks.search_contact_preferences, store_of(request), q, page, per_page)
    return tasks.present(data, user.masked)


# ---------------------------------------------------------------- analytics, promises, audit, users


def default_range(date_from: dt.date | None, date_to: dt.date | None) -> tuple[dt.date, dt.date]:
    """Last 30 days (UTC+8) unless given; a reversed or over-long range is a clear 422."""
    date_to = date_to or queries.local_date(queries.utcnow())
    date_from = date_from or date_to - dt.timedelta(days=29)
    if date_from > date_to:
        raise HTTPException(422, f"date_from {date_from} is after date_to {date_to}")
    if (date_to - date_from).days > 366:
        raise HTTPException(422, f"date range: expected at most 366 days, got {(date_to - date_from).days + 1}")
    return date_from, date_to


@router.get("/analytics", tags=["analytics"], summary="Rates, calls per day, escalations by reason, menu funnel")
async def get_analytics(
    request: Request,
    date_from: Day = None,
    date_to: Day = None,
    user: CurrentUser = Depends(require("supervisor")),
) -> dict:
    date_from, date_to = default_range(date_from, date_to)
    return await run_in_threadpool(queries.analytics, store_of(request), flow_of(request), date_from, date_to)


PROMISE_COLUMNS = (
    ("promise_date", "承诺还款日期"),
    ("promise_amount", "承诺金额(元)"),
    ("debtor_name", "客户姓名"),
    ("case_id", "案件号"),
    ("caller_number", "来电号码"),
    ("started_at", "通话时间(UTC)"),
    ("id", "通话ID"),
)


def promises_csv(rows: list[dict]) -> str:
    buf = io.StringIO()
    w = csv.writer(buf)
    w.writerow([title for _, title in PROMISE_COLUMNS] + ["提醒日期"])
    for r in rows:
        remind = (dt.date.fromisoformat(r["promise_date"]) - dt.timedelta(days=1)).isoformat()
        w.writerow([tasks.csv_cell(r.get(key)) for key, _ in PROMISE_COLUMNS] + [remind])
    return "\ufeff" + buf.getvalue()  # BOM: Excel opens UTF-8 Chinese correctly


@router.get("/promises.csv", tags=["analytics"], summary="Promises to pay as CSV, for follow-up reminders (定期跟进)")
async def export_promises(
    request: Request,
    date_from: Day = None,
    date_to: Day = None,
    user: CurrentUser = Depends(require("supervisor")),
) -> Response:
    rows = await run_in_threadpool(queries.promises, store_of(request), flow_of(request), date_from, date_to)
    await run_in_threadpool(
        actions.record, store_of(request), user.username, "export", "call", "promises", f"{len(rows)} rows"
    )
    return Response(
        promises_csv(rows),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": 'attachment; filename="promises.csv"'},
    )


@router.get("/audit", tags=["audit"], summary="Audit log, newest first")
async def get_audit(
    request: Request,
    target_type: Literal["escalation", "call", "user", "request", "callback", "search"] | None = None,
    target_id: str | None = Query(default=None, max_length=64),
    limit: int = Query(default=200, ge=1, le=2000),
    user: CurrentUser = Depends(require("supervisor")),
) -> list[dict]:
    return await run_in_threadpool(queries.audit, store_of(request), target_type, target_id, limit)


@router.get("/users", tags=["users"])
async def get_users(request: Request, user: CurrentUser = Depends(require("admin"))) -> list[dict]:
    users = await run_in_threadpool(auth.list_users, store_of(request))
    return [
        {"username": u.username, "role": u.role, "active": bool(u.active), "created_at": queries.iso(u.created_at)}
        for u in users
    ]


@router.post("/users", tags=["users"], status_code=201)
async def create_user(body: UserIn, request: Request, user: CurrentUser = Depends(require("admin"))) -> dict:
    try:
        await run_in_threadpool(
            auth.add_user, store_of(request), body.username, body.role, body.password, user.username
        )
    except auth.UserError as e:
        raise HTTPException(409 if "exists" in str(e) else 422, str(e)) from None
    return {"username": body.username, "role": body.role}
