"""Server-rendered pages of the console (Chinese UI).  Forms post back here with the session's
CSRF token and are redirected (303) to the page they came from, so the back button stays sane."""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import quote, urlencode, urlsplit

from fastapi import APIRouter, Depends, Form, HTTPException, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from starlette.concurrency import run_in_threadpool

from ivr import auth
from ivr.store import DISPOSITIONS, REQUEST_STATUSES, ROLES
from ivr.web import actions, api, charts, live, queries, tasks
from ivr.web.bounds import CallId, Id, Page, parse_day
from ivr.web.login import LoginRefused
from ivr.web.login import attempt as login_attempt
from ivr.web.security import (
    CurrentUser,
    csrf_guard,
    csrf_token,
    current_user,
    end_session,
    flow_of,
    require,
    start_session,
    store_of,
)
from ivr.web.waveform import RecordingError, peaks

router = APIRouter(dependencies=[Depends(csrf_guard)], include_in_schema=False)


def render(request: Request, name: str, user: CurrentUser | None, status_code: int = 200, **ctx: Any) -> HTMLResponse:
    ctx.update(user=user, csrf=csrf_token(request), flash=request.session.pop("flash", None))
    return request.app.state.templates.TemplateResponse(request, name, ctx, status_code=status_code)


def back(url: str, request: Request, flash: str | None = None) -> RedirectResponse:
    if flash:
        request.session["flash"] = flash
    return RedirectResponse(url, status_code=303)


def safe_next(url: str | None) -> str:
    """Only same-site paths: a crafted ?next= must not send a user elsewhere after login."""
    ok = url and url.startswith("/") and not url.startswith(("//", "/\\")) and "\\" not in url
    return url if ok and url else "/queue"


def _search_text(q: str | None) -> str | None:
    """What a list page searches for: the search box's text, trimmed and cut to 64 characters; None when empty."""
    return (q or "").strip()[:64] or None


def _list_page(request: Request, name: str, user: CurrentUser, data: Any, **filters: str | None) -> HTMLResponse:
    """A paged, filtered list: the filters given (the non-empty ones) go back to the template as `f`,
    to fill the filter form, and as `qs`, the query string its page links keep."""
    params = {k: v for k, v in filters.items() if v}
    return render(request, name, user, data=data, f=params, qs=urlencode(params))


# ---------------------------------------------------------------- login


@router.get("/login")
async def login_form(request: Request, next: str | None = None) -> HTMLResponse:
    return render(request, "login.html", None, next=safe_next(next))


@router.post("/login")
async def login_submit(
    request: Request,
    username: str = Form(max_length=64),
    password: str = Form(max_length=256),
    next: str = Form("/queue"),
) -> Response:
    try:
        user = await login_attempt(request, username, password)
    except LoginRefused as e:
        message = "用户名或密码错误" if e.status == 401 else f"登录尝试过多，请稍后再试 ({e.message})"
        response = render(
            request, "login.html", None, status_code=e.status, next=safe_next(next), error=message, username=username
        )
        if e.retry_after:
            response.headers["Retry-After"] = str(e.retry_after)
        return response
    await start_session(request, CurrentUser(user.username, user.role))
    await run_in_threadpool(actions.record, store_of(request), user.username, "login", "user", user.username)
    return RedirectResponse(safe_next(next), status_code=303)


@router.post("/logout")
async def logout(request: Request) -> Response:
    await end_session(request)
    return RedirectResponse("/login", status_code=303)


@router.get("/")
async def home(user: CurrentUser = Depends(current_user)) -> Response:
    return RedirectResponse("/queue", status_code=303)


# ---------------------------------------------------------------- queue + escalation


@router.get("/queue")
async def queue_page(request: Request, user: CurrentUser = Depends(current_user)) -> HTMLResponse:
    data = queries.present(await run_in_threadpool(queries.queue, store_of(request), flow_of(request)), user.masked)
    return render(request, "queue.html", user, q=data)


@router.get("/queue/stream")
async def queue_stream(request: Request, user: CurrentUser = Depends(current_user)) -> Response:
    return live.queue_stream(request, user, as_html=True)


def _waveform(path: str | None) -> dict | None:
    if not path:
        return None
    try:
        return peaks(path)
    except RecordingError as e:
        return {"error": str(e)}


@router.get("/escalations/{esc_id}")
async def escalation_page(esc_id: Id, request: Request, user: CurrentUser = Depends(current_user)) -> HTMLResponse:
    store = store_of(request)
    esc = await run_in_threadpool(queries.escalation_detail, store, flow_of(request), esc_id)
    if esc is None:
        raise HTTPException(404, f"转人工记录 {esc_id} 不存在")
    await run_in_threadpool(actions.record, store, user.username, "view", "escalation", esc_id)
    esc["audit"].insert(0, {"at": queries.iso(queries.utcnow()), "username": user.username, "action": "view"})
    esc = queries.present(esc, user.masked)
    extras = await _call_extras(request, esc["call"], trigger_turn=esc["trigger_turn"])
    return render(request, "escalation.html", user, e=esc, c=esc["call"], **extras)


async def _call_extras(request: Request, call: dict, trigger_turn: int | None = None) -> dict:
    """Charts shared by the escalation and call pages: emotion timeline and waveform."""
    path = await run_in_threadpool(queries.recording_path, store_of(request), call["id"])
    wave = await run_in_threadpool(_waveform, path)
    points = [(f"第{p['turn']}轮", p["score"]) for p in call["emotion"]]
    marked = next((i for i, p in enumerate(call["emotion"]) if p["turn"] == trigger_turn), None)
    return {
        "emotion_svg": charts.timeline(
            points, "情绪变化", threshold=queries.EMOTION_THRESHOLD, marked=marked, width=860
        ),
        "wave": wave,
        "wave_svg": charts.waveform(wave["peaks"]) if wave and "peaks" in wave else "",
        "dispositions": DISPOSITIONS,
    }


async def _act(request: Request, esc_id: int, fn, *args) -> RedirectResponse:
    try:
        await run_in_threadpool(fn, store_of(request), esc_id, *args)
    except actions.NotFound:
        raise HTTPException(404, f"转人工记录 {esc_id} 不存在") from None
    except (actions.Conflict, ValueError) as e:
        return back(f"/escalations/{esc_id}", request, flash=str(e))
    return back(f"/escalations/{esc_id}", request)


@router.post("/escalations/{esc_id}/claim")
async def claim(esc_id: Id, request: Request, user: CurrentUser = Depends(current_user)) -> Response:
    return await _act(request, esc_id, actions.claim, user.username)


@router.post("/escalations/{esc_id}/notes")
async def note(
    esc_id: Id, request: Request, text: str = Form(""), user: CurrentUser = Depends(current_user)
) -> Response:
    return await _act(request, esc_id, actions.add_note, user.username, text)


@router.post("/escalations/{esc_id}/resolve")
async def resolve(
    esc_id: Id,
    request: Request,
    disposition: str = Form(""),
    note: str = Form(""),
    user: CurrentUser = Depends(current_user),
) -> Response:
    return await _act(request, esc_id, actions.resolve, user.username, disposition, note)


# ---------------------------------------------------------------- calls


@router.get("/calls")
async def calls_page(
    request: Request,
    user: CurrentUser = Depends(current_user),
    date_from: str | None = None,
    date_to: str | None = None,
    outcome: str | None = None,
    reason: str | None = None,
    menu: str | None = None,
    q: str | None = None,
    page: Page = 1,
) -> HTMLResponse:
    await api.guard_search(request, user, q, "calls")
    f = queries.CallFilter(
        parse_day(date_from, "date_from"),
        parse_day(date_to, "date_to"),
        outcome or None,
        reason or None,
        menu or None,
        _search_text(q),
        page,
    )
    data = queries.present(
        await run_in_threadpool(queries.search_calls, store_of(request), flow_of(request), f), user.masked
    )
    return _list_page(
        request,
        "calls.html",
        user,
        data,
        date_from=date_from,
        date_to=date_to,
        outcome=outcome,
        reason=reason,
        menu=menu,
        q=q,
    )


@router.get("/calls/{call_id}")
async def call_page(call_id: CallId, request: Request, user: CurrentUser = Depends(current_user)) -> HTMLResponse:
    call = await run_in_threadpool(queries.call_detail, store_of(request), flow_of(request), call_id)
    if call is None:
        raise HTTPException(404, f"通话 {call_id} 不存在")
    call = queries.present(call, user.masked)
    call["tasks"] = tasks.present(await run_in_threadpool(tasks.call_tasks, store_of(request), call_id), user.masked)
    return render(request, "call.html", user, c=call, **await _call_extras(request, call))


# ---------------------------------------------------------------- requests, callbacks, contact preferences


def _choice(value: str | None, allowed: tuple[str, ...], field: str) -> str | None:
    if not value:
        return None
    if value not in allowed:
        raise HTTPException(422, f"{field}: expected one of {', '.join(allowed)}, got {value!r}")
    return value


@router.get("/requests")
async def requests_page(
    request: Request,
    user: CurrentUser = Depends(current_user),
    kind: str | None = None,
    status: str | None = None,
    date_from: str | None = None,
    date_to: str | None = None,
    q: str | None = None,
    page: Page = 1,
) -> HTMLResponse:
    if kind and not re.fullmatch(api.KIND_PATTERN, kind):
        raise HTTPException(422, f"kind: expected a request kind (a-z, _), got {kind!r}")
    await api.guard_search(request, user, q, "requests")
    f = tasks.RequestFilter(
        kind or None,
        _choice(status, REQUEST_STATUSES, "status"),
        parse_day(date_from, "date_from"),
        parse_day(date_to, "date_to"),
        _search_text(q),
        page,
    )
    data = tasks.present(await run_in_threadpool(tasks.search_requests, store_of(request), f), user.masked)
    return _list_page(
        request, "requests.html", user, data, kind=kind, status=status, date_from=date_from, date_to=date_to, q=q
    )


@router.get("/requests/{req_id}")
async def request_page(req_id: Id, request: Request, user: CurrentUser = Depends(current_user)) -> HTMLResponse:
    item = await run_in_threadpool(tasks.request_detail, store_of(request), req_id)
    if item is None:
        raise HTTPException(404, f"客户诉求 {req_id} 不存在")
    return render(request, "request.html", user, r=tasks.present(item, user.masked))


async def _req_act(request: Request, req_id: int, fn, *args) -> RedirectResponse:
    try:
        await run_in_threadpool(fn, store_of(request), req_id, *args)
    except actions.NotFound:
        raise HTTPException(404, f"客户诉求 {req_id} 不存在") from None
    except (actions.Conflict, ValueError) as e:
        return back(f"/requests/{req_id}", request, flash=str(e))
    return back(f"/requests/{req_id}", request)


@router.post("/requests/{req_id}/claim")
async def request_claim(req_id: Id, request: Request, user: CurrentUser = Depends(current_user)) -> Response:
    return await _req_act(request, req_id, tasks.claim_request, user.username)


@router.post("/requests/{req_id}/resolve")
async def request_resolve(
    req_id: Id, request: Request, note: str = Form(""), user: CurrentUser = Depends(current_user)
) -> Response:
    return await _req_act(request, req_id, tasks.resolve_request, user.username, note)


@router.get("/callbacks")
async def callbacks_page(
    request: Request,
    user: CurrentUser = Depends(current_user),
    state: str | None = None,
    date_from: str | None = None,
    date_to: str | None = None,
    q: str | None = None,
    page: Page = 1,
) -> HTMLResponse:
    await api.guard_search(request, user, q, "callbacks")
    f = tasks.CallbackFilter(
        _choice(state, tasks.CALLBACK_STATES, "state"),
        parse_day(date_from, "date_from"),
        parse_day(date_to, "date_to"),
        _search_text(q),
        page,
    )
    data = tasks.present(await run_in_threadpool(tasks.search_callbacks, store_of(request), f), user.masked)
    return _list_page(request, "callbacks.html", user, data, state=state, date_from=date_from, date_to=date_to, q=q)


@router.post("/callbacks/{cb_id}/done")
async def callback_done(
    cb_id: Id, request: Request, note: str = Form(""), user: CurrentUser = Depends(current_user)
) -> Response:
    target = request.headers.get("referer") or "/callbacks"
    target = safe_next(urlsplit(target).path + (f"?{urlsplit(target).query}" if urlsplit(target).query else ""))
    try:
        await run_in_threadpool(tasks.mark_callback_done, store_of(request), cb_id, user.username, note)
    except actions.NotFound:
        raise HTTPException(404, f"回电任务 {cb_id} 不存在") from None
    except (actions.Conflict, ValueError) as e:
        return back(target, request, flash=str(e))
    return back(target, request, flash=f"回电任务 #{cb_id} 已完成")


@router.get("/contact-preferences")
async def contact_preferences_page(
    request: Request, user: CurrentUser = Depends(current_user), q: str | None = None, page: Page = 1
) -> HTMLResponse:
    q = _search_text(q)
    await api.guard_search(request, user, q, "contact-preferences")
    data = await run_in_threadpool(tasks.search_contact_preferences, store_of(request), q, page)
    return _list_page(request, "contact_preferences.html", user, tasks.present(data, user.masked), q=q)


# ---------------------------------------------------------------- analytics, audit, users


@router.get("/analytics")
async def analytics_page(
    request: Request,
    user: CurrentUser = Depends(require("supervisor")),
    date_from: str | None = None,
    date_to: str | None = None,
) -> HTMLResponse:
    start, end = api.default_range(parse_day(date_from, "date_from"), parse_day(date_to, "date_to"))
    a = await run_in_threadpool(queries.analytics, store_of(request), flow_of(request), start, end)
    svgs = {
        "per_day": charts.columns([(d["date"][5:], d["calls"]) for d in a["calls_per_day"]], "每日通话量", width=1180),
        "reasons": charts.bars(
            [(r["label"], r["count"]) for r in a["escalations_by_reason"]], "转人工原因", width=560, color="#dc2626"
        ),
        "funnel": charts.bars(
            [(f["label"], f["reached"]) for f in a["funnel"]], "各环节到达通话数", unit=" 通", width=1180
        ),
        "dropoff": charts.bars(
            [(f["label"], f["dropped"]) for f in a["funnel"] if f["dropped"]],
            "未完成通话的停止环节",
            unit=" 通",
            width=560,
            color="#f59e0b",
        ),
    }
    return render(request, "analytics.html", user, a=a, svgs=svgs)


@router.get("/audit")
async def audit_page(request: Request, user: CurrentUser = Depends(require("supervisor"))) -> HTMLResponse:
    rows = await run_in_threadpool(queries.audit, store_of(request), None, None, 500)
    return render(request, "audit.html", user, rows=rows)


@router.get("/users")
async def users_page(request: Request, user: CurrentUser = Depends(require("admin"))) -> HTMLResponse:
    users = await run_in_threadpool(auth.list_users, store_of(request))
    return render(request, "users.html", user, users=users, roles=ROLES)


@router.post("/users")
async def users_add(
    request: Request,
    username: str = Form(""),
    role: str = Form(""),
    password: str = Form(""),
    user: CurrentUser = Depends(require("admin")),
) -> Response:
    try:
        await run_in_threadpool(auth.add_user, store_of(request), username, role, password, user.username)
    except auth.UserError as e:
        return back("/users", request, flash=str(e))
    return back("/users", request, flash=f"已添加用户 {username}")


def login_redirect(request: Request) -> RedirectResponse:
    target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    return RedirectResponse(f"/login?next={quote(target)}", status_code=303)
