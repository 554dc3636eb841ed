"""Understanding of opening / purpose / income-amount answers and distress kinds (issue 11, callers
branch).  Sentences written for these tests, not taken from the role-play or distress sets."""

from __future__ import annotations

import pytest

from ivr.numbers import parse_amount
from ivr.understanding import default_understander


@pytest.fixture(scope="module")
def u():
    return default_understander()


@pytest.mark.parametrize(
    ("menu", "text", "intent"),
    [
        ("opening", "喂，谁呀", "ask_who"),
        ("opening", "边个呀", "ask_who"),
        ("opening", "喂，边位", "ask_who"),
        ("opening", "你是哪达的", "ask_who"),
        ("opening", "喂，你好", "confirm"),  # a greeting: the dialog asks again (unconfirmed), not a miss
        ("opening", "你们又打来干嘛，我是她妈", "third_party"),
        ("opening", "我是他爸，他手机落家里了，是不是他借钱了", "third_party"),
        ("opening", "我现在上课呢，明天中午十二点以后再打给我", "busy"),
        ("opening", "你们会不会打我通讯录，我同事知道了我就完蛋了", None),
        # who is calling, asked warily: the `question` digression (topic who) answers with the company and
        # its official number, then asks again (tests/dialog/test_dialog_v12.py)
        ("opening", "你先说是哪个公司，现在骗子太多了", "question"),
        ("purpose", "知道，怎么会不知道", "ack"),
        ("purpose", "知道，咋能不知道，一天打好几遍", "ack"),
        ("purpose", "我没打算赖账，就是最近厂里停工了", "ack"),
        ("purpose", "我还以为是自动扣款的，原来没扣成", "ack"),
        ("purpose", "清楚，生意周转不开", "ack"),
        ("purpose", "晓得，包工头工钱还没结", "ack"),
        ("purpose", "对，就这个月底一次还完", None),  # a plan said early: not already_paid
        ("purpose", "我上周已经还清了", "already_paid"),
        ("purpose", "知道知道，天天打，烦不烦啊", "ack"),  # annoyance, not a request to stop calling
        ("purpose", "你们这帮龟儿子，打你妈个头", "abuse"),
        ("income_amount", "什么收入没有", "unknown"),
        ("income_amount", "啥收入都没", "unknown"),
        ("income_amount", "零", "unknown"),
        ("income_amount", "没底薪，全靠提成", "unknown"),
        ("income_amount", "三千二一个月", "amount"),
    ],
)
def test_menu_answers(u, menu, text, intent):
    assert u.understand(menu, text).intent == intent


def test_is_it_him_asked_back_is_no_denial(u):
    assert u.understand("opening", "你先说什么事，我再告诉你是不是他").intent not in ("deny", "confirm")


def test_an_amount_running_into_the_month_count():
    assert parse_amount("三千二一个月") == 3200
    assert parse_amount("五千一") == 5100


# Distress kinds: each pattern family gets sentences of our own (recall), and everyday sentences with
# the same words must stay calm (false alarms).
DISTRESS = [
    "过完这个月你们就再也找不到我了",  # unreachable from now on
    "以后打这个号也没人接了",
    "这个手机号过两天就注销了，以后别找了",  # the number will be dead
    "我要去一个很远的地方，不会再回来了",
    "我把家里东西都送光了",  # giving things away
    "孩子我托付给我妹照顾了",  # entrusting
    "信都写好了，放在抽屉里",  # a letter
    "我给爸妈录了一段视频",
    "我哪还有什么以后",  # no future
    "活着一点盼头都没了",
    "多我一个少我一个没区别",  # one less of me
    "省得再给家里添麻烦",
    "我这种人没了就没了",  # gone is gone
    "等我走了，这些债就跟我没关系了",
    "我活不到过年了",
    "到时候人都没了，还约什么日子",
    "我已经坚持不了多久了",  # exhaustion
    "不想撑了，真的",
    "药我都备好了，今晚就了结",  # means
    "你们再逼我，我就从楼顶跳下去",  # a threat to self said in anger
    "你们没完没了，老子不想活了",
]
CALM = [
    "我明天要出差，可能联系不上我",
    "这个号是新办的，以前那个不用了",
    "孩子放我妈那带，我出去打工了",
    "你们发的短信我收到了",
    "信用卡我也欠着一点",
    "一次还清，省得麻烦",
    "我走了啊，先挂了",
    "你们这么催，我快疯了",
    "离婚以后房子判给她了",
    "老子迟早弄死你们这帮催债的",
    "同事要是知道了我就社死了",
    "这个月工资太少，属实有点紧",
]


@pytest.mark.parametrize("text", DISTRESS)
def test_distress_kinds_are_heard(u, text):
    r = u.understand("plan", text)
    assert r.intent == "distress", (text, r.intent, r.cues)


@pytest.mark.parametrize("text", CALM)
def test_everyday_words_do_not_raise_distress(u, text):
    r = u.understand("plan", text)
    assert r.intent != "distress" and "distress" not in r.cues, (text, r.cues)
