"""Endpointing: where caller speech starts and ends, with webrtcvad deciding voiced/unvoiced per frame.

A frame-level VAD flickers, so decisions use ring buffers (hysteresis): speech *starts* when most
frames of a short window are voiced, and *ends* when almost all frames of the menu's end-of-speech
silence budget (`Timing.end_silence_ms`) are unvoiced — or, once the recogniser says the words so
far already make a whole grammar phrase (`phrase_complete`), after the shorter
`complete_silence_ms` of unbroken silence (early endpointing).  A pre-roll buffer is prepended so the first
syllable, which precedes the decision, is not cut.  Times are media time: seconds of caller audio
fed since the call started, so a WAV fed faster than real time still gets real-time endpoints.
"""

from __future__ import annotations

import collections
from dataclasses import dataclass

import webrtcvad

from ivr.audio import bytes_per_ms, rms_dbfs

START_WINDOW_MS = 200  # speech starts when START_RATIO of this window is voiced
START_RATIO = 0.6
END_RATIO = 0.9  # speech ends when this share of the silence-budget window is unvoiced
PRE_ROLL_MS = 300  # audio kept before the start decision (first syllable)
ENERGY_FLOOR_DBFS = -50.0  # quieter frames are silence whatever webrtcvad says (line noise)
# Barge-in: fillers (嗯, 啊) are short and soft.  Loud speech interrupts after a short confirmation,
# soft speech only once it is longer than a filler.
FILLER_MAX_MS = 300
BARGE_LOUD_MS = 100
BARGE_LOUD_DBFS = -30.0


@dataclass(frozen=True)
class EndpointTiming:
    end_silence_ms: int = 700
    no_input_ms: int = 6000
    max_speech_ms: int = 10000
    complete_silence_ms: int | None = None  # None: no early endpointing at this menu


@dataclass(frozen=True)
class SpeechStarted:
    at: float  # media seconds of the first pre-roll sample
    pcm: bytes = b""  # pre-roll + the frames that triggered the decision (feed them to ASR)


@dataclass(frozen=True)
class Utterance:
    pcm: bytes  # pre-roll + speech + trailing silence
    rate: int
    start: float  # media seconds where the returned pcm starts
    speech_end: float  # end of the last voiced frame (what the caller hears as "I stopped talking")
    detected_at: float  # when the endpoint decision was made (speech_end + silence budget)
    voiced_ms: int
    cut: bool = False  # stopped at max_speech_ms rather than by silence
    early: bool = False  # ended after complete_silence_ms: the words already made a whole phrase


@dataclass(frozen=True)
class NoInputTimeout:
    at: float


VadEvent = SpeechStarted | Utterance | NoInputTimeout


class Endpointer:
    """Feed caller audio of any size; get SpeechStarted / Utterance / NoInputTimeout events."""

    def __init__(
        self, rate: int, frame_ms: int = 20, aggressiveness: int = 2, timing: EndpointTiming | None = None
    ) -> None:
        if frame_ms not in (10, 20, 30):
            raise ValueError(f"VAD frame: expected 10, 20 or 30 ms, got {frame_ms}")
        if rate not in (8000, 16000, 32000, 48000):
            raise ValueError(f"VAD rate: expected 8000/16000/32000/48000 Hz, got {rate}")
        self.rate, self.frame_ms = rate, frame_ms
        self.frame_bytes = bytes_per_ms(rate) * frame_ms
        self._vad = webrtcvad.Vad(aggressiveness)
        self.timing = timing or EndpointTiming()
        self._pending = b""
        self._frames = 0  # frames processed: the media clock
        self._pre: collections.deque[bytes] = collections.deque(maxlen=(START_WINDOW_MS + PRE_ROLL_MS) // frame_ms)
        self._start_ring: collections.deque[bool] = collections.deque(maxlen=START_WINDOW_MS // frame_ms)
        self._end_ring: collections.deque[bool] = collections.deque()
        self._speech: list[bytes] | None = None  # frames of the utterance in progress
        self._speech_start = 0.0
        self._last_voiced_end = 0.0
        self._voiced_ms = 0
        self._loud_ms = 0
        self._quiet_ms = 0  # unbroken unvoiced run at the end of the utterance in progress
        self._complete = False  # the recogniser's partial is a whole grammar phrase
        self._no_input_deadline: float | None = None

    # -- control ----------------------------------------------------------
    @property
    def now(self) -> float:
        return self._frames * self.frame_ms / 1000

    @property
    def in_speech(self) -> bool:
        return self._speech is not None

    def arm(self, timing: EndpointTiming | None = None) -> None:
        """Start waiting for an answer: new timing, and the no-input timer runs from now."""
        if timing is not None:
            self.timing = timing
        self._no_input_deadline = self.now + self.timing.no_input_ms / 1000

    def disarm(self) -> None:
        self._no_input_deadline = None

    def reset(self) -> None:
        """Forget the utterance in progress (e.g. it was a DTMF tone, not speech)."""
        self._speech = None
        self._start_ring.clear()
        self._pre.clear()

    def phrase_complete(self, complete: bool) -> None:
        """The recogniser's latest partial is (or is no longer) a whole phrase of the menu grammar."""
        self._complete = complete and self._speech is not None

    def barge_in_ready(self) -> bool:
        """Caller speech in progress is more than a filler sound."""
        if self._speech is None:
            return False
        return self._voiced_ms >= FILLER_MAX_MS or self._loud_ms >= BARGE_LOUD_MS

    # -- audio ------------------------------------------------------------
    def feed(self, pcm16: bytes) -> list[VadEvent]:
        self._pending += pcm16
        events: list[VadEvent] = []
        fb = self.frame_bytes
        while len(self._pending) >= fb:
            frame, self._pending = self._pending[:fb], self._pending[fb:]
            events.extend(self._frame(frame))
        return events

    def _frame(self, frame: bytes) -> list[VadEvent]:
        self._frames += 1
        level = rms_dbfs(frame)
        voiced = level > ENERGY_FLOOR_DBFS and self._vad.is_speech(frame, self.rate)
        if self._speech is None:
            return self._while_silent(frame, voiced)
        return self._while_speaking(frame, voiced, level)

    def _while_silent(self, frame: bytes, voiced: bool) -> list[VadEvent]:
        self._pre.append(frame)
        self._start_ring.append(voiced)
        ring = self._start_ring
        if len(ring) == ring.maxlen and sum(ring) >= START_RATIO * ring.maxlen:
            self._speech = list(self._pre)
            self._speech_start = self.now - len(self._pre) * self.frame_ms / 1000
            self._last_voiced_end = self.now
            self._voiced_ms = sum(ring) * self.frame_ms
            self._loud_ms = 0
            self._quiet_ms = 0
            self._complete = False
            self._end_ring = collections.deque(maxlen=max(1, self.timing.end_silence_ms // self.frame_ms))
            self._pre.clear()
            ring.clear()
            self._no_input_deadline = None
            return [SpeechStarted(self._speech_start, b"".join(self._speech))]
        if self._no_input_deadline is not None and self.now >= self._no_input_deadline:
            self._no_input_deadline = None
            return [NoInputTimeout(self.now)]
        return []

    def _while_speaking(self, frame: bytes, voiced: bool, level: float) -> list[VadEvent]:
        assert self._speech is not None
        self._speech.append(frame)
        self._end_ring.append(voiced)
        self._quiet_ms = 0 if voiced else self._quiet_ms + self.frame_ms
        if voiced:
            self._voiced_ms += self.frame_ms
            self._last_voiced_end = self.now
            if level >= BARGE_LOUD_DBFS:
                self._loud_ms += self.frame_ms
        ring = self._end_ring
        ended = len(ring) == ring.maxlen and ring.count(False) >= END_RATIO * ring.maxlen
        early = (
            not ended
            and self._complete
            and self.timing.complete_silence_ms is not None
            and self._quiet_ms >= self.timing.complete_silence_ms
        )
        cut = self.now - self._speech_start >= self.timing.max_speech_ms / 1000
        if not (ended or early or cut):
            return []
        utt = Utterance(
            pcm=b"".join(self._speech),
            rate=self.rate,
            start=self._speech_start,
            speech_end=self._last_voiced_end if ended or early else self.now,
            detected_at=self.now,
            voiced_ms=self._voiced_ms,
            cut=cut and not (ended or early),
            early=early,
        )
        self._speech = None
        self._complete = False
        return [utt]
