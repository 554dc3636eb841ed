"""Whole calls (text simulation through CallSession) with dates and amounts said loosely:
payday asked then used, a too-far date answered with the latest allowed day, a loose period read
back for confirmation, a share of the debt, an amount range asked back, months beyond policy.
Call time: Wed 2026-11-18 10:30 (tests/dialog/conftest.py)."""

from __future__ import annotations

from ivr.case import Case
from ivr.events import Hangup, Say

CASE = Case(name="李娜", amount=6000, days_overdue=40)
TO_PLAN = ("是我", "知道的", "上班拿工资", "五千左右", "房租", "没有了", "没有")


def _last_say(actions) -> Say:
    return [a for a in actions if isinstance(a, Say)][-1]


def _closed(d) -> None:
    assert d.finished and d.outcome == "completed" and d.result == "promise", d.turns[-1]


def test_payday_is_asked_then_used(call):
    c = call(CASE)
    c.say(*TO_PLAN, "一次还清")
    ask = _last_say(c.say("等发了工资就还"))
    assert ask.prompt_id == "promise.payday" and "几号" in ask.text
    last = c.say("我们每个月二十号发", "#silence")
    assert isinstance(last[-1], Hangup)
    d = c.session.dialog
    _closed(d)
    assert d.promise == {"date": "2026-11-20", "amount": 6000}
    assert "11月20日，星期五" in last[0].text  # read back with the weekday


def test_payday_said_twice_gets_a_proposal(call):
    c = call(CASE)
    c.say(*TO_PLAN, "一次还清", "发工资那天")
    again = _last_say(c.say("就发工资那天嘛"))
    assert again.prompt_id == "promise.propose" and "11月25日，星期三" in again.text
    c.say("可以")
    assert c.session.dialog.promise["date"] == "2026-11-25"


def test_too_far_offers_the_latest_allowed_day_and_accepting_sets_it(call):
    c = call(CASE)
    c.say(*TO_PLAN, "一次还清")
    offer = _last_say(c.say("明年五月一号"))
    assert offer.prompt_id == "promise.too_far" and "2月16日，星期二" in offer.text  # 2026-11-18 + 90 days
    last = c.say("行", "#silence")
    _closed(c.session.dialog)
    assert c.session.dialog.promise["date"] == "2027-02-16" and "2月16日，星期二" in last[0].text


def test_too_far_then_a_nearer_day(call):
    c = call(CASE)
    c.say(*TO_PLAN, "一次还清", "开春以后吧")
    c.say("那就这个月底吧")
    assert c.session.dialog.promise["date"] == "2026-11-30"


def test_a_loose_period_is_read_back_and_confirmed(call):
    c = call(CASE)
    c.say(*TO_PLAN, "一次还清")
    confirm = _last_say(c.say("年后吧"))
    assert confirm.prompt_id == "promise.confirm_date" and "2月13日，星期六" in confirm.text
    c.say("好的")
    assert c.session.dialog.promise["date"] == "2027-02-13"


def test_a_loose_period_can_be_corrected(call):
    c = call(CASE)
    c.say(*TO_PLAN, "一次还清", "过完年")
    c.say("那就二月十号")
    assert c.session.dialog.promise["date"] == "2027-02-10"


def test_soon_gets_a_proposal_within_policy(call):
    c = call(CASE)
    c.say(*TO_PLAN, "一次还清")
    proposal = _last_say(c.say("过几天吧，我这两天凑凑"))
    assert proposal.prompt_id == "promise.propose" and "11月25日，星期三" in proposal.text
    c.say("那就下礼拜二吧")
    assert c.session.dialog.promise["date"] == "2026-11-24"


def test_a_share_of_the_debt_is_turned_into_yuan(call):
    c = call(CASE)
    c.say(*TO_PLAN)
    ask = _last_say(c.say("先还三分之一行不，剩下的往后再商量"))
    assert ask.prompt_id == "promise.ask" and "二千元" in ask.text
    c.say("下周五")
    assert c.session.dialog.promise == {"date": "2026-11-27", "amount": 2000}


def test_a_figure_said_with_a_share_is_kept(call):
    c = call(Case(name="李娜", amount=9000, days_overdue=40))
    c.say(*TO_PLAN, "先还一半，四千", "下周五")
    assert c.session.dialog.promise["amount"] == 4000  # never silently replaced by 4500


def test_an_amount_range_is_asked_back_never_picked(call):
    c = call(CASE)
    c.say(*TO_PLAN)
    which = _last_say(c.say("先还个一两千吧"))
    assert which.prompt_id == "amount.which" and "一千元" in which.text and "二千元" in which.text
    ask = _last_say(c.say("那就一千五吧"))
    assert ask.prompt_id == "promise.ask" and "一千五百元" in ask.text
    c.say("这周五")
    assert c.session.dialog.promise == {"date": "2026-11-20", "amount": 1500}


def test_an_amount_range_not_settled_is_not_guessed(call):
    c = call(CASE)
    c.say(*TO_PLAN, "先还个一两千吧", "都行", "随便")
    d = c.session.dialog
    assert d.menu == "promise" and "promise_amount" not in d.slots


def test_months_beyond_policy_name_the_maximum_and_accepting_takes_it(call):
    c = call(Case(name="李娜", amount=36000, days_overdue=40))
    c.say(*TO_PLAN)
    offer = _last_say(c.say("分两年行不"))
    assert offer.prompt_id == "plan.max_installment" and "12期" in offer.text
    assert "months" not in c.session.dialog.slots  # the caller's 24 is not replaced silently
    c.say("可以", "下周五")
    d = c.session.dialog
    assert d.slots["months"].value == 12 and d.promise == {"date": "2026-11-27", "amount": 3000}


def test_months_beyond_policy_then_another_count(call):
    c = call(Case(name="李娜", amount=36000, days_overdue=40))
    c.say(*TO_PLAN, "分两年，二十四期")
    c.say("那就十个月吧", "下周五")
    d = c.session.dialog
    assert d.plan_label() == "分10期还款" and d.promise["amount"] == 3600


def test_eight_instalments_stay_eight(call):
    c = call(Case(name="李娜", amount=16000, days_overdue=40))
    c.say(*TO_PLAN, "分八期吧", "下周五")
    d = c.session.dialog
    assert d.slots["months"].value == 8 and d.promise["amount"] == 2000


def test_extension_beyond_policy_offers_the_maximum(call):
    c = call(CASE)
    c.say(*TO_PLAN)
    offer = _last_say(c.say("能不能缓半年"))
    assert offer.prompt_id == "plan.max_extension" and "3个月" in offer.text
    c.say("缓个仨月吧")
    assert c.session.dialog.slots["months"].value == 3 and c.session.dialog.menu == "promise"
