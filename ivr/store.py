"""Durable records of calls, turns, escalations, caller requests, callback tasks, contact
preferences, console users and the audit log.

SQLAlchemy 2.0 ORM: a SQLite file by default, PostgreSQL (or any SQLAlchemy URL) by setting
IVR_DB_URL.  Every write is its own short transaction so that a record is durable before the
next thing happens (an escalation is committed before its transfer is requested).
"""

from __future__ import annotations

import datetime as dt
import json
import os
import threading
import time
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import (
    JSON,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    create_engine,
    event,
    func,
    inspect,
    or_,
    select,
    text,
    update,
)
from sqlalchemy.engine import Engine
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import DeclarativeBase, Mapped, Session, mapped_column, relationship, sessionmaker

from ivr import logsafe

DISPOSITIONS = ("promise_taken", "hardship_plan", "dispute_logged", "callback", "no_action")
ROLES = ("agent", "supervisor", "admin")
REQUEST_STATUSES = ("pending", "claimed", "resolved")
CALLBACK_STATUSES = ("pending", "done")
STALE_AFTER = dt.timedelta(hours=2)  # no real call lasts this long: one still `active` was orphaned


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC).replace(tzinfo=None)


class Base(DeclarativeBase):
    type_annotation_map = {dict[str, Any]: JSON, list[Any]: JSON}


class Call(Base):
    __tablename__ = "calls"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)  # uuid4 hex
    started_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow, index=True)
    ended_at: Mapped[dt.datetime | None] = mapped_column(DateTime)
    transport: Mapped[str] = mapped_column(String(16), default="text")  # text|wav|mic|sip|audiosocket|websocket
    worker: Mapped[str | None] = mapped_column(String(64))  # host:port / process that served it
    caller_number: Mapped[str | None] = mapped_column(String(64))
    case_id: Mapped[str | None] = mapped_column(String(64))  # the matched case (None: no case matched)
    case_ref: Mapped[str | None] = mapped_column(String(64))  # the dialer's reference as received (X-Case-Id ...)
    # the peer's own id of this call (WebSocket callId, AudioSocket UUID, SIP Call-ID), validated by
    # ivr/transports/guard.py: a reference only, never the row key or a file name (issue 13)
    peer_ref: Mapped[str | None] = mapped_column(String(64))
    debtor_name: Mapped[str | None] = mapped_column(String(64))
    case: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    status: Mapped[str] = mapped_column(String(16), default="active", index=True)  # active|ended
    ended_reason: Mapped[str | None] = mapped_column(String(32))  # set when closed by the system: worker_restart|stale
    outcome: Mapped[str | None] = mapped_column(String(16), index=True)  # completed|escalated|hangup
    last_menu: Mapped[str | None] = mapped_column(String(32), index=True)
    identity: Mapped[str | None] = mapped_column(String(16))  # confirmed|denied|third_party|unknown
    slots: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)  # {name: {"value", "confidence", "turn"}}
    emotion_timeline: Mapped[list[Any]] = mapped_column(
        JSON, default=list
    )  # [{"turn", "lexical", "acoustic", "score"}]
    promise_date: Mapped[str | None] = mapped_column(String(10), index=True)  # ISO date
    promise_amount: Mapped[int | None] = mapped_column(Integer)
    callback: Mapped[dict[str, Any] | None] = mapped_column(JSON)  # SPEC v2 {"at", "said", "turn", "for"}
    contact_preference: Mapped[dict[str, Any] | None] = mapped_column(JSON)  # {"kinds", "said", "turn"}
    recording_path: Mapped[str | None] = mapped_column(Text)
    duration_s: Mapped[float | None] = mapped_column(Float)
    turn_count: Mapped[int] = mapped_column(Integer, default=0)
    avg_turn_latency_ms: Mapped[float | None] = mapped_column(Float)

    turns: Mapped[list[Turn]] = relationship(back_populates="call", order_by="Turn.idx", cascade="all, delete-orphan")
    escalations: Mapped[list[Escalation]] = relationship(back_populates="call", cascade="all, delete-orphan")

    __table_args__ = (Index("ix_calls_outcome_started", "outcome", "started_at"),)


class Turn(Base):
    __tablename__ = "turns"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    call_id: Mapped[str] = mapped_column(ForeignKey("calls.id", ondelete="CASCADE"), index=True)
    idx: Mapped[int] = mapped_column(Integer)  # 1-based turn number
    at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)
    menu: Mapped[str] = mapped_column(String(32))
    input_kind: Mapped[str] = mapped_column(String(10))  # speech|dtmf|noinput|hangup
    caller_text: Mapped[str | None] = mapped_column(Text)
    intent: Mapped[str | None] = mapped_column(String(32))
    slots: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    confidence: Mapped[float | None] = mapped_column(Float)
    asr_confidence: Mapped[float | None] = mapped_column(Float)
    emotion: Mapped[float | None] = mapped_column(Float)  # combined score 0..1
    bot_text: Mapped[str | None] = mapped_column(Text)
    timing: Mapped[dict[str, Any]] = mapped_column(
        JSON, default=dict
    )  # end_of_speech_s, asr_final_s, first_audio_s, latency_ms

    call: Mapped[Call] = relationship(back_populates="turns")

    # covering index for the console's menu funnel (distinct calls reaching each menu)
    __table_args__ = (Index("ix_turns_call_menu", "call_id", "menu"),)


class Escalation(Base):
    __tablename__ = "escalations"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    call_id: Mapped[str] = mapped_column(ForeignKey("calls.id", ondelete="CASCADE"), index=True)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow, index=True)
    reason: Mapped[str] = mapped_column(String(16), index=True)
    priority: Mapped[int] = mapped_column(Integer, index=True)
    trigger_turn: Mapped[int | None] = mapped_column(Integer)
    trigger_text: Mapped[str | None] = mapped_column(Text)
    summary: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)  # ivr/summary.py
    narrative: Mapped[str] = mapped_column(Text, default="")
    status: Mapped[str] = mapped_column(String(16), default="waiting", index=True)  # waiting|claimed|resolved
    claimed_by: Mapped[str | None] = mapped_column(String(64))
    claimed_at: Mapped[dt.datetime | None] = mapped_column(DateTime)
    resolved_at: Mapped[dt.datetime | None] = mapped_column(DateTime)
    disposition: Mapped[str | None] = mapped_column(String(16))
    transfer_status: Mapped[str] = mapped_column(
        String(16), default="pending"
    )  # pending|requested|accepted|failed|none
    transfer_detail: Mapped[str | None] = mapped_column(Text)
    transfer_requested_at: Mapped[dt.datetime | None] = mapped_column(DateTime)

    call: Mapped[Call] = relationship(back_populates="escalations")
    notes: Mapped[list[EscalationNote]] = relationship(
        back_populates="escalation", order_by="EscalationNote.id", cascade="all, delete-orphan"
    )

    __table_args__ = (Index("ix_escalations_queue", "status", "priority", "created_at"),)


class EscalationNote(Base):
    __tablename__ = "escalation_notes"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    escalation_id: Mapped[int] = mapped_column(ForeignKey("escalations.id", ondelete="CASCADE"), index=True)
    at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)
    author: Mapped[str] = mapped_column(String(64))
    text: Mapped[str] = mapped_column(Text)

    escalation: Mapped[Escalation] = relationship(back_populates="notes")


class CallerRequest(Base):
    """A caller's request that needs a human decision or answer (SPEC v2 `requests[]`: reduction,
    an unanswered question, ...): pending → claimed → resolved with a note."""

    __tablename__ = "requests"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    call_id: Mapped[str] = mapped_column(ForeignKey("calls.id", ondelete="CASCADE"), index=True)
    seq: Mapped[int] = mapped_column(Integer, default=0)  # place in the dialog's `requests` list
    case_ref: Mapped[str | None] = mapped_column(String(64), index=True)  # matched case id, else the dialer's ref
    caller_number: Mapped[str | None] = mapped_column(String(64))
    kind: Mapped[str] = mapped_column(String(32), index=True)  # reduction|question|...
    detail: Mapped[str | None] = mapped_column(Text)
    turn: Mapped[int | None] = mapped_column(Integer)
    status: Mapped[str] = mapped_column(String(16), default="pending")  # pending|claimed|resolved
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)
    claimed_by: Mapped[str | None] = mapped_column(String(64))
    claimed_at: Mapped[dt.datetime | None] = mapped_column(DateTime)
    resolved_at: Mapped[dt.datetime | None] = mapped_column(DateTime)
    resolution: Mapped[str | None] = mapped_column(Text)  # the resolving agent's note

    __table_args__ = (
        UniqueConstraint("call_id", "seq", name="uq_requests_call_seq"),
        Index("ix_requests_status_created", "status", "created_at"),
        Index("ix_requests_created", "created_at"),
    )


class CallbackTask(Base):
    """A callback the dialog settled (SPEC v2 `callback`), one per call.  `at` is the local wall
    clock of the calling window exactly as the dialog read it back to the caller ("2026-12-01T16:30",
    None when the other side will call us); `due_at` is the same time as a column to sort and
    compare on (server local time, the clock the dialog uses)."""

    __tablename__ = "callbacks"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    call_id: Mapped[str] = mapped_column(ForeignKey("calls.id", ondelete="CASCADE"), unique=True)
    case_ref: Mapped[str | None] = mapped_column(String(64), index=True)
    caller_number: Mapped[str | None] = mapped_column(String(64))
    at: Mapped[str | None] = mapped_column(String(32))
    due_at: Mapped[dt.datetime | None] = mapped_column(DateTime)
    said: Mapped[str | None] = mapped_column(Text)
    turn: Mapped[int | None] = mapped_column(Integer)
    for_party: Mapped[str] = mapped_column(String(16), default="debtor")  # debtor|third_party (JSON "for")
    status: Mapped[str] = mapped_column(String(16), default="pending")  # pending|done
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)
    done_by: Mapped[str | None] = mapped_column(String(64))
    done_at: Mapped[dt.datetime | None] = mapped_column(DateTime)
    note: Mapped[str | None] = mapped_column(Text)

    __table_args__ = (Index("ix_callbacks_status_due", "status", "due_at"),)


class ContactPreference(Base):
    """How a caller asked to be contacted (SPEC v2 `contact_preference`), one per call, kept per case
    and per number for every future dialer (`Store.contact_preferences_for`)."""

    __tablename__ = "contact_preferences"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    call_id: Mapped[str] = mapped_column(ForeignKey("calls.id", ondelete="CASCADE"), unique=True)
    case_ref: Mapped[str | None] = mapped_column(String(64), index=True)
    caller_number: Mapped[str | None] = mapped_column(String(64))
    number_key: Mapped[str | None] = mapped_column(String(32), index=True)  # digits only, no +86 (number_key())
    kinds: Mapped[list[Any]] = mapped_column(
        JSON, default=list
    )  # less_often|not_at_work|preferred_time|stop_calling|sms|not_family
    said: Mapped[str | None] = mapped_column(Text)
    turn: Mapped[int | None] = mapped_column(Integer)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow, index=True)


def number_key(number: str | None) -> str | None:
    """A phone number as compared across dialers: digits only, without the +86 / 0086 country code."""
    if not number:
        return None
    digits = "".join(c for c in number if c.isdigit())
    for prefix in ("0086", "86"):
        if digits.startswith(prefix) and len(digits) - len(prefix) == 11:
            digits = digits[len(prefix) :]
    return digits or None


def _recording_of(call: Call, recordings_dir: Path | None) -> Path | None:
    """The WAV a transport was writing for `call`, if it is on disk."""
    candidates = [Path(call.recording_path)] if call.recording_path else []
    if recordings_dir is not None:
        candidates.append(Path(recordings_dir) / f"{call.id}.wav")
    for path in candidates:
        try:
            if path.is_file():
                return path
        except OSError:
            continue
    return None


def local_time(iso: str | None) -> dt.datetime | None:
    """`callback.at` (ISO, local wall clock, maybe with an offset) as a naive local datetime."""
    if not iso:
        return None
    try:
        t = dt.datetime.fromisoformat(iso)
    except ValueError:
        return None
    return t.astimezone().replace(tzinfo=None) if t.tzinfo else t


class User(Base):
    __tablename__ = "users"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    username: Mapped[str] = mapped_column(String(64), unique=True)
    password_hash: Mapped[str] = mapped_column(Text)
    role: Mapped[str] = mapped_column(String(16))  # agent|supervisor|admin
    active: Mapped[int] = mapped_column(Integer, default=1)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)


class ConsoleSession(Base):
    """A console login (server-side session): the cookie carries a random id, this row its SHA-256.
    Logout deletes the row; a password change, disable or delete removes every row of the user."""

    __tablename__ = "console_sessions"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    username: Mapped[str] = mapped_column(String(64), index=True)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)


class AuditEntry(Base):
    __tablename__ = "audit_log"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow, index=True)
    username: Mapped[str] = mapped_column(String(64))
    action: Mapped[str] = mapped_column(String(32))  # view|claim|note|resolve|login|...
    target_type: Mapped[str] = mapped_column(String(16))  # escalation|call|user|request|callback
    target_id: Mapped[str] = mapped_column(String(64), index=True)
    detail: Mapped[str | None] = mapped_column(Text)


# ---------------------------------------------------------------- engine / sessions


def _sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
    cur = dbapi_conn.cursor()
    cur.execute("PRAGMA journal_mode=WAL")  # console readers never block the call writers
    cur.execute("PRAGMA synchronous=NORMAL")
    cur.execute("PRAGMA foreign_keys=ON")
    cur.execute("PRAGMA busy_timeout=5000")
    cur.close()


_SCHEMA_LOCK_KEY = 0x1F1C_5C4E  # arbitrary constant shared by every process of this app


def _add_new_columns(conn: Any) -> None:
    """Nullable columns added to a model after its table was created (calls.ended_reason) are
    added to an existing database with ALTER TABLE, so older files keep working."""
    inspector = inspect(conn)
    for table in Base.metadata.sorted_tables:
        have = {c["name"] for c in inspector.get_columns(table.name)}
        for col in table.columns:
            if col.name not in have and col.nullable:
                ctype = col.type.compile(dialect=conn.dialect)
                conn.execute(text(f"ALTER TABLE {table.name} ADD COLUMN {col.name} {ctype}"))


class Health(Base):
    """One row per writer, rewritten by `Store.writable()`: proves the store can still write."""

    __tablename__ = "health"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)


def private_file(path: Path, mode: int = 0o600) -> None:
    """Create `path` (if missing) readable by its owner only, and tighten an existing one we own
    (a database made before issue 13 was world-readable)."""
    try:
        fd = os.open(path, os.O_CREAT | os.O_WRONLY | os.O_APPEND, mode)
        os.close(fd)
        if path.stat().st_uid == os.getuid() and path.stat().st_mode & 0o777 != mode:
            os.chmod(path, mode)
    except OSError:
        pass  # an unwritable location is reported by the first real write (and /healthz)


def private_dir(path: Path) -> Path:
    """`path` created as 0700 (its parents with the process umask); an existing one we own is
    tightened to 0700: the data directory holds recordings and the database (issue 13 #8)."""
    path.mkdir(parents=True, exist_ok=True, mode=0o700)
    try:
        if path.stat().st_uid == os.getuid() and path.stat().st_mode & 0o777 != 0o700:
            os.chmod(path, 0o700)
    except OSError:
        pass
    return path


WRITE_PROBE_S = 1.0  # /healthz asks at most this often: a load balancer's polling costs one tiny write per second


class Store:
    """One per process; thread-safe (a session per unit of work)."""

    def __init__(self, url: str) -> None:
        self.url = url
        # hide_parameters: a failed statement's message (logged with the traceback) never carries
        # the values it wrote: names, numbers, amounts, the case (issue 13 #8)
        kwargs: dict[str, Any] = {"future": True, "hide_parameters": True}
        if url.startswith("sqlite"):
            path = url.split("///", 1)[-1]
            if path and path != ":memory:":
                if not Path(path).parent.exists():
                    private_dir(Path(path).parent)
                private_file(Path(path))  # SQLite gives its -wal and -shm files the database's mode
            kwargs["connect_args"] = {"check_same_thread": False, "timeout": 30}
        else:
            kwargs["pool_pre_ping"] = True
        self._probe_lock = threading.Lock()
        self._probe: tuple[float, str | None] = (float("-inf"), None)
        self.engine: Engine = create_engine(url, **kwargs)
        if url.startswith("sqlite"):
            event.listen(self.engine, "connect", _sqlite_pragmas)
        self._create_schema()
        self._sessions = sessionmaker(self.engine, expire_on_commit=False)

    def _create_schema(self) -> None:
        with self.engine.begin() as conn:
            if self.engine.dialect.name == "postgresql":
                # Several workers start at once against one server: without a lock two of them both
                # see "no table" and the second CREATE fails.  Released when the transaction ends.
                conn.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _SCHEMA_LOCK_KEY})
            Base.metadata.create_all(conn)
            _add_new_columns(conn)

    @contextmanager
    def session(self) -> Iterator[Session]:
        """A unit of work: committed on success, rolled back on error."""
        with self._sessions() as s:
            try:
                yield s
                s.commit()
            except BaseException:
                s.rollback()
                raise

    def writable(self, writer: str = "healthz") -> str | None:
        """None if a small write commits now, else one line saying why not (disk full, read-only,
        database gone).  Asked by /healthz; the answer is kept for `WRITE_PROBE_S` seconds."""
        with self._probe_lock:
            at, problem = self._probe
            if time.monotonic() - at < WRITE_PROBE_S:
                return problem
            try:
                with self.session() as s:
                    s.merge(Health(id=writer[:64], at=utcnow()))
                problem = None
            except SQLAlchemyError as e:
                problem = f"store cannot write: {' '.join(str(getattr(e, 'orig', None) or e).split())[:200]}"
            except OSError as e:
                problem = f"store cannot write: {e.strerror or e}"
            self._probe = (time.monotonic(), problem)
            return problem

    # -- calls ------------------------------------------------------------
    def start_call(self, call_id: str, **fields: Any) -> Call:
        case = fields.get("case") or {}
        amounts = [case.get(k) for k in ("amount", "principal", "interest", "fees", "penalty")]
        logsafe.protect(
            fields.get("debtor_name") or case.get("name"), [a for a in amounts if a is not None], case.get("id_last4")
        )
        with self.session() as s:
            call = Call(id=call_id, **fields)
            s.add(call)
        return call

    def update_call(self, call_id: str, **fields: Any) -> None:
        with self.session() as s:
            call = s.get(Call, call_id)
            if call is None:
                raise KeyError(f"no call {call_id}")
            for k, v in fields.items():
                setattr(call, k, v)

    def add_turn(self, call_id: str, **fields: Any) -> Turn:
        with self.session() as s:
            turn = Turn(call_id=call_id, **fields)
            s.add(turn)
            call = s.get(Call, call_id)
            if call is not None:
                call.turn_count = max(call.turn_count or 0, fields.get("idx", 0))
                call.last_menu = fields.get("menu", call.last_menu)
        return turn

    def update_turn_timing(self, call_id: str, idx: int, timing: dict[str, Any]) -> None:
        """Merge `timing` into a stored turn's timing (no-op if that turn was not stored)."""
        with self.session() as s:
            row = s.scalars(select(Turn).where(Turn.call_id == call_id, Turn.idx == idx)).first()
            if row is not None:
                row.timing = {**(row.timing or {}), **timing}

    def add_escalation(self, call_id: str, reason: str, priority: int, **fields: Any) -> Escalation:
        """Durably store an escalation; returns it with its id (commit happens before return).
        `priority`: lower is served first, the reason's place in flow.yaml's `reasons` (Flow.priority)."""
        with self.session() as s:
            esc = Escalation(call_id=call_id, reason=reason, priority=priority, **fields)
            s.add(esc)
        return esc

    def set_transfer_status(self, escalation_id: int, status: str, detail: str | None = None) -> None:
        with self.session() as s:
            esc = s.get(Escalation, escalation_id)
            if esc is None:
                raise KeyError(f"no escalation {escalation_id}")
            esc.transfer_status = status
            if detail is not None:
                esc.transfer_detail = detail
            if status == "requested":
                esc.transfer_requested_at = utcnow()

    def close_stale_calls(
        self,
        max_age: dt.timedelta = STALE_AFTER,
        worker: str | Iterable[str] | None = None,
        now: dt.datetime | None = None,
        recordings_dir: Path | None = None,
    ) -> int:
        """Close calls a dead process left `active`: every call of `worker` (one name or several;
        call this when that worker starts, before it takes calls) and any call active for longer
        than `max_age`.  They end as `hangup`, `ended_reason` worker_restart or stale, at the last
        thing known of them: their last turn or the last write to their recording, whichever is
        later, so the duration is the real one (issue 13 #9).  The recording (the stored path, else
        `<recordings_dir>/<call id>.wav`) is kept and linked to the row.  Returns how many."""
        now = now or utcnow()
        workers = [worker] if isinstance(worker, str) else list(worker or [])
        orphaned = Call.started_at < now - max_age
        if workers:
            orphaned = or_(orphaned, Call.worker.in_(workers))
        with self.session() as s:
            calls = list(s.scalars(select(Call).where(Call.status == "active", orphaned)))
            for call in calls:
                last = s.scalar(select(func.max(Turn.at)).where(Turn.call_id == call.id)) or call.started_at
                recording = _recording_of(call, recordings_dir)
                if recording is not None:
                    call.recording_path = str(recording)
                    written = dt.datetime.fromtimestamp(recording.stat().st_mtime, dt.UTC).replace(tzinfo=None)
                    last = max(last, min(written, now))
                call.status, call.outcome, call.ended_at = "ended", "hangup", last
                call.duration_s = (last - call.started_at).total_seconds()
                call.ended_reason = "worker_restart" if call.worker in workers else "stale"
        return len(calls)

    def retention(
        self,
        recordings_before: dt.datetime | None,
        transcripts_before: dt.datetime | None,
        recordings_dir: Path | None = None,
        apply: bool = False,
        by: str = "cli",
        spoken_dir: Path | None = None,
    ) -> dict[str, Any]:
        """What the retention policy removes (issue 13 #8), done only with `apply`, and audited.

        Recordings of ended calls started before `recordings_before` are deleted and unlinked from
        their rows; so are WAV files in `recordings_dir` last written before then that belong to no
        active call (left by a crash).  Transcripts of ended calls started before
        `transcripts_before` are blanked: every turn's caller and bot text, an escalation's trigger
        text, what a caller said for a callback or contact preference.  Call rows, outcomes,
        promises, escalations and their summaries stay.  With the transcripts go the synthesised
        per-case pieces in `spoken_dir` (a debtor's name, amount, dates as speech, `<rate>/*.wav`) last
        written before then: they are the same personal data and are synthesised again when needed.
        Returns the counts (and the files)."""
        report: dict[str, Any] = {
            "recordings": 0, "recording_bytes": 0, "stray_recordings": 0, "transcript_calls": 0, "spoken_pieces": 0,
        }  # fmt: skip
        files: list[Path] = []
        with self.session() as s:
            active = set(s.scalars(select(Call.id).where(Call.status == "active")))
            if recordings_before is not None:
                rows = s.execute(
                    select(Call.id, Call.recording_path).where(
                        Call.status == "ended", Call.started_at < recordings_before, Call.recording_path.is_not(None)
                    )
                ).all()
                report["recordings"] = len(rows)
                files += [Path(p) for _, p in rows if p]
                if recordings_dir is not None and Path(recordings_dir).is_dir():
                    linked = {f.resolve() for f in files}
                    limit = recordings_before.replace(tzinfo=dt.UTC).timestamp()
                    for f in sorted(Path(recordings_dir).glob("*.wav")):
                        if f.stem in active or f.resolve() in linked or f.stat().st_mtime >= limit:
                            continue
                        files.append(f)
                        report["stray_recordings"] += 1
                report["recording_bytes"] = sum(f.stat().st_size for f in files if f.is_file())
                ids = [i for i, _ in rows]
                for k in range(0, len(ids) if apply else 0, 500):  # bounded IN lists (SQLite's variable limit)
                    s.execute(
                        update(Call)
                        .where(Call.id.in_(ids[k : k + 500]))
                        .values(recording_path=None)
                        .execution_options(synchronize_session=False)
                    )
            if transcripts_before is not None:
                if spoken_dir is not None and Path(spoken_dir).is_dir():
                    limit = transcripts_before.replace(tzinfo=dt.UTC).timestamp()
                    pieces = [f for f in sorted(Path(spoken_dir).glob("*/*.wav")) if f.stat().st_mtime < limit]
                    files += pieces
                    report["spoken_pieces"] = len(pieces)
                old = select(Call.id).where(Call.status == "ended", Call.started_at < transcripts_before)
                texts = or_(Turn.caller_text.is_not(None), Turn.bot_text.is_not(None))
                report["transcript_calls"] = len(
                    set(s.scalars(select(Turn.call_id).where(Turn.call_id.in_(old), texts).distinct()))
                )
                if apply:
                    quiet = {"synchronize_session": False}
                    s.execute(
                        update(Turn).where(Turn.call_id.in_(old)).values(caller_text=None, bot_text=None),
                        execution_options=quiet,
                    )
                    s.execute(
                        update(Escalation).where(Escalation.call_id.in_(old)).values(trigger_text=None),
                        execution_options=quiet,
                    )
                    for model in (CallbackTask, ContactPreference):
                        s.execute(
                            update(model).where(model.call_id.in_(old)).values(said=None), execution_options=quiet
                        )
            if apply:
                detail = {
                    "recordings_before": recordings_before.isoformat() if recordings_before else None,
                    "transcripts_before": transcripts_before.isoformat() if transcripts_before else None,
                    **report,
                }
                s.add(
                    AuditEntry(
                        username=by[:64],
                        action="retention",
                        target_type="store",
                        target_id="retention",
                        detail=json.dumps(detail, sort_keys=True),
                    )
                )
        if apply:  # the rows no longer point at them: a failed unlink leaves a stray file, found next time
            for f in files:
                f.unlink(missing_ok=True)
        report["files"] = [str(f) for f in files]
        return report

    # -- requests, callbacks, contact preferences (SPEC v2) ----------------
    def save_request(self, call_id: str, seq: int, **fields: Any) -> int:
        """Store the `seq`-th request of a call once (idempotent); returns its id."""
        with self.session() as s:
            row = s.scalars(
                select(CallerRequest).where(CallerRequest.call_id == call_id, CallerRequest.seq == seq)
            ).first()
            if row is None:
                row = CallerRequest(call_id=call_id, seq=seq, **fields)
                s.add(row)
                s.flush()
            return row.id

    def save_callback(self, call_id: str, **fields: Any) -> int:
        """Create or update the call's callback task (a done task keeps its status)."""
        if "at" in fields:
            fields["due_at"] = local_time(fields["at"])
        return self._save_one_per_call(CallbackTask, call_id, fields)

    def save_contact_preference(self, call_id: str, **fields: Any) -> int:
        """Create or update the call's contact preference."""
        if "caller_number" in fields:
            fields["number_key"] = number_key(fields["caller_number"])
        return self._save_one_per_call(ContactPreference, call_id, fields)

    def _save_one_per_call(
        self, model: type[CallbackTask] | type[ContactPreference], call_id: str, fields: dict
    ) -> int:
        """Insert the call's row of `model`, or update the fields given on the one it has."""
        with self.session() as s:
            row: Any = s.scalars(select(model).where(model.call_id == call_id)).first()
            if row is None:
                row = model(call_id=call_id, **fields)
                s.add(row)
            else:
                for k, v in fields.items():
                    setattr(row, k, v)
            s.flush()
            return int(row.id)  # both models have an integer primary key `id`

    def contact_preferences_for(self, key: str, limit: int = 50) -> list[dict[str, Any]]:
        """Every contact preference recorded for a case (matched case id or dialer reference) or a
        phone number (any spelling: 138..., +86 138..., 0086...), newest first.  For dialers: check
        this before placing a call (issue 14).  Each item: {id, call_id, case_ref, caller_number,
        kinds, said, turn, created_at (naive UTC)}."""
        key = (key or "").strip()
        if not key:
            return []
        conds = [ContactPreference.case_ref == key]
        nk = number_key(key)
        if nk:
            conds.append(ContactPreference.number_key == nk)
        with self.session() as s:
            rows = list(
                s.scalars(
                    select(ContactPreference)
                    .where(or_(*conds))
                    .order_by(ContactPreference.created_at.desc(), ContactPreference.id.desc())
                    .limit(limit)
                )
            )
        return [
            {
                "id": r.id,
                "call_id": r.call_id,
                "case_ref": r.case_ref,
                "caller_number": r.caller_number,
                "kinds": list(r.kinds or []),
                "said": r.said,
                "turn": r.turn,
                "created_at": r.created_at,
            }
            for r in rows
        ]

    def get_call(self, call_id: str) -> Call | None:
        with self.session() as s:
            return s.get(Call, call_id)

    def calls_by_peer_ref(self, peer_ref: str) -> list[Call]:
        """Every call a peer gave this id (a reused id is several calls, oldest first)."""
        with self.session() as s:
            return list(s.scalars(select(Call).where(Call.peer_ref == peer_ref).order_by(Call.started_at)))

    def list_calls(self, limit: int = 50, offset: int = 0) -> list[Call]:
        with self.session() as s:
            q = select(Call).order_by(Call.started_at.desc()).limit(limit).offset(offset)
            return list(s.scalars(q))

    def list_escalations(self, status: str | None = None, limit: int = 50) -> list[Escalation]:
        with self.session() as s:
            q = select(Escalation)
            if status:
                q = q.where(Escalation.status == status)
            # id breaks exact ties so SQLite and PostgreSQL serve the queue in the same order
            q = q.order_by(Escalation.priority, Escalation.created_at, Escalation.id).limit(limit)
            return list(s.scalars(q))

    def call_turns(self, call_id: str) -> list[Turn]:
        with self.session() as s:
            return list(s.scalars(select(Turn).where(Turn.call_id == call_id).order_by(Turn.idx)))
