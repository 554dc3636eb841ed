"""The call engine: caller audio frames in, bot audio frames out — one per call, every transport.

    push_audio ─▶ [inbox] ─▶ worker thread: resample → DTMF detector + VAD → ASR (menu grammar)
                                          → Speech / Dtmf / NoInput → CallSession → actions
    pull_audio ◀─ [outbox: prompt audio, Transfer, Hangup] ◀──────────────────────┘

The media thread only appends to the inbox and copies from the outbox (both O(1), never blocking
on decoding).  Everything slow — VAD, Vosk, the session's database writes, TTS of dynamic pieces —
runs on the engine's own worker thread.  Transport callbacks (`on_transfer`, `on_hangup`) are also
called from the worker, after the prompt audio that precedes them has been played.

Time is *media time*: seconds of caller audio pushed since the call started (equal to wall time on
a live call).  A reply is released no earlier than the moment of the caller's endpoint plus the
real processing time, so a WAV fed faster than real time (`FastClock`) reports the same latencies
a live call would.
"""

from __future__ import annotations

import collections
import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any, Protocol

from ivr import metrics
from ivr.acoustic import AcousticTracker
from ivr.asr import UNK, CallRecognizer
from ivr.audio import bytes_per_ms
from ivr.codec import StreamResampler
from ivr.dtmf import DIGITS, DtmfDetector
from ivr.events import Action, CallerInput, Dtmf, Hangup, NoInput, Say, Speech, Transfer
from ivr.vad import Endpointer, NoInputTimeout, SpeechStarted, Utterance

if TYPE_CHECKING:
    from ivr.wiring import EngineResources  # built by the wiring module, which imports this one

log = logging.getLogger(__name__)

VAD_FRAME_MS = 20
INTER_DIGIT_MS = 3000  # silence after a key of a multi-digit entry that ends the entry
HANGUP_WAIT_S = 2.0  # longest hangup() waits for the worker to close the session


# ---------------------------------------------------------------- clocks


class Clock(Protocol):
    def now(self) -> float: ...
    def sleep(self, seconds: float) -> None: ...


class RealClock:
    """Wall time since the clock was made; `sleep` really waits (live pacing)."""

    def __init__(self) -> None:
        self._t0 = time.monotonic()

    def now(self) -> float:
        return time.monotonic() - self._t0

    def sleep(self, seconds: float) -> None:
        if seconds > 0:
            time.sleep(seconds)


class FastClock:
    """Virtual time: `sleep` advances it instantly (WAV simulation without waiting)."""

    def __init__(self) -> None:
        self._t = 0.0

    def now(self) -> float:
        return self._t

    def sleep(self, seconds: float) -> None:
        self._t += max(0.0, seconds)


# ---------------------------------------------------------------- outbox items


@dataclass
class _Playback:
    pcm: bytes
    say: Say
    turn: dict[str, Any] | None  # timing record of the turn this prompt answers
    not_before: float  # media seconds: earliest release (endpoint + real processing time)
    pos: int = 0  # bytes already played


@dataclass
class _Control:
    action: Transfer | Hangup
    not_before: float


# ---------------------------------------------------------------- the engine


class CallEngine:
    """One call.  `session` is an `ivr.session.CallSession` (start/handle/transfer_result/end and
    `.dialog.menu`); `rate` is the transport's sample rate (16-bit mono)."""

    def __init__(
        self,
        session: Any,
        resources: EngineResources,
        rate: int,
        *,
        on_transfer: Callable[[Transfer], None] | None = None,
        on_hangup: Callable[[str], None] | None = None,
        on_partial: Callable[[str], None] | None = None,
        start: bool = True,
    ) -> None:
        self.session = session
        self.res = resources
        self.rate = rate
        self.on_transfer = on_transfer or (lambda t: None)
        self.on_hangup = on_hangup or (lambda outcome: None)
        self.on_partial = on_partial or (lambda text: None)
        # Internal rate: VAD/ASR work at 8 or 16 kHz; other transport rates are converted.
        self.work_rate = rate if rate in (8000, 16000) else 16000
        self._in_resampler = StreamResampler(rate, self.work_rate)
        self._out_bpm = bytes_per_ms(rate)
        self._dtmf = DtmfDetector(self.work_rate)
        self._vad = Endpointer(self.work_rate, VAD_FRAME_MS)
        self._asr = CallRecognizer(resources.model, self.work_rate) if resources.model is not None else None
        self._acoustic = AcousticTracker()
        self._frame_bytes = bytes_per_ms(self.work_rate) * VAD_FRAME_MS
        self._work_buf = b""

        self._inbox: collections.deque[tuple[str, Any]] = collections.deque()
        self._wake = threading.Condition()
        self._busy = start  # the worker starts busy: session.start() and the greeting come first
        self._out_lock = threading.Lock()
        self._outbox: collections.deque[_Playback | _Control] = collections.deque()
        self._bot_bytes = 0  # bytes pulled so far (bot media clock)
        self._reached: collections.deque[tuple[str, Any]] = collections.deque()  # pull → worker notices

        self.turns: list[dict[str, Any]] = []  # per-turn timing (seconds from call start)
        self.partials: list[str] = []
        self.outcome: str | None = None
        self.finished = threading.Event()
        # session.start() has run: the call row exists.  A SIP worker answers only then, so a
        # crash right after the 200 OK cannot lose an answered call (set on failure too).
        self.started = threading.Event()
        self._transferred = False
        self._last_dtmf_at = -1.0
        self._held_keys: list[tuple[str, float]] = []  # keys pressed during a protected notice
        self._awaiting_menu: str | None = None  # menu whose answer we are listening for
        self._thread = threading.Thread(target=self._run, name="call-engine", daemon=True)
        if start:
            self._thread.start()

    # ================================================================ transport side (media thread)
    def push_audio(self, pcm16: bytes) -> None:
        """Caller audio at the transport rate, any size.  Never blocks."""
        if pcm16 and not self.finished.is_set():
            self._post("audio", pcm16)

    def pull_audio(self, n_bytes: int) -> bytes:
        """Exactly `n_bytes` of bot audio (silence when idle).  Never blocks on the worker."""
        out = bytearray()
        if self.finished.is_set():
            return bytes(n_bytes)
        with self._out_lock:
            start = self._bot_bytes
            while len(out) < n_bytes and self._outbox:
                item = self._outbox[0]
                now = (start + len(out)) / (self._out_bpm * 1000)
                if item.not_before > now:
                    break  # reply not due yet (fast simulation: processing time not elapsed)
                if isinstance(item, _Control):
                    self._outbox.popleft()
                    self._reached.append(("control", item.action))
                    continue
                if item.pos == 0 and item.turn is not None and "first_audio_s" not in item.turn:
                    item.turn["first_audio_s"] = round(now, 3)
                    self._reached.append(("first_audio", item.turn))
                take = item.pcm[item.pos : item.pos + n_bytes - len(out)]
                out += take
                item.pos += len(take)
                if item.pos >= len(item.pcm):
                    self._outbox.popleft()
                    self._reached.append(("played", item.say))
            self._bot_bytes += n_bytes
            notify = bool(self._reached)
        if notify:
            self._post("reached", None)
        return bytes(out.ljust(n_bytes, b"\0"))

    def dtmf(self, digit: str) -> None:
        """An out-of-band key (RFC 2833 / SIP INFO / AudioSocket 0x03)."""
        if len(digit) == 1 and digit in DIGITS:
            self._post("dtmf", digit)
        else:
            log.warning("ignored DTMF %r (expected one of %s)", digit, DIGITS)

    def transfer_result(self, ok: bool, detail: str = "") -> None:
        """The transport reports how the transfer went (failed → the session may apologise)."""
        self._post("transfer_result", (ok, detail))

    def hangup(self, wait_s: float = HANGUP_WAIT_S) -> None:
        """The caller (or the transport) ended the call.  Waits (briefly) until the session has
        recorded the end, so the call row is final when the transport moves on."""
        self._post("hangup", None)
        if threading.current_thread() is not self._thread and self._thread.is_alive():
            self.finished.wait(wait_s)

    # ================================================================ helpers for transports/tests
    @property
    def media_time(self) -> float:
        return self._vad.now

    @property
    def playing(self) -> bool:
        """Prompt audio is queued or playing."""
        with self._out_lock:
            return any(isinstance(i, _Playback) for i in self._outbox)

    @property
    def listening(self) -> bool:
        """Waiting for the caller: a question is pending, no prompt playing, nobody speaking."""
        return self._awaiting_menu is not None and not self.playing and not self._vad.in_speech

    def wait_idle(self, timeout: float = 30.0) -> bool:
        """Block until the worker has processed everything pushed so far (fast simulation)."""
        deadline = time.monotonic() + timeout
        with self._wake:
            while self._inbox or self._busy:
                left = deadline - time.monotonic()
                if left <= 0 or not self._thread.is_alive():
                    return False
                self._wake.wait(left)
        return True

    def join(self, timeout: float | None = None) -> None:
        self._thread.join(timeout)

    def _post(self, kind: str, payload: Any) -> None:
        with self._wake:
            self._inbox.append((kind, payload))
            self._wake.notify_all()

    # ================================================================ worker thread
    def _run(self) -> None:
        self._warm_prompts()
        try:
            self._dispatch(self._timed(self.session.start), None, 0.0)
        except Exception:
            log.exception("call start failed; hanging up")
            self._finish("hangup")
            return
        finally:
            self.started.set()
        while not self.finished.is_set():
            with self._wake:
                while not self._inbox:
                    self._busy = False
                    self._wake.notify_all()
                    self._wake.wait()
                self._busy = True
                kind, payload = self._inbox.popleft()
            try:
                self._handle(kind, payload)
            except Exception:  # one bad event must not kill the call (or other calls)
                log.exception("call engine: error handling %s", kind)
        with self._wake:
            self._busy = False
            self._inbox.clear()
            self._wake.notify_all()

    def _warm_prompts(self) -> None:
        """The case's name, amount... are synthesised on a side thread while the opening plays, so
        the reply that first says them is not delayed by TTS (measured: ~250 ms per new text)."""
        pieces = getattr(getattr(self.session, "dialog", None), "dynamic_pieces", None)
        if pieces is not None:
            threading.Thread(
                target=self.res.prompt_audio.warm, args=(pieces(), self.rate), name="prompt-warm", daemon=True
            ).start()

    def _handle(self, kind: str, payload: Any) -> None:
        if kind == "audio":
            self._audio(payload)
        elif kind == "reached":
            self._on_reached()
        elif kind == "dtmf":
            self._key(payload, self._vad.now)
        elif kind == "transfer_result":
            ok, detail = payload
            actions, proc = self._timed(lambda: self.session.transfer_result(ok, detail))
            self._dispatch((actions, proc), None, self._vad.now)
        elif kind == "hangup":
            self._finish("escalated" if self._transferred else "hangup")

    @staticmethod
    def _timed(fn: Callable[[], list[Action]]) -> tuple[list[Action], float]:
        t0 = time.perf_counter()
        actions = fn()
        return actions, time.perf_counter() - t0

    # -- audio in -----------------------------------------------------------
    def _audio(self, pcm16: bytes) -> None:
        if self._held_keys and not self._protected_now():
            held, self._held_keys = self._held_keys, []
            for digit, at in held:
                self._key(digit, at)
        pcm = self._in_resampler.process(pcm16)
        for key in self._dtmf.feed(pcm):
            self._key(key, self._vad.now + len(self._work_buf) / (2 * self.work_rate))
        if self._dtmf.active:  # a key tone is not speech: keep the VAD from building an utterance on it
            self._last_dtmf_at = self._vad.now
            self._drop_speech()
        self._work_buf += pcm
        fb = self._frame_bytes
        while len(self._work_buf) >= fb:
            frame, self._work_buf = self._work_buf[:fb], self._work_buf[fb:]
            self._frame(frame)

    def _frame(self, frame: bytes) -> None:
        was_speaking = self._vad.in_speech
        if was_speaking and self._asr is not None:
            self._partial(self._asr.accept(frame))
        for ev in self._vad.feed(frame):
            if isinstance(ev, SpeechStarted):
                if self._asr is not None:  # talk-over of a question is an answer to that question
                    self._asr.begin(self.res.phrases(self._awaiting_menu or self._menu()))
                    self._partial(self._asr.accept(ev.pcm))
            elif isinstance(ev, Utterance):
                self._utterance(ev)
            elif isinstance(ev, NoInputTimeout):
                self._turn(NoInput(), {"no_input_s": round(ev.at, 3)}, ev.at, 0.0)
        if self._vad.in_speech and self._vad.barge_in_ready():
            self._maybe_barge_in()

    def _partial(self, text: str | None) -> None:
        if text:
            self.partials.append(text)
            self.on_partial(text)
            # early endpointing: a whole phrase needs only the menu's short complete_silence_ms
            self._vad.phrase_complete(self._asr is not None and self._asr.is_complete(text))

    def _protected_now(self) -> bool:
        """The prompt playing now is still in its mandatory first part (recording notice)."""
        with self._out_lock:
            head = self._outbox[0] if self._outbox else None
            return isinstance(head, _Playback) and head.pos < head.say.protected_ms * self._out_bpm

    def _maybe_barge_in(self) -> None:
        with self._out_lock:
            if not self._outbox or not isinstance(self._outbox[0], _Playback):
                return
            head = self._outbox[0]
            if head.pos < head.say.protected_ms * self._out_bpm:
                return  # mandatory part (recording notice): keep talking
            if any(isinstance(i, _Control) and isinstance(i.action, Hangup) for i in self._outbox):
                return  # a farewell (callback number, apology): no question follows, so it is heard in full
            # Drop the rest of this reply's audio; keep controls (a pending transfer still happens).
            kept = [i for i in self._outbox if isinstance(i, _Control)]
            self._outbox.clear()
            self._outbox.extend(kept)
            stopped_at = self._bot_bytes / (self._out_bpm * 1000)
        log.info("barge-in at %.2fs: prompt %s stopped", stopped_at, head.say.prompt_id)
        if self.turns:
            self.turns[-1].setdefault("barge_in_s", round(stopped_at, 3))
        self._listen()

    def _utterance(self, utt: Utterance) -> None:
        if self._last_dtmf_at >= utt.start:
            log.debug("dropping utterance overlapping a DTMF tone")
            if self._asr is not None:
                self._asr.finish()
            return
        if self.playing or self._awaiting_menu is None:
            # Talk-over that did not barge in (filler, protected notice) or after the last question.
            log.info("ignoring %.2fs of speech (prompt playing or no question pending)", utt.speech_end - utt.start)
            if self._asr is not None:
                self._asr.finish()
            return
        t0 = time.perf_counter()
        hyp = self._asr.finish() if self._asr is not None else None
        asr_s = time.perf_counter() - t0
        speech = Speech(
            # Vosk's own token for "someone spoke, nothing recognised": a no-match, not a no-input
            text=hyp.text if hyp and hyp.text else UNK,
            asr_confidence=hyp.confidence if hyp else 0.0,
            acoustic_emotion=self._acoustic.score(utt.pcm, utt.rate),
            words=hyp.words if hyp else (),
        )
        timing = {
            "end_of_speech_s": round(utt.speech_end, 3),
            "endpoint_s": round(utt.detected_at, 3),
            "asr_final_s": round(utt.detected_at + asr_s, 3),
            "asr_source": hyp.source if hyp else None,
        }
        if utt.early:
            timing["early_endpoint"] = True
            metrics.EARLY_ENDPOINTS.labels(self._awaiting_menu).inc()
        self._turn(speech, timing, utt.detected_at, asr_s)

    def _drop_speech(self) -> None:
        if self._vad.in_speech and self._asr is not None:
            self._asr.finish()
        self._vad.reset()

    def _key(self, digit: str, at: float) -> None:
        self._last_dtmf_at = at
        self._drop_speech()
        if self._protected_now():
            # The notice is played in full; the key is not lost: it acts when the notice ends.
            log.info("DTMF %s during the protected part of a prompt: held until it ends", digit)
            self._held_keys.append((digit, at))
            return
        if self.playing:
            self._maybe_barge_in()
        if self._awaiting_menu is None and self._menu() is None:
            return
        self._turn(Dtmf(digit), {"end_of_speech_s": round(at, 3), "asr_final_s": round(at, 3)}, at, 0.0)

    # -- caller input → session → outbox --------------------------------------
    def _menu(self) -> str | None:
        dialog = getattr(self.session, "dialog", None)
        return getattr(dialog, "menu", None) if dialog is not None else getattr(self.session, "menu", None)

    def _turn(self, caller: CallerInput, timing: dict[str, Any], at: float, spent: float) -> None:
        self._vad.disarm()
        self._awaiting_menu = None
        dialog_turns = getattr(getattr(self.session, "dialog", None), "turns", None)
        # the session's turn number (a key of a multi-digit entry may not make a turn of its own)
        timing["turn"] = len(dialog_turns) + 1 if dialog_turns is not None else len(self.turns) + 1
        timing["input"] = type(caller).__name__.lower()
        self.turns.append(timing)
        actions, proc = self._timed(lambda: self.session.handle(caller, timing=timing))
        self._dispatch((actions, proc + spent), timing, at)

    def _dispatch(self, result: tuple[list[Action], float], timing: dict[str, Any] | None, at: float) -> None:
        actions, spent = result
        t0 = time.perf_counter()
        items: list[_Playback | _Control] = []
        for action in actions:
            if isinstance(action, Say):
                items.append(_Playback(self._prompt_pcm(action), action, timing, 0.0))
            elif isinstance(action, (Transfer, Hangup)):
                items.append(_Control(action, 0.0))
        not_before = at + spent + (time.perf_counter() - t0)
        for item in items:
            item.not_before = not_before
        menu = self._menu()
        if menu is not None:  # the next utterance is answered at this menu: use its silence budget
            self._vad.timing = self.res.timing(menu)
        with self._out_lock:
            self._outbox.extend(items)
        if not items:  # e.g. a key of a multi-digit entry: keep listening, shorter timeout
            self._listen(inter_digit=timing is not None and timing.get("input") == "dtmf")
        elif not any(isinstance(i, _Playback) for i in items):
            self._post("reached", None)

    def _prompt_pcm(self, say: Say) -> bytes:
        # at the transport's own rate: prompt audio is cached per rate, never resampled per call
        return self.res.prompt_audio.audio(say, self.rate)

    def _listen(self, inter_digit: bool = False) -> None:
        """The bot stopped talking: listen for the answer to the current menu."""
        menu = self._menu()
        self._awaiting_menu = menu
        if menu is not None:
            timing = self.res.timing(menu)
            if inter_digit:  # NoInput after the last key flushes the digits typed so far
                timing = replace(timing, no_input_ms=min(timing.no_input_ms, INTER_DIGIT_MS))
            self._vad.arm(timing)

    def _on_reached(self) -> None:
        with self._out_lock:
            reached = list(self._reached)
            self._reached.clear()
            idle = not self._outbox
        for kind, what in reached:
            if kind == "first_audio":
                self._record_first_audio(what)
            elif kind == "control":
                self._control(what)
                if self.finished.is_set():
                    return
        if idle and any(k == "played" for k, _ in reached) and self._awaiting_menu is None:
            self._listen()

    def _record_first_audio(self, turn: dict[str, Any]) -> None:
        ref = turn.get("end_of_speech_s", turn.get("no_input_s"))
        if ref is not None:
            turn["latency_ms"] = round((turn["first_audio_s"] - ref) * 1000)
            metrics.TURN_LATENCY_SECONDS.observe(max(0.0, turn["first_audio_s"] - ref))
        # first_audio_s is known only once the audio went out, after the turn was stored
        update = getattr(self.session, "update_timing", None)
        try:
            if update is not None:
                update(turn["turn"], turn)
            else:
                self._store_turn_timing(turn)
        except Exception:
            log.exception("could not store the timing of turn %s", turn.get("turn"))

    def _store_turn_timing(self, turn: dict[str, Any]) -> None:
        """Add the late timing fields to the session's report and to the stored turn row."""
        if isinstance(getattr(self.session, "timings", None), dict):
            self.session.timings.setdefault(turn["turn"], {}).update(turn)
        store, call_id = getattr(self.session, "store", None), getattr(self.session, "call_id", None)
        if store is None or call_id is None:
            return
        from sqlalchemy import select

        from ivr.store import Turn

        with store.session() as s:
            row = s.scalars(select(Turn).where(Turn.call_id == call_id, Turn.idx == turn["turn"])).first()
            if row is not None:
                row.timing = {**(row.timing or {}), **turn}

    def _control(self, action: Transfer | Hangup) -> None:
        if isinstance(action, Transfer):
            self._transferred = True
            self.on_transfer(action)
        else:
            self._finish(action.outcome)

    def _finish(self, outcome: str) -> None:
        if self.finished.is_set():
            return
        self.outcome = outcome
        with self._out_lock:
            self._outbox.clear()
        try:
            self.session.end(outcome)
        except Exception:
            log.exception("session.end failed")
        self.finished.set()
        self.on_hangup(outcome)
