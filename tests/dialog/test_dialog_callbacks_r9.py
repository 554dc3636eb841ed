"""Whole calls for busy debtors (role-play round 9 kinds): an explicit "是我" said with "I cannot talk
now" and no hour (asked when, then the time said is taken, even a short "明天中午吧"), and a confirmed
debtor who, hearing the debt, asks to be called after work.  Caller lines are written for these tests."""

from __future__ import annotations

import pytest

from ivr.events import Hangup

from .conftest import DEBT_WORDS, Call


def _no_debt_said(c: Call) -> bool:  # the debt is only told after the callback question, never before
    return not any(w in t for t in c.bot_texts for w in DEBT_WORDS)


def test_confirmed_at_a_meeting_without_an_hour_is_asked_when(call):
    c = call()
    out = c.say("是我是我，我这边正开会，实在讲不了")
    assert not isinstance(out[-1], Hangup) and _no_debt_said(c)
    out = c.say("后天上午十点吧")
    report = c.session.report()
    assert out[-1] == Hangup("completed") and report["callback"]["at"] == "2026-11-20T10:00"


def test_confirmed_on_a_train_platform_is_asked_when(call):
    c = call()
    out = c.say("我就是，在站台上准备上车了，现在说不了话")
    assert not isinstance(out[-1], Hangup) and _no_debt_said(c)
    c.say("明天晚上七点半")
    assert c.session.report()["callback"]["at"] == "2026-11-19T19:30"


def test_confirmed_in_the_workshop_cannot_answer_the_phone(call):
    c = call()
    out = c.say("对，是我，车间里机器响着，我不能接电话")
    assert not isinstance(out[-1], Hangup) and _no_debt_said(c)
    c.say("明天中午十二点半，好吧")
    assert c.session.report()["callback"]["at"] == "2026-11-19T12:30"


def test_confirmed_at_the_hairdresser_not_convenient_now(call):
    c = call()
    out = c.say("是我，在理发店呢，现在不方便说")
    assert not isinstance(out[-1], Hangup) and _no_debt_said(c)
    c.say("下礼拜一早上九点以后")
    assert c.session.report()["callback"]["at"] == "2026-11-23T09:00"


def test_knows_the_debt_but_serving_a_customer_asks_after_work(call):
    c = call()
    c.say("嗯，我本人")
    out = c.say("晓得，不过我这会儿正招呼顾客，你等我下了班再打好不好")
    assert not isinstance(out[-1], Hangup)
    assert c.session.dialog.menu != "income_source"
    c.say("六点以后")
    assert c.session.report()["callback"]["at"] == "2026-11-18T18:00"


def test_after_an_hour_on_a_weekday_stays_on_that_day() -> None:
    import datetime as dt

    from ivr.callback_time import parse_callback_time

    now = dt.datetime(2026, 11, 18, 10, 30)  # a Wednesday
    got = parse_callback_time("礼拜六早上八点之后", now)
    assert got is not None and got.at == dt.datetime(2026, 11, 21, 8, 0)


def test_an_hour_too_early_tomorrow_then_another_hour_keeps_tomorrow(call):
    c = call()
    c.say("是我，我在工地上，接不了电话")
    c.say("明天早上七点前打吧")
    out = c.say("这么早不行啊？那就下午一点半")
    assert out[-1] == Hangup("completed")
    assert c.session.report()["callback"]["at"] == "2026-11-19T13:30"


# ---------------------------------------------------------------- a standing wish beside an answer


@pytest.mark.parametrize(
    "line",
    [
        "知道呢。不过你们上课时间莫打嘛，学生都看着",
        "晓得，就是上班时候甭打了，厂里不让接",
        "知道，你们莫在我上班的时候打，要打就晚上",
        "知道的，以后我上课那会儿别再打了，中午或者傍晚都行",
    ],
)
def test_not_during_work_or_class_is_recorded_and_the_call_goes_on(call, line: str) -> None:
    c = call()
    c.say("是我")
    out = c.say(line)
    d = c.session.dialog
    assert not d.finished and not any(isinstance(a, Hangup) for a in out)
    assert d.contact_preference is not None, line


# ---------------------------------------------------------------- checks our number, then confirms


@pytest.mark.parametrize(
    "line",
    [
        "好，这个号码我记住了，晚点自己打过去核实一下。嗯，我就是",
        "行吧，等会儿我打你们客服问问。对，是我本人",
        "我回头打官方电话验证一下，是我",
    ],
)
def test_will_check_our_number_later_then_confirms_goes_on(call, line: str) -> None:
    c = call()
    c.say("你们是哪里？怎么证明不是骗子？")
    c.say(line)
    d = c.session.dialog
    assert d.identity == "confirmed" and d.callback is None and not d.finished, line
    assert d.menu != "opening"
