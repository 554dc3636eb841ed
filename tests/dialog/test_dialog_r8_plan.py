"""Whole calls (round 8 plan area), each kind in several wordings written for these tests:

A. A whole plan said in one breath at the debt question (months, the monthly figure and the first day):
   "能不能分…" is a plan (能分 inside 能不能分 is no share of earnings), and "正好你们打来" speaks of
   this call, not of a callback; the plan and its day are kept and the call completes.
B. A reduction wish with the payment offered on its condition ("免了的话我月底一次还清"): the wish is
   registered for a specialist and the payment is the plan, not lost with the wish.

Call time: Wed 2026-11-18 10:30 (tests/dialog/conftest.py)."""

from __future__ import annotations

import pytest

from ivr.case import Case
from ivr.events import Hangup

CASE = Case(name="赵红梅", amount=7200, days_overdue=40)
REST = ("在饭店打工", "三千五", "房租", "没了", "没有")


@pytest.mark.parametrize(
    ("purpose", "months", "amount", "day"),
    [
        ("知道，我正想找你们呢，能不能分四个月，每个月还一千八，从下个月八号开始", 4, 1800, "2026-12-08"),
        ("晓得的，刚好你们打来，我想分四期还，每期一千八，下月八号开始还第一笔", 4, 1800, "2026-12-08"),
        ("清楚，正好你们打来了，我准备分六个月还，一个月一千二，下个月十五号还第一次", 6, 1200, "2026-12-15"),
        ("知道的，能不能分三期，每期两千四，这个月二十五号先还第一期", 3, 2400, "2026-11-25"),
        ("嗯知道，能不能分八个月还，每月九百，下月一号开始", 8, 900, "2026-12-01"),
    ],
)
def test_a_plan_said_whole_at_the_debt_question_is_kept(call, purpose: str, months: int, amount: int, day: str) -> None:
    c = call(CASE)
    c.say("是我", purpose)
    d = c.session.dialog
    assert d.callback is None, d.callback
    out = c.say(*REST)
    if not (out and out[-1] == Hangup("completed")):
        out = c.say(day[5:7] + day[8:10] + "#")  # the day asked again is no failure of this kind
    assert d.plan is not None and d.plan["intent"] == "installment" and d.plan["months"] == months, d.plan
    assert d.promise is not None and d.promise["date"] == day and d.promise["amount"] == amount, d.promise


@pytest.mark.parametrize(
    "said",
    [
        "违约金可以不收吗？不收的话我这个月底全部还上",
        "罚息那块能免掉不？免了的话我月底一次性结清",
        "利息能不能少算点，少算的话月底我一把全还了",
        "滞纳金可以去掉吗？去掉的话这个月底我全部还完",
    ],
)
def test_b_a_payment_offered_on_a_reduction_is_the_plan(call, said: str) -> None:
    c = call(CASE)
    c.say("是我", "知道", *REST)
    c.say(said)
    d = c.session.dialog
    assert [r["kind"] for r in d.requests] == ["reduction"]
    assert d.plan is not None and d.plan["intent"] == "full", d.plan
    if d.promise is None:
        c.say("月底")
    assert d.promise is not None and d.promise["date"] == "2026-11-30", d.promise
