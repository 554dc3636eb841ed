"""Whole calls where a plan and its day are said early, or a day is said about something else
(issue 11 items 3 and 5).  Call time Wed 2026-11-18 10:30.  Sentences written for these tests."""

from __future__ import annotations

from ivr.case import Case
from ivr.events import Hangup, Say

CASE = Case(name="周强", amount=6000, days_overdue=20)


def _asked(actions) -> str:
    return [a for a in actions if isinstance(a, Say)][-1].prompt_id


def test_identity_plan_and_day_at_the_opening_is_no_callback(call) -> None:
    c = call(CASE)
    out = c.say("是我，我知道你们为什么打电话，我准备分四个月还，下周一先还第一期")
    d = c.session.dialog
    assert d.identity == "confirmed" and d.callback is None and d.menu == "purpose", out
    out = c.say("对，知道", "#silence")  # plan and day are confirmed, the income questions are skipped
    assert any(isinstance(a, Hangup) for a in out), c.bot_texts
    assert d.plan is not None and d.plan["intent"] == "installment" and d.plan["months"] == 4, d.plan
    assert d.promise is not None and d.promise["date"] == "2026-11-23"


def test_a_plan_said_again_at_a_question_is_not_a_miss(call) -> None:
    c = call(CASE)
    c.say("是我")
    c.say("知道，我在超市上班，一个月五千，想分三期")
    d = c.session.dialog
    assert d.menu == "expenses"
    out = c.say("刚刚都讲了嘛，分三期")  # answered again instead of the expenses
    assert d.menu == "unusual_expense" and not d._misses.get("expenses"), out
    c.say("没有")
    c.say("这周五")
    assert d.plan is not None and d.plan["intent"] == "installment" and d.plan["months"] == 3
    assert d.promise is not None and d.promise["date"] == "2026-11-20"


def test_a_weekend_job_is_not_the_promised_day(call) -> None:
    c = call(CASE)
    c.say("是我", "知道的")
    c.say("我还在上学，周末在奶茶店打工")
    c.say("两千", "吃饭", "没了", "没有")
    out = c.say("一次还清")
    assert _asked(out) == "promise.ask", c.bot_texts  # asked, not "您刚才说11月21日"


def test_today_as_the_time_to_talk_is_not_the_promised_day(call) -> None:
    c = call(CASE)
    c.say("是我", "知道的", "在工厂上班", "四千", "房租", "没了", "没有")
    out = c.say("今天能定下来的话，我先还八百")
    assert _asked(out) == "promise.ask", c.bot_texts
    c.say("下周二")
    assert c.session.dialog.promise == {"date": "2026-11-24", "amount": 800}


def test_a_clock_time_is_not_the_amount(call) -> None:
    c = call(CASE)
    c.say("是我", "知道的", "在工厂上班", "四千", "房租", "没了", "没有", "一次还清")
    c.say("今天晚上十点以前转")
    assert c.session.dialog.promise == {"date": "2026-11-18", "amount": 6000}


def test_the_total_split_is_not_the_first_payment(call) -> None:
    c = call(CASE)
    c.say("是我", "知道的", "在工厂上班", "四千", "房租", "没了", "没有")
    c.say("这六千我分三个月还")
    c.say("下个月五号")
    d = c.session.dialog
    assert d.plan is not None and d.plan["intent"] == "installment" and d.plan["months"] == 3
    assert d.promise == {"date": "2026-12-05", "amount": 2000}
