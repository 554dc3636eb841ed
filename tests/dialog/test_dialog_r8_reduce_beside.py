"""Whole calls (round 8, reduction said beside a plan), each kind in several wordings written for these tests:

A. A reduction asked at the debt question with a complaint about the cost ("利息太高，能少点吗") owns the
   debt: it is registered for a specialist with a callback and the call goes on to a plan, no dispute hand-over.
B. A reduction named as a share of the debt ("减一半", "打个对折", "砍掉三成") is a reduction request even
   when the plan said later is plain: registered, callback arranged, the plan kept.
C. The principal offered in full beside a waiver wish ("滞纳金能免吗？本金我全部还") at the debt question:
   the whole debt is the plan (full), not a part payment; the waiver is a request.
D. An unusual loss, a reduction wish and an instalment plan in one breath: the loss is noted, the wish
   registered, the months and the monthly figure kept for the plan.

Call time: Wed 2026-11-18 10:30 (tests/dialog/conftest.py)."""

from __future__ import annotations

import pytest

from ivr.case import Case
from ivr.events import Hangup, Transfer

CASE = Case(name="周立新", amount=9600, days_overdue=50)
REST = ("在物流公司开车", "六千", "房租两千", "没了", "没有")


def _kinds(d) -> list[str]:
    return [r["kind"] for r in d.requests]


@pytest.mark.parametrize(
    "purpose",
    [
        "晓得，不过你们这罚息收得太狠了，能不能少算一点？",
        "清楚的。就是利息高得离谱，可不可以给我优惠点",
        "嗯，这笔我认，但是违约金太多了，能减一点不？",
        "知道啊，利息贵死了，你们能不能给打个折",
        "知道知道，就是这手续费太坑了，能不能免掉一些",
        "知道。讲真的，你们这罚息也太高了，能不能少收点？",
    ],
)
def test_a_reduction_with_a_cost_complaint_at_the_debt_question_is_no_dispute(call, purpose: str) -> None:
    c = call(CASE)
    out = c.say("是我", purpose)
    d = c.session.dialog
    assert not any(isinstance(a, Transfer) for a in out), out
    assert "reduction" in _kinds(d) and d.callback is not None
    c.say(*REST)
    c.say("那就先分四期")
    out = c.say("下个月三号", "#silence")
    assert out[-1] == Hangup("completed")
    assert d.plan is not None and d.plan["intent"] == "installment" and d.plan["months"] == 4, d.plan
    assert d.promise is not None and d.promise["date"] == "2026-12-03"


@pytest.mark.parametrize(
    "purpose",
    [
        "知道，拖了好久了。能不能给我减一半？全额我实在拿不出",
        "晓得，我想问下能不能打个对折，整数我还不上",
        "知道的，你们能不能砍掉三成，剩下的我慢慢还",
        "知道，能不能给我少一半呀，太多了",
        "知道，本金能不能减掉一半",
    ],
)
def test_b_a_reduction_named_as_a_share_is_registered_and_the_plan_kept(call, purpose: str) -> None:
    c = call(CASE)
    c.say("是我", purpose)
    d = c.session.dialog
    assert "reduction" in _kinds(d) and d.callback is not None, d.requests
    c.say(*REST)
    c.say("最长能分几期就分几期吧，十二期")
    out = c.say("下个月十号", "#silence")
    assert out[-1] == Hangup("completed")
    assert d.plan is not None and d.plan["intent"] == "installment" and d.plan["months"] == 12, d.plan
    assert _kinds(d).count("reduction") == 1


@pytest.mark.parametrize(
    "purpose",
    [
        "知道，滞纳金能不能免了？本金我全部还",
        "晓得，我就迟了几天，罚息能去掉吗，本金一分不少都还你们",
        "清楚，违约金能不能不收？本金我都还上",
        "知道的，利息能不能免，本钱我全还",
    ],
)
def test_c_the_principal_in_full_beside_a_waiver_is_a_full_payment(call, purpose: str) -> None:
    c = call(CASE)
    c.say("是我", purpose)
    d = c.session.dialog
    assert "reduction" in _kinds(d)
    c.say(*REST)
    if d.plan is None:
        c.say("本金利息一次还清，别的你们再商量")
    assert d.plan is not None and d.plan["intent"] == "full", d.plan
    if d.promise is None:
        c.say("月底")
    assert d.promise is not None and d.promise["date"] == "2026-11-30", d.promise


@pytest.mark.parametrize(
    ("loss", "months", "amount"),
    [
        ("我妈摔了一跤住院，花了三万多，利息能不能给免了？本金我分八个月还，每个月一千二", 8, 1200),
        ("我出了车祸，腿断了，你们能不能减免点利息，剩下的分四期，每期两千四", 4, 2400),
        ("孩子生病做手术花光了，罚息可以免掉吗？本金我想分六个月，一个月一千六", 6, 1600),
        ("家里老人过世办丧事花了不少，利息能少点不，我分八期还，每期一千二", 8, 1200),
    ],
)
def test_d_loss_wish_and_plan_in_one_breath_keeps_all(call, loss: str, months: int, amount: int) -> None:
    c = call(CASE)
    c.say("是我", "知道", "在物流公司开车", "六千", "房租两千", "没了")
    c.say(loss)
    d = c.session.dialog
    assert "reduction" in _kinds(d) and d.callback is not None, d.requests
    if d.plan is None:
        c.say(f"就分{months}个月")
    assert d.plan is not None and d.plan["intent"] == "installment" and d.plan["months"] == months, d.plan
    if d.promise is None:
        out = c.say("这个月二十八号先还第一期", "#silence")
    else:
        out = c.say("#silence")
    assert out[-1] == Hangup("completed")
    assert d.promise is not None and d.promise["date"] == "2026-11-28" and d.promise["amount"] == amount, d.promise
