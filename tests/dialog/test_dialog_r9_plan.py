"""Whole calls (round 9 plan area): plans said beside a refusal or beside a reduction wish; each kind
in several wordings written for these tests.

A. A full payment said while waving instalments away with a verb between the negator and the word
   ("不搞那些分期", "甭给我弄分期") is a full payment of the whole debt, not instalments.
B. A reduction wish and a counted plan in one answer ("免不免都分八期") register the wish and keep
   the plan: the count is the plan, the call goes on to the date.
C. A monthly ceiling beside the count ("一个月顶多八百，分六个月") keeps the count, not "一个月".
D. An extension asked with interest stopped in one breath ("缓两个月，利息停一停") keeps the
   extension and its length; the waiver is registered as a request.

Call time: Wed 2026-11-18 10:30 (tests/dialog/conftest.py)."""

from __future__ import annotations

import pytest

from ivr.case import Case
from ivr.events import Hangup

CASE = Case(name="钱立伟", amount=6000, days_overdue=30)
BEFORE = ("是我", "知道", "上班的", "五千", "房租", "没了", "没有")


@pytest.mark.parametrize(
    "answer",
    [
        "六千我一次给你弄完，不搞那些分期，费劲",
        "你别给我整分期，我一把全还上",
        "甭跟我提分期啊，一次性结清得了",
        "不弄啥分期了，全部一起还",
        "不要给我办分期，一下子还完",
    ],
)
def test_a_full_payment_beside_instalments_waved_away(call, answer: str) -> None:
    c = call(CASE)
    c.say(*BEFORE)
    done = c.say(answer, "下周三", "#silence")
    d = c.session.dialog
    assert done and done[-1] == Hangup("completed"), c.bot_texts[-3:]
    assert d.plan is not None and d.plan["intent"] == "full", d.plan
    assert d.promise is not None and d.promise["amount"] == 6000, d.promise


@pytest.mark.parametrize(
    ("answer", "months"),
    [
        ("罚息能给我免了吧？免不免我都分八期还", 8),
        ("利息减一点行不行，反正我打算分五个月还", 5),
        ("能不能少点利息，不管减不减，我分六期", 6),
        ("本金我认，利息给我去掉点，我分四个月还", 4),
        ("利息太高了能不能打个折，我就分十期还", 10),
    ],
)
def test_b_reduction_beside_a_counted_plan_keeps_the_plan(call, answer: str, months: int) -> None:
    c = call(CASE)
    c.say(*BEFORE)
    done = c.say(answer, "下个月五号", "#silence")
    d = c.session.dialog
    assert done and done[-1] == Hangup("completed"), c.bot_texts[-3:]
    assert any(r.get("kind") == "reduction" for r in d.requests), d.requests
    assert d.plan is not None and d.plan["intent"] == "installment" and d.plan["months"] == months, d.plan
    assert d.promise is not None and d.promise["date"] == "2026-12-05", d.promise


@pytest.mark.parametrize(
    ("answer", "months"),
    [
        ("我一个月顶多还一千，分六个月吧", 6),
        ("每个月最多拿出八百来，分八个月还", 8),
        ("一个月能还五百，分十二期", 12),
        ("一个月我就挤得出一千五，分四个月", 4),
    ],
)
def test_c_monthly_ceiling_beside_the_count(call, answer: str, months: int) -> None:
    c = call(CASE)
    c.say(*BEFORE)
    done = c.say(answer, "下个月十号", "#silence")
    d = c.session.dialog
    assert done and done[-1] == Hangup("completed"), c.bot_texts[-3:]
    assert d.plan is not None and d.plan["intent"] == "installment" and d.plan["months"] == months, d.plan


@pytest.mark.parametrize(
    ("answer", "months"),
    [
        ("先缓两个月行不行，利息也停一停", 2),
        pytest.param(
            "能宽限三个月吗，罚息给我免掉",
            3,
            marks=pytest.mark.xfail(strict=True, reason="the asked extension clause is taken for an aside (open)"),
        ),
        ("往后推两个月，这期间别算利息了", 2),
        ("延期一个月，违约金能不能不收", 1),
    ],
)
def test_d_extension_beside_a_waiver_keeps_the_extension(call, answer: str, months: int) -> None:
    c = call(CASE)
    c.say(*BEFORE)
    c.say(answer)
    d = c.session.dialog
    assert any(r.get("kind") == "reduction" for r in d.requests), d.requests
    assert d.plan is not None and d.plan["intent"] == "extension" and d.plan.get("months") == months, (
        d.plan,
        c.bot_texts[-3:],
    )
