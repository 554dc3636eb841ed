"""Whole calls for callbacks, third parties and contact preferences (role-play round 4 kinds):
a confirmed debtor who asks to be called back at a later menu, vague and ranged times, a late
"in half an hour", relatives and colleagues who speak for the debtor, a reduction with the time the
specialist should call, and calm requests about our calls.  Caller lines are written for these tests."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from ivr.callback_time import parse_callback_time
from ivr.events import Hangup, Transfer

from .conftest import DEBT_WORDS, NOW, no_debt, simulate_json, to_plan

# ---------------------------------------------------------------- a confirmed debtor: call me later


def test_a_callback_asked_at_the_purpose_question_ends_the_call_at_that_time(call):
    c = call()
    c.say("对，我是张伟")
    out = c.say("知道，可我正在高速上开车，你晚上八点再打给我吧")
    report = c.session.report()
    assert out[-1] == Hangup("completed") and report["outcome"] == "completed"
    assert report["callback"]["at"] == "2026-11-18T20:00" and report["callback"]["for"] == "debtor"
    assert c.session.dialog.identity == "confirmed"
    assert "income_source" not in [t["menu"] for t in report["turns"]]


def test_a_callback_asked_at_the_plan_menu_is_arranged_not_missed(call):
    c = call()
    to_plan(c)
    out = c.say("这事我做不了主，要问问我爱人，后天上午十点你再打给我")
    report = c.session.report()
    assert out[-1] == Hangup("completed") and not any(isinstance(a, Transfer) for a in out)
    assert report["callback"]["at"] == "2026-11-20T10:00" and report["plan"] is None


def test_a_payment_time_is_not_a_callback(call):
    c = call()
    to_plan(c)
    c.say("一次还清")
    c.say("明天下午三点打款")
    d = c.session.dialog
    assert d.callback is None and c.session.report()["promise"]["date"] == "2026-11-19"


def test_after_work_without_an_hour_is_asked_then_taken(call):
    c = call()
    c.say("是我")
    out = c.say("我在店里忙着呢，等我下班了再打吧")
    assert not isinstance(out[-1], Hangup)  # no hour yet: the bot asks when
    c.say("我六点半下班，七点以后吧")
    assert c.session.report()["callback"]["at"] == "2026-11-18T19:00"


def test_a_range_starting_before_the_window_is_moved_to_its_start_and_accepted(call):
    c = call()
    c.say("是我")
    out = c.say("我刚下夜班，你明早六点到九点之间打都行")
    assert out[-1].prompt_id == "callback.outside_window" and "明天早上8点" in out[-1].text
    c.say("行，那就八点")
    assert c.session.report()["callback"]["at"] == "2026-11-19T08:00"


def test_in_half_an_hour_late_in_the_evening_is_moved_and_the_caller_names_the_morning(call):
    c = call(now=dt.datetime(2026, 11, 18, 20, 45))
    c.say("是我，在给老人洗脚呢，你过半个钟头再打")
    d = c.session.dialog
    assert d.identity == "confirmed" and d.callback is None  # 21:15 is outside the window: asked
    c.say("那就明天早上九点吧")
    assert c.session.report()["callback"]["at"] == "2026-11-19T09:00"
    no_debt(c)


@pytest.mark.parametrize(
    ("text", "at"),
    [
        ("过二十分钟再打", "2026-11-18T10:50"),  # the moment named, not rounded to a quarter
        ("过两个小时打给我", "2026-11-18T12:30"),
        ("下午两点到四点都可以", "2026-11-18T14:00"),
        ("三点十五分以后", "2026-11-18T15:15"),
    ],
)
def test_relative_and_ranged_callback_times(text, at):
    got = parse_callback_time(text, NOW)
    assert got is not None and got.at.isoformat(timespec="minutes") == at


@pytest.mark.parametrize("text", ["下班以后再打", "明天收工了再说"])
def test_after_work_alone_is_no_time(text):
    assert parse_callback_time(text, NOW) is None


def test_busy_then_named_with_a_time_keeps_identity_confirmed(call):
    c = call()
    c.say("我在开车呢，你哪位")
    c.say("我就是张伟，你三点以后再打")
    d = c.session.dialog
    assert d.identity == "confirmed" and c.session.report()["callback"]["at"] == "2026-11-18T15:00"
    no_debt(c)


# ---------------------------------------------------------------- third parties


@pytest.mark.parametrize(
    "line",
    [
        "张伟是我房东，这会儿人不在",  # a relation word not in any list
        "这是张伟的手机，他去开会了，手机放桌上",
        "伟伟这会儿不在，办事去了",  # a nickname
    ],
)
def test_someone_speaking_for_the_debtor_is_a_third_party(call, line):
    c = call()
    c.say(line)
    c.say("他晚上七点以后才回来")
    d = c.session.dialog
    report = c.session.report()
    assert d.identity == "third_party" and report["outcome"] == "completed"
    assert report["callback"]["for"] == "third_party" and report["callback"]["at"] == "2026-11-18T19:00"
    no_debt(c)


def test_busy_then_a_colleague_says_who_they_are(call):
    c = call()
    c.say("他在开会，没空")
    c.say("我是他同学，你们找他干嘛")
    c.say("你们下午四点再打吧")
    d = c.session.dialog
    assert d.identity == "third_party" and c.session.report()["callback"]["for"] == "third_party"
    no_debt(c)


def test_the_debtor_asking_back_about_themselves_is_not_a_third_party(call):
    c = call()
    c.say("你找张伟什么事")
    assert c.session.dialog.identity == "unknown"
    c.say("我就是张伟")
    assert c.session.dialog.identity == "confirmed"


# ---------------------------------------------------------------- a reduction with the specialist's time


def test_a_reduction_records_when_the_specialist_should_call(call):
    c = call()
    to_plan(c)
    c.say("罚息能不能免掉一些？叫你们专员明天下午两点以后给我回个电话")
    d = c.session.dialog
    assert d.callback is not None and d.callback["at"] == "2026-11-19T14:00"
    assert d.callback.get("about") == "reduction" and not d.finished  # the call goes on


# ---------------------------------------------------------------- contact preferences


def test_do_not_call_my_family_is_recorded_and_the_call_reaches_a_plan(call):
    c = call()
    c.say("是我")
    out = c.say("知道。你们别再打我爸妈那里了，老人家会着急，有事直接找我")
    d = c.session.dialog
    assert not any(isinstance(a, Transfer) for a in out) and d.menu == "income_source"
    assert "not_family" in d.contact_preference["kinds"]
    c.say("开网约车", "六千", "房租", "没了", "没有", "分三期", "下周五", "#silence")
    report = c.session.report()
    assert report["outcome"] == "completed" and report["plan"]["months"] == 3


def test_a_calm_complaint_about_how_often_we_call_is_not_anger(call):
    c = call()
    c.say("是我")
    out = c.say("知道，我说了下周还，这两天你们又打来好几次，能不能先别打了")
    d = c.session.dialog
    assert not any(isinstance(a, Transfer) for a in out) and not d.finished
    assert d.contact_preference is not None and "less_often" in d.contact_preference["kinds"]


def test_annoyance_besides_the_request_still_counts(call):
    c = call()
    c.say("是我")
    out = c.say("烦死了，天天打，别打了")
    assert [a for a in out if isinstance(a, Transfer)][0].reason == "emotional"


def test_not_at_lunch_hours_is_a_preference_not_a_callback(call):
    c = call()
    c.say("是我")
    c.say("知道。以后别在十二点到两点打，我在后厨忙")
    d = c.session.dialog
    assert d.callback is None and not d.finished  # (后厨 may already answer the income question)
    assert "preferred_time" in d.contact_preference["kinds"]


def test_another_loans_instalment_among_expenses_is_not_the_plan(call):
    c = call()
    c.say("是我", "知道", "送快递", "七千")
    c.say("房租一千二，摩托车分期六百")
    d = c.session.dialog
    assert "plan" not in d._ahead


def test_simulate_json_reports_a_third_party_callback(tmp_path: Path):
    out = simulate_json(tmp_path, "张伟是我小舅子，他去外地了", "明天上午十点吧")
    assert out["outcome"] == "completed" and out["callback"]["at"] == "2026-11-19T10:00"
    assert not any(w in t["bot"] for t in out["turns"] for w in DEBT_WORDS)
