"""Lexical emotion cues: how agitated a caller's words are, from word lists in grammars/emotion.yaml.

`lexical(text)` → (score 0..1, cue labels).  Each matched word has a weight (how strongly it alone
signals its label); weights combine as a noisy-OR (two mild cues add up, one strong cue is enough)
and intensifiers (烦死了, 有完没完, 他妈的...) multiply the result.  `distress` is reported as a cue but
kept out of the score: despair is not agitation, and the dialog routes it by intent first.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import yaml

from ivr.datafile import load_yaml
from ivr.grammar import GrammarError
from ivr.locale import MANDARIN, Locale

LABELS = ("annoyance", "anger", "abuse", "stop_calling", "complaint", "distress")
_NOT_SCORED = {"distress"}


@dataclass(frozen=True)
class Lexicon:
    words: tuple[tuple[str, str, float], ...]  # (normalised word, label, weight)
    intensifiers: tuple[tuple[str, float], ...]  # (normalised word, factor)
    masked: tuple[str, ...] = ()  # normalised words that hold a cue word but mean something else (利滚利)

    def mask(self, text: str) -> str:
        """`text` with every masked word blanked out (same length, so positions stay)."""
        for word in self.masked:
            if word:
                text = text.replace(word, "\u3000" * len(word))
        return text


def _weighted(path: Path, field: str, raw: object, locale: Locale) -> list[tuple[str, float]]:
    if not isinstance(raw, dict):
        raise GrammarError(f"{path}: field {field}: expected a mapping weight → [words], got {type(raw).__name__}")
    out: list[tuple[str, float]] = []
    for weight, words in raw.items():
        try:
            w = float(weight)
        except (TypeError, ValueError):
            raise GrammarError(f"{path}: field {field}: weight must be a number, got {weight!r}") from None
        if not isinstance(words, list):
            raise GrammarError(f"{path}: field {field}.{weight}: expected a list of words, got {type(words).__name__}")
        out.extend((locale.normalize(str(word), fillers=False).text, w) for word in words)
    return out


def load_lexicon(path: Path, locale: Locale = MANDARIN) -> Lexicon:
    try:
        raw = load_yaml(path.read_text(encoding="utf-8")) or {}
    except OSError as e:
        raise GrammarError(f"{path}: cannot read ({e.strerror})") from None
    except yaml.YAMLError as e:
        raise GrammarError(f"{path}: not valid YAML ({e})") from None
    labels = raw.get("labels") or {}
    unknown = sorted(set(labels) - set(LABELS))
    if unknown:
        raise GrammarError(f"{path}: field labels: unknown label(s) {unknown}; expected one of {list(LABELS)}")
    words = tuple(
        (word, label, weight)
        for label, table in labels.items()
        for word, weight in _weighted(path, f"labels.{label}", table, locale)
    )
    intensifiers = tuple(_weighted(path, "intensifiers", raw.get("intensifiers") or {}, locale))
    masked_raw = raw.get("not_cues") or []
    if not isinstance(masked_raw, list):
        raise GrammarError(f"{path}: field not_cues: expected a list of words, got {type(masked_raw).__name__}")
    masked = tuple(locale.normalize(str(w), fillers=False).text for w in masked_raw)
    return Lexicon(words, intensifiers, masked)


@lru_cache(maxsize=4)
def _lexicon(path: str) -> Lexicon:
    return load_lexicon(Path(path))


def default_lexicon_path() -> Path:
    from ivr.settings import default_settings

    return default_settings().grammars_dir / "emotion.yaml"


def lexical(text: str, lexicon: Lexicon | None = None, locale: Locale = MANDARIN) -> tuple[float, tuple[str, ...]]:
    """Score 0..1 and the labels that fired for one utterance (any spacing, traditional ok)."""
    lex = lexicon or _lexicon(str(default_lexicon_path()))
    t = lex.mask(locale.normalize(text, fillers=False).text)
    calm = 1.0
    cues: list[str] = []
    for word, label, weight in lex.words:
        if word and word in t:
            if label not in cues:
                cues.append(label)
            if label not in _NOT_SCORED:
                calm *= 1.0 - weight
    score = 1.0 - calm
    if score > 0:
        for word, factor in lex.intensifiers:
            if word in t:
                score *= factor
    return min(1.0, round(score, 3)), tuple(label for label in LABELS if label in cues)


def emotion_spans(normalized: str, lexicon: Lexicon | None = None) -> set[int]:
    """Positions of the scored emotion words in an already normalised answer (the understander
    uses them to tell an emotion word from a menu phrase that only sounds like it)."""
    lex = lexicon or _lexicon(str(default_lexicon_path()))
    out: set[int] = set()
    normalized = lex.mask(normalized)
    for word, label, _weight in lex.words:
        start = normalized.find(word) if word and label not in _NOT_SCORED else -1
        while start >= 0:
            out.update(range(start, start + len(word)))
            start = normalized.find(word, start + 1)
    return out


def combine(lexical: float, acoustic: float) -> float:
    """One emotion score from the words (`lexical`) and the voice (`acoustic`, loudness/pitch vs the
    caller's own baseline, supplied by ivr/acoustic.py), both 0..1.

    Noisy-OR, 1 - (1-l)(1-a): either signal alone can reach the escalation threshold, and two
    moderate signals (a raised voice saying 又打来了) reinforce each other."""
    lexical = min(1.0, max(0.0, lexical))
    acoustic = min(1.0, max(0.0, acoustic))
    return 1.0 - (1.0 - lexical) * (1.0 - acoustic)
