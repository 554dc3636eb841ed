"""Text normalisation for understanding: ASR-shaped or typed Mandarin → one comparable form.

Callers' text arrives as Vosk output (words separated by spaces, `[unk]` tokens, homophone
errors) or typed (punctuation, traditional characters, full-width digits).  Everything is mapped
to simplified characters without spaces, punctuation or filler words, plus a parallel *sound key*:
one character per toneless, accent-folded pinyin syllable, aligned position by position with the
text, so that a homophone error (市我/是我, 分七/分期, 房足/房租) becomes an exact match on the key and
a position found in one string is valid in the other (used for negation checks).
"""

from __future__ import annotations

import re
import threading
import unicodedata
from dataclasses import dataclass
from functools import lru_cache

import zhconv
from pypinyin import Style, lazy_pinyin

# Words that carry no meaning in a spoken answer.  Longest first so 就是说 goes before 就是.
FILLERS = ("就是说", "怎么说呢", "那个", "这个嘛", "然后呢", "呃", "嗯嗯", "嗯", "啊", "呀", "哎", "唉", "哦", "噢", "吧", "呢", "喂")
# Punctuation and spaces go; . - / stay between digits (1.5万, 12-01, 12/1).
_PUNCT = re.compile(r"[\s\u3000,，。!！?？;；:：、~～…\"'“”‘’()（）\[\]【】<>《》—_|]+|(?<!\d)[./-]|[./-](?!\d)")
_UNK = re.compile(r"\[unk\]|<unk>", re.IGNORECASE)

# Accent folding: southern Mandarin speakers (and ASR) confuse these; fold them in the key.
_INITIALS = (("zh", "z"), ("ch", "c"), ("sh", "s"))
_FINALS = (("ing", "in"), ("eng", "en"), ("ang", "an"))

# Negators that, placed right before a matched phrase, flip its meaning (不是我 ≠ 是我).
NEGATORS = ("没什么", "没有", "没", "不", "别", "未")


@dataclass(frozen=True)
class Normalized:
    text: str  # simplified, no spaces/punctuation/fillers
    key: str  # sound key, same length as text, one char per position


def to_simplified(text: str) -> str:
    return zhconv.convert(text, "zh-cn")


def clean(text: str) -> str:
    """NFKC (full-width → ASCII), simplified, lower-case, without [unk], spaces and punctuation."""
    text = unicodedata.normalize("NFKC", text or "")
    text = _UNK.sub(" ", text)
    text = to_simplified(text).lower()
    return _PUNCT.sub("", text)


# Softened negation reads as plain negation: 不太清楚 → 不清楚, 没怎么上班 → 没上班.
_SOFT_NEGATION = re.compile(r"(不|没)(?:太|是很|怎么|大|很)")


# Colloquial/regional words read as their common form, in phrases and answers alike.
SYNONYMS = {"啥": "什么", "咋": "怎么", "哪儿": "哪里", "这儿": "这里", "那儿": "那里", "係": "是"}
_SYNONYM = re.compile("|".join(map(re.escape, SYNONYMS)))


def strip_fillers(text: str) -> str:
    out = text
    for f in FILLERS:
        out = out.replace(f, "")
    return out or text  # "嗯" alone is an answer


def _fold(syllable: str) -> str:
    for a, b in _INITIALS:
        if syllable.startswith(a):
            syllable = b + syllable[len(a):]
            break
    for a, b in _FINALS:
        if syllable.endswith(a):
            syllable = syllable[: -len(a)] + b
            break
    if syllable.startswith("l"):  # n/l merge
        syllable = "n" + syllable[1:]
    return syllable


_SYLLABLE_CODES: dict[str, str] = {}
_CODES_LOCK = threading.Lock()  # calls are understood on several engine threads at once


@lru_cache(maxsize=8192)
def sound_char(ch: str) -> str:
    """One private-use character per folded syllable; non-Chinese characters stand for themselves.

    Each character is read on its own (its most common reading) so a character always gets the
    same key in a grammar phrase and in a caller's text, whatever its neighbours are."""
    if not ("\u4e00" <= ch <= "\u9fff"):
        return ch
    syl = _fold(lazy_pinyin(ch, style=Style.NORMAL)[0])
    with _CODES_LOCK:
        code = _SYLLABLE_CODES.get(syl)
        if code is None:
            code = _SYLLABLE_CODES[syl] = chr(0xE000 + len(_SYLLABLE_CODES))
    return code


def sound_key(text: str) -> str:
    return "".join(sound_char(c) for c in text)


def normalize(text: str, fillers: bool = True) -> Normalized:
    t = clean(text)
    t = _SOFT_NEGATION.sub(r"\1", _SYNONYM.sub(lambda m: SYNONYMS[m.group()], t))
    if fillers:
        t = strip_fillers(t)
    return Normalized(t, sound_key(t))


def negated(text: str, start: int) -> bool:
    """True when a negator ends right before position `start` of `text`."""
    before = text[:start]
    return any(before.endswith(n) for n in NEGATORS)
