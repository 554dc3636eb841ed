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
from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import yaml
import zhconv
from pypinyin import Style, lazy_pinyin

from ivr.datafile import load_yaml
from ivr.grammar import GrammarError

# Words that carry no meaning in a spoken answer.  Longest first so 就是说 goes before 就是.
FILLERS = (
    "就是说",
    "怎么说呢",
    "那个",
    "这个嘛",
    "然后呢",
    "呃",
    "嗯嗯",
    "嗯",
    "啊",
    "呀",
    "哎",
    "唉",
    "哦",
    "噢",
    "喔",
    "吧",
    "呢",
    "啦",
    "咯",
    "唔",
    "喂",
)
# Hesitation, not assent: an answer made only of fillers is an answer (嗯, 嗯嗯, 啊, 哦) unless one of
# these is in it (呃那个嗯哎 is someone still thinking, not a yes).
HESITATIONS = ("就是说", "怎么说呢", "那个", "这个嘛", "然后呢", "呃", "哎", "唉")
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


# Softened negation reads as plain negation: 不太清楚 → 不清楚, 没怎么上班 → 没上班; and 没有 before
# a word is 没, so is 没(有)什么/任何 (没有欠 = 没欠, 没什么收入 = 没收入): a grammar lists one form.
_SOFT_NEGATION = re.compile(r"(不|没)(?:太|是很|怎么|大|很)|(没)有?(?:什么|任何)?(?=.)")


DEFAULT_SYNONYMS = Path(__file__).resolve().parents[1] / "grammars" / "synonyms.yaml"


@dataclass(frozen=True)
class Synonyms:
    """Regional/colloquial words read as their common form (grammars/synonyms.yaml)."""

    table: dict[str, str]
    pattern: re.Pattern[str] | None

    @classmethod
    def of(cls, table: dict[str, str]) -> Synonyms:
        # Longest first: 屋企人 before 屋企, 联系 (kept as is) before 系.
        words = sorted(table, key=len, reverse=True)
        return cls(table, re.compile("|".join(map(re.escape, words))) if words else None)

    def apply(self, text: str) -> str:
        return self.pattern.sub(lambda m: self.table[m.group()], text) if self.pattern else text


def load_synonyms(path: Path, clean: Callable[[str], str] = clean) -> Synonyms:
    """Read a synonyms file; errors name the file and field (a typo must not crash a call)."""
    try:
        raw = load_yaml(Path(path).read_text(encoding="utf-8")) or {}
    except OSError as e:
        raise GrammarError(f"{path}: cannot read ({e.strerror})") from None
    except yaml.YAMLError as e:
        raise GrammarError(f"{path}: not valid YAML ({e})") from None
    groups, keep = raw.get("groups", {}), raw.get("keep", [])
    if not isinstance(groups, dict) or not isinstance(keep, list):
        raise GrammarError(f"{path}: expected `groups: {{name: {{word: common form}}}}` and `keep: [words]`")
    table: dict[str, str] = {}
    for name, words in groups.items():
        if not isinstance(words, dict) or not all(isinstance(k, str) and isinstance(v, str) for k, v in words.items()):
            raise GrammarError(f"{path}: field groups.{name}: expected a mapping word → common form")
        table.update({clean(k): clean(v) for k, v in words.items()})
    table.update({clean(w): clean(w) for w in keep})
    table.pop("", None)  # a word the locale's `clean` erases entirely would match everywhere
    return Synonyms.of(table)


@lru_cache(maxsize=4)
def cached_synonyms(path: str = str(DEFAULT_SYNONYMS), clean: Callable[[str], str] = clean) -> Synonyms:
    """`clean`: the locale's (ivr/locale.py) — the words are compared with answers it cleaned."""
    return load_synonyms(Path(path), clean) if Path(path).exists() else Synonyms.of({})


# "Not any X": 什么收入都没有 → 没有收入, 任何工作也不想 → 不想工作 (the negator moves before X).
_TOPIC_NEGATION = re.compile(r"(?:什么|任何)(.{1,4}?)(都|也)(没有|没|不)")


def strip_fillers(text: str) -> str:
    out = text
    for f in FILLERS:
        out = out.replace(f, "")
    if out or any(h in text for h in HESITATIONS):
        return out
    return text  # "嗯" alone is an answer


def _fold(syllable: str) -> str:
    for a, b in _INITIALS:
        if syllable.startswith(a):
            syllable = b + syllable[len(a) :]
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
def syllable(ch: str) -> str:
    """The folded toneless syllable of a Chinese character (its most common reading, read on its
    own); any other character stands for itself."""
    if not ("\u4e00" <= ch <= "\u9fff"):
        return ch
    return _fold(lazy_pinyin(ch, style=Style.NORMAL)[0])


def spelled_key(text: str) -> str:
    """The sound key spelled out, syllables separated by spaces (the classifier's sound features:
    the key's private-use codes are numbered in the order a process first meets each syllable, so
    they must never be stored in a model that another process loads)."""
    return " ".join(syllable(c) for c in text)


@lru_cache(maxsize=8192)
def sound_char(ch: str) -> str:
    """One private-use character per folded syllable; non-Chinese characters stand for themselves.

    Each character is read on its own (its most common reading) so a character always gets the
    same key in a grammar phrase and in a caller's text, whatever its neighbours are."""
    if not ("\u4e00" <= ch <= "\u9fff"):
        return ch
    syl = syllable(ch)
    with _CODES_LOCK:
        code = _SYLLABLE_CODES.get(syl)
        if code is None:
            code = _SYLLABLE_CODES[syl] = chr(0xE000 + len(_SYLLABLE_CODES))
    return code


def sound_key(text: str) -> str:
    return "".join(sound_char(c) for c in text)


def normalize(text: str, fillers: bool = True, synonyms: Synonyms | None = None) -> Normalized:
    t = (synonyms or cached_synonyms()).apply(clean(text))
    t = _TOPIC_NEGATION.sub(r"\3\1", t)
    t = _SOFT_NEGATION.sub(lambda m: m.group(1) or m.group(2), t)
    if fillers:
        t = strip_fillers(t)
    return Normalized(t, sound_key(t))


def negated(text: str, start: int) -> bool:
    """True when a negator ends right before position `start` of `text`."""
    before = text[:start]
    return any(before.endswith(n) for n in NEGATORS)
