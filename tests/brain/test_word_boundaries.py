"""Single characters inside unrelated speech are not answers (ivr/segment.py, docs/understanding.md).

Confirming identity at the opening unlocks the debt details to whoever answered, so speech that is
not about the call must never be read as `confirm` there — however many 在/是/好/对/行 it contains."""

from __future__ import annotations

import pytest

from ivr.segment import words
from ivr.textnorm import normalize
from ivr.understanding import Understander

from .conftest import NOW

# Background chatter, talking to someone else, remarks about the weather/TV/kids — written for this
# test (none of them is in heldout_blind7.tsv).  Each holds a one-character yes-word (在/是/对/好/行)
# or a sound-alike of a grammar word.
NOT_ABOUT_THE_CALL = [
    "你把锅里的汤看着点",
    "老王在楼上修水管",
    "是邻居家在装修吧",
    "对门的小孩又在哭",
    "好大的雨啊",
    "行了行了你去睡觉吧",
    "快把衣服收进来要下雨了",
    "在超市排队呢人好多",
    "电梯在八楼",
    "是快递员在按门铃",
    "对面楼着火了",
    "好像停水了",
    "你在看什么电视",
    "爷爷在院子里浇花",
    "是猫把杯子打翻了",
    "好香啊谁在炒菜",
    "行李还在车上",
    "你作业写完没有",
    "外面是不是在刮风",
    "把空调温度调高一点",
    "宝贝过来穿鞋",
    "在公园遛狗呢",
    "是路上太堵了",
    "对了明天几点的飞机",
    "好困啊昨晚没睡好",
    "你看这个视频好搞笑",
    "在地铁站门口等你",
    "是不是该交物业费了",
    "这菜有点咸",
    "外卖到了你去拿一下",
    "呃那个嗯哎那个",
    "啊 呃 那个",
    "那家面馆今天没开门",
]

# Real short answers that must keep working.
SHORT_ANSWERS = [
    ("opening", "在", "confirm"),
    ("opening", "在的在的", "confirm"),
    ("opening", "嗯嗯", "confirm"),
    ("opening", "对 是我 有事吗", "confirm"),
    ("opening", "我在 你说", "confirm"),
    ("purpose", "对 我知道的", "ack"),
    ("promise", "好的 就这么办", "accept"),
    ("closing", "好 谢谢", "ack"),
]


@pytest.mark.parametrize("text", NOT_ABOUT_THE_CALL)
def test_unrelated_speech_never_confirms_identity_at_opening(nlu: Understander, text: str) -> None:
    u = nlu.understand("opening", text, NOW)
    assert u.intent != "confirm", f"{text!r} confirmed identity ({u.confidence:.2f})"


def test_unrelated_speech_is_mostly_no_match_at_the_opening(nlu: Understander) -> None:
    """Not confirm is the must; no intent at all is what the dialog should get (it asks again)."""
    matched = [(t, u.intent) for t in NOT_ABOUT_THE_CALL if (u := nlu.understand("opening", t, NOW)).intent]
    assert len(matched) <= 3, matched


@pytest.mark.parametrize("menu,text,intent", SHORT_ANSWERS)
def test_short_answers_still_match(nlu: Understander, menu: str, text: str, intent: str) -> None:
    assert nlu.understand(menu, text, NOW).intent == intent


@pytest.mark.parametrize(
    "menu,text",
    [
        ("promise", "行人太多了过不去"),  # 行 inside 行人
        ("promise", "好像有点感冒"),  # 好 inside 好像
        ("opening", "是不是快下班了"),  # 不是 inside 是不是 is not a denial
        ("opening", "那家店的东西挺好吃"),  # 那家 is a word, not an ASR slip for 哪家
    ],
)
def test_a_short_grammar_word_inside_another_word_is_not_a_hit(nlu: Understander, menu: str, text: str) -> None:
    u = nlu.understand(menu, text, NOW)
    assert u.intent is None, f"{text!r} → {u.intent} ({u.confidence:.2f})"


def test_a_weak_word_followed_by_talk_about_the_call_still_counts(nlu: Understander) -> None:
    # 是/对 followed by words of the call's own grammars (欠, 钱, 有事) is an answer, not chatter
    assert nlu.understand("purpose", "对 这钱是我欠的", NOW).intent == "ack"
    assert nlu.understand("opening", "是 你找我有事啊", NOW).intent == "confirm"


def test_filler_only_answers() -> None:
    assert normalize("呃 那个 嗯 哎").text == ""  # hesitation: nothing was said
    assert normalize("嗯嗯").text == "嗯嗯"  # assent is an answer


def test_segmentation_marks_content_words() -> None:
    w = words("外面在下雨")
    assert w.spans == ((0, 2), (2, 3), (3, 5))
    assert w.content == (True, False, True)  # 外面, 下雨 are content words; 在 is not
