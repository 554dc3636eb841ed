"""The distress lexicon (grammars/distress.yaml, ivr/distress.py): recall first, at every menu.

- distress_own.tsv: examples written for this repo, per category, and ordinary answers that must
  not fire (money complaints, anger, tiredness, idioms, bereavement, logistics);
- distress_dev.tsv: a development set written by someone else (label<TAB>category<TAB>text):
  recall 100 % on direct, >= 95 % on indirect, false alarms <= 10 %.
"""

from __future__ import annotations

import collections
from pathlib import Path

import pytest

from ivr.distress import load_distress
from ivr.grammar import GrammarError, Grammars
from ivr.textnorm import clean, normalize
from ivr.understanding import Understander

from .conftest import GRAMMARS_DIR, NOW

DATA = Path(__file__).parent / "data"
MENUS = ("opening", "purpose", "income_source", "income_amount", "expenses", "unusual_expense", "plan", "promise")
CATEGORIES = (
    "direct",
    "third_party",
    "hopelessness",
    "burden",
    "entrapment",
    "death_wish",
    "farewell",
    "disappearance",
    "exhaustion",
    "isolation",
    "self_hate",
    "death_word",
)
SENTENCE_CHARS = 6  # a lexicon entry this long that equals a test line would be a pasted sentence


def load(path: Path) -> list[tuple[str, str, str]]:
    rows = []
    for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip() or line.startswith("#"):
            continue
        parts = line.split("\t")
        assert len(parts) == 3 and parts[0] in ("direct", "indirect", "none"), f"{path}:{n}: {line!r}"
        rows.append((parts[0], parts[1], parts[2]))
    return rows


OWN = load(DATA / "distress_own.tsv")
DEV = load(DATA / "distress_dev.tsv")


def flagged(nlu: Understander, menu: str, text: str) -> bool:
    u = nlu.understand(menu, text, NOW)
    return u.intent == "distress" or "distress" in u.cues


def category(nlu: Understander, text: str) -> str | None:
    u = nlu.understand("plan", text, NOW)
    return next((c.split(":", 1)[1] for c in u.cues if c.startswith("distress:")), None)


@pytest.mark.parametrize(("label", "cat", "text"), [r for r in OWN if r[0] != "none"], ids=lambda v: str(v)[:12])
def test_own_examples_fire_with_their_category(nlu, label, cat, text):
    assert flagged(nlu, "plan", text), text
    if label == "direct":
        assert category(nlu, text) == "direct", text


# Recall first (a false alarm costs one warm transfer, a miss can cost a life): the learned detector
# is tuned so that at most ~1 % of ordinary answers fire; a few hard ordinary lines (负担很重 about
# money, a death in the family told calmly) do.  The bound is on the share, not on each line.
ORDINARY_FALSE_ALARMS_MAX = 0.04


def test_ordinary_answers_rarely_fire(nlu):
    ordinary = [text for label, _, text in OWN if label == "none"]
    fired = [text for text in ordinary if flagged(nlu, "plan", text)]
    assert len(fired) / len(ordinary) <= ORDINARY_FALSE_ALARMS_MAX, fired


def test_each_category_is_reported(nlu):
    """One example per category, reported as cue distress:<category> (first category in file order)."""
    examples = {
        "direct": "我这几天一直在想割腕的事",
        "hopelessness": "我往后的日子一片黑暗",
        "burden": "我就是全家的拖油瓶",
        "entrapment": "前后都没路了我真是走投无路",
        "death_wish": "老天爷早点把我带走吧",
        "farewell": "我家的猫已经托付给朋友了",
        "third_party": "我媳妇把自己反锁在卧室里两天了",
        "disappearance": "月底这个手机号我就注销了",
        "exhaustion": "活得太辛苦了我不想再撑了",
        "isolation": "没有一个人关心我",
        "self_hate": "我真是个窝囊废",
        "death_word": "有时候站在站台上就想往下跳",
    }
    assert set(examples) == set(CATEGORIES)
    for cat, text in examples.items():
        assert category(nlu, text) == cat, (cat, text, nlu.understand("plan", text, NOW))


@pytest.mark.parametrize("menu", MENUS)
def test_every_menu_including_opening_and_keypad_menus(nlu, menu):
    for text in ("我觉得活着没什么意思", "我不在了家里人就轻松了", "再这样我就去跳河"):
        u = nlu.understand(menu, text, NOW)
        assert u.intent == "distress" and u.is_global and "distress" in u.cues, (menu, text, u)


@pytest.mark.parametrize(
    "text",
    [
        "我 不想 活 了",  # Vosk: words separated by spaces
        "活著真沒意思",  # traditional characters
        "嗯 那个 就是说 我 不想 或 了",  # fillers and a homophone ASR error (或 for 活)
        "我不是不想活",  # negation does not switch it off (recall first)
        "我唔想再捱落去",  # Cantonese
        "俺真是活够了",  # dialect pronoun
    ],
)
def test_asr_shaped_and_regional_text(nlu, text):
    assert flagged(nlu, "purpose", text), text


@pytest.mark.parametrize(
    "text",
    [
        "笑死我了",
        "热死了",
        "今天忙死了",
        "饿死了先吃饭",
        "累死了刚下班",
        "死鬼别闹",
        "哎呀要死了我忘了还款日",
        "要钱没有要命一条",
    ],
)
def test_idioms_do_not_fire(nlu, text):
    assert not flagged(nlu, "purpose", text), text


@pytest.mark.parametrize(
    ("cat", "text"),
    [
        # one sentence per screening kind the lexicon generalises (own words, none from a corpus)
        ("direct", "绳子我已经挂在门框上了"),  # means and plan
        ("direct", "我昨天又用刀片在胳膊上划了几道"),  # self-harm
        ("direct", "去年我吞过一把药被救回来了"),  # an attempt already made
        ("direct", "我侬勿想活了"),  # Wu negation 勿 = 不
        ("direct", "我已经想好了，晚上就去水库那边"),  # a plan to a place
        ("direct", "门缝都拿胶带封死了"),  # charcoal / gas preparation
        ("third_party", "我老公留下一封信就没回来，手机一直关机"),  # a relative reports the risk
        ("third_party", "我们得轮流守着他，不敢让他一个人出门"),
        ("hopelessness", "这种日子一眼望不到头"),
        ("burden", "要不是我，我妈也不用这么大岁数还去捡瓶子"),
        ("entrapment", "我就像困在死局里，哪儿也去不了"),
        ("death_wish", "最好哪天睡下就别再起来"),
        ("death_wish", "有辆车冲过来我也懒得躲"),
        ("farewell", "该交代的我都跟我弟交代完了"),
        ("disappearance", "过两天这个号就销号了"),
        ("exhaustion", "我是真活累了"),
        ("isolation", "我把自己锁在家里谁也不见"),
        ("self_hate", "我就是个窝囊废，什么都干不好"),
    ],
)
def test_each_screening_kind_fires_with_its_category(nlu, cat, text):
    assert category(nlu, text) == cat, (cat, text, nlu.understand("plan", text, NOW))


@pytest.mark.parametrize("menu", [*MENUS, "closing", "verify"])
@pytest.mark.parametrize(
    "text",
    [
        "想死你了，啥时候回来",  # "I miss you so"
        "想死我妈包的饺子了",
        "手机死机了等一下",
        "笑死了你们这个机器人",
        "上了一个通宵夜班，累死了",  # tired from work, not of living
        "夜班上完人累得够呛",
        "我死也不会再借网贷了",  # "never in my life"
        "我家狗前两天死了，我难过了好几天",  # bereavement of a pet
        "我一个人带俩孩子，挺忙的",
        "把药放高点别让孩子拿到",
        "我在楼顶收衣服呢，等会儿说",
    ],
)
def test_false_friends_are_calm_at_every_menu(nlu, menu, text):
    """Idioms and everyday uses of death/tired/medicine words: neither the lexicon nor the keyword
    paths (global `distress`, emotion cue) flag them, at any menu."""
    assert not flagged(nlu, menu, text), (menu, text, nlu.understand(menu, text, NOW))


def test_an_idiom_does_not_hide_a_real_sign(nlu):
    assert flagged(nlu, "plan", "活着真是累死了")  # 累死 is masked, 活着…累 still fires
    assert flagged(nlu, "plan", "我准备饿死自己")  # 饿死了 is an idiom, 饿死自己 is not
    assert flagged(nlu, "plan", "笑死，反正我也不想活了")  # an idiom next to a real sign
    assert flagged(nlu, "plan", "夜班上得我活着都嫌累")  # work words do not hide 活着…累


def test_dev_set_recall_and_false_alarms(nlu):
    hit, total = collections.Counter(), collections.Counter()
    for i, (label, _cat, text) in enumerate(DEV):
        total[label] += 1
        hit[label] += flagged(nlu, MENUS[i % len(MENUS)], text)
    assert total["direct"] >= 50 and total["indirect"] >= 150 and total["none"] >= 150
    assert hit["direct"] == total["direct"]
    assert hit["indirect"] >= 0.95 * total["indirect"]
    assert hit["none"] <= 0.10 * total["none"]


def test_every_distress_phrase_of_global_yaml_gets_a_category(nlu, grammars: Grammars):
    spec = grammars.global_intents.intents["distress"]
    for phrase in [*spec.phrases, *spec.keywords]:
        assert category(nlu, phrase) is not None, phrase


def test_no_test_sentence_is_pasted_into_the_lexicon(nlu):
    lexicon = nlu._distress
    assert lexicon is not None
    words = {w for p in lexicon._patterns for part in p.parts for w in part.alternatives}
    lines = {normalize(t).text for _, _, t in [*DEV, *OWN]} | {clean(t) for _, _, t in [*DEV, *OWN]}
    pasted = sorted(w for w in words if len(w) >= SENTENCE_CHARS and w in lines)
    assert not pasted


@pytest.mark.parametrize(
    ("yaml_text", "message"),
    [
        ("categories: {direct: {label: x, source: y, patterns: [想…]}}", "categories.direct.patterns.0: empty word"),
        (
            "categories: {direct: {label: x, source: y, patterns: [a//b]}}",
            "categories.direct.patterns.0: empty alternative",
        ),
        ("categories: {direct: {label: x, source: y, patterns: [活着吧…累]}}", "holds a filler word"),
        ("categories: {direct: {label: x, source: y, patterns: []}}", "field categories.direct.patterns"),
        ("categories: {direct: {label: x, patterns: [想死]}}", "field categories.direct.source"),
        ("categories: {direct: {label: x, source: y, patterns: [想死], weight: 1}}", "unknown field"),
        ("categories: {Direct: {label: x, source: y, patterns: [想死]}}", "expected a lower-case name"),
        ("gap: 0\ncategories: {direct: {label: x, source: y, patterns: [想死]}}", "field gap"),
        ("categories: {direct: {label: x, source: y, patterns: [想死]}}\nexclude: ['[笑死']", "field exclude.0"),
        ("categories: [1, 2]", "field categories"),
        ("- just a list", "expected a mapping at top level"),
    ],
)
def test_lexicon_errors_are_one_line_naming_file_and_field(tmp_path, yaml_text, message):
    path = tmp_path / "distress.yaml"
    path.write_text(yaml_text, encoding="utf-8")
    with pytest.raises(GrammarError) as e:
        load_distress(path)
    text = str(e.value)
    assert text.startswith(str(path)) and message in text and "\n" not in text.strip(), text


def test_the_shipped_lexicon_loads_with_every_category():
    lexicon = load_distress(GRAMMARS_DIR / "distress.yaml")
    assert tuple(lexicon.labels) == CATEGORIES


# round-6 kinds (read from the Z dev set), in sentences written for this test: each must be heard
# by the lexicon itself (a composition, not the learned model's mood), at every menu.
@pytest.mark.parametrize(
    "text",
    [
        "我想去跳水库",  # water, verb + object
        "我在琢磨吃几片才能一觉不醒",  # counting pills
        "我刚喝下去了大半瓶，现在跟你说一声",  # already taken + a quantity
        "这债我还不起，拿命抵给你们行不行",  # offering one's life for the debt
        "等你们催完这一通我就去跳",  # intent tied to the call
        "早上醒了也找不到起床的理由",  # nothing worth getting up for
        "以后的日子想想全是黑的",  # the future all dark
        "我要是走了，家里能领一笔意外险的钱",  # burden via insurance
        "差点被掉下来的砖砸到，我竟然有点遗憾",  # regret at surviving
        "我在把欠邻居的小钱挨个还干净，走的时候不想还欠着",  # settling small debts
        "我挣扎不动了，随你们怎么样都行",  # giving up the struggle
        "我是他舅舅，他昨晚被送去洗完胃才缓过来",  # third party: an attempt
        "她在家族群里说了句大家保重就退群了，电话也不接",  # third party: goodbye + leaving the group
        "他把孩子交给我照看，然后人就联系不上了",  # third party: entrusted the child and vanished
    ],
)
def test_round6_kinds_fire_by_the_lexicon(nlu, text):
    for menu in MENUS:
        u = nlu.understand(menu, text, NOW)
        assert "distress_by:lexicon" in u.cues, (menu, text, u)


@pytest.mark.parametrize(
    "text",
    [
        "这部剧演到女主跳河那里我哭了",  # fiction
        "我这人死脑筋，说哪天还就哪天还",  # idiom
        "摩托车熄火了，死在半路上，我推着呢",  # a vehicle
        "我家猫咪老死了，我难过了几天",  # a pet
        "你找死啊，半夜打电话",  # anger idiom
        "我换了新号码，旧号不用了",  # a new number
    ],
)
def test_round6_false_friends_are_not_heard_by_the_lexicon(nlu, text):
    for menu in MENUS:
        u = nlu.understand(menu, text, NOW)
        assert "distress_by:lexicon" not in u.cues, (menu, text, u)


# round-8 kinds (read from the K dev misses), in sentences written for this test: heard by the
# lexicon itself at every menu (three were direct signs the first time: rails, a Cantonese
# 唔想生存, a rope just bought).
@pytest.mark.parametrize(
    "text",
    [
        "我站在铁道边上，等下一趟列车开过来",  # waiting at the rails for a train
        "冇想再生存落去了，唔好再打啦",  # Cantonese: not wanting to live on
        "我真的不愿意再存在了",  # 存在 for 活
        "下午去镇上买了一根麻绳，藏在车里",  # the means bought, verb first
        "刚去农资店买了瓶百草枯",  # poison bought
        "反正现在什么都无所谓了",  # nothing matters any more
        "约到下个月？我还不知道会不会活到那一天",  # not sure to live until the date
        "我就是一个累赘，给全家添乱",  # burden to everyone
        "我欠我爸妈的是一条命，这辈子还不上",  # owing the family a life
        "以贷养贷，越滚越大，我永远都爬不出来",  # borrowing to repay in a circle
        "除了那一步，我真想不到别的出路",  # the one road left
        "每次坐大巴我都巴不得它翻下去",  # wishing the vehicle would crash
        "我想走到江里去，一直走，不回头",  # walking into the water
        "我儿子两天没回家了，钱包身份证都留在抽屉里",  # third party: gone, left what one never leaves
    ],
)
def test_round8_kinds_fire_by_the_lexicon(nlu, text):
    for menu in MENUS:
        u = nlu.understand(menu, text, NOW)
        assert "distress_by:lexicon" in u.cues, (menu, text, u)


@pytest.mark.parametrize(
    "text",
    [
        "我在铁路上班，上的是夜班",  # a railway job
        "我出差三天没回家，钥匙放前台了",  # the caller away on business
        "你看我能不能撑到月底再还",  # asking for time, not a doubt about living
        "我去五金店买了根水管，厨房漏水",  # an ordinary purchase
    ],
)
def test_round8_false_friends_are_not_heard_by_the_lexicon(nlu, text):
    for menu in MENUS:
        u = nlu.understand(menu, text, NOW)
        assert "distress_by:lexicon" not in u.cues, (menu, text, u)
