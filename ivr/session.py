"""One call: a Dialog plus its durable records.

Every caller turn is stored as it happens and the call row is kept current, so the console sees a
live call and nothing is lost if the process dies.  On a Transfer the escalation (with summary and
narrative) is committed *before* the action is handed back to the transport: an agent must never
receive a caller whose hand-off record does not exist yet.

An unexpected error inside the dialog or the understanding must not leave the caller in silence:
the turn is stored and the caller is handed to an agent (see `handle`).  The process's Prometheus
counters (ivr/metrics.py) for calls, escalations, no-match and no-input are kept here, where each
of those things happens exactly once.
"""

from __future__ import annotations

import logging
import uuid
from dataclasses import replace
from pathlib import Path
from typing import Any

from sqlalchemy.exc import SQLAlchemyError

from ivr import metrics, summary
from ivr.dialog import Dialog, TurnRecord
from ivr.events import Action, CallerInput, Dtmf, Hangup, NoInput, Speech, Transfer
from ivr.store import Store, utcnow

# the store failing to write (full or read-only disk, database gone): the call ends politely
STORE_ERRORS = (SQLAlchemyError, OSError)
UNAVAILABLE_PROMPT = "unavailable.end"

log = logging.getLogger(__name__)

# SPEC.md §2 reasons are API, so a hand-over caused by the bot itself reuses `confused` (the bot
# could not go on with this caller) and says why in the summary: trigger.cause = "internal_error".
INTERNAL_ERROR_REASON = "confused"
INTERNAL_ERROR = "internal_error"


class CallSession:
    def __init__(
        self,
        store: Store,
        dialog: Dialog,
        call_id: str | None = None,
        transport: str = "text",
        caller_number: str | None = None,
        worker: str | None = None,
        case_ref: str | None = None,
        case_known: bool = True,
        peer_ref: str
        | None = None,  # the peer's id of the call (stored as a reference, never the key)  # False: no case matched the call, so no case is stored with it
    ) -> None:
        self.store = store
        self.case_ref = case_ref
        self.peer_ref = peer_ref
        self.case_known = case_known
        self.dialog = dialog
        self.call_id = call_id or uuid.uuid4().hex
        self.transport = transport
        self.caller_number = caller_number or dialog.case.caller_number
        self.worker = worker
        self.recording: str | None = None  # set by a transport that records the call
        self.escalation_id: int | None = None
        self.timings: dict[int, dict[str, Any]] = {}  # turn idx → timing
        self._started_at = utcnow()
        self._started = False
        self._ended = False
        self._saved_requests = 0  # how many of dialog.requests are stored
        self._saved_callback: dict[str, Any] | None = None
        self._saved_contact: dict[str, Any] | None = None
        self._store_broken = False  # a write failed: the call is being ended politely

    # ---------------------------------------------------------------- call lifecycle
    def start(self) -> list[Action]:
        try:
            return self._start()
        except STORE_ERRORS:
            return self._store_failed("could not store the new call")

    def _store_failed(self, what: str) -> list[Action]:
        """The store cannot write: say sorry (nothing about any debt) and hang up, instead of going on
        with a conversation nobody will have a record of, or dropping the caller (issue 13 #2)."""
        log.exception("call %s: %s; the store cannot write, ending the call politely", self.call_id, what)
        metrics.STORE_WRITE_ERRORS.inc()
        self._store_broken = True
        return self.dialog.say(UNAVAILABLE_PROMPT) + [Hangup("hangup")]

    def _start(self) -> list[Action]:
        case = self.dialog.case
        self.store.start_call(
            self.call_id,
            started_at=self._started_at,
            transport=self.transport,
            worker=self.worker,
            caller_number=self.caller_number,
            case_ref=self.case_ref,
            peer_ref=self.peer_ref,
            case_id=case.case_id if self.case_known else None,
            debtor_name=case.name if self.case_known else None,
            case=case.as_dict() if self.case_known else {},
            identity=self.dialog.identity,
        )
        self._started = True
        metrics.CALLS_TOTAL.inc()
        metrics.CALLS_ACTIVE.inc()
        actions = self.dialog.start()
        self.store.update_call(self.call_id, last_menu=self.dialog.menu)
        return actions

    def handle(self, inp: CallerInput, timing: dict[str, Any] | None = None) -> list[Action]:
        seen = len(self.dialog.turns)
        try:
            actions = self.dialog.handle(inp)
        except Exception:
            log.exception(
                "call %s: error in the dialog at menu %s; handing the caller over", self.call_id, self.dialog.menu
            )
            actions = self._hand_over_after_error(inp, seen)
        try:
            for turn in self.dialog.turns[seen:]:
                self._store_turn(turn, timing or {})
                self._count_miss(turn)
            if self.dialog.turns[seen:]:
                self._update_call()
            self._save_tasks()
            if any(isinstance(a, Transfer) for a in actions):
                esc_id = self._commit_escalation()
                actions = [replace(a, escalation_id=esc_id) if isinstance(a, Transfer) else a for a in actions]
        except STORE_ERRORS:
            return self._store_failed(f"could not store turn {len(self.dialog.turns)}")
        return actions

    def _hand_over_after_error(self, inp: CallerInput, seen: int) -> list[Action]:
        kind, text = _describe(inp)
        return self.dialog.hand_over(INTERNAL_ERROR_REASON, INTERNAL_ERROR, seen, kind, text)

    @staticmethod
    def _count_miss(turn: TurnRecord) -> None:
        if turn.input_kind == "noinput":
            metrics.NO_INPUT_TOTAL.labels(turn.menu).inc()
        elif turn.input_kind in ("speech", "dtmf") and turn.intent is None:
            metrics.NO_MATCH_TOTAL.labels(turn.menu).inc()

    # ---------------------------------------------------------------- what the call engine reads
    @property
    def menu(self) -> str | None:
        """The menu whose answer comes next (None once the call is over)."""
        return self.dialog.menu

    @property
    def turn_count(self) -> int:
        return len(self.dialog.turns)

    def dynamic_pieces(self) -> set[tuple[str, float]]:
        """Case-dependent prompt pieces this call may say (pre-rendered as the call starts)."""
        return self.dialog.dynamic_pieces()

    def update_timing(self, turn: int, timing: dict[str, Any]) -> None:
        """Add late timing fields (first audio, latency, barge-in) of a turn to the report and to
        its stored row: they are known only once the reply's audio went out, after the turn was stored."""
        self.timings.setdefault(turn, {}).update(timing)
        self.store.update_turn_timing(self.call_id, turn, timing)

    def set_recording(self, path: str) -> None:
        self.recording = path
        self.store.update_call(self.call_id, recording_path=path)

    def mark_transfer(self, status: str, detail: str | None = None) -> None:
        if self.escalation_id is not None:
            self.store.set_transfer_status(self.escalation_id, status, detail)

    def transfer_result(self, ok: bool, detail: str = "") -> list[Action]:
        """The transport reports whether the agent leg came up; on failure the caller is not left
        in silence: apology + callback offer, then hang up (the escalation stays queued)."""
        self.mark_transfer("accepted" if ok else "failed", detail or None)
        if ok:
            return []
        return self.dialog.say("transfer.failed") + [Hangup("escalated")]

    def end(self, outcome: str | None = None) -> None:
        """Close the call row (idempotent).  A caller hang-up mid-call is `hangup`."""
        if self._ended:
            return
        self._ended = True
        outcome = outcome or self.dialog.outcome or "hangup"
        if self._started:
            metrics.CALLS_ACTIVE.dec()
        ended = utcnow()
        if self._started:
            self._save_tasks()
        # The transport links its recording when it closes it, but a SIP worker killed mid-call
        # never does, while its engine host (this process) still ends the call: link the file here
        # too, or a recording on disk stays unlinked for good (the restart's sweep sees only calls
        # left active).  Measured in tests/telephony/test_crash_loop.py: 18 of 40 calls.
        linked = {"recording_path": self.recording} if self.recording and Path(self.recording).exists() else {}
        try:
            self.store.update_call(
                self.call_id,
                ended_at=ended,
                status="ended",
                outcome=outcome,
                duration_s=(ended - self._started_at).total_seconds(),
                **linked,
            )
        except (KeyError, *STORE_ERRORS) as e:
            if not self._store_broken:
                raise
            # logged once already; the row (if any) is closed as stale at the next start
            log.warning("call %s: end not stored (%s)", self.call_id, type(e).__name__)

    # ---------------------------------------------------------------- records
    def _store_turn(self, turn: TurnRecord, timing: dict[str, Any]) -> None:
        if timing:
            self.timings[turn.idx] = dict(timing)
        self.store.add_turn(
            self.call_id,
            idx=turn.idx,
            menu=turn.menu,
            input_kind=turn.input_kind,
            caller_text=turn.caller_text,
            intent=turn.intent,
            slots=turn.slots,
            confidence=turn.confidence,
            asr_confidence=turn.asr_confidence,
            emotion=turn.emotion,
            bot_text=turn.bot_text,
            timing=dict(timing),
        )

    def _update_call(self) -> None:
        d = self.dialog
        promise = d.promise or {}
        latencies = [t["latency_ms"] for t in self.timings.values() if t.get("latency_ms") is not None]
        self.store.update_call(
            self.call_id,
            identity=d.identity,
            slots={name: s.as_json() for name, s in d.slots.items()},
            emotion_timeline=list(d.emotion_timeline),
            promise_date=promise.get("date"),
            promise_amount=promise.get("amount"),
            callback=d.callback,
            contact_preference=d.contact_preference,
            last_menu=d.menu or d.turns[-1].menu,
            avg_turn_latency_ms=sum(latencies) / len(latencies) if latencies else None,
        )

    @property
    def case_key(self) -> str | None:
        """The case as the requests, callback and contact preference tables name it: the matched
        case's id, else the dialer's reference as received."""
        return (self.dialog.case.case_id if self.case_known else None) or self.case_ref

    def _save_tasks(self) -> None:
        """Requests, the callback task and the contact preference, stored as soon as the dialog
        makes them (idempotent: each is written once, or again when it changed)."""
        d = self.dialog
        try:
            for seq in range(self._saved_requests, len(d.requests)):
                r = d.requests[seq]
                self.store.save_request(
                    self.call_id,
                    seq,
                    case_ref=self.case_key,
                    caller_number=self.caller_number,
                    kind=str(r.get("kind") or "other")[:32],
                    detail=r.get("detail"),
                    turn=r.get("turn"),
                )
                self._saved_requests = seq + 1
            if d.callback is not None and d.callback != self._saved_callback:
                cb = dict(d.callback)
                self.store.save_callback(
                    self.call_id,
                    case_ref=self.case_key,
                    caller_number=self.caller_number,
                    at=cb.get("at"),
                    said=cb.get("said"),
                    turn=cb.get("turn"),
                    for_party=cb.get("for") or "debtor",
                )
                self._saved_callback = cb
            if d.contact_preference is not None and d.contact_preference != self._saved_contact:
                cp = dict(d.contact_preference)
                self.store.save_contact_preference(
                    self.call_id,
                    case_ref=self.case_key,
                    caller_number=self.caller_number,
                    kinds=list(cp.get("kinds") or []),
                    said=cp.get("said"),
                    turn=cp.get("turn"),
                )
                self._saved_contact = cp
        except Exception:  # a record problem must never break the call itself
            log.exception("call %s: could not store requests / callback / contact preference", self.call_id)

    def _commit_escalation(self) -> int:
        trigger = self.dialog.trigger
        assert trigger is not None, "a Transfer always comes with a trigger"
        info = summary.build(self.dialog, recording=self.recording)
        esc = self.store.add_escalation(
            self.call_id,
            trigger.reason,
            self.dialog.flow.priority(trigger.reason),
            trigger_turn=trigger.turn,
            trigger_text=trigger.text,
            summary=info,
            narrative=info["narrative"],
        )
        self.escalation_id = esc.id
        metrics.ESCALATIONS_TOTAL.labels(trigger.reason).inc()
        return esc.id

    def report(self) -> dict[str, Any]:
        """SPEC.md §3 simulate JSON (plus call_id, result, opening and per-turn details)."""
        d = self.dialog
        turns = []
        for t in d.turns:
            row: dict[str, Any] = {
                "turn": t.idx,
                "menu": t.menu,
                "input": t.input_kind,
                "caller": t.caller_text,
                "intent": t.intent,
                "slots": t.slots,
                "confidence": None if t.confidence is None else round(t.confidence, 3),
                "emotion": None if t.emotion is None else round(t.emotion, 3),
                "bot": t.bot_text,
            }
            if t.idx in self.timings:
                row["timing"] = self.timings[t.idx]
            turns.append(row)
        escalation = None
        if d.trigger is not None:
            info = summary.build(d, recording=self.recording)
            escalation = {
                "id": self.escalation_id,
                "reason": d.trigger.reason,
                "turn": d.trigger.turn,
                "summary": info,
                "narrative": info["narrative"],
            }
        return {
            "call_id": self.call_id,
            "opening": "".join(s.text for s in d.opening),
            "turns": turns,
            "outcome": d.outcome or "hangup",
            "identity": d.identity,
            "result": d.result,
            "escalation": escalation,
            "promise": d.promise,
            # SPEC v2 top-level fields
            "plan": d.plan,
            "requests": list(d.requests),
            "callback": _public(d.callback, ("at", "said", "for", "turn")),
            "contact_preference": d.contact_preference,
            "narrative": summary.narrative(d),
        }


def _public(value: dict[str, Any] | None, keys: tuple[str, ...]) -> dict[str, Any] | None:
    return None if value is None else {k: value.get(k) for k in keys}


def _describe(inp: CallerInput) -> tuple[str, str | None]:
    """(input kind, caller text) of a turn, as the dialog records it."""
    if isinstance(inp, Speech):
        return "speech", inp.text
    if isinstance(inp, Dtmf):
        return "dtmf", inp.digit
    if isinstance(inp, NoInput):
        return "noinput", None
    return "hangup", None
