"""The caller side of one call: caller audio in, caller input (Speech / Dtmf / NoInput) out.

    push(pcm) ─▶ resample → DTMF detector + VAD → ASR (menu grammar) → CallerTurn ─▶ hooks.caller_turn
                                                 └ speech longer than a filler ─▶ hooks.barge_in

Runs on the engine's worker thread only.  It asks the prompt side (`PromptState`) whether a prompt
is playing or still in its protected part, and tells the call around it (`ListenerHooks`) about
partial text, barge-in and finished turns; whether the barge-in really stops the prompt is the
Player's decision.  Keys pressed during a protected notice are held and act when it ends; a key of
a multi-digit entry re-arms the no-input timer with the shorter inter-digit timeout.

Time is media time: seconds of caller audio pushed since the call started.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, replace
from typing import Any, Protocol

from ivr import metrics
from ivr.acoustic import AcousticTracker
from ivr.asr import UNK, Phrases
from ivr.audio import bytes_per_ms
from ivr.codec import StreamResampler
from ivr.dtmf import DtmfDetector
from ivr.events import CallerInput, Dtmf, Hypothesis, NoInput, Speech
from ivr.vad import Endpointer, EndpointTiming, NoInputTimeout, SpeechStarted, Utterance

log = logging.getLogger(__name__)

VAD_FRAME_MS = 20
INTER_DIGIT_MS = 3000  # silence after a key of a multi-digit entry that ends the entry


def listen_rate(rate: int) -> int:
    """Internal rate: VAD/ASR work at 8 or 16 kHz; other transport rates are converted."""
    return rate if rate in (8000, 16000) else 16000


class Recognizer(Protocol):
    """One call's recogniser (ivr.asr.CallRecognizer): `begin` per utterance, `accept` streams
    audio and returns the partial text when it changed, `finish` returns the final Hypothesis."""

    def begin(self, phrases: Phrases | None) -> None: ...
    def accept(self, pcm16: bytes) -> str | None: ...
    def is_complete(self, partial: str) -> bool: ...
    def finish(self) -> Hypothesis: ...


class MenuSource(Protocol):
    """Per-menu endpointing budgets and recogniser phrases (ivr.wiring.EngineResources)."""

    def timing(self, menu: str | None) -> EndpointTiming: ...
    def phrases(self, menu: str | None) -> dict[str, str | None] | None: ...


class PromptState(Protocol):
    """What the listener must know of the bot side (ivr.player.Player)."""

    @property
    def playing(self) -> bool: ...
    @property
    def protected(self) -> bool: ...


@dataclass(frozen=True)
class CallerTurn:
    """One finished caller input and its timing record (media seconds from call start)."""

    input: CallerInput
    timing: dict[str, Any]
    at: float  # when the input was complete (endpoint decision, key, no-input timeout)
    spent: float  # processing time already spent on it (the final decode)


class ListenerHooks(Protocol):
    """The call around the listener (ivr.engine.CallEngine)."""

    def current_menu(self) -> str | None: ...
    def partial(self, text: str) -> None: ...
    def barge_in(self) -> None: ...
    def caller_turn(self, turn: CallerTurn) -> None: ...


class Listener:
    """`rate` is the transport's sample rate (16-bit mono); `recognizer` None → every utterance is
    a no-match (no ASR); it must work at `listen_rate(rate)`."""

    def __init__(
        self, rate: int, menus: MenuSource, prompt: PromptState, hooks: ListenerHooks, recognizer: Recognizer | None
    ) -> None:
        self.menus, self.prompt, self.hooks = menus, prompt, hooks
        self.work_rate = listen_rate(rate)
        self._resampler = StreamResampler(rate, self.work_rate)
        self._dtmf = DtmfDetector(self.work_rate)
        self._vad = Endpointer(self.work_rate, VAD_FRAME_MS)
        self._asr = recognizer
        self._acoustic = AcousticTracker()
        self._frame_bytes = bytes_per_ms(self.work_rate) * VAD_FRAME_MS
        self._buf = b""
        self._last_dtmf_at = -1.0
        self._held_keys: list[tuple[str, float]] = []  # keys pressed during a protected notice
        self.awaiting: str | None = None  # menu whose answer we are listening for

    @property
    def now(self) -> float:
        return self._vad.now

    @property
    def in_speech(self) -> bool:
        return self._vad.in_speech

    # ---------------------------------------------------------------- control (from the coordinator)
    def expect(self, menu: str | None) -> None:
        """The next utterance is answered at `menu`: use its silence budget."""
        if menu is not None:
            self._vad.timing = self.menus.timing(menu)

    def listen(self, menu: str | None, inter_digit: bool = False) -> None:
        """The bot stopped talking: listen for the answer to `menu` (the no-input timer starts)."""
        self.awaiting = menu
        if menu is not None:
            timing = self.menus.timing(menu)
            if inter_digit:  # NoInput after the last key flushes the digits typed so far
                timing = replace(timing, no_input_ms=min(timing.no_input_ms, INTER_DIGIT_MS))
            self._vad.arm(timing)

    # ---------------------------------------------------------------- caller input
    def push(self, pcm16: bytes) -> None:
        """Caller audio at the transport rate, any size."""
        if self._held_keys and not self.prompt.protected:
            held, self._held_keys = self._held_keys, []
            for digit, at in held:
                self.key(digit, at)
        pcm = self._resampler.process(pcm16)
        for key in self._dtmf.feed(pcm):
            self.key(key, self._vad.now + len(self._buf) / (2 * self.work_rate))
        if self._dtmf.active:  # a key tone is not speech: keep the VAD from building an utterance on it
            self._last_dtmf_at = self._vad.now
            self._drop_speech()
        self._buf += pcm
        fb = self._frame_bytes
        while len(self._buf) >= fb:
            frame, self._buf = self._buf[:fb], self._buf[fb:]
            self._frame(frame)

    def key(self, digit: str, at: float) -> None:
        """A key (in-band or out-of-band) pressed at media second `at`."""
        self._last_dtmf_at = at
        self._drop_speech()
        if self.prompt.protected:
            # The notice is played in full; the key is not lost: it acts when the notice ends.
            log.info("DTMF %s during the protected part of a prompt: held until it ends", digit)
            self._held_keys.append((digit, at))
            return
        self.hooks.barge_in()
        if self.awaiting is None and self.hooks.current_menu() is None:
            return
        self._turn(Dtmf(digit), {"end_of_speech_s": round(at, 3), "asr_final_s": round(at, 3)}, at, 0.0)

    def _frame(self, frame: bytes) -> None:
        if self._vad.in_speech and self._asr is not None:
            self._partial(self._asr.accept(frame))
        for ev in self._vad.feed(frame):
            if isinstance(ev, SpeechStarted):
                if self._asr is not None:  # talk-over of a question is an answer to that question
                    self._asr.begin(self.menus.phrases(self.awaiting or self.hooks.current_menu()))
                    self._partial(self._asr.accept(ev.pcm))
            elif isinstance(ev, Utterance):
                self._utterance(ev)
            elif isinstance(ev, NoInputTimeout):
                self._turn(NoInput(), {"no_input_s": round(ev.at, 3)}, ev.at, 0.0)
        if self._vad.in_speech and self._vad.barge_in_ready():
            self.hooks.barge_in()

    def _partial(self, text: str | None) -> None:
        if text:
            self.hooks.partial(text)
            # early endpointing: a whole phrase needs only the menu's short complete_silence_ms
            self._vad.phrase_complete(self._asr is not None and self._asr.is_complete(text))

    def _utterance(self, utt: Utterance) -> None:
        if self._last_dtmf_at >= utt.start:
            log.debug("dropping utterance overlapping a DTMF tone")
            if self._asr is not None:
                self._asr.finish()
            return
        if self.prompt.playing or self.awaiting is None:
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
        timing: dict[str, Any] = {
            "end_of_speech_s": round(utt.speech_end, 3),
            "endpoint_s": round(utt.detected_at, 3),
            "asr_final_s": round(utt.detected_at + asr_s, 3),
            "asr_source": hyp.source if hyp else None,
        }
        if utt.early:
            timing["early_endpoint"] = True
            metrics.EARLY_ENDPOINTS.labels(self.awaiting).inc()
        self._turn(speech, timing, utt.detected_at, asr_s)

    def _drop_speech(self) -> None:
        if self._vad.in_speech and self._asr is not None:
            self._asr.finish()
        self._vad.reset()

    def _turn(self, caller: CallerInput, timing: dict[str, Any], at: float, spent: float) -> None:
        self._vad.disarm()
        self.awaiting = None
        self.hooks.caller_turn(CallerTurn(caller, timing, at, spent))
