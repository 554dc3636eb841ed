"""Distress lexicon: signs of suicide risk, direct or indirect, from `grammars/distress.yaml`.

The lexicon is data, organised by the categories of public suicide-risk screening (C-SSRS, PHQ-9
item 9, Joiner's interpersonal theory, O'Connor's entrapment): `direct` ideation/plan/means, then
the indirect signs (hopelessness, burden, entrapment, death wish, farewell, exhaustion, isolation,
self-hatred).  Entries are compositional patterns, not sentences (syntax in the YAML header):

    活着/活得…累/没意思        one of 活着|活得, then within `gap` characters one of 累|没意思
    割/划~自己                 at most 2 characters between (割过自己)
    ^要死了                    anchored at the start of the answer

Matching runs on the understander's normalised answer (ivr/textnorm.py): simplified characters, no
spaces, punctuation or fillers, regional words mapped, 没有X → 没X.  Text and sound key are
interleaved (text[0] key[0] text[1] key[1] ...) so one regular expression per pattern can match
some words by their characters and others by their sound (homophone ASR errors, 不想或了 for
不想活了): alternatives of 4+ characters may match on the key when at least half of their
characters are the same.  Negation is deliberately not checked (recall first: 我不是不想活 fires).

`exclude` entries are idioms in which a death word is an intensifier (笑死, 热死了, 累得要死, 死鬼):
the part outside [brackets] is masked before the categories are matched.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cache, lru_cache
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field

from ivr.datafile import read_yaml, validate
from ivr.grammar import GrammarError
from ivr.locale import MANDARIN, Locale
from ivr.textnorm import Normalized, Synonyms, cached_synonyms

SHORT_GAP = 2  # `~`: a particle or a pronoun between two words (割过自己, 恨我自己)
SOUND_MIN = 4  # alternatives this long may match on their sound key (我忘了 must not be 我完了)
MASK = "\x00"  # stands for a masked (excluded) position in the text and in the key
DETECT_CACHE = 4096  # answers whose detect() verdict is kept (a dict, cleared when full)
_NAME = re.compile(r"^[a-z][a-z_]*$")


class Category(BaseModel):
    model_config = ConfigDict(extra="forbid")

    label: str = Field(min_length=1)  # Chinese, for the hand-off summary
    source: str = Field(min_length=1)  # the screening instrument / theory the category comes from
    description: str = ""
    patterns: list[str] = Field(min_length=1)


class DistressFile(BaseModel):
    model_config = ConfigDict(extra="forbid")

    gap: int = Field(default=8, ge=1, le=30)  # `…`
    long_gap: int = Field(default=16, ge=1, le=60)  # `……`
    categories: dict[str, Category] = Field(min_length=1)
    exclude: list[str] = Field(default_factory=list)


@dataclass(frozen=True)
class DistressHit:
    category: str  # e.g. "burden"
    label: str  # e.g. 觉得拖累家人
    pattern: str  # the lexicon entry that fired, as written
    start: int  # span in the normalised answer
    end: int


@dataclass(frozen=True)
class _Part:
    alternatives: tuple[str, ...]  # normalised words
    keys: tuple[str, ...]  # their sound keys (same order)
    # first character of each alternative (and first key of those that may match by sound): an
    # answer holding none of them cannot match, so the regular expression is not even run
    firsts: frozenset[str] = frozenset()


@dataclass(frozen=True)
class _Pattern:
    category: str
    entry: str  # as written in the file
    source: str  # its regular expression, compiled when first needed (most never are: see `firsts`)
    parts: tuple[_Part, ...]

    @property
    def regex(self) -> re.Pattern[str]:
        return _regex(self.source)


@cache
def _regex(source: str) -> re.Pattern[str]:
    return re.compile(source, re.DOTALL)


class _Syntax(ValueError):
    pass


def _split(pattern: str) -> tuple[bool, bool, list[tuple[str, str]]]:
    """`^A/B…C~D$` → (anchored start, anchored end, [(gap before, "A/B"), ("…", "C"), ("~", "D")])."""
    text = pattern.strip()
    start, end = text.startswith("^"), text.endswith("$") and len(text) > 1
    text = text[1 if start else 0 : -1 if end else None]
    tokens = re.split(r"(……|…|~)", text)
    parts = [("", tokens[0])] + [(tokens[i], tokens[i + 1]) for i in range(1, len(tokens), 2)]
    if any(not p.strip() for _, p in parts):
        raise _Syntax("empty word before or after a gap (…, ……, ~)")
    return start, end, parts


def _words(part: str, synonyms: Synonyms, locale: Locale) -> _Part:
    normalize = locale.normalize
    alternatives: list[str] = []
    for raw in part.split("/"):
        if not raw.strip():
            raise _Syntax(f"empty alternative in {part!r}")
        word = normalize(raw, synonyms=synonyms).text
        if word != normalize(raw, fillers=False, synonyms=synonyms).text:
            raise _Syntax(f"{raw!r} holds a filler word (那个, 吧, 呢...), which answers never keep")
        alternatives.append(word)
        if word.endswith("没有"):  # said with more after it, 没有 reads 没 (ivr/textnorm.py)
            alternatives.append(word[:-1])
    words = tuple(sorted(dict.fromkeys(alternatives), key=len, reverse=True))
    keys = tuple(locale.sound_key(w) for w in words)
    firsts = frozenset(w[0] for w in words) | frozenset(k[0] for w, k in zip(words, keys) if len(w) >= SOUND_MIN)
    return _Part(words, keys, firsts)


def _alternation(part: _Part, sound: bool) -> str:
    alts = ["".join(re.escape(c) + "." for c in w) for w in part.alternatives]
    if sound:
        alts += [
            "".join("." + re.escape(k) for k in key)
            for w, key in zip(part.alternatives, part.keys)
            if len(w) >= SOUND_MIN
        ]
    return "(" + "|".join(alts) + ")"


def _gap(sep: str, gap: int, long_gap: int) -> str:
    n = {"": 0, "~": SHORT_GAP, "…": gap, "……": long_gap}[sep]
    return f"(?:..){{0,{n}}}?" if n else ""


def _compile(
    pattern: str, synonyms: Synonyms, gap: int, long_gap: int, locale: Locale
) -> tuple[str, tuple[_Part, ...]]:
    """(the regular expression's source, its parts); `_regex` compiles it."""
    start, end, split = _split(pattern)
    parts = tuple(_words(p, synonyms, locale) for _, p in split)
    body = "".join(_gap(sep, gap, long_gap) + _alternation(part, True) for (sep, _), part in zip(split, parts))
    return ("^" if start else "") + body + ("$" if end else ""), parts


def _compile_exclusion(entry: str, synonyms: Synonyms, gap: int, long_gap: int, locale: Locale) -> re.Pattern[str]:
    """`[笑/热]死` → context 笑|热 (kept), then 死 (masked); text only, never by sound."""
    m = re.fullmatch(r"(\^?)(?:\[([^\[\]]+)\])?([^\[\]]+)(?:\[([^\[\]]+)\])?", entry.strip())
    if not m:
        raise _Syntax("expected WORDS with an optional [context] before and/or after it")
    anchor, before, core, after = m.groups()
    _, _, split = _split(core)
    body = "".join(_gap(sep, gap, long_gap) + _alternation(_words(p, synonyms, locale), False) for sep, p in split)
    ctx = [_alternation(_words(c, synonyms, locale), False) if c else "" for c in (before, after)]
    return re.compile(f"{anchor}{ctx[0]}(?P<core>{body}){ctx[1]}", re.DOTALL)


class DistressLexicon:
    """The compiled lexicon: `detect(normalized answer)` → the first category that fires, or None."""

    def __init__(
        self, spec: DistressFile, synonyms: Synonyms, source: str = "distress.yaml", locale: Locale = MANDARIN
    ):
        self.labels = {name: c.label for name, c in spec.categories.items()}
        self._patterns: list[_Pattern] = []
        self._exclude: list[re.Pattern[str]] = []
        for name, cat in spec.categories.items():
            if not _NAME.match(name):
                raise GrammarError(f"{source}: field categories.{name}: expected a lower-case name (a-z, _)")
            for i, raw in enumerate(cat.patterns):
                try:
                    pattern_source, parts = _compile(raw, synonyms, spec.gap, spec.long_gap, locale)
                except _Syntax as e:
                    raise GrammarError(f"{source}: field categories.{name}.patterns.{i}: {e} (got {raw!r})") from None
                self._patterns.append(_Pattern(name, raw, pattern_source, parts))
        for i, raw in enumerate(spec.exclude):
            try:
                self._exclude.append(_compile_exclusion(raw, synonyms, spec.gap, spec.long_gap, locale))
            except _Syntax as e:
                raise GrammarError(f"{source}: field exclude.{i}: {e} (got {raw!r})") from None
        # detect() of recent answers: a call asks about one answer at several menus (the menu asked,
        # then the ones listened ahead), and the verdict depends on the answer alone
        self._detected: dict[Normalized, DistressHit | None] = {}

    def detect(self, norm: Normalized) -> DistressHit | None:
        if norm in self._detected:
            return self._detected[norm]
        hits = self.hits(norm, first_only=True)
        if len(self._detected) >= DETECT_CACHE:
            self._detected.clear()
        self._detected[norm] = hit = hits[0] if hits else None
        return hit

    def hits(self, norm: Normalized, first_only: bool = False) -> list[DistressHit]:
        """Every category that fires (in the file's order, one hit each)."""
        if not norm.text:
            return []
        s = self._masked("".join(t + k for t, k in zip(norm.text, norm.key)))
        out: list[DistressHit] = []
        chars = frozenset(s)
        for p in self._patterns:
            if out and out[-1].category == p.category:
                continue
            if any(part.firsts.isdisjoint(chars) for part in p.parts):
                continue
            for m in p.regex.finditer(s):
                if _verified(m, p.parts):
                    out.append(DistressHit(p.category, self.labels[p.category], p.entry, m.start() // 2, m.end() // 2))
                    break
            if first_only and out:
                break
        return out

    def idiom(self, norm: Normalized) -> bool:
        """True when an `exclude` idiom is in the answer (想死你了, 笑死, 死机): the caller used a death
        word as an intensifier, so the plain keyword checks elsewhere (global grammar, emotion cue
        `distress`) must not flag it either when `hits` finds no sign outside the idiom."""
        s = "".join(t + k for t, k in zip(norm.text, norm.key))
        return bool(s) and self._masked(s) != s

    def without_idioms(self, norm: Normalized) -> Normalized:
        """The answer with the masked part of every `exclude` idiom removed (累死了 → 累了, 想死你了 →
        你了): what the learned detector (ivr/distress_model.py) judges, so the idiom list is the only
        way out for it too."""
        s = "".join(t + k for t, k in zip(norm.text, norm.key))
        masked = self._masked(s) if s else s
        if masked == s:
            return norm
        keep = [i for i in range(len(norm.text)) if masked[2 * i] != MASK]
        return Normalized("".join(norm.text[i] for i in keep), "".join(norm.key[i] for i in keep))

    def _masked(self, s: str) -> str:
        for rx in self._exclude:
            for m in rx.finditer(s):
                b, e = m.span("core")
                s = s[:b] + MASK * (e - b) + s[e:]
        return s


def _verified(m: re.Match[str], parts: tuple[_Part, ...]) -> bool:
    """A word matched by its sound must share at least half of its characters with what was said."""
    for i, part in enumerate(parts, start=1):
        said = m.group(i)[0::2]
        if said in part.alternatives:
            continue
        key = m.group(i)[1::2]
        same = max(
            (sum(a == b for a, b in zip(w, said)) for w, k in zip(part.alternatives, part.keys) if k == key),
            default=0,
        )
        if 2 * same < len(said):
            return False
    return True


def load_distress(path: Path, synonyms: Synonyms | None = None, locale: Locale = MANDARIN) -> DistressLexicon:
    raw = read_yaml(Path(path), GrammarError, "distress lexicon")
    if not isinstance(raw, dict):
        raise GrammarError(f"{path}: expected a mapping at top level, got {type(raw).__name__}")
    spec = validate(DistressFile, raw, str(path), GrammarError)
    syn = synonyms or cached_synonyms(str(Path(path).parent / "synonyms.yaml"), locale.clean)
    return DistressLexicon(spec, syn, str(path), locale)


@lru_cache(maxsize=4)
def cached_distress(path: str) -> DistressLexicon:
    return load_distress(Path(path))


__all__ = ["DistressHit", "DistressLexicon", "load_distress", "cached_distress"]
