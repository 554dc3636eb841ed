"""Identity, busy and third-party answers said freely: a busy caller who then names themself, a
colleague offering to pass a message, a calm contact-preference request said with the affirmation
(and a double negative about paying), a complaint that also asks for a person.  Whole calls through
CallSession with the real understander, grammars and SQLite; zero disclosure is checked on every
line said before the affirmation.  Sentences written for these tests."""

from __future__ import annotations

from ivr.events import Hangup, Transfer

from .conftest import Call

DEBT_WORDS = ("欠", "逾期", "还款", "三千五", "3500", "贷", "账户")


def _no_debt(texts: list[str]) -> None:
    for text in texts:
        assert not any(w in text for w in DEBT_WORDS), text


def _transfers(c: Call) -> list[str]:
    return [a.reason for a in c.heard if isinstance(a, Transfer)]


def test_busy_then_naming_oneself_when_asked_for_a_time_confirms_and_goes_on(call):
    c = call()
    c.say("喂？我在单位上班呢")
    d = c.session.dialog
    assert d.identity == "unknown" and d._cb is not None  # asked when to call back, nothing disclosed
    _no_debt(c.bot_texts)
    c.say("哦，对，是我，张伟")
    assert d.identity == "confirmed" and d.menu == "purpose" and d.callback is None
    assert d.turns[-1].intent == "confirm"  # the disclosure check of role-play reads this


def test_busy_then_the_affirmation_with_a_time_keeps_the_callback(call):
    c = call()
    c.say("在忙呢")
    out = c.say("是我，你下午四点以后再打吧")
    d = c.session.dialog
    assert out[-1] == Hangup("completed") and d.callback is not None and d.callback["at"].endswith("16:00")
    _no_debt(c.bot_texts)


def test_a_colleague_offering_to_pass_a_message_gets_a_callback_for_the_debtor(call):
    c = call()
    c.say("这是张伟的办公电话，他出去办事了，我跟他一个科室的")
    assert c.session.dialog.identity == "third_party"
    out = c.say("你们是什么单位？有啥事要不要我替你捎个话给他？")
    d = c.session.dialog
    assert out[-1] == Hangup("completed") and d.outcome == "completed"
    assert d.callback is not None and d.callback["for"] == "third_party"
    assert not _transfers(c)  # an offer to help is not distress
    _no_debt(c.bot_texts)


def test_a_calm_request_to_call_less_with_the_affirmation_is_recorded_and_the_call_goes_on(call):
    c = call()
    c.say("我就是张伟。先跟你讲清楚，我也不是不还，你们别一天打好几个，上班时间也别打过来，行吧")
    d = c.session.dialog
    assert d.identity == "confirmed" and d.menu == "purpose"
    assert d.contact_preference is not None
    assert {"less_often", "not_at_work"} <= set(d.contact_preference["kinds"])
    assert not _transfers(c)


def test_a_double_negative_at_the_purpose_question_is_not_a_dispute(call):
    c = call()
    c.say("是我", "知道，我也不是不想还，就是这阵子手头紧")
    assert c.session.dialog.menu == "income_source" and not _transfers(c)


def test_a_denial_is_still_a_denial(call):
    c = call()
    out = c.say("不是不是，你们打错了")
    assert out[-1] == Hangup("completed") and c.session.dialog.identity == "denied"
    _no_debt(c.bot_texts)


def test_a_complaint_about_a_previous_collector_that_asks_for_a_person_is_a_complaint(call):
    c = call()
    c.say("是我")
    c.say("上次打来那个人态度太差了，张嘴就骂人，我要投诉他，你给我转个人工")
    assert _transfers(c) == ["complaint"]
    c2 = call()
    c2.say("是我")
    c2.say("转人工")
    assert _transfers(c2) == ["requested"]
