"""Whole calls for round-5 kinds of reduction wishes and contact preferences: the wish is registered
for a specialist (requests[] + callback) and the call goes on with what the caller agrees today —
a part payment keeps the caller's own figure (先还一点，八百), a full payment said before the wish is
kept, a one-off sum below the debt with "the rest waived" is a part payment, waiting for the
specialist in the same breath ends the call with nothing promised, a wish said at the identity
question is registered once identity is confirmed.  A calm contact preference said with an answer
(from now on after five; not at weekends; fewer calls today) is recorded and the answer is used.
Call time: Wed 2026-11-18 10:30 (tests/dialog/conftest.py).  Sentences written for these tests."""

from __future__ import annotations

from pathlib import Path

from ivr.case import Case
from ivr.events import Hangup, Say, Transfer
from ivr.locale import MANDARIN

from .conftest import Call, no_debt, simulate_json

CASE = Case(name="孙丽萍", amount=7200, days_overdue=40)
TO_PLAN = ("是我", "知道的", "在超市理货", "四千", "房租", "没了", "没有")


def _last_say(actions) -> Say:
    return [a for a in actions if isinstance(a, Say)][-1]


def _kinds(c: Call) -> list[str]:
    return [r["kind"] for r in c.session.dialog.requests]


def _to_plan(call) -> Call:
    c = call(CASE)
    c.say(*TO_PLAN)
    assert c.session.dialog.menu == "plan"
    return c


def test_a_little_then_the_figure_is_the_figure_not_a_decimal() -> None:
    amount = MANDARIN.parse_amount
    assert amount(MANDARIN.normalize("我先还一点，八百").text) == 800  # the comma is gone once normalised
    assert amount(MANDARIN.normalize("先给一点吧，一千二").text) == 1200
    assert amount("一点五万") == 15000  # a real decimal stays one
    assert amount("下午一点五十") is None  # a clock time is no money


def test_a_part_payment_after_the_wish_keeps_the_callers_figure(call) -> None:
    c = _to_plan(call)
    ask = _last_say(c.say("免息的事你们先帮我报上去，这个月我先还一点，八百"))
    d = c.session.dialog
    assert _kinds(c) == ["reduction"] and d.callback is not None
    assert ask.prompt_id.startswith("promise."), ask
    assert d.plan is not None and d.plan["intent"] == "partial"
    done = c.say("二十五号", "#silence")
    assert done[-1] == Hangup("completed")
    assert d.promise == {"date": "2026-11-25", "amount": 800}, d.promise  # never 30 % of the debt


def test_a_full_payment_said_before_a_fee_waiver_wish_is_kept(call) -> None:
    c = _to_plan(call)
    ask = _last_say(c.say("全部一次结清吧。那个滞纳金能不能给我去掉？"))
    d = c.session.dialog
    assert _kinds(c) == ["reduction"]
    assert d.plan is not None and d.plan["intent"] == "full", d.plan
    assert ask.prompt_id.startswith("promise."), ask
    c.say("下周一", "#silence")
    assert d.outcome == "completed" and d.promise is not None and d.promise["date"] == "2026-11-23"


def test_a_discount_as_the_price_of_paying_in_full_is_still_no_plan(call) -> None:
    c = _to_plan(call)
    c.say("要是能把罚息免掉，我就一次性结清")
    d = c.session.dialog
    assert _kinds(c) == ["reduction"] and d.plan is None and d.menu == "plan"


def test_a_one_off_sum_below_the_debt_with_the_rest_waived_is_a_part_payment(call) -> None:
    c = _to_plan(call)
    c.say("我一次性付两千，其余的给我抹掉行吗")
    d = c.session.dialog
    assert _kinds(c) == ["reduction"] and d.callback is not None and d.callback["about"] == "reduction"
    assert d.plan is not None and d.plan["intent"] == "partial", d.plan
    c.say("这周五")
    assert d.promise == {"date": "2026-11-20", "amount": 2000}, d.promise


def test_waiting_for_the_specialist_in_the_same_breath_ends_with_nothing_promised(call) -> None:
    c = _to_plan(call)
    out = c.say("我就是问问能不能少还一些，等专员打电话过来我再决定")
    d = c.session.dialog
    assert out[-1] == Hangup("completed") and d.finished
    assert d.result == "reduction_pending" and d.promise is None and d.plan is None
    assert _kinds(c) == ["reduction"] and d.callback is not None


def test_asking_to_hear_the_decision_without_putting_off_the_plan_still_asks_for_one(call) -> None:
    c = _to_plan(call)
    out = c.say("利息可以减一点吗？有结果了给我回个电话")
    d = c.session.dialog
    assert not d.finished and d.menu == "plan", out  # what can be agreed today is still asked
    assert _kinds(c) == ["reduction"]
    c.say("那先分四期")
    assert d.plan is not None and d.plan["intent"] == "installment" and d.plan["months"] == 4


def test_a_wish_said_with_the_identity_answer_is_registered_once_identity_is_confirmed(call) -> None:
    c = call(CASE)
    first = c.say("对，我是孙丽萍本人，利息能不能少算点啊？")
    d = c.session.dialog
    assert d.identity == "confirmed" and d.requests == [], first  # the debt is named first
    assert not any("本人确认后" in t for t in c.bot_texts)  # no "after identity" aside to one who just gave it
    c.say("知道的")
    assert _kinds(c) == ["reduction"] and d.callback is not None and d.callback["about"] == "reduction"
    assert d.menu == "income_source" and any("专员" in t for t in c.bot_texts)
    c.say("在超市理货", "四千", "房租", "没了", "没有", "分三期吧", "下个月三号", "#silence")
    assert d.outcome == "completed" and d.plan is not None and d.plan["months"] == 3
    assert _kinds(c) == ["reduction"]  # registered once


def test_a_family_members_wish_is_never_registered_for_the_debtor(call) -> None:
    c = call(CASE)
    c.say("我是她老公，她那个能不能减免一下")
    d = c.session.dialog
    assert d.requests == []
    no_debt(c)


def test_from_now_on_after_five_is_a_preference_not_a_callback_today(call) -> None:
    c = call(CASE)
    c.say("是我")
    out = c.say("知道。跟你们说一下，以后都下午五点以后再联系，上班时间我没法接")
    d = c.session.dialog
    assert not any(isinstance(a, Hangup | Transfer) for a in out), out
    assert d.callback is None and d.contact_preference is not None
    assert d.menu == "income_source"


def test_fewer_calls_asked_calmly_with_the_answer_is_no_payment_claim(call) -> None:
    c = call(CASE)
    c.say("是我")
    out = c.say("知道。你们今天都打了四个了，钱我会还的，能不能少打点")
    d = c.session.dialog
    assert not any(isinstance(a, Transfer) for a in out), out  # not "already paid", not emotional
    assert d.contact_preference is not None and "less_often" in d.contact_preference["kinds"]
    assert d.menu == "income_source"
    c.say("在超市理货", "四千", "房租", "没了", "没有", "分三期", "下个月三号", "#silence")
    assert d.outcome == "completed" and d.plan is not None and d.plan["intent"] == "installment"


def test_not_at_weekends_said_with_the_identity_answer_confirms_and_goes_on(call) -> None:
    c = call(CASE)
    out = c.say("嗯，我就是。礼拜天能不能别打电话，就一天休息")
    d = c.session.dialog
    assert d.identity == "confirmed" and d.menu == "purpose", out
    assert d.contact_preference is not None and d.contact_preference["kinds"] == ["preferred_time"]
    assert sum("记" in t for t in c.bot_texts) >= 1


def test_a_dialect_particle_after_the_affirmation_confirms(call) -> None:
    c = call(CASE)
    c.say("是我撒")
    assert c.session.dialog.identity == "confirmed" and c.session.dialog.menu == "purpose"


def test_discounted_settlement_through_ivr_simulate_json(tmp_path: Path) -> None:
    report = simulate_json(
        tmp_path,
        "是我",
        "知道",
        "送外卖",
        "五千",
        "房租",
        "没有了",
        "没有",
        "一次性给你们一千五，余下的就算了吧",
        "下周三",
    )
    assert report["outcome"] == "completed"
    assert [r["kind"] for r in report["requests"]] == ["reduction"]
    assert report["callback"] is not None
    assert report["plan"]["intent"] == "partial"
    assert report["promise"] == {"date": "2026-11-25", "amount": 1500}
