"""Everything the code knows about the callers' language, behind one object.

The conversation itself is data (grammars/, audio_prompts/); what is left in code and Mandarin is
gathered here: how an answer is normalised and keyed by sound, where its words begin and end, how
amounts, instalments, dates and callback times are read out of it, how money, dates and times are
said back, which TTS voice speaks, and what the trained classifier sees.  `MANDARIN` is built from
the functions the project has always used (ivr/textnorm.py, ivr/segment.py, ivr/numbers.py,
ivr/dates.py, ivr/callback_time.py, ivr/prompts.py, ivr/tts.py, ivr/classifier.py); a second language
is another `Locale` plus its own grammars, examples and prompts (docs/locale.md).

`ivr/wiring.py` passes one Locale to the Understander, the Dialog and the prompt audio of every call;
each of them defaults to MANDARIN, so tests and tools that build one directly behave as before.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass
from fractions import Fraction
from typing import Protocol

# The Mandarin implementations; none of them imports this module (its users do).
from ivr import callback_time, dates, income, numbers, prompts, segment, textnorm
from ivr.callback_time import CallbackTime
from ivr.dates import DateReading
from ivr.segment import Words
from ivr.textnorm import Normalized, Synonyms


class Normalizer(Protocol):
    def __call__(self, text: str, fillers: bool = True, synonyms: Synonyms | None = None) -> Normalized: ...


@dataclass(frozen=True)
class Locale:
    """The language-specific operations of understanding, dialog and prompt audio (all required:
    a second language supplies each one; reuse a Mandarin one with `dataclasses.replace` only when
    it really applies, e.g. Arabic digits)."""

    name: str  # BCP 47 tag: the Vosk model folder (models/<name>), part of the classifier cache key

    # ---- text: one comparable form of an answer (ivr/textnorm.py, ivr/segment.py)
    clean: Callable[[str], str]  # width/script/case folding and punctuation only (synonyms.yaml keys)
    normalize: Normalizer  # clean + synonyms + negation forms (+ fillers dropped): text and sound key
    sound_key: Callable[[str], str]  # one code per character, same length as the text
    negators: tuple[str, ...]  # words that, right before a match, flip it (不, 没 / not, never)
    never_in_gap: str  # characters a gapped phrase may not skip over (they would flip its meaning)
    words: Callable[[str], Words]  # word spans of a normalised answer, with content-word flags
    is_word: Callable[[str], bool]  # a dictionary word (a sound-alike that is one is not a slip)

    # ---- reading numbers, dates and times out of a normalised answer (ivr/numbers.py, ivr/dates.py)
    mask_numerals: Callable[[str], tuple[str, list[tuple[int, int]]]]  # every numeral → one stand-in
    parse_amount: Callable[[str], int | None]
    parse_amount_range: Callable[[str], tuple[int, int] | None]  # said loosely: 一两千 / one or two thousand
    parse_share: Callable[[str], Fraction | None]  # a share of the debt: 三分之一 / a third
    without_shares: Callable[[str], str]  # the answer without its shares (a figure said wins)
    parse_months: Callable[[str], int | None]  # instalments / months of grace
    read_date: Callable[[str, dt.datetime | dt.date], DateReading]
    parse_callback_time: Callable[[str, dt.datetime], CallbackTime | None]
    callback_words: tuple[str, ...]  # a time said with one of these asks for a callback (打, 联系)

    # ---- saying things back (ivr/prompts.py, ivr/callback_time.py, ivr/tts.py)
    money: Callable[[int | float], str]  # 3500 → 三千五百元
    spoken_date: Callable[[dt.date], str]
    spoken_time: Callable[[dt.datetime, dt.datetime], str]  # a callback time, relative to now
    voice: str  # TTS voice id (espeak-ng / pyttsx3)

    # ---- what the trained classifier sees (ivr/classifier.py): (text features, sound features)
    features: Callable[[Normalized], tuple[str, str]]

    # ---- optional: monthly income said as a rate or an average (一天三百，干二十来天); None = amounts only
    parse_income: Callable[[str], int | None] | None = None

    def negated(self, text: str, start: int) -> bool:
        """True when a negator ends right before position `start` of `text`."""
        before = text[:start]
        return any(before.endswith(n) for n in self.negators)

    def has_numeral(self, text: str) -> bool:
        return self.mask_numerals(text)[0] != text


def _mandarin_features(norm: Normalized) -> tuple[str, str]:
    """Numbers read as 几 (characters 1–3-grams), and the folded syllables of that (1–2-grams)."""
    masked, _ = numbers.mask_numerals(norm.text)
    return masked, textnorm.spelled_key(masked)


MANDARIN = Locale(
    name="zh-CN",
    clean=textnorm.clean,
    normalize=textnorm.normalize,
    sound_key=textnorm.sound_key,
    negators=textnorm.NEGATORS,
    never_in_gap="不没别未非无",
    words=segment.words,
    is_word=segment.is_word,
    mask_numerals=numbers.mask_numerals,
    parse_amount=numbers.parse_amount,
    parse_amount_range=numbers.parse_amount_range,
    parse_share=numbers.parse_share,
    without_shares=numbers.without_shares,
    parse_months=numbers.parse_months,
    read_date=dates.read_date,
    parse_callback_time=callback_time.parse_callback_time,
    callback_words=("打", "联系", "回电"),
    money=prompts.yuan,
    spoken_date=prompts.spoken_date,
    spoken_time=callback_time.spoken_time,
    voice="sit/cmn",  # espeak-ng Mandarin (pyttsx3 voice id); the espeak-ng program takes "cmn"
    features=_mandarin_features,
    parse_income=income.parse_income,
)


__all__ = ["Locale", "MANDARIN", "Normalizer"]
