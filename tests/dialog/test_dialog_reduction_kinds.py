"""Whole calls for answers that mix a wish to pay less with what the caller can do today, and for
answers that only look like a dispute or abuse (c-merge): an acknowledged debt with a complaint about
its cost, a bare "what loan?" asked back, interest "rolling over", a plan said together with a
reduction request, a full payment offered only on the condition of a discount, the principal alone.
Call time: Wed 2026-11-18 10:30 (tests/dialog/conftest.py).  Sentences written for these tests."""

from __future__ import annotations

from ivr.case import Case
from ivr.events import Hangup, Say, Transfer

CASE = Case(name="赵红梅", amount=7200, days_overdue=40)
TO_PLAN = ("是我", "知道的", "在饭店打工", "三千五", "房租", "没了", "没有")


def _last_say(actions) -> Say:
    return [a for a in actions if isinstance(a, Say)][-1]


def _kinds(d) -> list[str]:
    return [r["kind"] for r in d.requests]


def test_owning_the_debt_but_finding_the_interest_too_high_is_no_dispute(call) -> None:
    c = call(CASE)
    c.say("是我")
    out = c.say("这个我知道，就是你们罚息收得也太狠了点")
    assert not any(isinstance(a, Transfer) for a in out), out
    assert c.session.dialog.menu == "income_source"


def test_interest_too_high_with_no_acknowledgement_is_still_a_dispute(call) -> None:
    c = call(CASE)
    c.say("是我")
    out = c.say("利息这么高，这个数我不认")
    assert any(isinstance(a, Transfer) for a in out)
    assert c.session.dialog.trigger is not None and c.session.dialog.trigger.reason == "dispute"


def test_what_loan_asked_back_is_confusion_not_a_dispute(call) -> None:
    c = call(CASE)
    c.say("是我")
    out = c.say("哪个贷款呀？")
    assert not any(isinstance(a, Transfer) for a in out), out  # said again, more simply
    assert c.session.dialog.menu == "purpose"
    c.say("我听不明白")
    out = c.say("你说的我搞不懂")
    assert any(isinstance(a, Transfer) for a in out)
    assert c.session.dialog.trigger.reason == "confused"


def test_what_loan_with_a_denial_stays_a_dispute(call) -> None:
    c = call(CASE)
    c.say("是我")
    out = c.say("什么贷款？我压根没在你们这借过")
    assert any(isinstance(a, Transfer) for a in out)
    assert c.session.dialog.trigger.reason == "dispute"


def test_interest_rolling_over_is_no_abuse(call) -> None:
    c = call(CASE)
    c.say(*TO_PLAN)
    ask = _last_say(c.say("干脆一次性还掉，省得利息越滚越多"))
    assert ask.prompt_id == "promise.ask", ask
    assert c.session.dialog.plan["intent"] == "full"


def test_a_reduction_request_then_instalments_keeps_both(call) -> None:
    c = call(CASE)
    c.say(*TO_PLAN)
    c.say("罚息那块能不能给我去掉一些？这么加下去我真受不了")
    d = c.session.dialog
    assert "reduction" in _kinds(d) and d.callback is not None and d.plan is None
    ask = _last_say(c.say("行，那今天先按六期来"))
    assert ask.prompt_id == "promise.ask", ask
    assert d.plan["intent"] == "installment" and d.plan.get("months") == 6
    done = c.say("下个月五号", "#silence")
    assert done[-1] == Hangup("completed") and d.promise["date"] == "2026-12-05"
    assert _kinds(d).count("reduction") == 1


def test_paying_in_full_on_condition_of_a_discount_is_no_plan_yet(call) -> None:
    c = call(CASE)
    c.say(*TO_PLAN)
    c.say("给我打个九折吧，打了折我马上一把给你们清掉")
    d = c.session.dialog
    assert "reduction" in _kinds(d) and d.plan is None and d.menu == "plan"
    c.say("那就分三个月")
    assert d.plan["intent"] == "installment" and d.plan.get("months") == 3


def test_the_principal_alone_is_a_part_payment_and_its_figure_is_asked(call) -> None:
    c = call(CASE)
    c.say(*TO_PLAN)
    ask = _last_say(c.say("滞纳金能不能免掉？本金我这礼拜五就能转过去"))
    d = c.session.dialog
    assert "reduction" in _kinds(d)
    assert ask.prompt_id == "amount.principal", ask  # never 30 % of the total guessed
    c.say("本金是六千一")
    assert d.plan["intent"] == "partial"
    assert d.promise == {"date": "2026-11-20", "amount": 6100}, d.promise


def test_the_principal_alone_takes_the_cases_figure_when_it_has_one(call) -> None:
    c = call(Case(name="赵红梅", amount=7200, days_overdue=40, principal=6000))
    c.say(*TO_PLAN)
    c.say("利息减一减行不行，本金我先还上")
    d = c.session.dialog
    assert d.plan["intent"] == "partial" and d.slots["promise_amount"].value == 6000


def test_a_share_the_insurance_paid_is_no_part_payment(call) -> None:
    c = call(CASE)
    c.say("是我", "知道的", "在饭店打工", "三千五")
    c.say("我爸住院，新农合报了一部分，自个还得掏九百")
    c.say("没了", "没有")
    assert c.session.dialog.menu == "plan" and c.session.dialog.plan is None


def test_a_full_payment_with_its_day_said_beside_a_reduction_is_kept(call) -> None:
    c = call(CASE)
    c.say(*TO_PLAN)
    c.say("违约金能不能少收点，这个月二十号我全部还清")
    d = c.session.dialog
    assert "reduction" in _kinds(d)
    assert d.plan is not None and d.plan["intent"] == "full"
