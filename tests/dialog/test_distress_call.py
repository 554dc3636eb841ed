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
