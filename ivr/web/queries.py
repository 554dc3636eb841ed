"""Read side of the console: the queue, an escalation in detail, call search, analytics, promises.

Menus, intents and reasons are labelled (and the funnel ordered) from the loaded grammars/flow.yaml,
the `flow` argument.  Every function returns plain JSON-ready dicts (times as ISO-8601 UTC with "Z"), the one shape both
the REST API and the page templates use.  Masking for the agent role is applied afterwards
(`present`), so no query has to know about roles.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Select, case, func, or_, select
from sqlalchemy.orm import defer

from ivr.flow import Flow
from ivr.store import AuditEntry, Call, Escalation, Store, Turn, utcnow
from ivr.web import labels
from ivr.web.masking import mask_number, mask_phone, mask_summary, mask_text, mask_turn, mask_value, secret_turns

OPEN_STATUSES = ("waiting", "claimed")
QUEUE_LIMIT = 200
# Supervisors work in China: day boundaries and displayed times are UTC+8 (no DST there).
DISPLAY_TZ = dt.timezone(dt.timedelta(hours=8))
EMOTION_THRESHOLD = 0.7
# List views never show the JSON columns: not decoding them halves the cost of a 50-row page.
LIST_OPTIONS = (
    defer(Call.case),
    defer(Call.slots),
    defer(Call.emotion_timeline),
    defer(Escalation.summary),
)  # drawn on the timeline; the dialog's own threshold lives in the grammars


def iso(t: dt.datetime | None) -> str | None:
    return None if t is None else t.replace(microsecond=0).isoformat() + "Z"


def local_day_bounds(day: dt.date) -> tuple[dt.datetime, dt.datetime]:
    """A UTC+8 calendar day as naive-UTC [start, end) bounds for the stored times."""
    start = dt.datetime.combine(day, dt.time(), DISPLAY_TZ).astimezone(dt.UTC).replace(tzinfo=None)
    return start, start + dt.timedelta(days=1)


def local_date(t: dt.datetime) -> dt.date:
    return t.replace(tzinfo=dt.UTC).astimezone(DISPLAY_TZ).date()


# ---------------------------------------------------------------- queue


def _queue_item(flow: Flow, esc: Escalation, call: Call, now: dt.datetime) -> dict[str, Any]:
    return {
        "id": esc.id,
        "call_id": esc.call_id,
        "reason": esc.reason,
        "reason_label": flow.reason_label(esc.reason),
        "priority": esc.priority,
        "status": esc.status,
        "created_at": iso(esc.created_at),
        "waiting_s": max(0, int((now - esc.created_at).total_seconds())),
        "caller_number": call.caller_number,
        "debtor_name": call.debtor_name,
        "case_id": call.case_id,
        "narrative": esc.narrative,
        "trigger_text": esc.trigger_text,
        "claimed_by": esc.claimed_by,
        "transfer_status": esc.transfer_status,
        "resolved_at": iso(esc.resolved_at),
        "disposition": esc.disposition,
    }


def queue(store: Store, flow: Flow, recent_resolved: int = 10) -> dict[str, Any]:
    """Open escalations in service order (priority, then oldest first), plus the last resolved."""
    now = utcnow()
    with store.session() as s:
        rows = s.execute(
            select(Escalation, Call)
            .join(Call, Call.id == Escalation.call_id)
            .where(Escalation.status.in_(OPEN_STATUSES))
            .order_by(Escalation.priority, Escalation.created_at, Escalation.id)
            .limit(QUEUE_LIMIT)
            .options(*LIST_OPTIONS)
        ).all()
        done = s.execute(
            select(Escalation, Call)
            .join(Call, Call.id == Escalation.call_id)
            .where(Escalation.status == "resolved")
            .order_by(Escalation.resolved_at.desc())
            .limit(recent_resolved)
            .options(*LIST_OPTIONS)
        ).all()
    return {
        "now": iso(now),
        "open": [_queue_item(flow, e, c, now) for e, c in rows],
        "resolved": [_queue_item(flow, e, c, now) for e, c in done],
    }


def queue_marker(store: Store) -> tuple:
    """A cheap fingerprint of the open queue (index-only on status); changes whenever any process
    adds, claims, resolves or transfers an escalation."""
    with store.session() as s:
        rows = s.execute(
            select(Escalation.id, Escalation.status, Escalation.transfer_status, Escalation.claimed_by)
            .where(Escalation.status.in_(OPEN_STATUSES))
            .order_by(Escalation.id)
        ).all()
        last = s.scalar(select(func.max(Escalation.id)))
    return (last, tuple(tuple(r) for r in rows))


# ---------------------------------------------------------------- one escalation / one call


def _turn_item(flow: Flow, t: Turn) -> dict[str, Any]:
    return {
        "idx": t.idx,
        "at": iso(t.at),
        "menu": t.menu,
        "menu_label": flow.menu_label(t.menu),
        "input_kind": t.input_kind,
        "caller_text": t.caller_text,
        "intent": t.intent,
        "intent_label": flow.intent_label(t.intent) if t.intent else "未识别",
        "slots": t.slots or {},
        "confidence": t.confidence,
        "asr_confidence": t.asr_confidence,
        "emotion": t.emotion,
        "bot_text": t.bot_text,
        "latency_ms": (t.timing or {}).get("latency_ms"),
    }


def _last_by_menu(flow: Flow, turns: list[Turn]) -> dict[str, Turn]:
    """The last understood turn at each menu (the answer the call went on with)."""
    out: dict[str, Turn] = {}
    for t in turns:
        if t.intent and t.menu in flow.menus:
            out[t.menu] = t
    return out


def _fmt_amount(v: Any) -> str:
    try:
        return f"{int(v):,}元"
    except (TypeError, ValueError):
        return str(v)


def profile(flow: Flow, call: Call, turns: list[Turn]) -> list[dict[str, Any]]:
    """SPEC.md §2 summary as labelled lines for a human in a hurry, in flow order.
    Built from the turns (intent + slots per menu) so it does not depend on how a summary dict is
    keyed; a missing answer shows as 未获取.  Values use flow.yaml's words, as the narrative does."""
    by_menu = _last_by_menu(flow, turns)

    def line(key: str, label: str, value: str | None, t: Turn | None) -> dict[str, Any]:
        return {
            "key": key,
            "label": label,
            "value": value or "未获取",
            "confidence": t.confidence if t else None,
            "turn": t.idx if t else None,
        }

    opening = by_menu.get("opening")
    identity = call.identity or (opening.intent if opening else None)
    lines = [line("identity", "身份", flow.identity_label(identity), opening)]

    src, amt = by_menu.get("income_source"), by_menu.get("income_amount")
    income = " ".join(
        x
        for x in (
            flow.label("income_source", src.intent) if src else None,
            f"约{_fmt_amount(amt.slots['amount'])}/月" if amt and (amt.slots or {}).get("amount") is not None else None,
        )
        if x
    )
    lines.append(line("income", "收入", income, amt or src))

    exp = by_menu.get("expenses")
    cats = (exp.slots or {}).get("categories") if exp else None
    lines.append(line("expenses", "支出", "、".join(flow.label("expenses", c) for c in cats or []), exp))

    unusual = by_menu.get("unusual_expense")
    lines.append(
        line(
            "unusual",
            flow.menu_label("unusual_expense"),
            flow.label("unusual_expense", unusual.intent) if unusual else None,
            unusual,
        )
    )

    plan = by_menu.get("plan")
    plan_text = None
    if plan:
        months = (plan.slots or {}).get("months")
        words = flow.label("plan", plan.intent)  # e.g. 分{months}期还款
        if "{months}" in words:
            plan_text = words.format(months=months or flow.promise.default_months)
        else:
            plan_text = words + (f"（{months}个月）" if months else "")
    lines.append(line("plan", flow.menu_label("plan"), plan_text, plan))

    promise = by_menu.get("promise")
    date = call.promise_date or ((promise.slots or {}).get("date") if promise else None)
    amount = call.promise_amount or ((promise.slots or {}).get("amount") if promise else None)
    promise_text = None
    if date:
        promise_text = f"{date}" + (f" 还款 {_fmt_amount(amount)}" if amount else "")
    lines.append(line("promise", "承诺还款", promise_text, promise))
    return lines


def emotion_points(call: Call, turns: list[Turn]) -> list[dict[str, Any]]:
    """Per-turn emotion: the call's stored timeline when present, else each turn's score."""
    points = []
    for p in call.emotion_timeline or []:
        if isinstance(p, dict) and p.get("score") is not None:
            points.append(
                {
                    "turn": p.get("turn"),
                    "score": float(p["score"]),
                    "lexical": p.get("lexical"),
                    "acoustic": p.get("acoustic"),
                }
            )
    if not points:
        points = [{"turn": t.idx, "score": float(t.emotion)} for t in turns if t.emotion is not None]
    return points


def _call_item(flow: Flow, call: Call, reason: str | None = None) -> dict[str, Any]:
    return {
        "id": call.id,
        "started_at": iso(call.started_at),
        "ended_at": iso(call.ended_at),
        "transport": call.transport,
        "caller_number": call.caller_number,
        "case_id": call.case_id,
        "debtor_name": call.debtor_name,
        "status": call.status,
        "outcome": call.outcome,
        "outcome_label": labels.label(labels.OUTCOMES, call.outcome),
        "last_menu": call.last_menu,
        "last_menu_label": flow.menu_label(call.last_menu),
        "identity": call.identity,
        "promise_date": call.promise_date,
        "promise_amount": call.promise_amount,
        "duration_s": call.duration_s,
        "turn_count": call.turn_count,
        "avg_turn_latency_ms": call.avg_turn_latency_ms,
        "escalation_reason": reason,
        "has_recording": bool(call.recording_path),
    }


def call_detail(store: Store, flow: Flow, call_id: str) -> dict[str, Any] | None:
    with store.session() as s:
        call = s.get(Call, call_id)
        if call is None:
            return None
        turns = list(s.scalars(select(Turn).where(Turn.call_id == call_id).order_by(Turn.idx)))
        escs = list(s.scalars(select(Escalation).where(Escalation.call_id == call_id).order_by(Escalation.id)))
    item = _call_item(flow, call, escs[0].reason if escs else None)
    item.update(
        case=call.case or {},
        slots=call.slots or {},
        profile=profile(flow, call, turns),
        emotion=emotion_points(call, turns),
        turns=[_turn_item(flow, t) for t in turns],
        escalations=[
            {"id": e.id, "reason": e.reason, "reason_label": flow.reason_label(e.reason), "status": e.status}
            for e in escs
        ],
    )
    return item


def escalation_detail(store: Store, flow: Flow, esc_id: int) -> dict[str, Any] | None:
    with store.session() as s:
        esc = s.get(Escalation, esc_id)
        if esc is None:
            return None
        call = esc.call
        notes = [{"id": n.id, "at": iso(n.at), "author": n.author, "text": n.text} for n in esc.notes]
    item = _queue_item(flow, esc, call, utcnow())
    item.update(
        trigger_turn=esc.trigger_turn,
        summary=esc.summary or {},
        opening=next(
            (
                t.get("text")
                for t in (esc.summary or {}).get("transcript", [])
                if isinstance(t, dict) and t.get("turn") == 0 and t.get("speaker") == "bot"
            ),
            None,
        ),
        claimed_at=iso(esc.claimed_at),
        disposition_label=labels.label(labels.DISPOSITIONS, esc.disposition) if esc.disposition else None,
        transfer_detail=esc.transfer_detail,
        notes=notes,
        call=call_detail(store, flow, esc.call_id),
        # who looked at, listened to or changed this hand-off, newest first
        audit=sorted(
            audit(store, "escalation", str(esc_id)) + audit(store, "call", esc.call_id),
            key=lambda a: a["id"],
            reverse=True,
        ),
    )
    return item


def recording_path(store: Store, call_id: str) -> str | None:
    with store.session() as s:
        return s.scalar(select(Call.recording_path).where(Call.id == call_id))


# ---------------------------------------------------------------- call history


@dataclass
class CallFilter:
    date_from: dt.date | None = None
    date_to: dt.date | None = None  # inclusive
    outcome: str | None = None
    reason: str | None = None
    menu: str | None = None
    q: str | None = None  # caller number, case id, debtor name or call id prefix
    page: int = 1
    per_page: int = 50

    def apply(self, query: Select) -> Select:
        if self.date_from:
            query = query.where(Call.started_at >= local_day_bounds(self.date_from)[0])
        if self.date_to:
            query = query.where(Call.started_at < local_day_bounds(self.date_to)[1])
        if self.outcome:
            query = query.where(Call.outcome == self.outcome)
        if self.menu:
            query = query.where(Call.last_menu == self.menu)
        if self.reason:
            query = query.where(Call.id.in_(select(Escalation.call_id).where(Escalation.reason == self.reason)))
        if self.q:
            like = f"%{self.q.strip()}%"
            query = query.where(
                or_(
                    Call.caller_number.like(like),
                    Call.case_id.like(like),
                    Call.debtor_name.like(like),
                    Call.id.like(f"{self.q.strip()}%"),
                )
            )
        return query


def search_calls(store: Store, flow: Flow, f: CallFilter) -> dict[str, Any]:
    first_reason = (
        select(Escalation.reason)
        .where(Escalation.call_id == Call.id)
        .order_by(Escalation.priority)
        .limit(1)
        .correlate(Call)
        .scalar_subquery()
    )
    with store.session() as s:
        total = s.scalar(f.apply(select(func.count()).select_from(Call))) or 0
        rows = s.execute(
            f.apply(select(Call, first_reason))
            .order_by(Call.started_at.desc())
            .limit(f.per_page)
            .offset((f.page - 1) * f.per_page)
            .options(*LIST_OPTIONS[:3])
        ).all()
    return {
        "total": total,
        "page": f.page,
        "pages": max(1, -(-total // f.per_page)),
        "items": [_call_item(flow, c, r) for c, r in rows],
    }


# ---------------------------------------------------------------- analytics


def _rate(n: int, d: int) -> float:
    return round(n / d, 4) if d else 0.0


def _local_day(store: Store, column):
    """SQL expression: the UTC+8 calendar day of a stored naive-UTC time (ISO string on SQLite)."""
    if store.engine.dialect.name == "sqlite":
        return func.date(column, "+8 hours")
    return func.date(column + dt.timedelta(hours=8))


def analytics(store: Store, flow: Flow, date_from: dt.date, date_to: dt.date) -> dict[str, Any]:
    """Aggregated in SQL (a few hundred result rows at most, whatever the number of calls).
    The funnel lists flow.yaml's menus in its order, reasons come most urgent first."""
    start, end = local_day_bounds(date_from)[0], local_day_bounds(date_to)[1]
    in_range = (Call.started_at >= start, Call.started_at < end)
    day = _local_day(store, Call.started_at)
    timed = Call.avg_turn_latency_ms.is_not(None)
    with store.session() as s:
        by_day = s.execute(
            select(
                day,
                Call.outcome,
                func.count(),
                func.count(Call.promise_date),
                func.sum(case((timed, Call.turn_count), else_=0)),
                func.sum(case((timed, Call.turn_count * Call.avg_turn_latency_ms), else_=0.0)),
            )
            .where(*in_range)
            .group_by(day, Call.outcome)
        ).all()
        dropped = dict(
            s.execute(
                select(Call.last_menu, func.count())
                .where(*in_range, or_(Call.outcome.is_(None), Call.outcome != "completed"))
                .group_by(Call.last_menu)
            ).all()
        )
        reasons = s.execute(
            select(Escalation.reason, func.count())
            .join(Call, Call.id == Escalation.call_id)
            .where(*in_range)
            .group_by(Escalation.reason)
        ).all()
        reached = dict(
            s.execute(
                select(Turn.menu, func.count(func.distinct(Turn.call_id)))
                .join(Call, Call.id == Turn.call_id)
                .where(*in_range)
                .group_by(Turn.menu)
            ).all()
        )
    per_day: Counter[str] = Counter()
    outcomes: Counter[str] = Counter()
    promised = latency_turns = 0
    latency_sum = 0.0
    for d, outcome, n, n_promise, n_turns, lat in by_day:
        per_day[str(d)] += n
        outcomes[outcome or "active"] += n
        promised += n_promise
        latency_turns += n_turns or 0
        latency_sum += lat or 0.0
    total = sum(outcomes.values())
    days = [date_from + dt.timedelta(days=i) for i in range((date_to - date_from).days + 1)]
    return {
        "date_from": date_from.isoformat(),
        "date_to": date_to.isoformat(),
        "total_calls": total,
        "calls_per_day": [{"date": d.isoformat(), "calls": per_day.get(d.isoformat(), 0)} for d in days],
        "outcomes": dict(outcomes),
        "completion_rate": _rate(outcomes.get("completed", 0), total),
        "escalation_rate": _rate(outcomes.get("escalated", 0), total),
        "promise_rate": _rate(promised, total),
        "escalations_by_reason": [
            {"reason": r, "label": flow.reason_label(r), "count": n}
            for r, n in sorted(reasons, key=lambda rn: flow.priority(rn[0]))
        ],
        "funnel": [
            {"menu": m, "label": flow.menu_label(m), "reached": reached.get(m, 0), "dropped": dropped.get(m, 0)}
            for m in flow.funnel()
        ],
        "avg_turn_latency_ms": round(latency_sum / latency_turns, 1) if latency_turns else None,
    }


# ---------------------------------------------------------------- promises, audit


def promises(
    store: Store, flow: Flow, date_from: dt.date | None = None, date_to: dt.date | None = None
) -> list[dict[str, Any]]:
    """Promises to pay (by promised date) for follow-up reminders (定期跟进)."""
    q = select(Call).where(Call.promise_date.is_not(None))
    if date_from:
        q = q.where(Call.promise_date >= date_from.isoformat())
    if date_to:
        q = q.where(Call.promise_date <= date_to.isoformat())
    with store.session() as s:
        calls = list(s.scalars(q.order_by(Call.promise_date, Call.started_at).options(*LIST_OPTIONS[:3])))
    return [_call_item(flow, c) for c in calls]


def audit(
    store: Store, target_type: str | None = None, target_id: str | None = None, limit: int = 200
) -> list[dict[str, Any]]:
    q = select(AuditEntry)
    if target_type:
        q = q.where(AuditEntry.target_type == target_type)
    if target_id:
        q = q.where(AuditEntry.target_id == target_id)
    with store.session() as s:
        rows = list(s.scalars(q.order_by(AuditEntry.id.desc()).limit(limit)))
    return [
        {
            "id": a.id,
            "at": iso(a.at),
            "username": a.username,
            "action": a.action,
            "target_type": a.target_type,
            "target_id": a.target_id,
            "detail": a.detail,
        }
        for a in rows
    ]


# ---------------------------------------------------------------- masking for the agent role


def _mask_call(c: dict[str, Any]) -> None:
    c["caller_number"] = mask_phone(c.get("caller_number"))
    if isinstance(c.get("promise_amount"), int):  # a number keyed at the amount prompt is no amount
        c["promise_amount"] = mask_number(c["promise_amount"])
    hidden = secret_turns(c.get("turns"))  # slots made while answering the second factor
    for key in ("case", "slots"):
        if key in c:
            c[key] = mask_value(c[key], secret_turns=hidden)
    if c.get("profile"):  # summary lines built from the slots (约13,800,138,000元/月)
        c["profile"] = [dict(line, value=mask_text(line.get("value"))) for line in c["profile"]]
    if "turns" in c:
        c["turns"] = [mask_turn(t) for t in c["turns"]]


def present(item: Any, masked: bool) -> Any:
    """The record as the user may see it: phone/ID numbers masked when `masked` (agent role)."""
    if not masked:
        return item
    if isinstance(item, list):
        return [present(i, masked) for i in item]
    if not isinstance(item, dict):
        return item
    item = dict(item)
    if "items" in item:  # a search page
        item["items"] = present(item["items"], masked)
        return item
    if "open" in item:  # the queue
        item["open"], item["resolved"] = present(item["open"], True), present(item["resolved"], True)
        return item
    _mask_call(item)
    for key in ("narrative", "trigger_text", "opening"):
        if key in item:
            item[key] = mask_text(item[key])
    if isinstance(item.get("summary"), dict):
        item["summary"] = mask_summary(item["summary"])
    if item.get("notes"):
        item["notes"] = [dict(n, text=mask_text(n["text"])) for n in item["notes"]]
    if item.get("audit"):  # note entries carry the note's first 200 characters
        item["audit"] = [dict(a, detail=mask_text(a.get("detail"))) for a in item["audit"]]
    if isinstance(item.get("call"), dict):
        item["call"] = dict(item["call"])
        _mask_call(item["call"])
    return item
