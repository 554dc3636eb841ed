"""A distress sign at any menu hands the call over at once, and the debt is never mentioned again."""

from __future__ import annotations

import pytest

from ivr.case import Case
from ivr.events import Say, Transfer

CASE = Case(name="王芳", amount=4200, days_overdue=40)
DEBT_WORDS = ("欠", "逾期", "还款", "还钱", "4200", "四千二", "金额", "账")

# answers that reach a menu, then the distress line said there
TO_INCOME = ["是我", "知道"]
TO_PLAN = [*TO_INCOME, "打零工", "两千左右", "房租", "没有了", "没有"]


@pytest.mark.parametrize(
    ("before", "menu", "line", "category"),
    [
        (TO_INCOME, "income_source", "家里没了我他们日子反而好过", "burden"),
        (TO_PLAN, "plan", "分不分期都一样我这辈子是翻不了身了", "hopelessness"),
        (TO_PLAN, "plan", "我手机里的照片都删了以后也不会再接谁的电话了", "farewell"),
        ([], "opening", "活着真是遭罪", "exhaustion"),  # before identity is confirmed
    ],
)
def test_distress_hands_over_and_never_mentions_the_debt_again(call, before, menu, line, category):
    c = call(CASE)
    c.say(*before)
    assert c.session.dialog.menu == menu
    heard_before = len(c.heard)
    out = c.say(line)
    transfer = next(a for a in out if isinstance(a, Transfer))
    assert transfer.reason == "distress"
    c.say("我说完了", "#dtmf 1")  # anything after the hand-over gets no bot answer
    later = [a.text for a in c.heard[heard_before:] if isinstance(a, Say)]
    assert later and "12356" in later[0]
    assert not [t for t in later if any(w in t for w in DEBT_WORDS)], later
    d = c.session.dialog
    assert d.trigger is not None and d.trigger.detail == category
    report = c.session.report()
    esc = report["escalation"]
    assert esc["reason"] == "distress" and esc["summary"]["trigger"]["category"] == category
    assert "轻生" in esc["narrative"] and line[:4] in esc["narrative"]


def test_keypad_menu_speech_is_checked_too(call):
    c = call(CASE)
    c.say("是我", "知道", "打零工")
    assert c.session.dialog.menu == "income_amount"  # keys: digits then '#'
    out = c.say("钱的事我不管了反正我也快不在了")
    assert any(isinstance(a, Transfer) and a.reason == "distress" for a in out)


TO_EXPENSES = [*TO_INCOME, "打零工", "两千左右"]
TO_PROMISE = [*TO_PLAN, "分三个月"]


def _handed_over_as_distress(c, out, heard_before: int) -> None:
    transfer = [a for a in out if isinstance(a, Transfer)]
    assert transfer and transfer[0].reason == "distress", out
    c.say("那钱的事怎么说", "#dtmf 2")  # nothing the caller says after the hand-over is answered
    later = [a.text for a in c.heard[heard_before:] if isinstance(a, Say)]
    assert not [t for t in later if any(w in t for w in DEBT_WORDS)], later
    assert c.session.report()["escalation"]["reason"] == "distress"


@pytest.mark.parametrize(
    ("before", "menu", "line"),
    [
        # a sign said inside an ordinary answer to the menu's question (own words)
        ([], "opening", "是我，你说吧，反正我这号过两天就停了"),
        (TO_INCOME[:1], "purpose", "知道，我这几天一直在琢磨怎么了结这一切"),
        (TO_INCOME, "income_source", "以前开货车，现在车卖了，家里人说没我反而省事"),
        ([*TO_INCOME, "打零工"], "income_amount", "一千多吧，药我都攒够了"),
        (TO_EXPENSES, "expenses", "房租水电，还有给我妈的信已经写好了"),
        ([*TO_EXPENSES, "房租", "没有了"], "unusual_expense", "失业了，我在天台上站了一晚上"),
        (TO_PLAN, "plan", "分期吧，不过估计我也等不到还完那天了"),
        (TO_PROMISE, "promise", "下周五吧，如果我那时候还在的话"),
    ],
)
def test_a_sign_inside_another_answer_at_any_menu_hands_over(call, before, menu, line):
    c = call(CASE)
    c.say(*before)
    assert c.session.dialog.menu == menu
    n = len(c.heard)
    _handed_over_as_distress(c, c.say(line), n)


@pytest.mark.parametrize("misses", [["#silence"], ["#silence", "嗯嗯那个"], ["今天天气不错", "#silence"]])
def test_a_sign_after_silence_or_a_miss_is_distress_not_confused(call, misses):
    c = call(CASE)
    c.say(*TO_PLAN, *misses)
    assert c.session.dialog.menu == "plan" and not c.session.dialog.finished
    n = len(c.heard)
    _handed_over_as_distress(c, c.say("说什么都没用了，一睡不醒最好"), n)


def test_a_sign_during_the_callback_question_hands_over(call):
    c = call(CASE)
    c.say("我在开车，晚点再打")
    assert c.session.dialog._cb is not None  # the bot asks when to call back
    n = len(c.heard)
    _handed_over_as_distress(c, c.say("不用打了，过了今晚就不关我的事了"), n)
    assert c.session.dialog.callback is None


def test_a_relative_reporting_the_debtor_at_risk_hears_nothing_about_the_debt(call):
    c = call(CASE)
    n = len(c.heard)
    out = c.say("我是她妈，她这几天把自己关在屋里不吃不喝，我怕她想不开")
    _handed_over_as_distress(c, out, n)
    d = c.session.dialog
    assert d.identity == "third_party" and d.trigger is not None and d.trigger.detail in ("direct", "third_party")
