"""A trained intent model per menu, behind the rules of ivr/understanding.py.

The grammar rules are precise but only know the words someone listed; callers say the same thing
in endless other words (没出什么事，就是钱不凑手 / 开烧烤店的 / 等工资下来一把就还了).  This module learns
each menu's intents from example answers (`grammars/examples/<menu>.yaml`, data) and is asked only
when the rules found nothing (or only a weak guess).

Features (the locale's `features`, ivr/locale.py; for Mandarin): TF-IDF over character 1–3-grams
of the normalised answer (ivr/textnorm.py: simplified,
regional words mapped, fillers dropped, numbers read as 几) plus 1–2-grams of its sound key (one
toneless, accent-folded pinyin syllable per character, so ASR homophones share features).  Model:
logistic regression (one-vs-rest, liblinear), its probabilities calibrated by Platt scaling over 3 stratified
folds (CalibratedClassifierCV, sigmoid).  Every menu has an explicit `none_of_these` class
(chatter, backchannels, other menus' answers): a prediction of it, or any probability below the
menu's threshold, is "the model does not know".

The threshold of each menu is chosen on held-out examples (out-of-fold predictions over 4 seeded
stratified folds: every example is predicted once by a model that did not see it): the lowest probability at which the accepted answers are at least TARGET_PRECISION right (never below
MIN_THRESHOLD); the final model is then trained on every example.  Everything is seeded: two
trainings on the same files give the same model.  The trained models are pickled under the cache
directory keyed by a hash of the example files, synonyms.yaml, FEATURE_VERSION, the locale and the library
versions, so only the first start trains (~1–3 s); later starts load the pickle.  The pickle holds
plain dicts and arrays (`Tfidf`, the weights of `MenuModel.compile`), no scikit-learn objects: a
process that loads it never imports scikit-learn (~2 s of CPU at every start of `ivr`).
"""

from __future__ import annotations

import hashlib
import os
import pickle
import re
import tempfile
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from importlib.metadata import version
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import numpy as np
import pypinyin
from pydantic import BaseModel, ConfigDict, field_validator

from ivr.datafile import read_mapping, validate
from ivr.grammar import GrammarError, Grammars
from ivr.locale import MANDARIN, Locale
from ivr.textnorm import Normalized, Synonyms

if TYPE_CHECKING:  # imported where a model is trained: loading a cached one needs none of them
    import scipy.sparse as sp
    from sklearn.calibration import CalibratedClassifierCV
    from sklearn.feature_extraction.text import TfidfVectorizer

NONE = "none_of_these"  # the explicit "none of the menu's intents" class
EXAMPLES_DIR = "examples"  # under the grammars directory
CHATTER = "chatter"  # examples/chatter.yaml: off-topic speech added to every menu's none_of_these
FEATURE_VERSION = "4"  # bump when features, training or the cached form change: invalidates cached models
MIN_EXAMPLES = 5  # per intent (and for none_of_these)
HELDOUT_FOLDS = 4  # thresholds are chosen on out-of-fold predictions of every example
CALIBRATION_FOLDS = 3
TARGET_PRECISION = 0.90  # of accepted held-out answers, when choosing a menu's threshold
MIN_THRESHOLD = 0.5  # never accept a guess below this probability
MIN_CHARS = 3  # shorter answers (在在, 行, 对头) are the rules' alone: too few n-grams to judge
SEED = 0
C_REG = 10.0  # inverse regularisation of the logistic regression (few examples, many n-grams)


class ExampleFile(BaseModel):
    """grammars/examples/<menu>.yaml: `menu`, then `intents: {intent: [answer, ...]}`."""

    model_config = ConfigDict(extra="forbid")

    menu: str
    intents: dict[str, list[str]]

    @field_validator("intents")
    @classmethod
    def _non_empty(cls, v: dict[str, list[str]]) -> dict[str, list[str]]:
        for name, examples in v.items():
            if not isinstance(examples, list) or any(not isinstance(e, str) or not e.strip() for e in examples):
                raise ValueError(f"{name}: expected a list of non-empty sentences")
        return v


def load_examples(path: Path, grammars: Grammars | None = None) -> ExampleFile:
    """Read and validate one example file; errors are one line naming the file and the field."""
    raw = read_mapping(path, GrammarError, "examples")
    raw.setdefault("menu", path.stem)
    ex = validate(ExampleFile, raw, str(path), GrammarError)
    if ex.menu != path.stem:
        raise GrammarError(f"{path}: field menu: expected {path.stem!r} (the file name), got {ex.menu!r}")
    if grammars is not None:
        intents = grammars.menu(ex.menu).intents  # GrammarError for an unknown menu
        for name in ex.intents:
            if name != NONE and name not in intents:
                raise GrammarError(
                    f"{path}: field intents.{name}: not an intent of menu {ex.menu!r}; "
                    f"expected one of: {', '.join([*intents, NONE])}"
                )
    if NONE not in ex.intents:
        raise GrammarError(f"{path}: field intents.{NONE}: missing (off-topic answers the model must refuse)")
    for name, examples in ex.intents.items():
        if len(set(examples)) < MIN_EXAMPLES:
            raise GrammarError(
                f"{path}: field intents.{name}: expected at least {MIN_EXAMPLES} different examples, got {len(set(examples))}"
            )
    return ex


class ChatterFile(BaseModel):
    """grammars/examples/chatter.yaml: `examples: [sentence, ...]` that answer no menu."""

    model_config = ConfigDict(extra="forbid")

    examples: list[str]

    @field_validator("examples")
    @classmethod
    def _non_empty(cls, v: list[str]) -> list[str]:
        if any(not isinstance(e, str) or not e.strip() for e in v):
            raise ValueError("expected a list of non-empty sentences")
        return v


def load_chatter(path: Path) -> list[str]:
    return validate(ChatterFile, read_mapping(path, GrammarError, "examples"), str(path), GrammarError).examples


def features_text(text: str, synonyms: Synonyms | None = None, locale: Locale = MANDARIN) -> tuple[str, str]:
    """(normalised text with numbers read as 几, its spelled sound key): what the vectorisers see
    (the locale's `features`, ivr/locale.py)."""
    return locale.features(locale.normalize(text, synonyms=synonyms))


@dataclass
class MenuModel:
    """One menu's vectorisers + calibrated classifier + acceptance threshold."""

    menu: str
    text_vec: TfidfVectorizer | Tfidf
    key_vec: TfidfVectorizer | Tfidf
    clf: CalibratedClassifierCV | None  # None once loaded from the cache (the fast path only)
    threshold: float
    report: dict[str, float] = field(default_factory=dict)  # held-out numbers (see evaluate)
    _labels: list[str] = field(default_factory=list)

    @property
    def labels(self) -> list[str]:
        return self._labels if self.clf is None else [str(c) for c in self.clf.classes_]

    _fast: list[tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]] = field(default_factory=list)

    def __getstate__(self) -> dict[str, Any]:
        """The cached form: the fast path's arrays and the vocabularies, no scikit-learn object."""
        if not self._fast:
            self.compile()
        return {
            **self.__dict__,
            "text_vec": Tfidf.of(self.text_vec),
            "key_vec": Tfidf.of(self.key_vec),
            "clf": None,
            "_labels": self.labels,
        }

    def proba(self, rows: Sequence[tuple[str, str]]) -> np.ndarray:
        if self.clf is None:
            raise RuntimeError(f"menu {self.menu}: a model loaded from the cache has only the fast path (fast_proba)")
        return self.clf.predict_proba(_matrix(self.text_vec, self.key_vec, rows))

    def compile(self) -> None:
        """Pull the weights and Platt parameters out of the fitted ensemble: the same numbers as
        `clf.predict_proba` (tests/brain/test_classifier.py) without sklearn's per-call checks of
        its 3 × (one estimator per class) parts — ~0.1 ms instead of several ms per answer."""
        if self.clf is None:
            return  # loaded from the cache: compiled before it was written
        self._fast = []
        for cc in self.clf.calibrated_classifiers_:
            ovr = cc.estimator
            weights = np.vstack([e.coef_[0] for e in ovr.estimators_]).T  # features × classes
            bias = np.array([e.intercept_[0] for e in ovr.estimators_])
            a = np.array([c.a_ for c in cc.calibrators], dtype=np.float64)
            b = np.array([c.b_ for c in cc.calibrators], dtype=np.float64)
            order = np.searchsorted(self.clf.classes_, ovr.classes_)
            self._fast.append((np.ascontiguousarray(weights), bias, a, b, order))

    def _features(self, row: tuple[str, str]) -> tuple[np.ndarray, np.ndarray]:
        return tfidf_row(((self.text_vec, row[0]), (self.key_vec, row[1])))

    def fast_proba(self, row: tuple[str, str]) -> np.ndarray:
        cols, vals = self._features(row)
        out = np.zeros(len(self.labels))
        for weights, bias, a, b, order in self._fast:
            d = vals @ weights[cols] + bias
            p = np.zeros_like(out)
            p[order] = 1.0 / (1.0 + np.exp(a * d + b))
            total = p.sum()
            out += p / total if total > 0 else np.full_like(p, 1.0 / len(p))
        return out / len(self._fast)

    def predict(self, norm: Normalized, locale: Locale = MANDARIN) -> list[tuple[str, float]]:
        """Every label with its calibrated probability, best first."""
        row = locale.features(norm)
        p = self.fast_proba(row) if self._fast else self.proba([row])[0]
        return sorted(((lab, float(x)) for lab, x in zip(self.labels, p)), key=lambda t: -t[1])


def _vectorisers() -> tuple[TfidfVectorizer, TfidfVectorizer]:
    from sklearn.feature_extraction.text import TfidfVectorizer

    # char_wb pads the answer with a space: its first and last characters are features of their own
    text = TfidfVectorizer(analyzer="char_wb", ngram_range=(1, 3), sublinear_tf=True, min_df=1, dtype=np.float64)
    # syllables as words: "huan qing" → huan, qing, "huan qing"
    key = TfidfVectorizer(
        analyzer="word", token_pattern=r"\S+", ngram_range=(1, 2), sublinear_tf=True, min_df=1, dtype=np.float64
    )
    return text, key


def _matrix(
    text_vec: TfidfVectorizer | Tfidf, key_vec: TfidfVectorizer | Tfidf, rows: Sequence[tuple[str, str]]
) -> sp.csr_matrix:
    import scipy.sparse as sp

    if isinstance(text_vec, Tfidf) or isinstance(key_vec, Tfidf):
        raise RuntimeError("a model loaded from the cache has only the fast path (tfidf_row)")
    return sp.hstack([text_vec.transform([r[0] for r in rows]), key_vec.transform([r[1] for r in rows])]).tocsr()


def _fit(menu: str, rows: Sequence[tuple[str, str]], labels: Sequence[str], threshold: float) -> MenuModel:
    from sklearn.calibration import CalibratedClassifierCV
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import StratifiedKFold
    from sklearn.multiclass import OneVsRestClassifier
    from threadpoolctl import threadpool_limits

    text_vec, key_vec = _vectorisers()
    text_vec.fit([r[0] for r in rows])
    key_vec.fit([r[1] for r in rows])
    x = _matrix(text_vec, key_vec, rows)
    # one-vs-rest liblinear: ~0.1 s a fit where multinomial lbfgs takes 0.5 s (2 loaded cores)
    base = OneVsRestClassifier(LogisticRegression(C=C_REG, solver="liblinear", random_state=SEED))
    folds = StratifiedKFold(
        n_splits=min(CALIBRATION_FOLDS, min(labels.count(lab) for lab in set(labels))), shuffle=True, random_state=SEED
    )
    clf = CalibratedClassifierCV(base, method="sigmoid", cv=folds)
    with threadpool_limits(1):  # BLAS threads fighting over 2 busy cores made training 50x slower
        clf.fit(x, np.array(labels))
    return MenuModel(menu, text_vec, key_vec, clf, threshold)


def choose_threshold(probs: Iterable[tuple[str, float, str]]) -> tuple[float, dict[str, float]]:
    """(predicted label, its probability, true label) of held-out rows → the lowest threshold whose
    accepted answers (a real intent at or above it) are TARGET_PRECISION right, and the numbers."""
    rows = list(probs)
    best = 1.0
    for t in np.round(np.arange(MIN_THRESHOLD, 1.0, 0.025), 3):
        acc = [(p, y) for p, prob, y in rows if p != NONE and prob >= t]
        if acc and sum(p == y for p, y in acc) / len(acc) >= TARGET_PRECISION:
            best = float(t)
            break
    accepted = [(p, y) for p, prob, y in rows if p != NONE and prob >= best]
    real = [y for _, _, y in rows if y != NONE]
    report = {
        "heldout": float(len(rows)),
        "accuracy": sum(p == y for p, _, y in rows) / max(1, len(rows)),
        "threshold": best,
        "precision": sum(p == y for p, y in accepted) / max(1, len(accepted)),
        # share of the held-out real answers accepted with the right intent
        "recall": sum(p == y for p, y in accepted) / max(1, len(real)),
        "none_refused": sum(1 for p, prob, y in rows if y == NONE and (p == NONE or prob < best))
        / max(1, sum(1 for *_, y in rows if y == NONE)),
    }
    return best, report


def heldout_predictions(
    menu: str, rows: Sequence[tuple[str, str]], labels: Sequence[str]
) -> list[tuple[str, float, str]]:
    """(predicted label, its probability, true label) of every example, each predicted by a model
    trained without it (HELDOUT_FOLDS stratified folds, seeded)."""
    from sklearn.model_selection import StratifiedKFold

    out: list[tuple[str, float, str]] = []
    folds = StratifiedKFold(n_splits=HELDOUT_FOLDS, shuffle=True, random_state=SEED)
    for train_idx, test_idx in folds.split(rows, labels):
        probe = _fit(menu, [rows[i] for i in train_idx], [labels[i] for i in train_idx], MIN_THRESHOLD)
        p = probe.proba([rows[i] for i in test_idx])
        out.extend(
            (probe.labels[j], float(p[k, j]), labels[i]) for k, (i, j) in enumerate(zip(test_idx, p.argmax(axis=1)))
        )
    return out


def train_menu(
    ex: ExampleFile, synonyms: Synonyms | None = None, chatter: Sequence[str] = (), locale: Locale = MANDARIN
) -> MenuModel:
    """Threshold from out-of-fold predictions, then the final model on every example (deterministic).
    `chatter`: more none_of_these examples (examples/chatter.yaml)."""
    intents = {**ex.intents, NONE: [*ex.intents[NONE], *chatter]}
    pairs = sorted({(features_text(s, synonyms, locale), lab) for lab, ss in intents.items() for s in ss})
    pairs = [(f, lab) for f, lab in pairs if f[0]]
    rows = [f for f, _ in pairs]
    labels = [lab for _, lab in pairs]
    preds = heldout_predictions(ex.menu, rows, labels)
    threshold, report = choose_threshold(preds)
    model = _fit(ex.menu, rows, labels, threshold)
    model.compile()
    model.report = {**report, "examples": float(len(rows))}
    return model


@dataclass
class Classifier:
    """The trained models of every menu that has an example file."""

    models: dict[str, MenuModel]
    key: str = ""  # the cache key they were trained under
    trained: bool = False  # trained in this process (False: loaded from the cache)

    def predict(
        self, menu: str, norm: Normalized, locale: Locale = MANDARIN
    ) -> tuple[str, float, list[tuple[str, float]]] | None:
        """(best label, its probability, every label ranked) or None when the menu has no model."""
        model = self.models.get(menu)
        if model is None or len(norm.text) < MIN_CHARS:
            return None
        ranked = model.predict(norm, locale)
        return ranked[0][0], ranked[0][1], ranked

    def threshold(self, menu: str) -> float:
        return self.models[menu].threshold


def example_files(grammars_dir: Path) -> list[Path]:
    return sorted((Path(grammars_dir) / EXAMPLES_DIR).glob("*.yaml"))


def cache_key(grammars_dir: Path, locale: Locale = MANDARIN) -> str:
    h = hashlib.sha256()
    for part in (FEATURE_VERSION, locale.name, version("scikit-learn"), np.__version__, pypinyin.__version__):
        h.update(part.encode() + b"\0")
    files = example_files(grammars_dir)
    synonyms = Path(grammars_dir) / "synonyms.yaml"
    for path in [*files, *([synonyms] if synonyms.exists() else [])]:
        h.update(path.name.encode() + b"\0" + path.read_bytes() + b"\0")
    return h.hexdigest()[:24]


def train(grammars: Grammars, synonyms: Synonyms | None = None, locale: Locale = MANDARIN) -> Classifier:
    chatter_file = Path(grammars.directory) / EXAMPLES_DIR / f"{CHATTER}.yaml"
    chatter = load_chatter(chatter_file) if chatter_file.exists() else []
    models = {}
    for path in example_files(grammars.directory):
        if path.stem != CHATTER:
            ex = load_examples(path, grammars)
            models[ex.menu] = train_menu(ex, synonyms, chatter, locale)
    return Classifier(models, cache_key(grammars.directory, locale), trained=True)


_LOADED: dict[tuple[str, str], Classifier] = {}


def load_classifier(
    grammars: Grammars, cache_dir: Path | None, synonyms: Synonyms | None = None, locale: Locale = MANDARIN
) -> Classifier | None:
    """The models for these grammars: from this process, else from the disk cache, else trained
    now (and cached).  None when the grammars have no example files."""
    if not [p for p in example_files(grammars.directory) if p.stem != CHATTER]:
        return None
    key = cache_key(grammars.directory, locale)
    memo = (str(grammars.directory), key)
    if memo in _LOADED:
        return _LOADED[memo]
    path = Path(cache_dir) / "classifier" / f"{key}.pkl" if cache_dir else None
    model = cached(path, key, Classifier, lambda: train(grammars, synonyms, locale))
    _LOADED[memo] = model
    return model


M = TypeVar("M")


def cached(path: Path | None, key: str, kind: type[M], make: Callable[[], M]) -> M:
    """A trained model from our own cache file when it holds `kind` with this content key (marked
    `trained = False`), else `make()` written there atomically (a read-only data dir: trained again
    next start)."""
    if path is not None and path.exists():
        try:
            with path.open("rb") as f:
                loaded = pickle.load(f)  # our own cache directory, written below
            if isinstance(loaded, kind) and getattr(loaded, "key", None) == key:
                loaded.trained = False  # type: ignore[attr-defined]
                return loaded
        except Exception:  # a truncated or foreign file: train again and overwrite it
            pass
    model = make()
    if path is not None:
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-", suffix=".pkl")
            with os.fdopen(fd, "wb") as f:
                pickle.dump(model, f, protocol=pickle.HIGHEST_PROTOCOL)
            os.replace(tmp, path)
        except OSError:
            pass
    return model


__all__ = ["Classifier", "MenuModel", "NONE", "load_classifier", "load_examples", "train", "train_menu"]


def tfidf_row(parts: Iterable[tuple[TfidfVectorizer | Tfidf, str]]) -> tuple[np.ndarray, np.ndarray]:
    """The TF-IDF row (column indices, values) that stacking each vectorizer's `transform` would give,
    without building sparse matrices (a tenth of the time per utterance)."""
    cols: list[int] = []
    vals: list[float] = []
    offset = 0
    for vec, doc in parts:
        counts: dict[int, int] = {}
        vocab = vec.vocabulary_
        for gram in vec.build_analyzer()(doc):
            j = vocab.get(gram)
            if j is not None:
                counts[j] = counts.get(j, 0) + 1
        if counts:
            idx = np.fromiter(counts, dtype=np.int64, count=len(counts))
            v = (1.0 + np.log(np.fromiter(counts.values(), dtype=np.float64, count=len(counts)))) * vec.idf_[idx]
            v /= np.sqrt(v @ v)
            cols.extend((idx + offset).tolist())
            vals.extend(v.tolist())
        offset += len(vocab)
    return np.array(cols, dtype=np.int64), np.array(vals, dtype=np.float64)


_WHITE_SPACES = re.compile(r"\s\s+")  # as sklearn's char_wb analyzer folds runs of white space


@dataclass
class Tfidf:
    """A fitted TfidfVectorizer reduced to what `tfidf_row` reads (vocabulary, idf, the analyzer),
    with the analyzer re-implemented for the two settings used here (char_wb and whitespace-token
    word n-grams, lower-cased, no stop words): the cached form of a model, loaded without sklearn.
    tests/brain/test_classifier.py checks it gives sklearn's n-grams and the same predictions."""

    analyzer: str  # "char_wb" or "word"
    ngram_range: tuple[int, int]
    vocabulary_: dict[str, int]
    idf_: np.ndarray
    token_pattern: str = r"\S+"

    @classmethod
    def of(cls, vec: TfidfVectorizer | Tfidf) -> Tfidf:
        if isinstance(vec, Tfidf):
            return vec
        plain = vec.lowercase and vec.preprocessor is None and vec.tokenizer is None and vec.stop_words is None
        if vec.analyzer not in ("char_wb", "word") or vec.strip_accents is not None or not plain:
            raise ValueError(f"Tfidf: unsupported vectorizer settings (analyzer {vec.analyzer!r})")
        return cls(vec.analyzer, tuple(vec.ngram_range), dict(vec.vocabulary_), np.asarray(vec.idf_), vec.token_pattern)

    def build_analyzer(self) -> Callable[[str], list[str]]:
        return self._char_wb if self.analyzer == "char_wb" else self._words

    def _char_wb(self, doc: str) -> list[str]:
        lo, hi = self.ngram_range
        out: list[str] = []
        for word in _WHITE_SPACES.sub(" ", doc.lower()).split():
            w = f" {word} "
            for n in range(lo, hi + 1):
                offset = 0
                out.append(w[offset : offset + n])
                while offset + n < len(w):
                    offset += 1
                    out.append(w[offset : offset + n])
                if offset == 0:  # a word shorter than n counts once
                    break
        return out

    def _words(self, doc: str) -> list[str]:
        tokens = re.findall(self.token_pattern, doc.lower())
        lo, hi = self.ngram_range
        out = list(tokens) if lo == 1 else []
        for n in range(max(lo, 2), min(hi, len(tokens)) + 1):
            out.extend(" ".join(tokens[i : i + n]) for i in range(len(tokens) - n + 1))
        return out
