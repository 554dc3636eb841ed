"""A learned distress detector behind the lexicon of ivr/distress.py: signs nobody wrote a pattern for.

The lexicon (grammars/distress.yaml) is precise but only knows the compositions someone listed; a
caller in despair says it in words nobody foresaw.  This model learns the signs from example
sentences per screening category (`grammars/distress_examples.yaml`, data, written in our own
words) against hard negatives (ordinary hardship, tiredness, anger, idioms with 死/命/活/跳/药, sad
news told while coping) plus every answer of `grammars/examples/*.yaml` (the menus' own answers and
chatter), and is asked on every answer the lexicon did not flag.

Features: TF-IDF over character 1–4-grams of the normalised answer (numbers read as 几) plus 1–2-grams
of its sound key (ivr/classifier.py does the same with 1–3-grams), so ASR homophones share features.
Model: one-vs-rest logistic regression over the categories and `none`, Platt-calibrated over 3
stratified folds (the `MenuModel` of ivr/classifier.py, with its fast prediction path).  The
distress *score* is 1 − P(none); the category reported is the most probable one that is not none.

Threshold.  Chosen on out-of-fold scores of our own examples (4 seeded stratified folds: every
example scored by a model that did not see it).  A recall-only rule (97 % of held-out signs caught
by lexicon OR model) gave ~0.3 and handed 226 of 500 ordinary role-play calls to a human, so the
threshold is the lowest one at which at most ORDINARY_FALSE_ALARMS of held-out ordinary answers
(menu examples, grammar phrases) fire; recall, hard-negative and ordinary false alarms at it are in
`report` (bench/bench_distress.py prints them).  Everything is seeded (deterministic), and the model
is cached like the menu classifier: pickled under `<cache>/distress_model/<key>.pkl`, key = hash of
every grammar and example file, FEATURE_VERSION, the locale and the library versions.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass, field
from importlib.metadata import version
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pypinyin
from pydantic import BaseModel, ConfigDict, Field, field_validator

from ivr.classifier import CHATTER, Tfidf, _matrix, cached, example_files, load_chatter, load_examples, tfidf_row
from ivr.datafile import read_mapping, validate
from ivr.distress import DistressLexicon
from ivr.grammar import GrammarError, load_grammars
from ivr.locale import MANDARIN, Locale
from ivr.textnorm import Normalized, Synonyms

if TYPE_CHECKING:  # imported where the model is trained: loading the cached one needs none of them
    from sklearn.feature_extraction.text import TfidfVectorizer

EXAMPLES_FILE = "distress_examples.yaml"  # under the grammars directory
NONE = "none"
DISTRESS_INTENTS = {"distress"}  # global intents whose phrases are signs, not negatives
FEATURE_VERSION = "2"  # bump when features, training or the cached form change: invalidates cached models
MIN_EXAMPLES = 20  # per category
HELDOUT_FOLDS = 4
CALIBRATION_FOLDS = 3
# A false alarm hands an ordinary caller to a human mid-call: with the recall-only rule (97 % of
# held-out signs caught, threshold ~0.3) 226 of 500 role-play calls were lost to false alarms.  So
# the threshold keeps the held-out false alarms on ordinary answers at or below this share:
ORDINARY_FALSE_ALARMS = 0.005
MAX_THRESHOLD = 0.95
MIN_THRESHOLD = 0.3
MIN_CHARS = 3  # shorter answers (累, 好累) are the lexicon's alone
SEED = 0
C_REG = 30.0  # inverse regularisation (chosen on held-out folds of our own examples)
NGRAMS = (1, 4)
MIN_DF = 1  # n-grams seen once still count (a rare word of despair is the point)


class DistressExamples(BaseModel):
    """grammars/distress_examples.yaml: `categories: {category: [sentence, ...]}`, `none: [...]`."""

    model_config = ConfigDict(extra="forbid")

    categories: dict[str, list[str]]
    none: list[str]
    # pinned threshold: the held-out quantile alone moved 0.76-0.81 with any edit of any example file
    # (each move lost or won a handful of role-play calls); pinned, an edit moves scores, not the line
    threshold: float | None = Field(default=None, ge=MIN_THRESHOLD, le=MAX_THRESHOLD)

    @field_validator("categories")
    @classmethod
    def _categories(cls, v: dict[str, list[str]]) -> dict[str, list[str]]:
        if not v:
            raise ValueError("expected at least one category")
        for name, examples in v.items():
            if name == NONE:
                raise ValueError(f"{name}: reserved for the negatives (top-level `none`)")
            if not isinstance(examples, list) or any(not isinstance(e, str) or not e.strip() for e in examples):
                raise ValueError(f"{name}: expected a list of non-empty sentences")
            if len(set(examples)) < MIN_EXAMPLES:
                raise ValueError(
                    f"{name}: expected at least {MIN_EXAMPLES} different sentences, got {len(set(examples))}"
                )
        return v

    @field_validator("none")
    @classmethod
    def _none(cls, v: list[str]) -> list[str]:
        if any(not isinstance(e, str) or not e.strip() for e in v):
            raise ValueError("expected a list of non-empty sentences")
        if len(set(v)) < MIN_EXAMPLES:
            raise ValueError(f"expected at least {MIN_EXAMPLES} different sentences, got {len(set(v))}")
        return v


def load_distress_examples(path: Path, categories: Sequence[str] = ()) -> DistressExamples:
    """Read and validate the file; `categories`: the lexicon's (each example category must be one)."""
    ex = validate(DistressExamples, read_mapping(path, GrammarError, "distress examples"), str(path), GrammarError)
    for name in ex.categories:
        if categories and name not in categories:
            raise GrammarError(
                f"{path}: field categories.{name}: not a category of distress.yaml; expected one of: {', '.join(categories)}"
            )
    return ex


@dataclass(frozen=True)
class DistressGuess:
    category: str  # the most likely screening category
    score: float  # calibrated probability that the answer is a sign


@dataclass
class DistressModel:
    """Vectorisers, the calibrated sign/no-sign model (as plain arrays) and the category model."""

    text_vec: TfidfVectorizer | Tfidf  # a Tfidf once loaded from the cache (no sklearn import)
    key_vec: TfidfVectorizer | Tfidf
    # one (weights, bias, Platt a, Platt b) per calibration fold: P = mean of 1 / (1 + exp(a·d + b))
    folds: list[tuple[np.ndarray, float, float, float]]
    categories: list[str]
    cat_weights: np.ndarray  # features × categories (float32): which category a sign is
    cat_bias: np.ndarray
    threshold: float
    key: str = ""
    trained: bool = False  # trained in this process (False: loaded from the cache)
    report: dict[str, float] = field(default_factory=dict)

    def __getstate__(self) -> dict[str, Any]:
        """The cached form: plain arrays and vocabularies, no scikit-learn object."""
        return {**self.__dict__, "text_vec": Tfidf.of(self.text_vec), "key_vec": Tfidf.of(self.key_vec)}

    def _row(self, row: tuple[str, str]) -> tuple[np.ndarray, np.ndarray]:
        return tfidf_row(((self.text_vec, row[0]), (self.key_vec, row[1])))

    def proba(self, row: tuple[str, str]) -> float:
        cols, vals = self._row(row)
        ps = [1.0 / (1.0 + np.exp(a * (float(vals @ w[cols]) + b0) + b)) for w, b0, a, b in self.folds]
        return float(np.mean(ps))

    def category(self, row: tuple[str, str]) -> str:
        cols, vals = self._row(row)
        d = vals @ self.cat_weights[cols] + self.cat_bias
        return self.categories[int(np.argmax(d))]

    def score(self, norm: Normalized, locale: Locale = MANDARIN) -> DistressGuess | None:
        """The calibrated sign probability and the likeliest category; None for answers too short to judge."""
        if len(norm.text) < MIN_CHARS:
            return None
        row = locale.features(norm)
        return DistressGuess(self.category(row), self.proba(row))

    def detect(self, norm: Normalized, locale: Locale = MANDARIN) -> DistressGuess | None:
        guess = self.score(norm, locale)
        return guess if guess is not None and guess.score >= self.threshold else None


def _vectorisers() -> tuple[TfidfVectorizer, TfidfVectorizer]:
    from sklearn.feature_extraction.text import TfidfVectorizer

    text = TfidfVectorizer(analyzer="char_wb", ngram_range=NGRAMS, sublinear_tf=True, min_df=MIN_DF, dtype=np.float64)
    key = TfidfVectorizer(
        analyzer="word", token_pattern=r"\S+", ngram_range=(1, 2), sublinear_tf=True, min_df=MIN_DF, dtype=np.float64
    )
    return text, key


def _fit(rows: Sequence[tuple[str, str]], labels: Sequence[str], threshold: float) -> DistressModel:
    """Deterministic: seeded folds and solvers, BLAS on one thread."""
    from sklearn.calibration import CalibratedClassifierCV
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import StratifiedKFold
    from sklearn.multiclass import OneVsRestClassifier
    from threadpoolctl import threadpool_limits

    text_vec, key_vec = _vectorisers()
    text_vec.fit([r[0] for r in rows])
    key_vec.fit([r[1] for r in rows])
    x = _matrix(text_vec, key_vec, rows)
    y = np.array([lab != NONE for lab in labels])
    folds = StratifiedKFold(n_splits=CALIBRATION_FOLDS, shuffle=True, random_state=SEED)
    clf = CalibratedClassifierCV(
        LogisticRegression(C=C_REG, solver="liblinear", random_state=SEED), method="sigmoid", cv=folds
    )
    signs = [i for i, lab in enumerate(labels) if lab != NONE]
    cats = OneVsRestClassifier(LogisticRegression(C=C_REG, solver="liblinear", random_state=SEED))
    with threadpool_limits(1):  # BLAS threads fighting over 2 busy cores (ivr/classifier.py)
        clf.fit(x, y)
        cats.fit(x[signs], np.array([labels[i] for i in signs]))
    parts = []
    for cc in clf.calibrated_classifiers_:
        (cal,) = cc.calibrators
        parts.append(
            (
                np.ascontiguousarray(cc.estimator.coef_[0]),
                float(cc.estimator.intercept_[0]),
                float(cal.a_),
                float(cal.b_),
            )
        )
    return DistressModel(
        text_vec,
        key_vec,
        parts,
        [str(c) for c in cats.classes_],
        np.ascontiguousarray(np.vstack([e.coef_[0] for e in cats.estimators_]).T.astype(np.float32)),
        np.array([e.intercept_[0] for e in cats.estimators_], dtype=np.float32),
        threshold,
    )


def heldout_scores(rows: Sequence[tuple[str, str]], labels: Sequence[str]) -> np.ndarray:
    """The sign probability of every example by a model trained without it (seeded folds)."""
    from sklearn.model_selection import StratifiedKFold

    out = np.zeros(len(rows))
    folds = StratifiedKFold(n_splits=HELDOUT_FOLDS, shuffle=True, random_state=SEED)
    for train_idx, test_idx in folds.split(rows, labels):
        probe = _fit([rows[i] for i in train_idx], [labels[i] for i in train_idx], MAX_THRESHOLD)
        out[test_idx] = [probe.proba(rows[i]) for i in test_idx]
    return out


def choose_threshold(
    scores: np.ndarray, positive: np.ndarray, caught: np.ndarray, hard: np.ndarray
) -> tuple[float, dict[str, float]]:
    """The lowest threshold at which at most ORDINARY_FALSE_ALARMS of the held-out *ordinary* answers
    (the menus' examples and grammar phrases: what most callers say) score at or above it, and the
    numbers: recall of lexicon OR model over the held-out signs (`caught`: the lexicon's hits), false
    alarms on the hard negatives of distress_examples.yaml and on ordinary answers."""
    ordinary = ~positive & ~hard
    t = float(np.quantile(scores[ordinary], 1.0 - ORDINARY_FALSE_ALARMS)) if ordinary.any() else MAX_THRESHOLD
    t = float(np.clip(np.ceil(t * 100) / 100, MIN_THRESHOLD, MAX_THRESHOLD))
    flagged = (scores >= t) | caught
    report = {
        "threshold": t,
        "signs": float(positive.sum()),
        "recall_lexicon": float(caught[positive].mean()),
        "recall_model_on_lexicon_misses": float((scores[positive & ~caught] >= t).mean()),
        "recall": float(flagged[positive].mean()),
        "false_alarms_hard": float(flagged[hard].mean()) if hard.any() else 0.0,
        "false_alarms_ordinary": float(flagged[ordinary].mean()) if ordinary.any() else 0.0,
    }
    return t, report


def training_rows(
    grammars_dir: Path, synonyms: Synonyms | None, locale: Locale, lexicon: DistressLexicon | None = None
) -> tuple[list[tuple[str, str]], list[str], list[bool], list[Normalized]]:
    """(features, label, is a hard negative of distress_examples.yaml, normalised answer) of every
    example, deduplicated on the features and sorted (training depends on the contents only).
    Features are taken without the lexicon's idioms, as at run time (`DistressLexicon.without_idioms`)."""
    categories = tuple(lexicon.labels) if lexicon is not None else ()
    ex = load_distress_examples(Path(grammars_dir) / EXAMPLES_FILE, categories)
    labelled: dict[tuple[str, str], tuple[str, bool, Normalized]] = {}

    def add(text: str, label: str, hard: bool) -> None:
        norm = locale.normalize(text, synonyms=synonyms)
        f = locale.features(lexicon.without_idioms(norm) if lexicon is not None else norm)
        if f[0] and (label != NONE or f not in labelled):  # a sign wins over a negative of the same words
            labelled[f] = (label, hard, norm)

    grammars = load_grammars(Path(grammars_dir))
    for spec in [*grammars.menus.values(), grammars.global_intents]:  # every answer a grammar lists
        for name, intent in spec.intents.items():
            if name not in DISTRESS_INTENTS:
                for s in [*intent.phrases, *intent.keywords]:
                    add(s, NONE, False)
    for path in example_files(Path(grammars_dir)):
        sentences = (
            load_chatter(path)
            if path.stem == CHATTER
            else [s for ss in load_examples(path).intents.values() for s in ss]
        )
        for s in sentences:
            add(s, NONE, False)
    for s in ex.none:
        add(s, NONE, True)
    for cat, ss in ex.categories.items():
        for s in ss:
            add(s, cat, False)
    keys = sorted(labelled)
    return keys, [labelled[k][0] for k in keys], [labelled[k][1] for k in keys], [labelled[k][2] for k in keys]


def train(
    grammars_dir: Path,
    synonyms: Synonyms | None = None,
    locale: Locale = MANDARIN,
    lexicon: DistressLexicon | None = None,
) -> DistressModel:
    """Threshold from out-of-fold scores (with the lexicon's hits counted as caught), then the final
    model on every example."""
    rows, labels, hard, norms = training_rows(grammars_dir, synonyms, locale, lexicon)
    scores = heldout_scores(rows, labels)
    positive = np.array([lab != NONE for lab in labels])
    caught = np.array([lexicon is not None and lexicon.detect(n) is not None for n in norms])
    threshold, report = choose_threshold(scores, positive, caught, np.array(hard))
    pinned = load_distress_examples(Path(grammars_dir) / EXAMPLES_FILE).threshold
    if pinned is not None:
        report = {**report, "threshold_heldout": threshold, "threshold": pinned}
        threshold = pinned
    model = _fit(rows, labels, threshold)
    model.key = cache_key(grammars_dir, locale)
    model.trained = True
    model.report = {**report, "examples": float(len(rows))}
    return model


def cache_key(grammars_dir: Path, locale: Locale = MANDARIN) -> str:
    h = hashlib.sha256()
    for part in (FEATURE_VERSION, locale.name, version("scikit-learn"), np.__version__, pypinyin.__version__):
        h.update(part.encode() + b"\0")
    # the grammars' phrases are negatives too, so every grammar file is part of the key
    for path in [*sorted(Path(grammars_dir).glob("*.yaml")), *example_files(Path(grammars_dir))]:
        h.update(path.name.encode() + b"\0" + path.read_bytes() + b"\0")
    return h.hexdigest()[:24]


_LOADED: dict[tuple[str, str], DistressModel] = {}


def load_distress_model(
    grammars_dir: Path,
    cache_dir: Path | None,
    synonyms: Synonyms | None = None,
    locale: Locale = MANDARIN,
    lexicon: DistressLexicon | None = None,
) -> DistressModel | None:
    """The model for these grammars: from this process, else the disk cache, else trained now (and
    cached).  None when the grammars have no distress_examples.yaml."""
    if not (Path(grammars_dir) / EXAMPLES_FILE).exists():
        return None
    key = cache_key(grammars_dir, locale)
    memo = (str(grammars_dir), key)
    if memo in _LOADED:
        return _LOADED[memo]
    path = Path(cache_dir) / "distress_model" / f"{key}.pkl" if cache_dir else None
    model = cached(path, key, DistressModel, lambda: train(grammars_dir, synonyms, locale, lexicon))
    _LOADED[memo] = model
    return model


__all__ = ["DistressGuess", "DistressModel", "load_distress_examples", "load_distress_model", "train"]
