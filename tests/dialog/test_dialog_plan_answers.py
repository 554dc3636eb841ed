"""Whole calls where the caller turns one plan down and picks another, says a plan and a day in one
breath, or answers later questions early (issue 11: plan answers, mixed initiative).
Call time: Wed 2026-11-18 10:30 (tests/dialog/conftest.py).  Sentences written for these tests."""

from __future__ import annotations

import pytest

from ivr.case import Case
from ivr.events import Say

CASE = Case(name="王芳", amount=9000, days_overdue=30)
TO_PLAN = ("是我", "知道的", "在超市上班", "四千", "房租", "没了", "没有")


def _last_say(actions) -> Say:
    return [a for a in actions if isinstance(a, Say)][-1]


@pytest.mark.parametrize(
    ("answer", "plan", "months"),
    [
        ("全款我是真凑不齐，要不分九个月吧", "installment", 9),
        ("一口气拿出来不现实，能不能宽限一个月，到时候一次给你们", "extension", 1),
        ("分期就算了，利息多，等我下个月拿了钱全部还上", "full", None),
        ("一回还清做不到，我先打一千过去", "partial", None),
        ("分五回还中不中", "installment", 5),
    ],
)
def test_the_plan_kept_is_the_one_not_turned_down(call, answer: str, plan: str, months: int | None) -> None:
    c = call(CASE)
    c.say(*TO_PLAN)
    ask = _last_say(c.say(answer))
    assert ask.prompt_id == "promise.ask", ask
    d = c.session.dialog
    assert d.plan is not None and d.plan["intent"] == plan and d.plan.get("months") == months, d.plan


def test_a_part_payment_said_with_its_figure_in_the_next_breath(call) -> None:
    c = call(CASE)
    c.say("是我", "知道的", "在超市上班")
    c.say("四千，我先还一半吧，四千五，这个星期六")
    c.say("房租", "没了")
    last = c.say("没有")
    d = c.session.dialog
    assert d.plan is not None and d.plan["intent"] == "partial"
    assert d.promise == {"date": "2026-11-21", "amount": 4500}, (d.promise, last)


def test_the_rest_left_for_later_is_not_the_promised_day(call) -> None:
    c = call(CASE)
    c.say(*TO_PLAN)
    ask = _last_say(c.say("我先还两千，余下的开春以后再想办法"))
    assert ask.prompt_id == "promise.ask"  # 开春 is when the rest is paid, not the day promised
    c.say("这个月二十五号")
    assert c.session.dialog.promise == {"date": "2026-11-25", "amount": 2000}


def test_next_week_with_no_day_is_asked_not_taken(call) -> None:
    c = call(CASE)
    c.say(*TO_PLAN)
    ask = _last_say(c.say("我闺女下个星期打钱给我，到时候一下全还了"))
    assert ask.prompt_id == "promise.ask"
    c.say("星期四")
    assert c.session.dialog.promise["date"] == "2026-11-19"


def test_a_loose_period_heard_early_is_still_confirmed(call) -> None:
    c = call(CASE)
    c.say(*TO_PLAN)
    ask = _last_say(c.say("一次性还，过完年吧"))
    assert ask.prompt_id == "promise.ask"  # not taken silently from the plan answer
    confirm = _last_say(c.say("过了年"))
    assert confirm.prompt_id == "promise.confirm_date"
    c.say("中")  # a short yes from Henan takes the date read back
    assert c.session.dialog.promise["date"] == "2027-02-13"


def test_not_having_recovered_is_no_extension(call) -> None:
    c = call(CASE)
    c.say("是我")
    c.say("知道，去年生意赔了，到现在还没缓过劲来")
    c.say("在超市上班", "四千", "房租", "没了", "没有")
    assert c.session.dialog.menu == "plan"  # the plan question is asked, not skipped


def test_forgetting_to_pay_is_not_a_plan(call) -> None:
    c = call(CASE)
    c.say("是我")
    c.say("知道知道，上礼拜家里事多就给忘了还了")
    c.say("在超市上班", "四千", "房租", "没了", "没有")
    assert c.session.dialog.menu == "plan"


def test_a_one_day_holiday_is_that_day(call) -> None:
    c = call(CASE)
    c.say(*TO_PLAN, "一次还清")
    c.say("平安夜那天还")  # a one-day fixed date: no read-back needed
    assert c.session.dialog.promise["date"] == "2026-12-24"
