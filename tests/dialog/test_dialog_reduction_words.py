"""Reduction wishes as whole calls (round-4 kinds): a wish said in the words callers use — growing
interest (越滚越多), the charge then the ask (违约金可不可以给我减掉), a plan proposed as a question in
the same breath, a call-back time for the specialist, waiting for the decision — is registered with a
specialist callback and the call goes on with what can be agreed today.  Also the words that made such
calls fail elsewhere: 工人工资 is no request for a person, a loss at a branch shop (分公司) is no plan.
The caller lines are written for these tests."""

from __future__ import annotations

from pathlib import Path

import pytest

from ivr.dialog import Dialog
from ivr.session import CallSession

from .conftest import Call, simulate_json


@pytest.fixture
def call_r(store, new_dialog) -> Call:
    return Call(CallSession(store, new_dialog(), transport="text"))


def _to_plan(c: Call) -> Dialog:
    c.say("是我，张伟", "知道", "上班拿工资", "六千左右", "房租", "没有了", "没有")
    d = c.session.dialog
    assert d.menu == "plan"
    return d


def _reduction_registered(d: Dialog) -> None:
    assert [r["kind"] for r in d.requests] == ["reduction"] and d.requests[0]["decision"] == "human"
    assert d.callback is not None and d.callback["about"] == "reduction"


def test_growing_interest_is_a_reduction_wish_not_an_insult(call_r):
    d = _to_plan(call_r)
    call_r.say("违约金一个劲往上滚，越滚越多，你们能不能帮我把它免掉")
    _reduction_registered(d)
    assert not d.finished and d.menu == "plan" and d.trigger is None  # not escalated as abuse
    call_r.say("那我先分五个月还", "下个月三号", "#silence")
    assert d.finished and d.outcome == "completed"
    assert d.plan is not None and d.plan["intent"] == "installment" and d.plan["months"] == 5
    assert d.promise is not None and d.promise["date"] == "2026-12-03"


def test_a_real_insult_with_the_same_word_still_escalates(call_r):
    d = _to_plan(call_r)
    call_r.say("少废话，滚")
    assert d.finished and d.outcome == "escalated" and d.trigger is not None
    assert d.trigger.reason == "emotional" and d.requests == []


def test_charge_then_ask_then_verb_at_the_purpose_question(call_r):
    call_r.say("是我，张伟")
    d = call_r.session.dialog
    call_r.say("知道是知道，不过那个违约金可否给我停了")
    _reduction_registered(d)
    assert d.menu == "income_source" and any("专员" in t for t in call_r.bot_texts)


def test_a_plan_asked_as_a_question_with_the_wish_is_kept(call_r):
    d = _to_plan(call_r)
    call_r.say("可不可以缓三个月再还，还有那个罚息能否给我停了")
    _reduction_registered(d)
    assert d.menu == "promise"
    assert d.plan is not None and d.plan["intent"] == "extension" and d.plan["months"] == 3


def test_waiting_for_the_decision_in_other_words_ends_completed(call_r):
    d = _to_plan(call_r)
    call_r.say("利息能不能减免", "等审批下来了你们再通知我，今天我不想定")
    assert d.finished and d.outcome == "completed" and d.result == "reduction_pending"
    assert d.promise is None and d.plan is None
    _reduction_registered(d)


def test_the_wish_with_its_callback_time_and_a_part_payment_later(tmp_path: Path):
    report = simulate_json(
        tmp_path,
        "是我",
        "知道",
        "开出租车",
        "五千",
        "房租和吃饭",
        "没有了",
        "没有",
        "罚息可不可以免掉啊，叫你们专员晚上七点以后打给我，白天我在跑车",
        "那我先还八百",
        "这周六",
    )
    assert report["outcome"] == "completed"
    assert [r["kind"] for r in report["requests"]] == ["reduction"]
    assert report["callback"]["at"] == "2026-11-18T19:00"
    wish = next(t for t in report["turns"] if t["intent"] == "reduction")
    assert "晚上7点" in wish["bot"] and wish["menu"] == "plan"  # the time is read back, the plan asked again
    assert report["plan"]["intent"] == "partial" and report["promise"] == {"date": "2026-11-21", "amount": 800}


def test_a_callback_time_outside_the_window_is_moved_into_it(call_r):
    d = _to_plan(call_r)
    call_r.say("利息给我免点吧，夜里十一点让专员给我回电话")
    _reduction_registered(d)
    assert d.callback is not None and d.callback["at"] is not None
    assert "08:00" <= d.callback["at"][11:] <= "21:00"


def test_wages_for_workers_are_an_expense_not_a_request_for_a_person(call_r):
    call_r.say("是我，张伟", "知道", "开了个小作坊", "七八千")
    d = call_r.session.dialog
    call_r.say("店面租金，每个月还要发工人工资")
    assert not d.finished and d.trigger is None
    assert "rent" in d.slots["expenses"].value
    call_r.say("没了", "没有")
    assert d.menu == "plan"
    call_r.say("给我转人工")
    assert d.finished and d.trigger is not None and d.trigger.reason == "requested"


def test_a_loss_at_a_branch_shop_is_no_plan(call_r):
    call_r.say("是我，张伟", "知道", "做小生意", "四千", "房租", "没有了")
    d = call_r.session.dialog
    call_r.say("上半年扩了个分公司，亏了三十几万")
    assert d.menu == "plan" and d.plan is None  # the plan is asked, not taken from the loss


def test_the_callback_time_said_when_the_wish_is_repeated_is_kept(call_r):
    d = _to_plan(call_r)
    call_r.say("利息能不能少收点")
    _reduction_registered(d)
    assert d.callback is not None and d.callback["at"] is None
    call_r.say("减免那个事，明天下午两点叫专员打给我")
    assert len(d.requests) == 1 and d.callback["at"] == "2026-11-19T14:00"
    assert any("明天下午2点" in t for t in call_r.bot_texts[-3:]) and d.menu == "plan"


def test_paying_in_full_meanwhile_is_kept_but_a_full_payment_as_the_price_is_not(call_r, store, new_dialog):
    d = _to_plan(call_r)
    call_r.say("免罚息的事你们去商量，我先一次性结清吧")
    _reduction_registered(d)
    assert d.menu == "promise" and d.plan is not None and d.plan["intent"] == "full"
    other = Call(CallSession(store, new_dialog(), transport="text"))
    d2 = _to_plan(other)
    other.say("给我打个七折，我就一次性结清")
    _reduction_registered(d2)
    assert d2.menu == "plan" and d2.plan is None  # the price of a discount: what can be agreed today is asked
