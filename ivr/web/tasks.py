"""Follow-up work the calls leave behind (SPEC v2): caller requests (reduction, unanswered
questions ...), callback tasks and contact preferences.  Read side (plain JSON-ready dicts, as
`queries.py`), write side (claim / resolve / done, audited in the same transaction, as `actions.py`),
masking for agents and the CSV exports.

Times: `created_at`, `claimed_at`, `resolved_at`, `done_at` are ISO UTC with "Z" like everywhere in
the console.  A callback's `at` is the local wall clock the dialog read back to the caller (no
"Z"): it is shown as said and compared with the server's local clock (`local_now`).
"""

from __future__ import annotations

import csv
import datetime as dt
import io
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import ColumnElement, Select, func, or_, select

from ivr.store import (
    Call,
    CallbackTask,
    CallerRequest,
    ContactPreference,
    Store,
    number_key,
    utcnow,
)
from ivr.web.actions import MAX_NOTE, Conflict, NotFound, add_audit, claim_row, open_row, take_for_resolving
from ivr.web.masking import mask_phone, mask_text
from ivr.web.queries import audit, iso, local_day_bounds

CALLBACK_STATES = ("due", "overdue", "done")  # due: not yet (or no time given), overdue: past, done


def local_now() -> dt.datetime:
    """The clock callback times are written in: the server's local wall clock (the dialog's)."""
    return dt.datetime.now().replace(microsecond=0)


def _pages(total: int, page: int, per_page: int) -> dict[str, int]:
    return {"total": total, "page": page, "pages": max(1, -(-total // per_page))}


# ---------------------------------------------------------------- requests


def _matches(model: type[CallerRequest] | type[CallbackTask], q: str) -> ColumnElement[bool]:
    """The console's search box on a task list: part of the case, the number or the name; a call id's start."""
    return or_(
        model.case_ref.like(f"%{q}%"),
        model.caller_number.like(f"%{q}%"),
        Call.debtor_name.like(f"%{q}%"),
        model.call_id.like(f"{q}%"),
    )


def _request_item(r: CallerRequest, debtor_name: str | None) -> dict[str, Any]:
    return {
        "id": r.id,
        "call_id": r.call_id,
        "case_ref": r.case_ref,
        "caller_number": r.caller_number,
        "debtor_name": debtor_name,
        "kind": r.kind,
        "detail": r.detail,
        "turn": r.turn,
        "status": r.status,
        "created_at": iso(r.created_at),
        "claimed_by": r.claimed_by,
        "claimed_at": iso(r.claimed_at),
        "resolved_at": iso(r.resolved_at),
        "resolution": r.resolution,
    }


@dataclass
class RequestFilter:
    kind: str | None = None
    status: str | None = None
    date_from: dt.date | None = None  # UTC+8 days of created_at, inclusive
    date_to: dt.date | None = None
    q: str | None = None  # case, number, name or call id prefix
    page: int = 1
    per_page: int = 50

    def apply(self, query: Select) -> Select:
        if self.kind:
            query = query.where(CallerRequest.kind == self.kind)
        if self.status:
            query = query.where(CallerRequest.status == self.status)
        if self.date_from:
            query = query.where(CallerRequest.created_at >= local_day_bounds(self.date_from)[0])
        if self.date_to:
            query = query.where(CallerRequest.created_at < local_day_bounds(self.date_to)[1])
        if self.q:
            q = self.q.strip()
            query = query.where(_matches(CallerRequest, q))
        return query


def search_requests(store: Store, f: RequestFilter) -> dict[str, Any]:
    """Newest first; open ones (pending, claimed) before resolved ones."""
    base = select(CallerRequest, Call.debtor_name).join(Call, Call.id == CallerRequest.call_id)
    open_first = (CallerRequest.status == "resolved").asc()
    with store.session() as s:
        total = (
            s.scalar(
                f.apply(select(func.count()).select_from(CallerRequest).join(Call, Call.id == CallerRequest.call_id))
            )
            or 0
        )
        rows = s.execute(
            f.apply(base)
            .order_by(open_first, CallerRequest.created_at.desc(), CallerRequest.id.desc())
            .limit(f.per_page)
            .offset((f.page - 1) * f.per_page)
        ).all()
        kinds = [k for (k,) in s.execute(select(CallerRequest.kind).distinct().order_by(CallerRequest.kind))]
    return {**_pages(total, f.page, f.per_page), "items": [_request_item(r, n) for r, n in rows], "kinds": kinds}


def all_requests(store: Store, f: RequestFilter) -> list[dict[str, Any]]:
    """Every request matching the filter (CSV export), oldest first."""
    with store.session() as s:
        rows = s.execute(
            f.apply(select(CallerRequest, Call.debtor_name).join(Call, Call.id == CallerRequest.call_id)).order_by(
                CallerRequest.created_at, CallerRequest.id
            )
        ).all()
    return [_request_item(r, n) for r, n in rows]


def request_detail(store: Store, req_id: int) -> dict[str, Any] | None:
    with store.session() as s:
        row = s.execute(
            select(CallerRequest, Call.debtor_name)
            .join(Call, Call.id == CallerRequest.call_id)
            .where(CallerRequest.id == req_id)
        ).first()
    if row is None:
        return None
    item = _request_item(row[0], row[1])
    item["audit"] = audit(store, "request", str(req_id))
    return item


def _open_request(s: Any, req_id: int) -> CallerRequest:
    return open_row(s, CallerRequest, req_id, "客户诉求", "已处理完毕")


def claim_request(store: Store, req_id: int, username: str) -> None:
    claim_row(store, CallerRequest, req_id, username, "客户诉求", "已处理完毕", "request")


def resolve_request(store: Store, req_id: int, username: str, note: str) -> None:
    """Resolve with the decision or answer given (1-2000 characters): the note is the resolution."""
    note = (note or "").strip()
    if not note or len(note) > MAX_NOTE:
        raise ValueError(f"note: expected 1-{MAX_NOTE} characters, got {len(note)}")
    with store.session() as s:
        r = _open_request(s, req_id)
        now = utcnow()
        take_for_resolving(r, username, "客户诉求", now)
        r.status, r.resolved_at, r.resolution = "resolved", now, note
        add_audit(s, username, "resolve", "request", req_id, note[:200])


# ---------------------------------------------------------------- callbacks


def callback_state(status: str, due_at: dt.datetime | None, now: dt.datetime) -> str:
    if status == "done":
        return "done"
    return "overdue" if due_at is not None and due_at < now else "due"


def _callback_item(c: CallbackTask, debtor_name: str | None, now: dt.datetime) -> dict[str, Any]:
    return {
        "id": c.id,
        "call_id": c.call_id,
        "case_ref": c.case_ref,
        "caller_number": c.caller_number,
        "debtor_name": debtor_name,
        "at": c.at,
        "said": c.said,
        "turn": c.turn,
        "for": c.for_party,
        "status": c.status,
        "state": callback_state(c.status, c.due_at, now),
        "created_at": iso(c.created_at),
        "done_by": c.done_by,
        "done_at": iso(c.done_at),
        "note": c.note,
    }


@dataclass
class CallbackFilter:
    state: str | None = None  # due|overdue|done; None: due and overdue (everything still to do)
    date_from: dt.date | None = None  # local days of the callback time, inclusive
    date_to: dt.date | None = None
    q: str | None = None
    page: int = 1
    per_page: int = 50
    include_done: bool = False  # with state None: done ones too (CSV)

    def apply(self, query: Select, now: dt.datetime) -> Select:
        if self.state == "done":
            query = query.where(CallbackTask.status == "done")
        elif self.state == "overdue":
            query = query.where(CallbackTask.status == "pending", CallbackTask.due_at < now)
        elif self.state == "due":
            query = query.where(
                CallbackTask.status == "pending", or_(CallbackTask.due_at.is_(None), CallbackTask.due_at >= now)
            )
        elif not self.include_done:
            query = query.where(CallbackTask.status == "pending")
        if self.date_from:
            query = query.where(CallbackTask.due_at >= dt.datetime.combine(self.date_from, dt.time()))
        if self.date_to:
            query = query.where(CallbackTask.due_at < dt.datetime.combine(self.date_to, dt.time()) + dt.timedelta(1))
        if self.q:
            q = self.q.strip()
            query = query.where(_matches(CallbackTask, q))
        return query


def search_callbacks(store: Store, f: CallbackFilter, now: dt.datetime | None = None) -> dict[str, Any]:
    """Soonest first (overdue ones lead), callbacks without a time last; done: latest done first."""
    now = now or local_now()
    base = select(CallbackTask, Call.debtor_name).join(Call, Call.id == CallbackTask.call_id)
    if f.state == "done":
        order: tuple = (CallbackTask.done_at.desc(), CallbackTask.id.desc())
    else:
        order = (CallbackTask.due_at.is_(None).asc(), CallbackTask.due_at.asc(), CallbackTask.id)
    with store.session() as s:
        total = (
            s.scalar(
                f.apply(select(func.count()).select_from(CallbackTask).join(Call, Call.id == CallbackTask.call_id), now)
            )
            or 0
        )
        rows = s.execute(f.apply(base, now).order_by(*order).limit(f.per_page).offset((f.page - 1) * f.per_page)).all()
        overdue = (
            s.scalar(
                select(func.count())
                .select_from(CallbackTask)
                .where(CallbackTask.status == "pending", CallbackTask.due_at < now)
            )
            or 0
        )
    return {
        **_pages(total, f.page, f.per_page),
        "now": now.isoformat(timespec="minutes"),
        "overdue": overdue,
        "items": [_callback_item(c, n, now) for c, n in rows],
    }


def all_callbacks(store: Store, f: CallbackFilter, now: dt.datetime | None = None) -> list[dict[str, Any]]:
    now = now or local_now()
    with store.session() as s:
        rows = s.execute(
            f.apply(select(CallbackTask, Call.debtor_name).join(Call, Call.id == CallbackTask.call_id), now).order_by(
                CallbackTask.due_at.is_(None).asc(), CallbackTask.due_at, CallbackTask.id
            )
        ).all()
    return [_callback_item(c, n, now) for c, n in rows]


def mark_callback_done(store: Store, cb_id: int, username: str, note: str | None = None) -> None:
    note = (note or "").strip()
    if len(note) > MAX_NOTE:
        raise ValueError(f"note: expected at most {MAX_NOTE} characters, got {len(note)}")
    with store.session() as s:
        c = s.get(CallbackTask, cb_id)
        if c is None:
            raise NotFound(f"callback {cb_id} not found")
        if c.status == "done":
            raise Conflict(f"回电任务 {cb_id} 已由 {c.done_by} 完成")
        c.status, c.done_by, c.done_at, c.note = "done", username, utcnow(), note or None
        add_audit(s, username, "done", "callback", cb_id, note[:200] or None)


# ---------------------------------------------------------------- contact preferences


def _contact_item(p: ContactPreference, debtor_name: str | None) -> dict[str, Any]:
    return {
        "id": p.id,
        "call_id": p.call_id,
        "case_ref": p.case_ref,
        "caller_number": p.caller_number,
        "debtor_name": debtor_name,
        "kinds": list(p.kinds or []),
        "said": p.said,
        "turn": p.turn,
        "created_at": iso(p.created_at),
    }


def search_contact_preferences(store: Store, q: str | None = None, page: int = 1, per_page: int = 50) -> dict[str, Any]:
    """Newest first; `q`: a case (exact, as `Store.contact_preferences_for`), a number in any spelling,
    or part of a name."""
    query = select(ContactPreference, Call.debtor_name).join(Call, Call.id == ContactPreference.call_id)
    count = select(func.count()).select_from(ContactPreference).join(Call, Call.id == ContactPreference.call_id)
    if q and q.strip():
        q = q.strip()
        conds = [ContactPreference.case_ref == q, Call.debtor_name.like(f"%{q}%")]
        nk = number_key(q)
        if nk:
            conds.append(ContactPreference.number_key == nk)
        query, count = query.where(or_(*conds)), count.where(or_(*conds))
    with store.session() as s:
        total = s.scalar(count) or 0
        rows = s.execute(
            query.order_by(ContactPreference.created_at.desc(), ContactPreference.id.desc())
            .limit(per_page)
            .offset((page - 1) * per_page)
        ).all()
    return {**_pages(total, page, per_page), "items": [_contact_item(p, n) for p, n in rows]}


def call_tasks(store: Store, call_id: str) -> dict[str, Any]:
    """What one call left to do: its requests, callback task and contact preference."""
    now = local_now()
    with store.session() as s:
        name = s.scalar(select(Call.debtor_name).where(Call.id == call_id))
        reqs = list(
            s.scalars(select(CallerRequest).where(CallerRequest.call_id == call_id).order_by(CallerRequest.seq))
        )
        cb = s.scalars(select(CallbackTask).where(CallbackTask.call_id == call_id)).first()
        cp = s.scalars(select(ContactPreference).where(ContactPreference.call_id == call_id)).first()
    return {
        "requests": [_request_item(r, name) for r in reqs],
        "callback": _callback_item(cb, name, now) if cb else None,
        "contact_preference": _contact_item(cp, name) if cp else None,
    }


# ---------------------------------------------------------------- masking (agent role)

_TEXT_KEYS = ("detail", "said", "resolution", "note")


def mask_task(item: dict[str, Any]) -> dict[str, Any]:
    item = dict(item)
    item["caller_number"] = mask_phone(item.get("caller_number"))
    for key in _TEXT_KEYS:
        if key in item:
            item[key] = mask_text(item[key])
    if item.get("audit"):
        item["audit"] = [dict(a, detail=mask_text(a.get("detail"))) for a in item["audit"]]
    return item


def present(item: Any, masked: bool) -> Any:
    """A task, a page of tasks ({"items": ...}) or a call's tasks, as the user may see it."""
    if not masked or item is None:
        return item
    if isinstance(item, list):
        return [present(i, masked) for i in item]
    if "items" in item:
        return dict(item, items=[mask_task(i) for i in item["items"]])
    if "requests" in item and "contact_preference" in item:
        return {
            "requests": [mask_task(r) for r in item["requests"]],
            "callback": present(item["callback"], masked),
            "contact_preference": present(item["contact_preference"], masked),
        }
    return mask_task(item)


# ---------------------------------------------------------------- CSV

FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r", "\n")
# Full-width forms a Chinese IME types (＝ ＋ － ＠) and the other minus signs: spreadsheets in a
# CJK locale may take them as the ASCII operator; leading spaces are skipped by some importers.
_WIDE_PREFIXES = {"\uff1d": "=", "\uff0b": "+", "\uff0d": "-", "\uff20": "@", "\u2212": "-", "\ufe63": "-"}
_LEADING_SPACE = " \u3000\u00a0"


def is_formula_like(text: str) -> bool:
    """Would a spreadsheet read this cell as a formula?  = + - @ tab CR LF first, in ASCII or
    full-width form, after any leading spaces (OWASP "CSV injection")."""
    if text.startswith(FORMULA_PREFIXES):
        return True
    first = text.lstrip(_LEADING_SPACE)[:1]
    return bool(first) and _WIDE_PREFIXES.get(first, first) in FORMULA_PREFIXES


def csv_cell(value: object) -> str:
    """A CSV cell that a spreadsheet will not run: text that `is_formula_like` gets a leading
    apostrophe.  Numbers are written as they are."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "是" if value else "否"
    if isinstance(value, int | float):
        return str(value)
    if isinstance(value, list):
        value = "、".join(str(v) for v in value)
    text = str(value)
    return "'" + text if is_formula_like(text) else text


def to_csv(rows: list[dict[str, Any]], columns: tuple[tuple[str, str], ...], **computed: Callable) -> str:
    buf = io.StringIO()
    w = csv.writer(buf)
    w.writerow([title for _, title in columns] + list(computed))
    for r in rows:
        w.writerow([csv_cell(r.get(key)) for key, _ in columns] + [csv_cell(fn(r)) for fn in computed.values()])
    return "\ufeff" + buf.getvalue()  # BOM: Excel opens UTF-8 Chinese correctly


REQUEST_COLUMNS = (
    ("id", "编号"),
    ("created_at", "登记时间(UTC)"),
    ("kind", "类型"),
    ("detail", "内容"),
    ("status", "状态"),
    ("debtor_name", "客户姓名"),
    ("case_ref", "案件号"),
    ("caller_number", "来电号码"),
    ("turn", "轮次"),
    ("claimed_by", "处理人"),
    ("resolved_at", "处理时间(UTC)"),
    ("resolution", "处理说明"),
    ("call_id", "通话ID"),
)
CALLBACK_COLUMNS = (
    ("id", "编号"),
    ("at", "回电时间(当地)"),
    ("state", "状态"),
    ("for", "对象"),
    ("said", "客户原话"),
    ("debtor_name", "客户姓名"),
    ("case_ref", "案件号"),
    ("caller_number", "来电号码"),
    ("created_at", "登记时间(UTC)"),
    ("done_by", "完成人"),
    ("done_at", "完成时间(UTC)"),
    ("note", "备注"),
    ("call_id", "通话ID"),
)
