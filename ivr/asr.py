"""Speech recognition with Vosk: grammar-first decoding per menu, open-vocabulary fallback.

One `vosk.Model` per process (ivr.models.load_model), one `CallRecognizer` per call.  Each menu's
phrases (`Grammars.phrases(menu)`, global intents included) become a Vosk runtime grammar.  Vosk
silently drops grammar words missing from the model vocabulary, which would make a phrase
unrecognisable, so every word is checked with the model's `find_word` when the grammar is compiled:
a missing word is split into the longest in-vocabulary pieces (characters for Mandarin), and what
was changed is logged once.  When the grammar result is empty, `[unk]` or low-confidence, the
buffered utterance is decoded again with the open model and that text goes to understanding.
"""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import cached_property
from typing import Any, cast

from ivr import metrics
from ivr.events import Hypothesis, Word

log = logging.getLogger(__name__)

UNK = "[unk]"
MIN_GRAMMAR_CONFIDENCE = 0.6  # below: decode the utterance again without the grammar
DECODE_CHUNK_MS = 100
# a menu's phrases, or phrase → intent (Grammars.phrase_intents): intents refine `complete`
Phrases = Sequence[str] | Mapping[str, str | None]


@dataclass(frozen=True)
class CompiledGrammar:
    phrases: tuple[str, ...]  # what Vosk receives (every word in the vocabulary)
    changes: tuple[str, ...]  # human-readable log of rewritten / dropped words
    intents: tuple[str | None, ...] = ()  # per phrase: the intent it selects (empty: not known)

    @cached_property
    def complete(self) -> frozenset[str]:
        """Finished answers: a partial result equal to one of these may end the turn early
        (`Timing.complete_silence_ms`).  A phrase is finished when no other phrase continues it, or
        when every phrase that does means the same (是 我 → 是 我 本人: both `confirm`); "是" is
        not finished while 是 谁 (ask_who) could follow."""
        intent = dict(zip(self.phrases, self.intents))
        continued: dict[str, set[str | None]] = {}  # phrase prefix → intents of the phrases extending it
        for p in self.phrases:
            words = p.split()
            for i in range(1, len(words)):
                continued.setdefault(" ".join(words[:i]), set()).add(intent.get(p))
        return frozenset(
            p
            for p in self.phrases
            if p != UNK and (p not in continued or (intent.get(p) is not None and continued[p] == {intent[p]}))
        )

    def as_json(self) -> str:
        # ensure_ascii=False matters: Vosk matches the raw UTF-8 words; "\u662f" escapes are dropped
        return json.dumps(list(self.phrases), ensure_ascii=False)


class Vocabulary:
    """Word lookups against one model, memoised (find_word is a C call, phrases repeat words)."""

    def __init__(self, model) -> None:
        self._model = model
        self._known: dict[str, bool] = {}
        self._lock = threading.Lock()

    def __contains__(self, word: str) -> bool:
        with self._lock:
            if word not in self._known:
                self._known[word] = self._model.vosk_model_find_word(word) >= 0
            return self._known[word]

    def segment(self, word: str) -> list[str] | None:
        """Split an out-of-vocabulary word into the fewest in-vocabulary pieces (None: impossible)."""
        n = len(word)
        best: list[list[str] | None] = [[]] + [None] * n  # best[i]: pieces covering word[:i]
        for end in range(1, n + 1):
            for start in range(end):
                prev = best[start]
                piece = word[start:end]
                if (
                    prev is not None
                    and piece in self
                    and (best[end] is None or len(prev) + 1 < len(cast(list[str], best[end])))
                ):
                    best[end] = prev + [piece]
        return best[n]

    def compile(self, phrases: Phrases) -> CompiledGrammar:
        out: list[str] = []
        intents: dict[str, str | None] = {}  # compiled phrase → intent (two intents → None)
        changes: list[str] = []
        of = phrases if isinstance(phrases, Mapping) else dict.fromkeys(phrases)
        for phrase, intent in of.items():
            words: list[str] | None = []
            for w in phrase.split():
                assert words is not None  # set to None only right before `break`
                if w in self:
                    words.append(w)
                    continue
                pieces = self.segment(w)
                if pieces is None:
                    changes.append(f"dropped phrase {phrase!r}: {w!r} cannot be spelled with model words")
                    words = None
                    break
                changes.append(f"{w!r} not in model vocabulary → {' '.join(pieces)!r}")
                words.extend(pieces)
            if words:
                spelled = " ".join(words)
                out.append(spelled)
                intents[spelled] = intent if intents.get(spelled, intent) == intent else None
        if UNK in self:
            out.append(UNK)  # lets Vosk say "none of these" instead of forcing the closest phrase
        unique = tuple(dict.fromkeys(out))
        return CompiledGrammar(unique, tuple(dict.fromkeys(changes)), tuple(intents.get(p) for p in unique))


_vocabularies: dict[int, Vocabulary] = {}
_grammar_cache: dict[tuple[int, tuple], CompiledGrammar] = {}
_cache_lock = threading.Lock()


def compile_grammar(model, phrases: Phrases) -> CompiledGrammar:
    """Compiled once per process per (model, phrase list); changes are logged the first time."""
    key = (id(model), tuple(phrases.items()) if isinstance(phrases, Mapping) else tuple(phrases))
    with _cache_lock:
        vocab = _vocabularies.setdefault(id(model), Vocabulary(model))
        cached = _grammar_cache.get(key)
    if cached is not None:
        return cached
    compiled = vocab.compile(phrases)
    for change in compiled.changes:
        log.info("asr grammar: %s", change)
    with _cache_lock:
        _grammar_cache[key] = compiled
    return compiled


def _hypothesis(result_json: str, source: str) -> Hypothesis:
    result = json.loads(result_json)
    words = tuple(
        Word(w["word"], float(w.get("conf", 1.0)), float(w.get("start", 0.0)), float(w.get("end", 0.0)))
        for w in result.get("result", [])
        if w["word"] != UNK
    )
    text = " ".join(w.word for w in words)
    conf = sum(w.conf for w in words) / len(words) if words else 0.0
    return Hypothesis(text=text, words=words, confidence=conf, source=source)  # type: ignore[arg-type]


class CallRecognizer:
    """One call's recogniser: `begin(phrases)` per utterance, `accept()` streams audio and returns
    the partial text when it changed, `finish()` returns the final Hypothesis."""

    def __init__(self, model, rate: int) -> None:
        self.model, self.rate = model, rate
        self._rec: Any = None  # vosk.KaldiRecognizer: vosk ships no type hints
        self._grammar: CompiledGrammar | None = None
        self._audio: list[bytes] = []
        self._pending = b""
        self._partial = ""

    def begin(self, phrases: Phrases | None) -> None:
        import vosk

        self._grammar = compile_grammar(self.model, phrases) if phrases else None
        if self._grammar is not None and self._grammar.phrases:
            self._rec = vosk.KaldiRecognizer(self.model, self.rate, self._grammar.as_json())
        else:
            self._rec = vosk.KaldiRecognizer(self.model, self.rate)
        self._rec.SetWords(True)
        self._audio = []
        self._pending = b""
        self._partial = ""

    def accept(self, pcm16: bytes) -> str | None:
        """Buffer caller audio; decode in ~100 ms chunks (per-frame calls cost more than they gain)."""
        if self._rec is None:
            self.begin(None)
        self._audio.append(pcm16)
        self._pending += pcm16
        if len(self._pending) < self.rate * 2 * DECODE_CHUNK_MS // 1000:
            return None
        self._rec.AcceptWaveform(self._pending)
        self._pending = b""
        partial = json.loads(self._rec.PartialResult()).get("partial", "")
        if partial and partial != self._partial:
            self._partial = partial
            return partial
        return None

    def is_complete(self, partial: str) -> bool:
        """`partial` is a whole phrase of this utterance's grammar that no other phrase continues."""
        return self._grammar is not None and partial in self._grammar.complete

    def finish(self) -> Hypothesis:
        if self._rec is None:
            return Hypothesis(text="", confidence=0.0, source="open")
        with metrics.ASR_DECODE_SECONDS.time():  # the final decode is what the caller waits for
            return self._final()

    def _final(self) -> Hypothesis:
        if self._pending:
            self._rec.AcceptWaveform(self._pending)
            self._pending = b""
        grammar_used = self._grammar is not None and bool(self._grammar.phrases)
        hyp = _hypothesis(self._rec.FinalResult(), "grammar" if grammar_used else "open")
        self._rec = None
        if grammar_used and (not hyp.text or hyp.confidence < MIN_GRAMMAR_CONFIDENCE):
            hyp = self.decode_open(b"".join(self._audio)) or hyp
        return hyp

    def decode_open(self, pcm16: bytes) -> Hypothesis | None:
        """Decode a whole buffered utterance with the open model (no grammar)."""
        import vosk

        rec = vosk.KaldiRecognizer(self.model, self.rate)
        rec.SetWords(True)
        rec.AcceptWaveform(pcm16)
        hyp = _hypothesis(rec.FinalResult(), "open")
        return hyp if hyp.text else None


def decode(model, pcm16: bytes, rate: int, phrases: Phrases | None = None, chunk_ms: int = 100) -> Hypothesis:
    """Convenience: stream a whole buffer through a fresh recogniser (tests, bench)."""
    rec = CallRecognizer(model, rate)
    rec.begin(phrases)
    step = rate * 2 * chunk_ms // 1000
    for i in range(0, len(pcm16), step):
        rec.accept(pcm16[i : i + step])
    return rec.finish()
