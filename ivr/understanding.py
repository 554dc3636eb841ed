"""Text or key press → intent + slots + confidence for one menu (SPEC.md §1, §3).

Matching works on the normalised text (ivr/textnorm.py) and, in parallel, on its sound key, so
homophone ASR errors match as well as typed text.  Each intent of the menu and of global.yaml is
scored from the grammar phrases/keywords it matches:

- the whole answer equals a phrase → 1.0 (0.95 on sound only);
- phrases/keywords found inside the answer → 0.60 + 0.35 × the share of the answer they cover
  (sound-only hits count 0.9); a keyword hit adds KEYWORD_BONUS and is worth at least KEYWORD_MIN;
- otherwise fuzzy (edit-distance) matches of longer phrases on the sound key → at most ~0.65;
- a hit right after a negator (不是我, 没上班) does not count, and an intent's `negative` words veto it;
- word boundaries (ivr/segment.py, jieba): a phrase of one character counts only as a whole word of
  the answer (行 is not in 行人), one of two never from inside a word (不是 is not in 是不是), a
  sound-alike never when what was said is itself another word (那家 is not 哪家); and *weak* evidence
  (only one-character words: 在, 好, 是, 我在) does not count when the answer has a content word that
  is neither hit nor a word of the menu's grammars (外面在下雨, 我好难啊 are about something else).

The best intent at or above ACCEPT wins; distress wins over everything, and a global intent with a
real (non-fuzzy) hit of at least GLOBAL_MIN wins unless its words lie inside the menu intent's own
match (什么 inside 什么事 at the opening is ask_who, not repeat).  When the
runner-up is a different intent within CLOSE, confidence is lowered: the answer is ambiguous.
Slots come from ivr/numbers.py and ivr/dates.py; a stated amount/date decides the intent at
income_amount/promise even when no phrase matched.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, field, replace
from functools import cache, lru_cache
from pathlib import Path
from typing import Any, cast

from rapidfuzz import fuzz

from ivr.classifier import NONE as NONE_OF_THESE
from ivr.classifier import Classifier, load_classifier
from ivr.dates import nearest_month_day
from ivr.distress import DistressLexicon, load_distress
from ivr.distress_model import DistressModel, load_distress_model
from ivr.emotion import emotion_spans, lexical, load_lexicon
from ivr.events import Understanding
from ivr.grammar import DTMF_KEYS, GrammarError, Grammars, IntentSpec, MenuSpec, cached_grammars
from ivr.locale import MANDARIN, Locale
from ivr.plan_rule import decide_plan
from ivr.segment import Words
from ivr.textnorm import Normalized, Synonyms, cached_synonyms

ACCEPT = 0.45  # below this the answer is a no-match (intent None)
GLOBAL_MIN = 0.70  # a global intent needs a real phrase/keyword hit to pre-empt the menu
GLOBAL_MIN_EMBEDDED = 3  # global phrases shorter than this (什么, 啥) count only as the whole answer
DISTRESS_MIN = 0.60
EXPLAINED_BELOW = 0.75  # ...when the learned detector alone gives that clause less than this
# talk that is about something else: who is speaking, a question, a request about our calls (not a
# bare ok: 知道，都不重要了 without its 知道 scores below the line)
EXPLAINED_BY = frozenset(
    {"confirm", "deny", "third_party", "ask_who", "busy", "question", "stop_calling", "complaint", "human"}
    | {"slower", "callback"}
)
EXPLAINED_MIN = 0.60
IDENTITY = frozenset({"confirm", "deny", "third_party"})
ASKED = frozenset(
    {"question", "ask_who", "repeat", "confused"}
)  # a clause the rules read this surely as another intent does not count toward a model-only sign
CLOSE = 0.05
SOUND_WEIGHT = 0.9
NEGATIVE_SOUND_MIN = 3  # a negative word vetoes by its sound key only from this many syllables
KEYWORD_MIN, KEYWORD_BONUS = 0.72, 0.03  # cue words are strong evidence even in a long answer
FUZZY_MIN_RATIO = 80.0
GAP_WEIGHT = 0.85  # a phrase found with a short insertion is good, not perfect, evidence
_ASKING = re.compile(r"[？?]|怎么|怎样|点样|点解|什么|啥|吗|咩|系唔系|是不是")
_CLAUSE = re.compile(r"[，,。.！!？?…；;、]+")
YIELD_TO_ANSWER = ("repeat", "confused", "slower")  # global intents that do not pre-empt a stronger menu answer
SHORT_WORD = 2  # grammar words this short must be whole words of the answer (ivr/segment.py)
CUE_GAP = 4  # characters allowed between the words of a cue (早就 转给你们 了, 别 老 打)
# Intents of expenses.yaml named after a SPEC.md category are folded into intent `expenses`.
CATEGORIES = ("rent", "utilities", "food", "education", "medical", "entertainment", "social", "family", "other_debt")
SLOT_CONFIDENCE = 0.85  # a parsed amount/date/category is good evidence on its own
MODEL_BELOW = 0.6  # a rule answer below this may be replaced by the trained model's (ivr/classifier.py)
PLAN_INTENTS = {"full", "installment", "extension", "partial"}
PLAN_RULE = 0.9  # a plan kept by ivr/plan_rule.py (an option named, the refused ones dropped)
MODEL_ALSO = 0.25  # expenses: a further category the model gives at least this probability


@dataclass(frozen=True)
class Pattern:
    intent: str
    text: str
    key: str
    keyword: bool
    embedded: bool = True  # may match inside a longer answer (else only the whole answer)
    # the words with a short insertion (卖点东西 for 卖东西): the regular expression's source, compiled on
    # first use (_regex) -- thousands of phrases, most never tried, cost seconds at every process start
    gapped: str | None = None
    strong: bool = True  # a keyword, 3+ characters or a dictionary word (在家); 在, 好, 我在, 是的 are weak


@dataclass
class _Score:
    score: float = 0.0
    fuzzy_only: bool = True
    longest: int = 0  # longest exact (non-fuzzy) hit, in characters
    keyword: bool = False  # a cue word of the intent was found
    strong: bool = False  # a hit of a strong pattern or a cue (see Pattern.strong)
    covered: dict[int, float] = field(default_factory=dict)  # answer position → best hit weight
    exact: set[int] = field(default_factory=set)  # positions hit by the characters, not only by sound

    def hit(self, start: int, end: int, weight: float, exact: bool = True) -> None:
        for i in range(start, end):
            self.covered[i] = max(self.covered.get(i, 0.0), weight)
        if exact:
            self.exact.update(range(start, end))

    def positions(self) -> set[int]:
        return set() if self.fuzzy_only else set(self.covered)


@dataclass(frozen=True)
class _Index:
    """Pre-normalised patterns of one set of intents (a menu, or the global intents)."""

    patterns: tuple[Pattern, ...]
    negatives: dict[str, tuple[Normalized, ...]]
    cues: tuple[tuple[str, re.Pattern[str]], ...] = ()  # (intent, compiled "A…B" combination)
    vocab: frozenset[str] = frozenset()  # every word (jieba) of its phrases, keywords, negatives, cues
    locale: Locale = MANDARIN
    # Per pattern (same order): the characters of its text, of its sound key, and whether it may be
    # tried fuzzily -- so `score` skips, without trying, a pattern that cannot hit (see _may_hit).
    sieve: tuple[tuple[frozenset[str], frozenset[str], bool], ...] = field(init=False, repr=False, compare=False)
    intents: tuple[str, ...] = field(init=False, repr=False, compare=False)  # in the order `score` meets them

    def __post_init__(self) -> None:
        sieve = tuple(
            (frozenset(p.text), frozenset(p.key), p.embedded and not p.keyword and len(p.key) >= 3)
            for p in self.patterns
        )
        object.__setattr__(self, "sieve", sieve)
        names = [p.intent for p in self.patterns] + [name for name, _ in self.cues]
        object.__setattr__(self, "intents", tuple(dict.fromkeys(names)))

    @classmethod
    def build(
        cls, intents: dict[str, IntentSpec], synonyms: Synonyms, where: str, min_embedded: int = 1, *, locale: Locale
    ) -> _Index:
        """`min_embedded`: shorter phrases (not keywords) only match a whole answer — a global 什么
        (repeat) said alone, not the 什么 of 什么事 or 没什么固定的."""
        normalize, words = locale.normalize, locale.words
        patterns: list[Pattern] = []
        negatives: dict[str, tuple[Normalized, ...]] = {}
        cues: list[tuple[str, re.Pattern[str]]] = []
        for name, spec in intents.items():
            cues.extend((name, _compile_cue(c, synonyms, f"{where}.{name}", locale)) for c in spec.cues)
            for entry, is_kw in [(p, False) for p in spec.phrases] + [(k, True) for k in spec.keywords]:
                n = normalize(entry, synonyms=synonyms)
                if n.text:
                    embedded = is_kw or len(n.text) >= min_embedded
                    strong = is_kw or len(n.text) > SHORT_WORD or any(e - b > 1 for b, e in words(n.text).spans)
                    patterns.append(
                        Pattern(
                            name, n.text, n.key, is_kw, embedded, _gapped(n.text, locale) if embedded else None, strong
                        )
                    )
            negatives[name] = tuple(n for n in (normalize(w, False, synonyms) for w in spec.negative) if n.text)
        texts = [p.text for p in patterns] + [n.text for ns in negatives.values() for n in ns]
        texts += [
            normalize(w, False, synonyms).text
            for spec in intents.values()
            for c in spec.cues
            for w in re.split("[…/]", c)
        ]
        vocab = frozenset(t[b:e] for t in texts for b, e in words(t).spans)
        return cls(tuple(dict.fromkeys(patterns)), negatives, tuple(cues), vocab, locale)

    def score(self, norm: Normalized, known: frozenset[str]) -> dict[str, _Score]:
        """`known`: the words of the menu's and the global grammars (the call's topic)."""
        t, k, lo = norm.text, norm.key, self.locale
        w = lo.words(t)
        chars, kchars = frozenset(t), frozenset(k)
        out = {name: _Score() for name in self.intents}
        for p, (pchars, pkeys, fuzzy) in zip(self.patterns, self.sieve):
            # Every way a pattern hits needs all its characters (or all its sound syllables) in the
            # answer, except the fuzzy one, which needs 2/3 of them (_may_hit); most patterns are
            # skipped here untried (same scores, a fraction of the time).
            if not (pchars <= chars or pkeys <= kchars or (fuzzy and _may_hit(p.key, pkeys, kchars))):
                continue
            s = out[p.intent]
            if s.score >= 1.0:
                continue
            if p.text == t or (p.key == k and len(k) >= 2):
                s.score = max(s.score, 1.0 if p.text == t else 0.95)
                s.fuzzy_only, s.longest = False, len(t)
                s.hit(0, len(t), 1.0, exact=p.text == t)
                continue
            if not p.embedded:
                continue
            hit = (
                _find(p, t, t, 1.0, s, w, lo)
                or (len(p.key) >= 2 and _find(p, t, k, SOUND_WEIGHT, s, w, lo, key=p.key))
                or _find_gapped(p, t, chars, s, lo)
            )
            if hit:
                s.fuzzy_only, s.longest = False, max(s.longest, len(p.text))
                s.keyword, s.strong = s.keyword or p.keyword, s.strong or p.strong
            elif s.fuzzy_only and not p.keyword and len(p.key) >= 3:
                _fuzzy(p, t, k, s, lo)
        for name, rx in self.cues:
            s = out.setdefault(name, _Score())
            for m in rx.finditer(t):
                # a one-character cue word may head a longer word (减 of 减免), not end one (少 of 多少)
                # and one of two characters not from the middle of a word (人工 in 工人工资)
                if any(
                    (len(m.group(i)) == 1 and m.start(i) not in w.bounds)
                    or (len(m.group(i)) == SHORT_WORD and _buried(w, t, m.start(i), m.end(i), lo))
                    for i in range(1, len(m.groups()) + 1)
                ):
                    continue
                if m.group(1).startswith(lo.negators) or not lo.negated(t, m.start()):
                    s.hit(m.start(), m.end(), 1.0)
                    s.fuzzy_only, s.keyword, s.strong = False, True, True
                    s.longest = max(s.longest, m.end() - m.start())
        for name, s in out.items():
            if any(_contains(norm, n) for n in self.negatives.get(name, ())):
                s.score = 0.0
                continue
            if s.score < 1.0 and not s.fuzzy_only and not s.strong and _off_topic(s, t, w, known):
                continue
            cov = sum(s.covered.values()) / max(1, len(t))
            if s.covered and not s.fuzzy_only:
                base = 0.60 if s.longest >= 2 else 0.50  # one matched character is weak evidence
                score = base + 0.35 * cov
                if s.keyword:
                    score = max(KEYWORD_MIN, score + KEYWORD_BONUS)
                s.score = max(s.score, min(0.95, score))
            elif s.covered:
                s.score = max(s.score, min(0.65, 0.30 + 0.45 * cov))
        return out


def _compile_cue(cue: str, synonyms: Synonyms, where: str, locale: Locale) -> re.Pattern[str]:
    """ "已经/早就…还/转" → one of the first words, then within CUE_GAP characters one of the next.
    A leading ^ / trailing $ ties the cue to the start / end of the answer (as in distress.yaml)."""
    start, end = cue.startswith("^"), cue.endswith("$") and len(cue) > 1
    body = cue[1 if start else 0 : -1 if end else None]
    parts = [[locale.normalize(w, False, synonyms).text for w in part.split("/")] for part in body.split("…")]
    if len(parts) < 2 or not all(all(part) for part in parts):
        raise GrammarError(f"{where}: field cues: expected words joined by … (alternatives by /), got {cue!r}")
    alts = ["(" + "|".join(map(re.escape, sorted(part, key=len, reverse=True))) + ")" for part in parts]
    return re.compile(("^" if start else "") + f".{{0,{CUE_GAP}}}?".join(alts) + ("$" if end else ""))


def _gapped(text: str, locale: Locale) -> str | None:
    """The phrase with one short insertion between two of its characters: 你脑子有病
    for 你有病, 我只能去死 for 我去死.  Not for phrases that start with a negator (别人打 is not 别打)
    or hold a number (一年两次 is not 一次), and never across a negator (还不清 is not 还清)."""
    if len(text) < 3 or text.startswith(locale.negators) or locale.has_numeral(text):
        return None  # two characters with a gap are too often two other words (在老家 is not 在家)
    # nor right after a negator of the phrase: 还不想拖了 is not 还不了
    never = locale.never_in_gap  # an insertion of these would flip the phrase's meaning
    gap = f"[^{re.escape(never)}]" if never else "."
    splits = [
        re.escape(text[:i]) + f"{gap}{{1,2}}" + re.escape(text[i:])
        for i in range(1, len(text))
        if text[i - 1] not in never
    ]
    return "|".join(splits)


@cache
def _regex(source: str) -> re.Pattern[str]:
    """A gapped phrase's regular expression, compiled once per process when first needed (re's own
    cache holds 512 and the grammars have thousands)."""
    return re.compile(source)


def _find_gapped(p: Pattern, t: str, chars: frozenset[str], s: _Score, locale: Locale) -> bool:
    """`chars`: the characters of `t`; a gapped match holds every character of the phrase, so a
    phrase with one missing is not even compiled."""
    if not p.gapped or not chars.issuperset(p.text):
        return False
    found = False
    for m in _regex(p.gapped).finditer(t):
        if not locale.negated(t, m.start()):
            found = True
            s.hit(m.start(), m.end(), GAP_WEIGHT)
    return found


def _find(
    p: Pattern, t: str, hay: str, weight: float, s: _Score, w: Words, locale: Locale, key: str | None = None
) -> bool:
    """Mark every non-negated occurrence of the pattern (text or sound key) in the answer."""
    needle = key or p.text
    found = False
    start = hay.find(needle)
    while start >= 0:
        # A short phrase counts only as a word of the answer: one character as a whole word (行 is
        # not in 行人, 好 not in 好像), two never from the middle of a word (不是 is not in 是不是).
        # Keywords are chosen as cues inside longer words too (癌 of 胃癌, 有数 of 心里有数).
        whole_word = start + 1 if len(needle) == 1 else None
        if not p.keyword and len(needle) <= SHORT_WORD and not w.aligned(start, whole_word):
            start = hay.find(needle, start + 1)
            continue
        # ...but a two-character one not from the middle of a word, touching neither of its ends
        # (人工 in 工人工资: the tail of 工人 and the head of 工资)
        if p.keyword and len(needle) == SHORT_WORD and _buried(w, t, start, start + len(needle), locale):
            start = hay.find(needle, start + 1)
            continue
        # A short word heard only by its sound must share a character with the answer (房足 for
        # 房租): two unrelated characters across a word boundary (来份 ~ 奶粉) are a coincidence.
        # Nor is a sound-alike that is itself a different dictionary word (那家 is not 哪家, 那个 not 哪个).
        heard = t[start : start + len(needle)]
        # A sound-alike must also sit on the answer's word boundaries: 清楚|生意 holds 楚生 (~ 畜生), no word.
        shared = key is None or (
            (len(needle) > 2 or any(a == b for a, b in zip(p.text, heard)))
            and (heard == p.text or (not locale.is_word(heard) and w.aligned(start, start + len(needle))))
        )
        if shared and (p.text.startswith(locale.negators) or not locale.negated(t, start)):
            found = True
            s.hit(start, start + len(needle), weight, exact=key is None)
        start = hay.find(needle, start + 1)
    return found


def _slower_asks(intent: str, text: str) -> bool:
    """ "说慢点…分期是怎么样的？": slow down and explain, not an answer to take (only for `slower`).
    A question the caller answers themself (说慢点…哪天？那就下个月十号) asks nothing: only the last
    clause counts."""
    clauses = [c for c in _CLAUSE.split(text) if c.strip()]
    return intent == "slower" and bool(clauses) and bool(_ASKING.search(clauses[-1]))


def _buried(w: Words, t: str, start: int, end: int, locale: Locale) -> bool:
    """Neither end of t[start:end] lies on a word boundary of the answer, and each of its ends makes
    a dictionary word with the character beside it (工人|工资 around 人工; not 吃吃喝喝 around 吃喝)."""
    b = w.bounds
    return (
        start not in b
        and end not in b
        and locale.is_word(t[start - 1 : start + 1])
        and locale.is_word(t[end - 1 : end + 1])
    )


def _known(word: str, known: frozenset[str]) -> bool:
    """A grammar word, or a longer word built on one of 2+ characters (有事吗 on 有事)."""
    n = len(word)
    return word in known or any(word[i:j] in known for i in range(n) for j in range(i + 2, n + 1))


def _off_topic(s: _Score, t: str, w: Words, known: frozenset[str]) -> bool:
    """True when the answer has a content word that is neither part of the intent's hits nor a word
    of the menu's grammars.  Used when the only evidence is weak (在, 好, 是, 我在): 外面在下雨 and
    我好难啊 talk about something else and merely contain 在/好, while 是的，有事吗 and 对，是欠了你们的钱
    go on about the call (有事, 欠, 钱 are grammar words) and 在的 / 好的好的 explain all their words."""
    return any(
        c and not _known(t[b:e], known) and not all(i in s.covered for i in range(b, e))
        for (b, e), c in zip(w.spans, w.content)
    )


def _may_hit(key: str, syllables: frozenset[str], heard: frozenset[str]) -> bool:
    """False when `_fuzzy` cannot reach FUZZY_MIN_RATIO: an Indel ratio (plain or partial) of a key
    of m syllables is at most 200*c/(m+c) with c the syllables it shares with the answer, and
    c <= m - (distinct syllables of the key missing from the answer); 200*c/(m+c) >= 80 needs c >= 2m/3."""
    m = len(key)
    shared = m - len(syllables - heard)
    return 200.0 * shared / (m + shared) >= FUZZY_MIN_RATIO if shared > 0 else False


def _fuzzy(p: Pattern, t: str, k: str, s: _Score, locale: Locale) -> None:
    if len(p.key) > len(k):
        ratio, start, end = fuzz.ratio(p.key, k), 0, len(k)
    else:
        al = fuzz.partial_ratio_alignment(p.key, k)
        assert al is not None  # None only with a score_cutoff, and none is passed
        ratio, start, end = al.score, al.dest_start, al.dest_end
    if ratio < FUZZY_MIN_RATIO or locale.negated(t, start):
        return
    s.hit(start, end, (ratio / 100.0) ** 2 * SOUND_WEIGHT, exact=False)


def _drop_sound_alikes_of_emotion(scores: dict[str, _Score], emotional: set[int]) -> None:
    """An emotion word said in so many characters is not also a menu phrase that merely sounds
    like it: 有完没完 is annoyance, not ack's 没忘 (mei wan ~ mei wang)."""
    for s in scores.values():
        if s.covered and not s.exact and set(s.covered) <= emotional:
            s.score = 0.0


def _contains(norm: Normalized, word: Normalized) -> bool:
    # a negative word vetoes by its sound only from 3 syllables: 没借 must not veto 工钱还没结 (mei jie)
    return word.text in norm.text or (len(word.key) >= NEGATIVE_SOUND_MIN and word.key in norm.key)


def _best(scores: dict[str, _Score], exclude: frozenset[str] | set[str] = frozenset()) -> tuple[str | None, float]:
    # on a tie, words heard as said beat words matched only by their sound (晓得…没结 is not 没借)
    ranked = sorted(((s.score, bool(s.exact), n) for n, s in scores.items() if n not in exclude), reverse=True)
    return (ranked[0][2], ranked[0][0]) if ranked else (None, 0.0)


def _calibrated(scores: dict[str, _Score], winner: str, score: float) -> float:
    runner = max((s.score for n, s in scores.items() if n != winner), default=0.0)
    return score * 0.9 if runner >= ACCEPT and score - runner < CLOSE else score


class Understander:
    """Understands caller answers for every menu of a set of grammars (build once, reuse)."""

    def __init__(
        self, grammars: Grammars, model: bool = True, cache_dir: Path | None = None, locale: Locale = MANDARIN
    ):
        """`model`: ask the trained classifier of grammars/examples/ when the rules find nothing
        (trained at first start, then loaded from `cache_dir`, default the data dir's cache).
        `locale`: the callers' language (ivr/locale.py): normalisation, words, numbers, dates."""
        self.grammars = grammars
        self.locale = lo = locale
        self._synonyms = cached_synonyms(str(grammars.directory / "synonyms.yaml"), lo.clean)
        self._model: Classifier | None = (
            load_classifier(grammars, cache_dir or _default_cache_dir(), self._synonyms, lo) if model else None
        )
        self._global = _Index.build(
            grammars.global_intents.intents, self._synonyms, "global", GLOBAL_MIN_EMBEDDED, locale=lo
        )
        self._menus = {n: _Index.build(s.intents, self._synonyms, n, locale=lo) for n, s in grammars.menus.items()}
        self._known = {name: index.vocab | self._global.vocab for name, index in self._menus.items()}
        self._global_keys = grammars.global_intents.dtmf_map()
        lexicon = grammars.directory / "emotion.yaml"
        self._lexicon = load_lexicon(lexicon, lo) if lexicon.exists() else None  # None: the default one
        self._topics = _load_topics(grammars.directory / "question_topics.yaml", self._synonyms, lo)
        self._specialist = _load_specialist(grammars.directory / "question_topics.yaml", self._synonyms, lo)
        lexicon = grammars.directory / "distress.yaml"
        self._distress: DistressLexicon | None = (
            load_distress(lexicon, self._synonyms, lo) if lexicon.exists() else None
        )
        # the learned detector behind the lexicon (grammars/distress_examples.yaml), cached like the model
        self._distress_model: DistressModel | None = (
            load_distress_model(
                grammars.directory, cache_dir or _default_cache_dir(), self._synonyms, lo, self._distress
            )
            if model
            else None
        )

    # ------------------------------------------------------------------ speech / text

    def understand(self, menu: str, text: str, now: dt.datetime | None = None) -> Understanding:
        return self._understand(menu, text, now, learned_distress=True)

    def _understand(self, menu: str, text: str, now: dt.datetime | None, learned_distress: bool) -> Understanding:
        spec = self.grammars.menu(menu)  # GrammarError naming the valid menus
        now = now or dt.datetime.now()
        norm = self.locale.normalize(text, synonyms=self._synonyms)
        emotion, cues = lexical(text, self._lexicon, self.locale)
        base = Understanding(menu=menu, intent=None, emotion=emotion, cues=cues, text=norm.text)
        if not norm.text:
            return base
        # Signs of suicide risk (grammars/distress.yaml) pre-empt everything, at every menu; the
        # category that fired rides along as cue `distress:<category>` (the hand-off summary names it).
        # Cue `distress_by:lexicon|model` names which detector fired.
        hit = self._distress.detect(norm) if self._distress else None
        if hit is not None:
            cues = tuple(c for c in base.cues if c != "distress")
            cues += ("distress", f"distress:{hit.category}", "distress_by:lexicon")
            return replace(base, intent="distress", confidence=0.95, cues=cues, is_global=True)
        if learned_distress and self._distress_model is not None:  # it judges the answer without the lexicon's idioms
            guess = self._distress_model.detect(self._without_idioms(norm), self.locale)
            if guess is not None and self._explained_away(menu, text):
                guess = None  # the sign was only the sum of clauses that each say something else
            if guess is not None:
                cues = tuple(c for c in base.cues if c != "distress")
                cues += ("distress", f"distress:{guess.category}", "distress_by:model")
                return replace(base, intent="distress", confidence=round(guess.score, 3), cues=cues, is_global=True)
        # a death word used as an intensifier (想死你了, 笑死): the lexicon found no sign outside the
        # idiom, so the keyword checks below (global `distress`, emotion cue) do not count it either
        idiom = self._distress is not None and self._distress.idiom(norm)
        if idiom and "distress" in base.cues:
            base = replace(base, cues=tuple(c for c in base.cues if c != "distress"))

        known = self._known[menu]
        menu_scores = self._score(self._menus[menu], norm, known)
        global_scores = self._score(self._global, norm, known)
        if idiom:
            global_scores.pop("distress", None)
        if emotion:
            _drop_sound_alikes_of_emotion(menu_scores, emotion_spans(norm.text, self._lexicon))
        intent, confidence, slots = self._menu_decision(spec, norm, menu_scores, now)

        distress = global_scores.get("distress")
        if distress and distress.score >= DISTRESS_MIN and not distress.fuzzy_only:
            return replace(base, intent="distress", confidence=distress.score, is_global=True)
        # A global intent pre-empts the menu unless its words are part of the menu's answer
        # (什么 of 什么事 is ask_who at the opening, not a request to repeat).
        parts = CATEGORIES if intent == "expenses" else (intent,)
        menu_span = set().union(*(menu_scores[n].positions() for n in parts if n in menu_scores))
        # 没听清/不明白 next to a real answer (信号不好，回头打给你) yield to the answer when it is stronger.
        g_name, g_score = _best(
            {
                n: s
                for n, s in global_scores.items()
                if s.positions() - menu_span
                and not (n in YIELD_TO_ANSWER and intent and s.score <= confidence and not _slower_asks(n, text))
            }
        )
        complaint = global_scores.get("complaint")
        if g_name in ("human", "question") and complaint and complaint.score >= GLOBAL_MIN and not complaint.fuzzy_only:
            # 我要投诉，给我转人工 / 打了多少个了？家里人都接到了，我要投诉: a complaint that also asks
            # for a person or asks a question is the complaint (a person takes it), not the question
            g_name, g_score = "complaint", complaint.score
        if g_name and g_score >= GLOBAL_MIN:
            conf = _calibrated(global_scores, g_name, g_score)
            return self._as_global(base, g_name, conf, norm)
        g_name, g_score = _best(global_scores)
        if g_name and g_score >= ACCEPT and g_score > confidence:
            return self._as_global(base, g_name, g_score, norm)
        if intent is None or confidence < MODEL_BELOW:  # the trained model of the menu (ivr/classifier.py)
            intent, confidence, slots = self._model_guess(spec, norm, intent, confidence, slots)
        if intent is None:
            return replace(base, confidence=max(confidence, g_score))
        slower = global_scores.get("slower")
        if slower and slower.score >= ACCEPT and not slower.fuzzy_only:
            base = replace(base, cues=(*base.cues, "slower"))  # 你讲慢点…我一次还: answered, and slow down
        return replace(base, intent=intent, confidence=round(confidence, 3), slots=slots)

    def _explained_away(self, menu: str, text: str) -> bool:
        """A model-only sign (no lexicon hit) in an answer of several clauses needs corroboration from
        the clauses that do not clearly say something else: a clause the rules read as another intent
        (identity, a question, a request about our calls, a time...) and the model does not flag on
        its own is set aside, and the rest must still be a sign.  A single clause is never set aside,
        so a sign said as a bare question or a bare "it's me" stands (recall first)."""
        model = cast(DistressModel, self._distress_model)
        parts = [c for c in _CLAUSE.split(text) if c.strip()]
        if len(parts) < 2:
            return False
        rest: list[str] = []
        for part in parts:
            score = model.score(self._without_idioms(self.locale.normalize(part, synonyms=self._synonyms)), self.locale)
            if score is not None and score.score >= model.threshold:
                return False  # one clause is a sign by itself
            if (score is not None and score.score >= EXPLAINED_BELOW) or not self._other_intent(menu, part):
                rest.append(part)
        if len(rest) == len(parts):
            return False  # nothing set aside: the whole answer's score stands
        if not rest:
            return True
        rest_norm = self.locale.normalize("，".join(rest), synonyms=self._synonyms)
        return model.detect(self._without_idioms(rest_norm), self.locale) is None

    def _without_idioms(self, norm: Normalized) -> Normalized:
        """What the learned detector judges: the answer without the lexicon's idioms (累死了, 笑死)."""
        return self._distress.without_idioms(norm) if self._distress else norm

    def _other_intent(self, menu: str, clause: str) -> bool:
        """The rules read the clause, alone, as an intent other than distress (model not asked)."""
        u = self._understand(menu, clause, None, learned_distress=False)
        if u.intent in IDENTITY and "是" not in u.text:
            return False  # only an explicit "I am / it is" statement (你说我跳不跳 reads as confirm by 你说)
        if (u.intent in ASKED) != bool(_ASKING.search(clause)):
            # a question without a question form (连家里人都不告诉) is not clearly one, and a clause
            # that asks is no identity answer (怎么又醒了 sounds like 行了, yet it asks)
            return False
        return u.intent in EXPLAINED_BY and u.confidence >= EXPLAINED_MIN

    def _as_global(self, base: Understanding, intent: str, confidence: float, norm: Normalized) -> Understanding:
        return replace(
            base, intent=intent, confidence=confidence, is_global=True, slots=self._global_slots(intent, norm)
        )

    def _global_slots(self, intent: str, norm: Normalized) -> dict[str, Any]:
        """`question` carries its `topic` (grammars/question_topics.yaml)."""
        return {"topic": self.question_topic(norm.text)} if intent == "question" else {}

    def question_topic(self, text: str) -> str:
        """What a question is about: the first topic of question_topics.yaml whose keywords or cues
        match (on the normalised text), else `other`."""
        t = self.locale.normalize(text, synonyms=self._synonyms).text if text else ""
        for topic, matcher in self._topics:
            if _matches(t, matcher):
                return topic
        return "other"

    def needs_specialist(self, text: str) -> bool:
        """A question that carries the caller's own situation (question_topics.yaml `specialist`):
        the general answer is given and it is noted for a specialist too."""
        t = self.locale.normalize(text, synonyms=self._synonyms).text if text else ""
        return bool(t) and _matches(t, self._specialist)

    def _model_guess(
        self, spec: MenuSpec, norm: Normalized, intent: str | None, confidence: float, slots: dict[str, Any]
    ) -> tuple[str | None, float, dict[str, Any]]:
        """The rules found nothing (or only a weak guess): the menu's classifier may answer, with its
        calibrated probability, when that is at least the menu's held-out threshold.  Menus without
        example files (opening: identity is rules only; amounts, dates) are never asked."""
        guess = self._model.predict(spec.menu, norm, self.locale) if self._model else None
        if guess is None:
            return intent, confidence, slots
        label, p, ranked = guess
        if label == NONE_OF_THESE or p < cast(Classifier, self._model).threshold(spec.menu) or p <= confidence:
            return intent, confidence, slots
        if label in CATEGORIES:  # expenses: the best category, and any other nearly as likely
            return "expenses", p, {"categories": [c for c in CATEGORIES if dict(ranked).get(c, 0) >= MODEL_ALSO]}
        found = {
            "months": self.locale.parse_months(norm.text) if "months" in spec.slots else None,
            "amount": self.locale.parse_amount(norm.text) if "amount" in spec.slots else None,
        }
        return label, p, {k: v for k, v in found.items() if v}

    def _score(self, index: _Index, norm: Normalized, known: frozenset[str]) -> dict[str, _Score]:
        """Scores of the answer as said and with every number read as 几, so that a phrase like
        "分 几 期" or "宽限 几 天" in a grammar matches 分十二期 / 宽限三天 without listing numbers."""
        scores = index.score(norm, known)
        masked, origin = self.locale.mask_numerals(norm.text)
        if masked != norm.text:
            for name, s in index.score(Normalized(masked, self.locale.sound_key(masked)), known).items():
                if s.score > scores[name].score:
                    # positions back to the answer as said, so spans compare across intents
                    s.covered = {j: w for i, w in s.covered.items() for j in range(*origin[i])}
                    s.exact = {j for i in s.exact for j in range(*origin[i])}
                    scores[name] = s
        return scores

    def _menu_decision(
        self, spec: MenuSpec, norm: Normalized, scores: dict[str, _Score], now: dt.datetime
    ) -> tuple[str | None, float, dict[str, Any]]:
        """Best menu intent with its slots, before global intents are considered."""
        t = norm.text
        # Parsers run for the slots the menu declares (grammars/<menu>.yaml `slots`); a declared slot
        # that is also one of its intents (amount, date) is the answer itself: a parsed value selects it.
        answer = next((s for s in spec.slots if s in spec.intents), None)
        if "categories" in spec.slots:
            cats = [c for c in CATEGORIES if c in scores and scores[c].score >= ACCEPT]
            if cats:
                best = max(scores[c].score for c in cats)
                return "expenses", min(0.98, max(best, SLOT_CONFIDENCE) + 0.03 * (len(cats) - 1)), {"categories": cats}
            scores = {n: s for n, s in scores.items() if n not in CATEGORIES}
        if answer == "date":
            reading = self.locale.read_date(t, now)
            slots: dict[str, Any] = payment_slots(t, self.locale) if "amount" in spec.slots else {}
            if reading.date is not None:
                hint = {"date_hint": reading.hint} if reading.hint else {}
                return (
                    "date",
                    max(SLOT_CONFIDENCE, scores.get("date", _Score()).score),
                    {"date": reading.date.isoformat(), **hint, **slots},
                )
            if reading.hint in spec.intents:  # payday: the dialog asks which day that is
                return reading.hint, SLOT_CONFIDENCE, {"date_hint": reading.hint, **slots}
            if reading.hint == "soon" and "unknown" in spec.intents:  # 过几天: the dialog proposes a day
                return "unknown", SLOT_CONFIDENCE, {"date_hint": "soon", **slots}
            scores = {n: s for n, s in scores.items() if n not in ("date", "payday")}
            name, score = _best(scores)
            if name and score >= ACCEPT:
                return name, _calibrated(scores, name, score), slots
            return (
                ("unknown", SLOT_CONFIDENCE * 0.8, slots) if slots and "unknown" in spec.intents else (None, score, {})
            )
        if answer == "amount":
            # a monthly figure from a day/week/year rate or an average said (income_amount), else the amount
            amount = (self.locale.parse_income and self.locale.parse_income(t)) or self.locale.parse_amount(t)
            if amount is not None:
                return "amount", max(SLOT_CONFIDENCE, scores.get("amount", _Score()).score), {"amount": amount}
            scores = {n: s for n, s in scores.items() if n != "amount"}
        name, score = _best(scores)
        paying = payment_slots(t, self.locale) if "amount" in spec.slots else {}
        if (name is None or score < ACCEPT) and "share" in paying and {"full", "partial"} <= set(spec.intents):
            # 全还 / 都还了 → full, 三分之一 / 一半 → partial, when no phrase decided
            name, score = ("full" if paying["share"] >= 1 else "partial"), SLOT_CONFIDENCE
            scores = {**scores, name: _Score(score=score)}
        if PLAN_INTENTS <= set(spec.intents) and (chosen := decide_plan(t)) is not None:
            # 一次拿不出来，分五个月: the option kept, not the one turned down (ivr/plan_rule.py)
            name, score = chosen, max(score, PLAN_RULE)
            scores = {name: _Score(score=score)}
        if name is None or score < ACCEPT:
            return None, score, {}
        # the slots the menu declares, whatever the intent (宽限两个月 → months=2 with extension)
        found = {"months": self.locale.parse_months(t) if "months" in spec.slots else None, **paying}
        return name, _calibrated(scores, name, score), {k: v for k, v in found.items() if v}

    # ------------------------------------------------------------------ keys

    def understand_dtmf(self, menu: str, keys: str, now: dt.datetime | None = None) -> Understanding:
        """Keys pressed at `menu`: one key ("1", "0", "*") or digits ending in '#' ("3000#", "1201#")."""
        spec = self.grammars.menu(menu)
        keys = (keys or "").strip()
        base = Understanding(menu=menu, intent=None, text=keys)
        if not keys or any(k not in DTMF_KEYS for k in keys):
            return base
        if keys in self._global_keys:
            return replace(base, intent=self._global_keys[keys], confidence=1.0, is_global=True)
        key_map = spec.dtmf_map()
        if spec.dtmf_mode == "digits":
            digits = keys.rstrip("#")
            if not digits:
                return replace(base, intent=key_map.get("#"), confidence=1.0 if "#" in key_map else 0.0)
            if not digits.isdigit():
                return base
            if "date" in spec.slots:
                when = _mmdd(digits, now or dt.datetime.now())
                return replace(base, intent="date", confidence=1.0, slots={"date": when.isoformat()}) if when else base
            return replace(base, intent="amount", confidence=1.0, slots={"amount": int(digits)})
        if "categories" in spec.slots and keys != "#":
            cats = [key_map[k] for k in dict.fromkeys(keys.rstrip("#")) if key_map.get(k) in CATEGORIES]
            if cats and len(cats) == len(set(keys.rstrip("#"))):
                return replace(base, intent="expenses", confidence=1.0, slots={"categories": cats})
            return base
        key = keys if len(keys) == 1 else keys.rstrip("#")
        if key in key_map:
            return replace(base, intent=key_map[key], confidence=1.0)
        return base


Matcher = tuple[tuple[str, ...], tuple[re.Pattern[str], ...]]  # normalised keywords, compiled cues


def _load_topics(path: Path, synonyms: Synonyms, locale: Locale = MANDARIN) -> list[tuple[str, Matcher]]:
    """question_topics.yaml → [(topic, (normalised keywords, compiled cues))] in file order."""
    if not path.exists():
        return []
    from ivr.datafile import read_yaml

    raw = read_yaml(path, GrammarError)
    topics = raw.get("topics") if isinstance(raw, dict) else None
    if not isinstance(topics, dict):
        raise GrammarError(f"{path}: expected a mapping with a 'topics' mapping at top level")
    return [
        (str(topic), _words_and_cues(body, path, f"topics.{topic}", synonyms, locale)) for topic, body in topics.items()
    ]


def _words_and_cues(body: object, path: Path, field: str, synonyms: Synonyms, locale: Locale) -> Matcher:
    """A `{keywords, cues}` mapping of question_topics.yaml, normalised and compiled."""
    if not isinstance(body, dict) or set(body) - {"keywords", "cues"}:
        raise GrammarError(f"{path}: field {field}: expected a mapping with keywords and/or cues, got {body!r}")
    keywords = tuple(locale.normalize(str(k), False, synonyms).text for k in body.get("keywords") or [])
    cues = tuple(_compile_cue(str(c), synonyms, f"{path}: {field}", locale) for c in body.get("cues") or [])
    return tuple(k for k in keywords if k), cues


def _matches(text: str, matcher: Matcher) -> bool:
    keywords, cues = matcher
    return any(k in text for k in keywords) or any(rx.search(text) for rx in cues)


def _load_specialist(path: Path, synonyms: Synonyms, locale: Locale = MANDARIN) -> Matcher:
    """question_topics.yaml `specialist` → (normalised keywords, compiled cues); absent → nothing."""
    if not path.exists():
        return (), ()
    from ivr.datafile import read_yaml

    raw = read_yaml(path, GrammarError)
    body = raw.get("specialist") if isinstance(raw, dict) else None
    return ((), ()) if body is None else _words_and_cues(body, path, "specialist", synonyms, locale)


def payment_slots(text: str, locale: Locale = MANDARIN) -> dict[str, Any]:
    """What the caller will pay, from a cleaned answer: `amount` (yuan), or `amount_range` [low, high]
    when it was said loosely (一两千: the dialog asks which), or `share` of the debt (三分之一 → 0.3333,
    全部 → 1.0; the dialog turns it into yuan with the case amount).  A figure said wins over a share."""
    rng = locale.parse_amount_range(text)
    if rng is not None:
        return {"amount_range": list(rng)}
    amount = locale.parse_amount(locale.without_shares(text))
    if amount:
        return {"amount": amount}
    share = locale.parse_share(text)
    return {"share": round(float(share), 4)} if share is not None else {}


def _mmdd(digits: str, now: dt.datetime) -> dt.date | None:
    """MMDD (or MDD) keyed in → the nearest such date, as when said (ivr/dates.py)."""
    if len(digits) not in (3, 4):
        return None
    month, day = int(digits[:-2]), int(digits[-2:])
    if not 1 <= month <= 12:
        return None
    return nearest_month_day(now.date(), month, day)


def _default_cache_dir() -> Path | None:
    from ivr.settings import load_settings

    try:
        return load_settings().model_cache_dir
    except Exception:  # settings that do not load are reported elsewhere; train without a cache
        return None


@lru_cache(maxsize=1)
def default_understander() -> Understander:
    from ivr.settings import default_settings

    return Understander(cached_grammars(str(default_settings().grammars_dir)))


def understand(menu: str, text: str, now: dt.datetime | None = None) -> Understanding:
    return default_understander().understand(menu, text, now)


__all__ = ["Understander", "default_understander", "understand", "GrammarError", "CATEGORIES"]
