"""Write side of the console: claim, note, resolve an escalation; every change and every view is
recorded in the audit log in the same transaction as the change itself."""

from __future__ import annotations

import datetime as dt
from typing import Any

from ivr.store import DISPOSITIONS, AuditEntry, Escalation, EscalationNote, Store, utcnow

MAX_NOTE = 2000


class NotFound(LookupError):
    pass


class Conflict(RuntimeError):
    """The escalation is not in a state that allows the action (message says why, in Chinese)."""


def add_audit(
    s: Any, username: str, action: str, target_type: str, target_id: object, detail: str | None = None
) -> None:
    """Add the audit entry of a change to the change's own transaction (session `s`)."""
    s.add(
        AuditEntry(username=username, action=action, target_type=target_type, target_id=str(target_id), detail=detail)
    )


def record(
    store: Store, username: str, action: str, target_type: str, target_id: object, detail: str | None = None
) -> None:
    """Audit an action that changes nothing else (a view, a login, a refused search, an export)."""
    with store.session() as s:
        add_audit(s, username, action, target_type, target_id, detail)


def open_row(s: Any, model: Any, row_id: int, what: str, done: str) -> Any:
    """The row to act on: 404 when missing, 409 once resolved (`what`/`done`: the console's words)."""
    row = s.get(model, row_id)
    if row is None:
        raise NotFound(f"{model.__tablename__.rstrip('s')} {row_id} not found")
    if row.status == "resolved":
        raise Conflict(f"{what} {row_id} {done}")
    return row


def claim_row(store: Store, model: Any, row_id: int, username: str, what: str, done: str, target: str) -> None:
    """Claim an escalation or a request: one owner at a time, audited in the same transaction."""
    with store.session() as s:
        row = open_row(s, model, row_id, what, done)
        if row.status == "claimed" and row.claimed_by != username:
            raise Conflict(f"{what} {row_id} 已由 {row.claimed_by} 认领")
        row.status, row.claimed_by, row.claimed_at = "claimed", username, row.claimed_at or utcnow()
        add_audit(s, username, "claim", target, row_id)


def take_for_resolving(row: Any, username: str, what: str, now: dt.datetime) -> None:
    """Resolving a row someone else claimed is refused; resolving straight from a list claims it too."""
    if row.status == "claimed" and row.claimed_by != username:
        raise Conflict(f"{what} {row.id} 由 {row.claimed_by} 处理中")
    if row.claimed_by is None:
        row.claimed_by, row.claimed_at = username, now


def _open(s: Any, esc_id: int) -> Escalation:
    return open_row(s, Escalation, esc_id, "转人工记录", "已解决")


def claim(store: Store, esc_id: int, username: str) -> None:
    claim_row(store, Escalation, esc_id, username, "转人工记录", "已解决", "escalation")


def add_note(store: Store, esc_id: int, username: str, text: str) -> None:
    text = text.strip()
    if not text or len(text) > MAX_NOTE:
        raise ValueError(f"note: expected 1-{MAX_NOTE} characters, got {len(text)}")
    with store.session() as s:
        if s.get(Escalation, esc_id) is None:
            raise NotFound(f"escalation {esc_id} not found")
        s.add(EscalationNote(escalation_id=esc_id, author=username, text=text))
        add_audit(s, username, "note", "escalation", esc_id, text[:200])


def resolve(store: Store, esc_id: int, username: str, disposition: str, note: str | None = None) -> None:
    if disposition not in DISPOSITIONS:
        raise ValueError(f"disposition: expected one of {', '.join(DISPOSITIONS)}, got {disposition!r}")
    with store.session() as s:
        esc = _open(s, esc_id)
        now = utcnow()
        take_for_resolving(esc, username, "转人工记录", now)
        esc.status, esc.disposition, esc.resolved_at = "resolved", disposition, now
        if note and note.strip():
            s.add(EscalationNote(escalation_id=esc_id, author=username, text=note.strip()[:MAX_NOTE]))
        add_audit(s, username, "resolve", "escalation", esc_id, disposition)
