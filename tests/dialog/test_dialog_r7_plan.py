"""Whole calls (round 7 plan area) for two kinds of answer, each in several wordings written for these
tests (other regions, word orders, menus):

A. A reduction wish said in the same breath as what the caller will pay: the payment part is the plan
   (先还三千 → a part payment of 3000; 一次结清 + 抹零头 → a full payment with a reduction request),
   the wish is registered for a specialist, and the day is asked; "the rest waits for your answer"
   does not swallow what was agreed.
B. A reduction (or a vague wish for more months) said early, before the plan question: the plan the
   caller names later wins.  A loose "分长一点" is no number of months (the plan question is still
   asked), "第一次逾期" is no full payment, and more months than policy allow are met with the most
   allowed (never recorded as said).

Call time: Wed 2026-11-18 10:30 (tests/dialog/conftest.py)."""

from __future__ import annotations

import pytest

from ivr.case import Case
from ivr.events import Hangup, Say

CASE = Case(name="赵红梅", amount=7200, days_overdue=40)
TO_PLAN = ("是我", "知道的", "在饭店打工", "三千五", "房租", "没了", "没有")


def _last_say(actions) -> Say:
    return [a for a in actions if isinstance(a, Say)][-1]


def _kinds(d) -> list[str]:
    return [r["kind"] for r in d.requests]


# ---------------------------------------------------------------- A: the wish and the payment, one breath
@pytest.mark.parametrize(
    ("said", "intent", "amount"),
    [
        ("罚息能不能给我减掉点？这个月我先还三千，剩下的等你们通知再说", "partial", 3000),
        ("我先拿一半出来还上，利息那块你们看能不能少算，其余的等专员打来再商量", "partial", 3600),
        ("能不能少收点利息？我先还两千，别的你们审核完了再讲", "partial", 2000),
        ("我是想一口气还清的，但是能不能优惠一点，凑个整数七千行吗", "full", None),
        ("本金我这个月一把结掉，那些违约金啥的能不能给免了", "full", None),
        ("我打算一次性结清，零头能不能抹掉", "full", None),
        ("一次性全部还上没问题，滞纳金那块你们帮我申请去掉", "full", None),
    ],
)
def test_a_reduction_wish_with_a_payment_keeps_the_payment(call, said: str, intent: str, amount: int | None) -> None:
    c = call(CASE)
    c.say(*TO_PLAN)
    ask = _last_say(c.say(said))
    d = c.session.dialog
    assert "reduction" in _kinds(d) and d.callback is not None
    assert ask.prompt_id == "promise.ask", ask
    assert d.plan is not None and d.plan["intent"] == intent, d.plan
    if amount is not None:
        assert d.slots["promise_amount"].value == amount
    done = c.say("下个月五号", "#silence")  # nothing more at the closing
    assert done[-1] == Hangup("completed") and d.promise is not None and d.promise["date"] == "2026-12-05"
    assert _kinds(d).count("reduction") == 1


# ---------------------------------------------------------------- B: said early, the later plan wins
def _early(call, purpose: str, plan: str, *more: str):
    c = call(CASE)
    c.say("是我", purpose, "在饭店打工", "三千五", "房租", "没了", "没有")
    c.say(plan, *more)
    return c


@pytest.mark.parametrize(
    ("purpose", "plan", "more", "months"),
    [
        ("知道，能不能减点利息，我还是头一回逾期", "分三期吧", (), 3),
        ("知道的，我想问问能不能免掉一点，这是我第一次晚还", "那就分五个月", (), 5),
        ("知道，想跟你们协商一下，利息少点，时间拉长一点", "那分八个月", (), 8),
        ("知道的，能不能少还点，期数多分几期", "就四期吧", (), 4),
        ("晓得，我想申请停息挂账，分个四十八期", "那就十二期吧", (), 12),
        ("知道，我想分二十四个月还，利息能不能免", "行，十二期", (), 12),
    ],
)
def test_an_early_reduction_then_the_plan_said_later_wins(
    call, purpose: str, plan: str, more: tuple[str, ...], months: int
) -> None:
    c = _early(call, purpose, plan, *more)
    d = c.session.dialog
    assert "reduction" in _kinds(d)
    assert d.menu == "promise", [t.caller_text for t in d.turns]
    assert d.plan is not None and d.plan["intent"] == "installment" and d.plan.get("months") == months, d.plan
    done = c.say("下个月五号", "#silence")  # nothing more at the closing
    assert done[-1] == Hangup("completed") and d.promise is not None


def test_more_months_than_allowed_said_early_is_met_with_the_most_allowed(call) -> None:
    c = call(CASE)
    c.say("是我", "知道，我想停息挂账，分三十六期", "在饭店打工", "三千五", "房租", "没了")
    ask = _last_say(c.say("没有"))
    assert ask.prompt_id == "plan.max_installment", ask
    assert "12" in ask.text or "十二" in ask.text


def test_waiting_for_the_reduction_answer_at_the_most_months_offer_ends_politely(call) -> None:
    c = call(CASE)
    c.say("是我", "知道，我想停息挂账，分三十六期", "在饭店打工", "三千五", "房租", "没了", "没有")
    out = c.say("停息没批下来我啥也不定，叫你们专员给我回电")
    d = c.session.dialog
    assert out[-1] == Hangup("completed"), out
    assert d.result == "reduction_pending" and d.plan is None and "reduction" in _kinds(d)
