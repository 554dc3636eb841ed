"""The call engine: caller audio frames in, bot audio frames out — one per call, every transport.

    push_audio ─▶ [inbox] ─▶ worker thread: Listener (ivr/listener.py: resample → DTMF + VAD → ASR)
                                          → Speech / Dtmf / NoInput → session (SessionPort) → actions
    pull_audio ◀─ Player (ivr/player.py: prompt audio, Transfer, Hangup) ◀──────────────┘

`CallEngine` only coordinates: it owns the worker thread and its inbox of small messages
(`CallerAudio`, `KeyPressed`, `TransferOutcome`, `CallerHungUp`, `PlaybackReached`), hands caller
audio to the Listener, the Listener's finished turns to the session, and the session's actions to
the Player; barge-in is the Listener's signal and the Player's decision.

The media thread only appends to the inbox and copies from the Player's outbox (both O(1), never
blocking on decoding).  Everything slow — VAD, Vosk, the session's database writes, TTS of dynamic
pieces — runs on the engine's own worker thread.  Transport callbacks (`on_transfer`, `on_hangup`)
are also called from the worker, after the prompt audio that precedes them has been played.

Time is *media time*: seconds of caller audio pushed since the call started (equal to wall time on
a live call).  A reply is released no earlier than the moment of the caller's endpoint plus the
real processing time, so a WAV fed faster than real time (`FastClock`) reports the same latencies
a live call would.
"""

from __future__ import annotations

import collections
import functools
import logging
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Generic, Protocol, TypeVar

from ivr import metrics
from ivr.asr import CallRecognizer
from ivr.dtmf import DIGITS
from ivr.events import Action, CallerInput, Hangup, Transfer
from ivr.listener import CallerTurn, Listener, listen_rate
from ivr.player import ControlDue, FirstAudio, Player, PromptPlayed

if TYPE_CHECKING:
    from ivr.wiring import EngineResources  # built by the wiring module, which imports this one

log = logging.getLogger(__name__)

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


# ---------------------------------------------------------------- the session, as the engine sees it


class SessionPort(Protocol):
    """What the engine needs of a call's session (ivr.session.CallSession; tests use stand-ins)."""

    @property
    def menu(self) -> str | None: ...  # the menu whose answer comes next (None: no question pending)
    @property
    def turn_count(self) -> int: ...  # caller turns recorded so far
    def start(self) -> list[Action]: ...
    def handle(self, inp: CallerInput, timing: dict[str, Any] | None = None) -> list[Action]: ...
    def transfer_result(self, ok: bool, detail: str = "") -> list[Action]: ...
    def end(self, outcome: str | None = None) -> None: ...
    def update_timing(self, turn: int, timing: dict[str, Any]) -> None: ...
    def dynamic_pieces(self) -> Iterable[tuple[str, float]]: ...


SessionT = TypeVar("SessionT", bound=SessionPort)

# ---------------------------------------------------------------- inbox messages (any thread → worker)


@dataclass(frozen=True)
class CallerAudio:
    pcm: bytes  # at the transport rate


@dataclass(frozen=True)
class KeyPressed:
    digit: str  # out-of-band key (RFC 2833 / SIP INFO / AudioSocket)


@dataclass(frozen=True)
class TransferOutcome:
    ok: bool
    detail: str = ""


@dataclass(frozen=True)
class CallerHungUp:
    pass


@dataclass(frozen=True)
class PlaybackReached:
    """The player left notices: a prompt played, a reply's first audio went out, a control is due."""


EngineMessage = CallerAudio | KeyPressed | TransferOutcome | CallerHungUp | PlaybackReached


class _Inbox:
    """The worker's inbox: any thread posts (never blocking on the worker), the worker takes;
    `wait_idle` tells when the worker has handled everything posted so far."""

    def __init__(self, busy: bool) -> None:
        self._items: collections.deque[EngineMessage] = collections.deque()
        self._wake = threading.Condition()
        self._busy = busy

    def post(self, msg: EngineMessage) -> None:
        with self._wake:
            self._items.append(msg)
            self._wake.notify_all()

    def take(self) -> EngineMessage:
        """The next message (worker thread); waits, marked idle, while there is none."""
        with self._wake:
            while not self._items:
                self._busy = False
                self._wake.notify_all()
                self._wake.wait()
            self._busy = True
            return self._items.popleft()

    def close(self) -> None:
        with self._wake:
            self._busy = False
            self._items.clear()
            self._wake.notify_all()

    def wait_idle(self, timeout: float, alive: Callable[[], bool]) -> bool:
        deadline = time.monotonic() + timeout
        with self._wake:
            while self._items or self._busy:
                left = deadline - time.monotonic()
                if left <= 0 or not alive():
                    return False
                self._wake.wait(left)
        return True


def _timed(fn: Callable[[], list[Action]]) -> tuple[list[Action], float]:
    """The actions `fn` returns and the processing time they took."""
    t0 = time.perf_counter()
    actions = fn()
    return actions, time.perf_counter() - t0


# ---------------------------------------------------------------- the engine


class CallEngine(Generic[SessionT]):
    """One call: its Listener (caller side), its Player (bot side) and its session, coordinated on
    the engine's worker thread.  `rate` is the transport's sample rate (16-bit mono)."""

    def __init__(
        self,
        session: SessionT,
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
        self._inbox = _Inbox(busy=start)  # the worker starts busy: session.start() and the greeting come first
        # prompts at the transport's own rate: prompt audio is cached per rate, never resampled per call;
        # the player's notices (from pull_audio, on the media thread) wake the worker
        render = functools.partial(resources.prompt_audio.audio, rate=rate)
        self.player = Player(rate, render, lambda: self._inbox.post(PlaybackReached()))
        asr = CallRecognizer(resources.model, listen_rate(rate)) if resources.model is not None else None
        self.listener = Listener(rate, resources, self.player, self, asr)
        self.turns: list[dict[str, Any]] = []  # per-turn timing (seconds from call start)
        self.partials: list[str] = []
        self.outcome: str | None = None
        self.finished = threading.Event()
        # session.start() has run: the call row exists.  A SIP worker answers only then, so a
        # crash right after the 200 OK cannot lose an answered call (set on failure too).
        self.started = threading.Event()
        self._transferred = False
        self._thread = threading.Thread(target=self._run, name="call-engine", daemon=True)
        if start:
            self._thread.start()

    # ================================================================ transport side (media thread)
    def push_audio(self, pcm16: bytes) -> None:
        """Caller audio at the transport rate, any size.  Never blocks."""
        if pcm16 and not self.finished.is_set():
            self._inbox.post(CallerAudio(pcm16))

    def pull_audio(self, n_bytes: int) -> bytes:
        """Exactly `n_bytes` of bot audio (silence when idle).  Never blocks on the worker."""
        return bytes(n_bytes) if self.finished.is_set() else self.player.pull(n_bytes)

    def dtmf(self, digit: str) -> None:
        """An out-of-band key (RFC 2833 / SIP INFO / AudioSocket 0x03)."""
        if len(digit) == 1 and digit in DIGITS:
            self._inbox.post(KeyPressed(digit))
        else:
            log.warning("ignored DTMF %r (expected one of %s)", digit, DIGITS)

    def transfer_result(self, ok: bool, detail: str = "") -> None:
        """The transport reports how the transfer went (failed → the session may apologise)."""
        self._inbox.post(TransferOutcome(ok, detail))

    def hangup(self, wait_s: float = HANGUP_WAIT_S) -> None:
        """The caller (or the transport) ended the call.  Waits (briefly) until the session has
        recorded the end, so the call row is final when the transport moves on."""
        self._inbox.post(CallerHungUp())
        if threading.current_thread() is not self._thread and self._thread.is_alive():
            self.finished.wait(wait_s)

    # ================================================================ helpers for transports/tests
    @property
    def media_time(self) -> float:
        return self.listener.now

    @property
    def playing(self) -> bool:
        """Prompt audio is queued or playing."""
        return self.player.playing

    @property
    def listening(self) -> bool:
        """Waiting for the caller: a question is pending, no prompt playing, nobody speaking."""
        return self.listener.awaiting is not None and not self.player.playing and not self.listener.in_speech

    def wait_idle(self, timeout: float = 30.0) -> bool:
        """Block until the worker has processed everything pushed so far (fast simulation)."""
        return self._inbox.wait_idle(timeout, self._thread.is_alive)

    def join(self, timeout: float | None = None) -> None:
        self._thread.join(timeout)

    # ================================================================ worker thread
    def _run(self) -> None:
        # The case's name, amount... are synthesised on a side thread while the opening plays, so
        # the reply that first says them is not delayed by TTS (measured: ~250 ms per new text).
        pieces = self.session.dynamic_pieces()
        threading.Thread(
            target=self.res.prompt_audio.warm, args=(pieces, self.rate), name="prompt-warm", daemon=True
        ).start()
        try:
            self._dispatch(_timed(self.session.start), None, 0.0)
        except Exception:
            log.exception("call start failed; hanging up")
            self._finish("hangup")
            return
        finally:
            self.started.set()
        while not self.finished.is_set():
            msg = self._inbox.take()
            try:
                self._handle(msg)
            except Exception:  # one bad event must not kill the call (or other calls)
                log.exception("call engine: error handling %s", type(msg).__name__)
        self._inbox.close()

    def _handle(self, msg: EngineMessage) -> None:
        match msg:
            case CallerAudio(pcm):
                self.listener.push(pcm)
            case PlaybackReached():
                self._on_reached()
            case KeyPressed(digit):
                self.listener.key(digit, self.listener.now)
            case TransferOutcome(ok, detail):
                self._dispatch(_timed(lambda: self.session.transfer_result(ok, detail)), None, self.listener.now)
            case CallerHungUp():
                self._finish("escalated" if self._transferred else "hangup")

    # -- the listener's hooks (ivr.listener.ListenerHooks) --------------------
    def current_menu(self) -> str | None:
        return self.session.menu

    def partial(self, text: str) -> None:
        self.partials.append(text)
        self.on_partial(text)

    def barge_in(self) -> None:
        stopped_at = self.player.barge_in()
        if stopped_at is not None:
            if self.turns:
                self.turns[-1].setdefault("barge_in_s", round(stopped_at, 3))
            self.listener.listen(self.session.menu)  # the bot stopped talking

    def caller_turn(self, turn: CallerTurn) -> None:
        timing = turn.timing
        # the session's turn number (a key of a multi-digit entry may not make a turn of its own)
        timing["turn"] = self.session.turn_count + 1
        timing["input"] = type(turn.input).__name__.lower()
        self.turns.append(timing)
        actions, proc = _timed(lambda: self.session.handle(turn.input, timing=timing))
        self._dispatch((actions, proc + turn.spent), timing, turn.at)

    # -- session actions → player ---------------------------------------------
    def _dispatch(self, result: tuple[list[Action], float], timing: dict[str, Any] | None, at: float) -> None:
        actions, spent = result
        queued = self.player.queue(actions, timing, at, spent)
        self.listener.expect(self.session.menu)  # the next utterance is answered at this menu
        if not queued:  # e.g. a key of a multi-digit entry: keep listening, shorter timeout
            self.listener.listen(self.session.menu, inter_digit=timing is not None and timing.get("input") == "dtmf")

    def _on_reached(self) -> None:
        notices, idle = self.player.take_notices()
        played = False
        for notice in notices:
            match notice:
                case FirstAudio(turn):
                    self._record_first_audio(turn)
                case ControlDue(action):
                    self._control(action)
                    if self.finished.is_set():
                        return
                case PromptPlayed():
                    played = True
        if idle and played and self.listener.awaiting is None:
            self.listener.listen(self.session.menu)  # the bot stopped talking

    def _record_first_audio(self, turn: dict[str, Any]) -> None:
        ref = turn.get("end_of_speech_s", turn.get("no_input_s"))
        if ref is not None:
            turn["latency_ms"] = round((turn["first_audio_s"] - ref) * 1000)
            metrics.TURN_LATENCY_SECONDS.observe(max(0.0, turn["first_audio_s"] - ref))
        try:  # first_audio_s is known only once the audio went out, after the turn was stored
            self.session.update_timing(turn["turn"], turn)
        except Exception:
            log.exception("could not store the timing of turn %s", turn.get("turn"))

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
        self.player.clear()
        try:
            self.session.end(outcome)
        except Exception:
            log.exception("session.end failed")
        self.finished.set()
        self.on_hangup(outcome)
