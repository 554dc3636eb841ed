"""What every real-time transport (SIP, AudioSocket, WebSocket) does around one call's engine.

A transport only moves bytes and control events; this glue feeds the call engine, records both
directions, counts frames (lost-frame checks), stores the recording path and logs one summary
line per call.  No dialog logic: the engine and its session decide everything.
"""

from __future__ import annotations

import asyncio
import json
import logging
import threading
import time
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from ivr.events import DTMF_DIGITS, Transfer, is_dtmf_key
from ivr.transports.guard import AudioBucket
from ivr.transports.recorder import StereoRecorder

log = logging.getLogger("ivr.transports")

FRAME_S = 0.02  # one media frame: 20 ms
LATE_S = 0.035  # a media tick this much after the previous one counts as late


class Engine(Protocol):
    """The call engine contract (README "Contracts"): `ivr.engine.CallEngine`, the SIP worker's
    `RemoteEngine`, test stand-ins.  Transports use exactly this, never probe for more."""

    # set once the call row is stored (also on failure): a transport answers only then, so a crash
    # right after answering cannot lose an answered call
    started: threading.Event

    def push_audio(self, pcm16: bytes) -> None: ...
    def pull_audio(self, n_bytes: int) -> bytes: ...
    def dtmf(self, digit: str) -> None: ...
    def transfer_result(self, ok: bool, detail: str = "") -> None: ...
    def hangup(self) -> None: ...


def when_started(engine: Engine, fn: Callable[[bool], None], timeout: float) -> None:
    """Call `fn(True)` once `engine.started` is set, or `fn(False)` after `timeout` seconds, without
    blocking the caller (a SIP callback or the engine host's loop)."""
    if engine.started.is_set():
        fn(True)
        return
    threading.Thread(target=lambda: fn(engine.started.wait(timeout)), name="engine-started", daemon=True).start()


@dataclass
class CallContext:
    """What a transport knows about a new call when it asks for an engine."""

    transport: str  # sip|audiosocket|websocket
    rate: int  # caller/bot audio sample rate (16-bit mono)
    # ours, always generated: the row key and the recording's file name.  What the peer calls the
    # call goes to `peer_ref` (validated by ivr/transports/guard.py `peer_ref`), never here.
    call_id: str = field(default_factory=lambda: uuid.uuid4().hex, init=False)
    caller_number: str | None = None
    worker: str | None = None
    case_ref: str | None = None  # the dialer's case reference (SIP X-Case-Id, WebSocket case_id, AudioSocket UUID)
    called_number: str | None = None  # the dialed user (SIP request-URI): a case id when the dialer puts it there
    peer_ref: str | None = None  # the peer's id of the call (WebSocket callId, AudioSocket UUID, SIP Call-ID)
    on_transfer: Callable[[Transfer], None] = lambda t: None
    on_hangup: Callable[[str], None] = lambda outcome: None


EngineFactory = Callable[[CallContext], Engine]


class MediaCall:
    """One live call on a transport: engine + recorder + frame counters."""

    def __init__(
        self,
        ctx: CallContext,
        engine_factory: EngineFactory,
        recordings_dir: Path | None,
        store: Any = None,
    ) -> None:
        self.ctx = ctx
        self.store = store
        self.started = time.monotonic()
        self.frames_in = 0  # pushes from the transport (one per media tick)
        self.frames_out = 0
        self.bytes_in = 0
        self.first_frame = self.last_frame = 0.0  # monotonic times of the first/last caller frame
        self._last_pull = 0.0
        self.late_ticks = 0
        self.max_gap_ms = 0.0
        self.extra: dict[str, Any] = {}  # transport-specific numbers for the call-end line (RTP stats)
        self.ended: str | None = None
        self._end_lock = threading.Lock()
        # caller audio beyond RATE_FACTOR x real time is dropped here, before the recorder and the
        # engine's queue: a flooding peer cannot queue minutes of audio (issue 13, finding 3)
        self.bucket = AudioBucket(ctx.rate * 2)
        self.recording_error: str | None = None
        self.recorder: StereoRecorder | None = None
        if recordings_dir:
            try:
                self.recorder = StereoRecorder(recordings_dir / f"{ctx.call_id}.wav", ctx.rate)
            except OSError as e:  # full or read-only disk: the call goes on unrecorded
                self._recording_failed("open", e)
        try:
            self.engine = engine_factory(ctx)
        except BaseException:  # no call: no recording left behind (nor an open file)
            if self.recorder is not None:
                self.recorder.abandon()
                self.recorder.path.unlink(missing_ok=True)
            raise

    # -- media path: called on the transport's real-time thread; keep cheap ----------------
    def push(self, pcm16: bytes) -> bool:
        """Caller audio; False when it was dropped (faster than real time: see `flooding`)."""
        if not self.bucket.take(len(pcm16)):
            return False
        self.last_frame = time.monotonic()
        if not self.frames_in:
            self.first_frame = self.last_frame
        self.frames_in += 1
        self.bytes_in += len(pcm16)
        rec = self.recorder
        if rec is not None:
            rec.caller(pcm16)
        self.engine.push_audio(pcm16)
        return True

    @property
    def flooding(self) -> bool:
        """The peer sent FLOOD_S seconds more audio than real time allows: the transport closes it."""
        return self.bucket.flooding

    def pull(self, n_bytes: int) -> bytes:
        now = time.monotonic()
        if self.frames_out and now - self._last_pull > LATE_S:
            self.late_ticks += 1  # the media clock ran late: the far end gets a burst, not a stream
            self.max_gap_ms = max(self.max_gap_ms, (now - self._last_pull) * 1000)
            late = self.extra.setdefault("late_at", [])  # first few (seconds into call, gap ms): diagnosis
            if len(late) < 20:
                late.append((round(now - self.started, 2), round((now - self._last_pull) * 1000)))
        self._last_pull = now
        out = self.engine.pull_audio(n_bytes)
        if len(out) != n_bytes:  # the contract says exactly n; never let a short read glitch the wire
            out = out[:n_bytes].ljust(n_bytes, b"\0")
        self.frames_out += 1
        rec = self.recorder
        if rec is not None:
            rec.bot(out)
        return out

    def dtmf(self, digit: str) -> None:
        if is_dtmf_key(digit):
            self.engine.dtmf(digit)
        else:
            log.warning("call %s: ignored DTMF %r (expected one of %s)", self.ctx.call_id, digit, DTMF_DIGITS)

    def flush(self) -> None:
        """Write the recording so far.  Never raises: a write error (full disk) stops the recording,
        is logged once and counted, and the call goes on (SIP media tick, issue 13 finding 2)."""
        rec = self.recorder
        if rec is None:
            return
        try:
            rec.flush()
        except Exception as e:  # noqa: BLE001 - OSError, or wave's errors on a half-written file
            self.recorder = None
            rec.abandon()
            self._recording_failed("write", e)

    def _recording_failed(self, step: str, e: BaseException) -> None:
        self.recording_error = f"{step}: {type(e).__name__}: {e}"
        log.error("call %s: recording stopped, the call goes on (%s)", self.ctx.call_id, self.recording_error)
        try:
            from ivr import metrics

            metrics.RECORDING_ERRORS.inc()
        except Exception:  # noqa: BLE001 - counting must not fail the call either
            log.debug("recording error not counted", exc_info=True)

    # -- end -----------------------------------------------------------------------------------
    def end(self, reason: str) -> dict[str, Any]:
        """Idempotent: stop the engine, close the recording, store its path, log the stats."""
        with self._end_lock:
            if self.ended is not None:
                return self.stats()
            self.ended = reason
        try:
            self.engine.hangup()
        except Exception:  # a failing engine must not keep the transport from cleaning up
            log.exception("call %s: engine hangup failed", self.ctx.call_id)
        rec, path = self.recorder, None
        if rec is not None:
            try:
                path = rec.close()
            except Exception as e:  # noqa: BLE001 - the last write or the header patch failed
                self.recorder = None
                rec.abandon()
                self._recording_failed("close", e)
                path = rec.path  # what was written is kept (a partial WAV) and linked
        if path is not None:
            if self.store is not None:
                try:
                    self.store.update_call(self.ctx.call_id, recording_path=str(path), worker=self.ctx.worker)
                except KeyError:
                    log.warning("call %s: no call record to attach %s to", self.ctx.call_id, path)
        if self.bucket.dropped:
            log.warning(
                "call %s: dropped %d bytes of caller audio sent faster than real time",
                self.ctx.call_id,
                self.bucket.dropped,
            )
            from ivr import metrics

            metrics.MEDIA_DROPPED_BYTES.inc(self.bucket.dropped)
        stats = self.stats()
        log.info("call-end %s", json.dumps(stats, sort_keys=True))
        return stats

    def stats(self) -> dict[str, Any]:
        duration = time.monotonic() - self.started
        media_s = self.last_frame - self.first_frame
        return {
            **self.extra,
            "call_id": self.ctx.call_id,
            "transport": self.ctx.transport,
            "reason": self.ended,
            "duration_s": round(duration, 3),
            "frames_in": self.frames_in,
            "frames_out": self.frames_out,
            "media_s": round(media_s, 3),
            # 20 ms ticks the media clock should have delivered between the first and last frame;
            # fewer frames_in means the transport thread was starved (lost caller audio)
            "frames_expected": round(media_s / FRAME_S) + 1 if self.frames_in else 0,
            "late_ticks": self.late_ticks,
            "max_gap_ms": round(self.max_gap_ms, 1),
            "recording_s": round(self.recorder.seconds, 3) if self.recorder else None,
            "audio_dropped_bytes": self.bucket.dropped,
            **({"recording_error": self.recording_error} if self.recording_error else {}),
        }


def mark_transfer(store: Any, transfer: Transfer, status: str, detail: str | None = None) -> None:
    """Record a transfer step on its escalation (the session stored the escalation already)."""
    if store is None or transfer.escalation_id is None:
        return
    try:
        store.set_transfer_status(transfer.escalation_id, status, detail)
    except KeyError:
        log.warning("transfer: escalation %s not found; status %s not recorded", transfer.escalation_id, status)
    log.info("transfer-%s escalation=%s reason=%s detail=%s", status, transfer.escalation_id, transfer.reason, detail)


def transfer_failed(media: MediaCall, detail: str) -> None:
    """Tell the engine the hand-off failed so it plays the apology and callback offer (docs/telephony.md)."""
    media.engine.transfer_result(False, detail)


async def pace_out(media: MediaCall, frame_bytes: int, send: Callable[[bytes], Awaitable[None]]) -> None:
    """Send bot audio at real time, one frame per 20 ms on an absolute schedule (no drift).

    PBXs play what they receive as it arrives: unpaced writes make callers hear only the tail of each
    prompt.  Silence is sent while the bot is idle so the far end's jitter buffer stays primed.
    """
    loop = asyncio.get_running_loop()
    next_t = loop.time()
    ticks = 0
    while media.ended is None:
        await send(media.pull(frame_bytes))
        ticks += 1
        if ticks % 50 == 0:  # write the recording once a second instead of holding the call in memory
            media.flush()
        next_t += FRAME_S
        delay = next_t - loop.time()
        if delay < -0.1:  # stalled (GC, slow peer): resync rather than burst to catch up
            next_t = loop.time()
            delay = 0
        await asyncio.sleep(max(delay, 0))
