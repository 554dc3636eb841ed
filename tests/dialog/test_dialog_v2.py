"""SPEC v2 dialog behaviours as whole calls (CallSession + the simulate JSON report): the identity
rule, the verify menu, third parties, callbacks at the time asked, contact preferences and mixed
initiative.  The caller lines are written for these tests (not taken from the role-play sets)."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from ivr.callback_time import clamp, parse_callback_time
from ivr.case import Case
from ivr.events import Hangup, Say, Transfer
from ivr.identity import affirms

from .conftest import NOW, no_debt, simulate_json

WORDS = ["是我", "我是", "我就是", "就是我", "本人"]
ALONE = ["是", "是的", "对", "对的", "没错"]


# ---------------------------------------------------------------- identity (SPEC §1)


@pytest.mark.parametrize("line", ["嗯", "喂", "你说", "啊？", "好的", "有事吗", "找我干啥"])
def test_a_backchannel_never_confirms(call, line):
    c = call()
    out = c.say(line)
    d = c.session.dialog
    assert d.identity == "unknown" and d.menu == "opening"
    assert "张伟" in out[-1].text  # asked again, naming the person
    no_debt(c)


def test_asked_again_then_an_explicit_yes_confirms(call):
    c = call()
    c.say("嗯", "你讲吧")
    out = c.say("对，我就是张伟")
    assert c.session.dialog.identity == "confirmed" and "三千五百元" in out[-1].text


@pytest.mark.parametrize(
    ("text", "ok"),
    [
        ("是的", True),
        ("对", True),
        ("是我，什么事", True),
        ("我是张伟", True),
        ("本人", True),
        ("嗯嗯", False),
        ("我是他爱人", False),
        ("这是我老公的号", False),
        ("我不是本人", False),
        ("钱都是我管", False),
        ("你找谁", False),
    ],
)
def test_affirmation_rule(text, ok):
    assert affirms(text, "张伟", WORDS, ALONE) is ok


def test_ask_who_gets_the_company_only_and_the_question_again(call):
    c = call()
    out = c.say("你们哪儿的")
    assert "安信消费金融" in out[0].text and "张伟" in out[0].text
    no_debt(c)


def test_shaky_asr_never_confirms(new_dialog):
    from ivr.events import Speech

    d = new_dialog()
    d.start()
    d.handle(Speech("是我", asr_confidence=0.4))
    assert d.identity == "unknown" and d.menu == "opening"


# ---------------------------------------------------------------- third parties and callbacks


def test_family_taking_over_hears_nothing_and_is_asked_when(call):
    c = call()
    c.say("我是他妈，有啥事跟我讲就行")
    c.say("他是不是在外面借钱了？")
    out = c.say("他下午五点下班回家")
    d = c.session.dialog
    report = c.session.report()
    assert d.identity == "third_party" and out[-1] == Hangup("completed")
    assert report["callback"]["at"] == "2026-11-18T17:00" and report["callback"]["said"] == "他下午五点下班回家"
    assert "下午5点" in c.bot_texts[-1]
    no_debt(c)


def test_the_debtor_coming_to_the_phone_is_confirmed(call):
    c = call()
    c.say("我是他老婆")
    out = c.say("喂，我是张伟，你说")
    assert c.session.dialog.identity == "confirmed" and "三千五百元" in out[-1].text


def test_busy_with_a_time_is_read_back_and_stored(call, store):
    c = call()
    out = c.say("是我，我在地铁上，你下午三点半再打吧")
    d = c.session.dialog
    assert d.identity == "confirmed" and out[-1] == Hangup("completed")
    assert "今天下午3点半" in c.bot_texts[-1]
    report = c.session.report()
    assert report["callback"] == {
        "at": "2026-11-18T15:30",
        "said": "是我，我在地铁上，你下午三点半再打吧",
        "for": "debtor",
        "turn": 1,
    }
    assert store.get_call(c.session.call_id).callback["at"] == "2026-11-18T15:30"
    no_debt(c)


def test_a_late_time_is_clamped_into_the_window_and_confirmed(call):
    c = call(now=dt.datetime(2026, 11, 18, 18, 0))
    out = c.say("我在加班，晚上十一点以后再打")
    assert out[-1].prompt_id == "callback.outside_window" and "晚上9点" in out[-1].text
    c.say("好的")
    assert c.session.report()["callback"]["at"] == "2026-11-18T21:00"


@pytest.mark.parametrize(
    ("text", "now", "at"),
    [
        ("四点半以后", "2026-11-18T10:30", "2026-11-18T16:30"),
        ("明天上午", "2026-11-18T10:30", "2026-11-19T10:00"),
        ("晚上七点", "2026-11-18T10:30", "2026-11-18T19:00"),
        ("十点过后", "2026-11-18T19:20", "2026-11-18T22:00"),
        ("明早八点半", "2026-11-18T20:45", "2026-11-19T08:30"),
        ("两个小时以后", "2026-11-18T10:30", "2026-11-18T12:30"),
        ("下周一下午三点", "2026-11-18T10:30", "2026-11-23T15:00"),
        ("九点不行啊？那八点半", "2026-11-18T19:20", "2026-11-18T20:30"),
    ],
)
def test_callback_times(text, now, at):
    got = parse_callback_time(text, dt.datetime.fromisoformat(now))
    assert got is not None and got.at.isoformat(timespec="minutes") == at


@pytest.mark.parametrize("text", ["晚点再打", "说慢一点", "我在开车"])
def test_no_time_is_no_time(text):
    assert parse_callback_time(text, NOW) is None


def test_clamp():
    start, end = dt.time(8), dt.time(21)
    assert clamp(dt.datetime(2026, 11, 18, 6, 0), start, end) == dt.datetime(2026, 11, 18, 8, 0)
    assert clamp(dt.datetime(2026, 11, 18, 22, 0), start, end) == dt.datetime(2026, 11, 18, 21, 0)


# ---------------------------------------------------------------- verify (second factor)

VERIFY = Case(verify=True, id_last4="0519")


@pytest.mark.parametrize("answer", ["零五幺九", "身份证最后四位是零五一九", "#dtmf 0519#"])
def test_verify_right_answer_unlocks_the_call(call, answer):
    c = call(VERIFY)
    out = c.say("是我")
    assert out[-1].menu == "verify" and c.session.dialog.identity == "unknown"
    no_debt(c)
    out = c.say(answer)
    assert c.session.dialog.identity == "confirmed" and "三千五百元" in out[-1].text


def test_verify_wrong_answer_discloses_nothing_and_offers_a_callback(call):
    c = call(VERIFY)
    c.say("是我", "一二三四")
    assert c.bot_texts[-1] and c.session.dialog.identity == "unknown"
    c.say("四三二一")
    out = c.say("明天上午")
    d = c.session.dialog
    assert d.identity == "unknown" and d.result == "verify_failed" and out[-1] == Hangup("completed")
    assert c.session.report()["callback"]["at"] == "2026-11-19T10:00"
    no_debt(c)


# ---------------------------------------------------------------- contact preferences


def test_calm_stop_calling_is_recorded_not_escalated(call):
    c = call()
    c.say("是我")
    out = c.say("知道的，我会还，就是你们别老在上班时间打给我")
    d = c.session.dialog
    assert not any(isinstance(a, Transfer) for a in out) and d.menu == "income_source"
    assert "not_at_work" in d.contact_preference["kinds"]
    assert c.session.report()["contact_preference"]["turn"] == 2


def test_calm_stop_calling_alone_asks_the_question_again(call):
    c = call()
    c.say("是我")
    out = c.say("以后不要再打电话了")
    assert not any(isinstance(a, Transfer) for a in out) and out[-1].menu == "purpose"
    assert c.session.dialog.contact_preference is not None


def test_angry_stop_calling_is_escalated(call):
    c = call()
    c.say("是我")
    out = c.say("烦死了，别再打了")
    assert [a for a in out if isinstance(a, Transfer)][0].reason == "emotional"


# ---------------------------------------------------------------- mixed initiative


def test_answers_given_ahead_are_not_asked_again(call):
    c = call()
    c.say("是我", "知道")
    c.say("在超市上班，一个月挣四千")
    assert c.session.dialog.menu == "expenses"  # income amount heard with the source: skipped
    c.say("房租和吃饭", "没了")
    out = c.say("没出什么事，我想分四期，下周一先还第一期", "#silence")
    d = c.session.dialog
    said = [a.prompt_id for a in out if isinstance(a, Say)]
    assert "ahead.plan" in said and "ahead.promise" in said and d.finished
    report = c.session.report()
    assert report["plan"]["intent"] == "installment" and report["plan"]["months"] == 4
    assert report["promise"]["date"] == "2026-11-23"
    asked = [t["menu"] for t in report["turns"]]
    assert "plan" not in asked and "promise" not in asked


def test_simulate_json_carries_the_v2_fields(tmp_path: Path):
    out = simulate_json(tmp_path, "是我，我在开会，你明天上午十点再打")
    assert {"plan", "requests", "callback", "contact_preference"} <= set(out)
    assert out["callback"]["at"] == "2026-11-19T10:00" and out["requests"] == [] and out["plan"] is None
