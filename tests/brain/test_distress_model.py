"""The learned distress detector (ivr/distress_model.py, grammars/distress_examples.yaml).

- per screening category, a sentence written for this test (in none of the example files, nor in
  any corpus) that the lexicon does NOT catch and the model does: what the model is for;
- the idioms of distress.yaml's `exclude` list and everyday answers never fire, at every menu;
- training is deterministic; the model is cached and loaded back; bad example files give one line;
- no example sentence is a (near) copy of a corpus line.
"""

from __future__ import annotations

import pickle
from pathlib import Path

import numpy as np
import pytest
import yaml
from rapidfuzz import fuzz, process

from ivr import distress_model as dm
from ivr.distress import load_distress
from ivr.grammar import GrammarError
from ivr.locale import MANDARIN
from ivr.textnorm import cached_synonyms, clean
from ivr.understanding import Understander

from .conftest import GRAMMARS_DIR, NOW

REPO = GRAMMARS_DIR.parent
MENUS = (
    "opening",
    "purpose",
    "income_source",
    "income_amount",
    "expenses",
    "unusual_expense",
    "plan",
    "verify",
    "promise",
    "closing",
)

# written for this test, first scored after the model was built (first time the model heard 16 of
# the 21 such sentences the lexicon missed; one per category kept here): the lexicon misses each
LEARNED = {
    "direct": "我把楼顶那扇门的锁撬开了，上去坐到半夜",  # (皮带…门框 since round 6, 阳台…往下看 since round 9: lexicon)
    "third_party": "他今天早上给我发了句这辈子对不起你然后就联系不上了",
    "hopelessness": "往后的每一天都只会比今天更糟",
    "burden": "要不是我拖着他们早就过上好日子了",
    "entrapment": "四面全是催收电话我连躲的角落都没有",
    "death_wish": "我常想要是那场车祸里没活下来就好了",
    "farewell": "我的存款都转到我妈卡上了以后她用得着",
    "disappearance": "以后这个号就永远关机了",
    "exhaustion": "这样硬撑着过日子我真的够了",  # (睁眼…又要熬 is a lexicon composition since round 7)
    "isolation": "这世上没有一个人会在意我去哪",
    "self_hate": "我这辈子最看不起的人就是我自己",  # (镜子里…恶心 is a lexicon composition since round 9)
}

IDIOMS = (
    "笑死我了",
    "热死了今天",
    "累死了刚下班",
    "想死你了宝贝",
    "我手机又死机了",
    "疼得要命",
    "气死我了又打来",
    "吓死我了以为是诈骗",
    "饿死了先吃饭",
    "这价钱贵死了",
    "打死我也不借了",
    "死活想不起密码",
    "我家猫前两天病死了",
    "拿的是死工资",
    "跳楼价甩卖",
    "我去药店买感冒药",
)

EVERYDAY = (
    "我就是王淑华",
    "是我，你说吧",
    "一个月四五千吧",
    "下周三我发了工资就还",
    "我在开车晚点打给我",
    "知道，最近手头紧给忘了",
    "能不能分六期",
    "好的谢谢再见",
)


def flag(nlu: Understander, menu: str, text: str) -> tuple[bool, tuple[str, ...]]:
    u = nlu.understand(menu, text, NOW)
    return (u.intent == "distress" or "distress" in u.cues), u.cues


@pytest.mark.parametrize(("cat", "text"), LEARNED.items(), ids=list(LEARNED))
def test_each_category_has_a_sign_only_the_model_hears(nlu: Understander, cat: str, text: str) -> None:
    lexicon = nlu._distress
    assert lexicon is not None
    assert lexicon.detect(nlu.locale.normalize(text, synonyms=nlu._synonyms)) is None, "the lexicon hears it already"
    fired, cues = flag(nlu, "plan", text)
    assert fired and "distress_by:model" in cues, (cat, text, cues)
    assert any(c.startswith("distress:") for c in cues)


def test_lexicon_hits_name_the_lexicon(nlu: Understander) -> None:
    fired, cues = flag(nlu, "purpose", "我不想活了")
    assert fired and "distress_by:lexicon" in cues and "distress:direct" in cues


@pytest.mark.parametrize("menu", MENUS)
def test_idioms_and_everyday_answers_never_fire_at_any_menu(nlu: Understander, menu: str) -> None:
    fired = [t for t in (*IDIOMS, *EVERYDAY) if flag(nlu, menu, t)[0]]
    assert not fired, (menu, fired)


@pytest.mark.parametrize("menu", MENUS)
def test_learned_signs_fire_at_every_menu(nlu: Understander, menu: str) -> None:
    missed = [t for t in LEARNED.values() if not flag(nlu, menu, t)[0]]
    assert not missed, (menu, missed)


def _small_training_set() -> tuple[list[tuple[str, str]], list[str]]:
    syn = cached_synonyms(str(GRAMMARS_DIR / "synonyms.yaml"), MANDARIN.clean)
    rows, labels, _, _ = dm.training_rows(GRAMMARS_DIR, syn, MANDARIN)
    keep = list(range(0, len(rows), 4))  # a quarter keeps the test fast
    return [rows[i] for i in keep], [labels[i] for i in keep]


def test_training_is_deterministic() -> None:
    rows, labels = _small_training_set()
    a, b = dm._fit(rows, labels, 0.5), dm._fit(rows, labels, 0.5)
    probe = [MANDARIN.features(MANDARIN.normalize(t)) for t in (*LEARNED.values(), *EVERYDAY)]
    pa, pb = [a.proba(r) for r in probe], [b.proba(r) for r in probe]
    assert pa == pb and [a.category(r) for r in probe] == [b.category(r) for r in probe]
    assert len(set(np.round(pa, 3))) > 3  # the scores say something (not all one value)


def test_fast_path_equals_sklearn() -> None:
    rows, labels = _small_training_set()
    m = dm._fit(rows, labels, 0.5)
    probe = [MANDARIN.features(MANDARIN.normalize(t)) for t in (*LEARNED.values(), *EVERYDAY)]
    x = dm._matrix(m.text_vec, m.key_vec, probe)
    sk = _sklearn_proba(rows, labels, x)
    assert np.allclose([m.proba(r) for r in probe], sk), sk


def _sklearn_proba(rows: list[tuple[str, str]], labels: list[str], x: object) -> np.ndarray:
    """The same training through sklearn's own predict_proba (the fast path must agree)."""
    from sklearn.calibration import CalibratedClassifierCV
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import StratifiedKFold

    text_vec, key_vec = dm._vectorisers()
    text_vec.fit([r[0] for r in rows])
    key_vec.fit([r[1] for r in rows])
    folds = StratifiedKFold(n_splits=dm.CALIBRATION_FOLDS, shuffle=True, random_state=dm.SEED)
    clf = CalibratedClassifierCV(
        LogisticRegression(C=dm.C_REG, solver="liblinear", random_state=dm.SEED), method="sigmoid", cv=folds
    )
    clf.fit(dm._matrix(text_vec, key_vec, rows), np.array([lab != dm.NONE for lab in labels]))
    return np.asarray(clf.predict_proba(x)[:, 1])


def test_model_is_cached_and_loaded_back(tmp_path: Path) -> None:
    syn = cached_synonyms(str(GRAMMARS_DIR / "synonyms.yaml"), MANDARIN.clean)
    lexicon = load_distress(GRAMMARS_DIR / "distress.yaml", syn)
    dm._LOADED.clear()
    first = dm.load_distress_model(GRAMMARS_DIR, tmp_path, syn, MANDARIN, lexicon)
    assert first is not None and first.trained
    assert 0.3 <= first.threshold <= 0.95 and first.report["recall"] > first.report["recall_lexicon"]
    files = list((tmp_path / "distress_model").glob("*.pkl"))
    assert len(files) == 1
    dm._LOADED.clear()
    second = dm.load_distress_model(GRAMMARS_DIR, tmp_path, syn, MANDARIN, lexicon)
    assert second is not None and not second.trained and second.threshold == first.threshold
    # the cached form holds no scikit-learn object and scores every answer as the trained model does
    assert type(second.text_vec).__module__ == "ivr.classifier" and type(first.text_vec).__module__ != "ivr.classifier"
    probe = [MANDARIN.features(MANDARIN.normalize(t)) for t in (*LEARNED.values(), *EVERYDAY)]
    assert [second.proba(r) for r in probe] == pytest.approx([first.proba(r) for r in probe], abs=1e-12)
    assert [second.category(r) for r in probe] == [first.category(r) for r in probe]
    files[0].write_bytes(b"not a pickle")  # a broken cache file is retrained and overwritten
    dm._LOADED.clear()
    third = dm.load_distress_model(GRAMMARS_DIR, tmp_path, syn, MANDARIN, lexicon)
    assert third is not None and third.trained
    assert isinstance(pickle.loads(files[0].read_bytes()), dm.DistressModel)


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("categories: {}\nnone: [a]\n", r"x\.yaml: .*categories"),
        (
            "categories: {direct: [a, b]}\nnone: " + str([f"n{i}" for i in range(30)]) + "\n",
            r"direct: expected at least 20",
        ),
        ("categories: {direct: " + str([f"s{i}" for i in range(30)]) + "}\n", r"x\.yaml: .*none"),
    ],
)
def test_bad_example_file_gives_one_line(tmp_path: Path, content: str, message: str) -> None:
    path = tmp_path / "x.yaml"
    path.write_text(content, encoding="utf-8")
    with pytest.raises(GrammarError, match=message) as e:
        dm.load_distress_examples(path)
    assert "\n" not in str(e.value)


def test_unknown_category_is_named(tmp_path: Path) -> None:
    path = tmp_path / "x.yaml"
    signs = [f"s{i}" for i in range(30)]
    path.write_text(f"categories: {{sadness: {signs}}}\nnone: {signs}\n", encoding="utf-8")
    with pytest.raises(GrammarError, match=r"x\.yaml: field categories\.sadness: not a category"):
        dm.load_distress_examples(path, ("direct", "burden"))


def test_no_example_is_a_near_copy_of_a_corpus_line() -> None:
    data = yaml.safe_load((GRAMMARS_DIR / dm.EXAMPLES_FILE).read_text(encoding="utf-8"))
    ours = [clean(s) for s in [*data["none"], *(s for v in data["categories"].values() for s in v)]]
    corpus: list[str] = []
    calls = REPO / "tests" / "conversation" / "calls"
    for tsv in [*calls.glob("round*/distress_*.tsv"), *(REPO / "tests" / "brain" / "data").glob("distress_*.tsv")]:
        corpus += [clean(line.split("\t")[-1]) for line in tsv.read_text(encoding="utf-8").splitlines() if line]
    for path in calls.glob("round*/writer_*.yaml"):
        for call in yaml.safe_load(path.read_text(encoding="utf-8")):
            for said in call["caller"].values():
                corpus += [clean(t) for t in (said if isinstance(said, list) else [said]) if isinstance(t, str)]
    corpus = [c for c in corpus if len(c) >= 6]
    scores = process.cdist([o for o in ours if len(o) >= 6], corpus, scorer=fuzz.ratio, workers=1)
    i, j = np.unravel_index(int(np.argmax(scores)), scores.shape)
    assert scores[i, j] < 85, ([o for o in ours if len(o) >= 6][i], corpus[j], scores[i, j])
