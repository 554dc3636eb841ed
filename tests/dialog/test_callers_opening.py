"""Opening, purpose and income-amount answers as callers really say them (issue 11, callers branch):
dialect self-references, 是+name, sound-alikes of family words, third parties telling of a crisis,
greetings, who-are-you questions, busy at the purpose question.  Sentences written for these tests."""

from __future__ import annotations

import datetime as dt

import pytest

from ivr.events import Transfer

from .conftest import no_debt


@pytest.mark.parametrize(
    "line",
    [
        "额是张伟，有啥事",  # 陕西 额 = 我
        "嗯，额就是张伟",
        "系呀，我就系张伟",  # 粤, simplified 系
        "係我，張偉",  # 粤, traditional
        "喂，是张伟，你讲",  # 是 + the name answers "请问是张伟本人吗"
        "是我嘛，张伟",  # 我嘛 only sounds like 我妈
        "是俺，张伟，咋了",
        "张伟就是我",
    ],
)
def test_dialect_and_name_affirmations_confirm(call, line):
    c = call()
    c.say(line)
    assert c.session.dialog.identity == "confirmed", c.bot_texts[-1]


@pytest.mark.parametrize(
    "line",
    [
        "喂，你好",
        "喂……您好",
        "喂，咋了",
        "是张伟的电话吗",  # a question back, no self-affirmation
        "我是张伟他老婆",
        "我是张伟的姐姐",
    ],
)
def test_greetings_and_possessives_never_confirm(call, line):
    c = call()
    c.say(line)
    assert c.session.dialog.identity != "confirmed"
    no_debt(c)


@pytest.mark.parametrize("line", ["喂，谁啊", "边个呀？", "你哪达的", "喂，哪个嘛", "谁呀这是，推销的吧"])
def test_who_are_you_gets_the_company_and_the_question_again(call, line):
    c = call()
    out = c.say(line)
    assert c.session.dialog.menu == "opening" and "安信消费金融" in out[0].text and "张伟" in out[-1].text
    no_debt(c)


@pytest.mark.parametrize(
    "line",
    [
        "我是他妈，你们找他干嘛，是不是他在外面欠钱了",
        "你们又打电话来做什么，我是他老婆",
        "你先讲清楚什么事，我再说是不是他",
    ],
)
def test_relatives_and_guarded_askers_hear_nothing(call, line):
    c = call()
    c.say(line)
    assert c.session.dialog.identity != "confirmed"
    no_debt(c)


@pytest.mark.parametrize(
    "line",
    [
        "张伟是我儿子，他前几天吞了一把安眠药，人还在医院",
        "我是他老婆，他这几天老说活着没意思，我都不敢出门",
    ],
)
def test_a_relative_reporting_the_debtors_crisis_is_a_third_party_handed_over(call, line):
    c = call()
    out = c.say(line)
    d = c.session.dialog
    assert d.identity == "third_party"
    assert isinstance(out[-1], Transfer) and out[-1].reason == "distress"
    no_debt(c)


def test_an_affirmation_with_despair_confirms_identity_and_says_nothing_of_the_debt(call):
    c = call()
    out = c.say("是我，反正我也不想活了")
    assert c.session.dialog.identity == "confirmed"
    assert isinstance(out[-1], Transfer) and out[-1].reason == "distress"
    no_debt(c)


def test_a_plan_said_with_the_affirmation_is_not_a_callback(call):
    c = call()
    c.say("对，是我张伟，那笔钱我打算下周五一次还清")
    d = c.session.dialog
    assert d.identity == "confirmed" and d.menu != "opening"
    assert c.session.report()["callback"] is None


def test_a_contact_preference_with_the_affirmation_goes_on_with_the_call(call):
    c = call()
    c.say("是我。以后麻烦晚上再打，白天车间里不让接")
    d = c.session.dialog
    assert d.identity == "confirmed" and d.menu == "purpose"
    assert d.contact_preference is not None


def test_too_late_to_talk_arranges_a_callback_after_the_affirmation(call):
    c = call(now=dt.datetime(2026, 11, 18, 20, 50))
    c.say("是我，这么晚了还打电话")
    assert c.session.dialog.identity == "confirmed"
    no_debt(c)


def test_busy_at_the_purpose_question_arranges_a_callback(call):
    c = call()
    c.say("是我")
    out = c.say("我在开车呢，你晚上八点以后再打吧")
    assert not any(isinstance(a, Transfer) for a in out)
    assert "8点" in "".join(c.bot_texts[-2:]) or "八点" in "".join(c.bot_texts[-2:])


@pytest.mark.parametrize(
    "line",
    [
        "知道，怎么会不知道呢，就是手头紧",
        "晓得，哪能不晓得",
        "知道，我还以为每个月会自己扣呢，卡里没钱了",
        "知道，这不正在想办法凑嘛",
        "清楚，生意周转不过来，不是故意拖的",
        "知道，等下个月发了工资一把还清",
        "晓得，工地的工钱还冇结",
    ],
)
def test_purpose_knowing_with_a_reason_is_ack(call, line):
    c = call()
    c.say("是我")
    c.say(line)
    assert c.session.dialog.menu == "income_source", c.bot_texts[-1]
