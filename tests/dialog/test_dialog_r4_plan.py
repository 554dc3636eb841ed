"""Whole calls for the round-4 kinds of cooperative / mixed / loose-date / question / slow callers
(sentences written for these tests).  Call time: Wed 2026-11-18 10:30 (tests/dialog/conftest.py)."""

from __future__ import annotations

from pathlib import Path

from ivr.case import Case
from ivr.events import Say, Transfer

from .conftest import simulate_json

CASE = Case(name="李娜", amount=6000, days_overdue=40)
TO_PLAN = ("是我", "知道的", "上班拿工资", "五千左右", "房租", "没有了", "没有")


def _last_say(actions) -> Say:
    return [a for a in actions if isinstance(a, Say)][-1]


def _not_handed_over(c) -> None:
    assert not any(isinstance(a, Transfer) for a in c.heard), c.session.dialog.turns[-1]


# ---------------------------------------------------------------- purpose: owning the debt


def test_a_debit_that_failed_is_owning_the_debt_not_a_payment(call):
    c = call(CASE)
    c.say("是我", "知道知道，银行卡换了以后扣款失败了，抱歉")
    d = c.session.dialog
    assert d.turns[-1].intent == "ack" and d.menu == "income_source"
    _not_handed_over(c)


def test_a_cantonese_apology_owns_the_debt(call):
    c = call(CASE)
    c.say("系我", "唔好意思，呢排生意差")
    d = c.session.dialog
    assert d.turns[-1].intent == "ack" and d.menu.startswith("income_")  # 生意差 may answer the income ahead
    _not_handed_over(c)


def test_saying_one_does_not_deny_it_while_asking_about_fees_goes_on(call):
    c = call(CASE)
    c.say("是我", "钱我没说不认，你先讲讲利息罚息是多少")
    d = c.session.dialog
    assert d.turns[-1].intent != "dispute" and d.menu in ("purpose", "income_source")
    assert not any(r["kind"] == "reduction" for r in d.requests)  # 多少 is no 少还
    _not_handed_over(c)


# ---------------------------------------------------------------- words that only look like requests


def test_workers_wages_are_an_expense_not_a_request_for_a_person(call):
    c = call(CASE)
    c.say("是我", "知道的", "做点小工程", "不一定")
    c.say("要先给工人工资，还有房租")
    d = c.session.dialog
    assert d.turns[-1].intent == "expenses" and "rent" in d.turns[-1].slots["categories"]
    _not_handed_over(c)


def test_food_and_medicine_in_a_list_are_no_distress(call):
    c = call(CASE)
    c.say("是我", "知道的", "退休工资", "两千多")
    c.say("吃喝、药费、电费")
    assert c.session.dialog.turns[-1].intent == "expenses"
    _not_handed_over(c)


# ---------------------------------------------------------------- mixed initiative and loose dates


def test_plan_with_its_first_transfer_day_and_amount_skips_the_date_question(call):
    c = call(CASE)
    c.say(*TO_PLAN)
    last = c.say("分三个月，下周一我先打一千过去", "#silence")
    d = c.session.dialog
    assert d.finished and d.outcome == "completed", last
    assert d.promise == {"date": "2026-11-23", "amount": 1000}


def test_ten_days_of_a_month_are_proposed_then_the_day_said_is_taken(call):
    c = call(CASE)
    c.say(*TO_PLAN, "一次还清")
    ask = _last_say(c.say("下个月上旬吧"))
    assert ask.prompt_id == "promise.confirm_date" and "12月5日" in ask.text
    c.say("八号吧，十二月八号")
    assert c.session.dialog.promise["date"] == "2026-12-08"


def test_payday_named_as_a_day_is_that_day(call):
    c = call(CASE)
    c.say(*TO_PLAN, "一次还清")
    c.say("后天发工资，发了就还你们")
    assert c.session.dialog.promise["date"] == "2026-11-20"


def test_a_loose_period_too_far_gets_the_latest_day_then_the_callers_own_day(call):
    c = call(CASE)
    c.say(*TO_PLAN, "一次还清")
    offer = _last_say(c.say("等过了正月十五再说吧"))
    assert offer.prompt_id == "promise.too_far" and "2月16日" in offer.text
    c.say("那就一月二十号")
    assert c.session.dialog.promise["date"] == "2027-01-20"


def test_in_a_few_days_is_no_plan_the_plan_is_still_asked(call):
    c = call(CASE)
    c.say("是我", "知道，过两天就还", "上班拿工资", "五千左右", "房租", "没有了")
    ask = _last_say(c.say("没有"))
    assert ask.prompt_id.startswith("plan.") and c.session.dialog.menu == "plan"
    c.say("缓两个月吧")
    assert c.session.dialog.slots["months"].value == 2


# ---------------------------------------------------------------- questions


def test_a_bare_no_before_asking_where_the_number_came_from_is_no_denial(call):
    c = call(CASE)
    said = c.say("不是，你们从哪弄来的我手机号？")
    d = c.session.dialog
    assert d.identity != "denied" and not d.finished
    assert "李娜" in _last_say(said).text  # identity asked again
    c.say("哦，那是我")
    assert d.identity == "confirmed"


def test_an_explicit_denial_with_the_number_question_still_ends_as_wrong_person(call):
    c = call(CASE)
    c.say("我不是李娜，你们怎么会有这个号码")
    d = c.session.dialog
    assert d.identity == "denied" and d.finished


def test_asking_where_the_number_came_from_after_the_debt_is_not_busy(call):
    c = call(CASE)
    c.say("是我")
    c.say("等一下，这个号码你们打哪儿弄来的？")
    d = c.session.dialog
    assert d.callback is None and not d.finished and d.menu == "purpose"
    c.say("行吧，这钱我知道")
    assert d.menu == "income_source"


def test_a_document_the_bot_cannot_issue_is_kept_as_a_question(tmp_path: Path):
    out = simulate_json(tmp_path, "是我", "知道，这周就全还了，还清以后能给我开个还款证明吗", "#hangup")
    assert [r["kind"] for r in out["requests"]] == ["question"] and out["requests"][0]["turn"] == 2


# ---------------------------------------------------------------- slow callers


def test_slow_down_said_with_an_answer_takes_the_answer_and_slows(call):
    c = call(CASE)
    c.say(*TO_PLAN)
    c.say("你慢点讲嘛，我分两个月还")
    d = c.session.dialog
    assert d.slow and d.slots["months"].value == 2 and d.menu == "promise"
    _not_handed_over(c)


def test_slow_down_with_a_question_about_an_option_chooses_nothing(call):
    c = call(CASE)
    c.say(*TO_PLAN)
    c.say("讲慢一点嘛，分几个月还是怎么个还法？")
    d = c.session.dialog
    assert d.slow and d.menu == "plan" and "plan" not in d.slots
    _not_handed_over(c)
