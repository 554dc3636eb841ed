"""The values that flow between pipeline stages.

audio frames → Utterance (vad) → Hypothesis (asr) → Understanding (understanding)
→ Action (dialog) → prompt audio (tts).  Caller input reaches the dialog as a CallerInput.
Everything here is plain data: no stage imports another stage's internals.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal, Union

# ---------------------------------------------------------------- ASR / NLU


@dataclass(frozen=True)
class Word:
    word: str
    conf: float
    start: float = 0.0  # seconds from utterance start
    end: float = 0.0


@dataclass(frozen=True)
class Hypothesis:
    """What the recogniser heard for one utterance."""

    text: str  # Vosk style: words separated by spaces
    words: tuple[Word, ...] = ()
    confidence: float = 1.0  # mean word confidence; 1.0 for typed text
    source: Literal["grammar", "open", "text"] = "text"


@dataclass(frozen=True)
class Understanding:
    """Intent of one caller turn at one menu (`ivr understand --json`, docs/understanding.md)."""

    menu: str
    intent: str | None  # None = no match
    slots: dict[str, Any] = field(default_factory=dict)
    confidence: float = 0.0
    emotion: float = 0.0  # lexical emotion score 0..1 (anger/abuse/annoyance)
    cues: tuple[str, ...] = ()  # lexical cue labels that fired, e.g. ("anger", "stop_calling")
    is_global: bool = False  # the intent is one of the global intents (grammars/global.yaml)
    text: str = ""  # normalised text the decision was made on

    def as_json(self) -> dict[str, Any]:
        return {
            "menu": self.menu,
            "intent": self.intent,
            "slots": self.slots,
            "confidence": round(self.confidence, 3),
        }


# ---------------------------------------------------------------- caller input → dialog


@dataclass(frozen=True)
class Speech:
    text: str
    asr_confidence: float = 1.0
    acoustic_emotion: float = 0.0  # 0..1 from acoustic cues (loudness/pitch vs the caller's baseline)
    words: tuple[Word, ...] = ()


# The keypad keys a caller can press, the only DTMF alphabet of the project (A-D are never used):
# the detector, the transports, grammar files and text scripts all check against it.
DTMF_DIGITS = "0123456789*#"
DTMF_KEYS = frozenset(DTMF_DIGITS)


def is_dtmf_key(key: str) -> bool:
    """`key` is exactly one keypad key."""
    return key in DTMF_KEYS


@dataclass(frozen=True)
class Dtmf:
    digit: str  # one of DTMF_DIGITS


@dataclass(frozen=True)
class NoInput:
    pass


@dataclass(frozen=True)
class CallerHangup:
    pass


CallerInput = Union[Speech, Dtmf, NoInput, CallerHangup]

# ---------------------------------------------------------------- dialog → transport


@dataclass(frozen=True)
class PromptSegment:
    """One piece of a prompt: static pieces are pre-rendered, dynamic ones (name, amount, date)
    are rendered at run time and cached by text."""

    text: str
    key: str  # cache / recording key: "<prompt_id>.<variant>.<n>" for static, "dyn:<text>" for dynamic
    dynamic: bool = False


@dataclass(frozen=True)
class Say:
    prompt_id: str  # e.g. "opening.ask_identity"
    variant: int
    text: str  # fully rendered text (transcripts, TTS fallback)
    segments: tuple[PromptSegment, ...] = ()
    menu: str | None = None  # menu whose answer follows this prompt (None: no answer expected)
    protected_ms: int = 0  # leading part that barge-in may not interrupt (mandatory notices)
    rate: float = 1.0  # < 1.0: slower delivery (2nd retry, step by step)


@dataclass(frozen=True)
class Transfer:
    reason: str  # escalation reason: flow.yaml `escalate:` values (ivr/flow.py REASONS)
    escalation_id: int | None = None  # set once the record is committed


@dataclass(frozen=True)
class Hangup:
    outcome: Literal["completed", "escalated", "hangup"]


Action = Union[Say, Transfer, Hangup]
