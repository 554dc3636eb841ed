"""The closing listens (role-play round 7 kinds): after the agreement is read back the bot asks once
whether there is anything else and acts on it: a question (answered or noted), a reduction wish
(registered, specialist callback), a contact preference, a callback time, distress; "没有了/再见",
silence or a hang-up end politely.  Callback times asked in two steps, kept exactly, moved into the
calling window.  Caller lines are written for these tests (not corpus lines)."""

from __future__ import annotations

import pytest

from ivr.events import Hangup, Transfer

from .conftest import to_plan


def to_closing(c) -> None:
    to_plan(c)
    c.say("分三期吧")
    c.say("下礼拜五")
    assert c.session.dialog.menu == "closing" and not c.session.dialog.finished


def agreed(report: dict) -> None:
    assert report["outcome"] == "completed" and report["plan"]["intent"] == "installment"
    assert report["promise"]["date"] == "2026-11-27"


def test_the_closing_asks_if_there_is_anything_else(call):
    c = call()
    to_closing(c)
    assert c.bot_texts[-1].rstrip("。！").endswith(("吗？", "吗?", "的吗？", "没有？", "吧？")), c.bot_texts[-1]


@pytest.mark.parametrize("bye", ["没有了，谢谢你啊", "好嘞，拜拜", "#silence", "行，就这样吧", "嗯，没啥了"])
def test_nothing_else_or_silence_ends_politely_at_once(call, bye):
    c = call()
    to_closing(c)
    out = c.say(bye)
    assert out and out[-1] == Hangup("completed"), out
    assert not any(isinstance(a, Transfer) for a in out)
    report = c.session.report()
    agreed(report)
    assert report["result"] == "promise" if "result" in report else True
    assert len([t for t in report["turns"] if t["menu"] == "closing"]) == 1


def test_a_hang_up_at_the_closing_keeps_the_agreement(call):
    c = call()
    to_closing(c)
    c.say("#hangup")
    agreed(c.session.report())


def test_a_question_at_the_closing_is_noted_for_a_specialist_then_goodbye(call):
    c = call()
    to_closing(c)
    out = c.say("对了，等我全部还完了，你们能不能给我出一个已经结清的证明？")
    assert not c.session.dialog.finished and not isinstance(out[-1], Hangup)
    c.say("那就这样，谢谢")
    report = c.session.report()
    agreed(report)
    assert [r["kind"] for r in report["requests"]] == ["question"]


def test_a_reduction_wish_at_the_closing_is_registered_with_a_callback(call):
    c = call()
    to_closing(c)
    c.say("哦还有个事，那个罚息部分能不能帮我申请减掉一些？")
    c.say("#silence")
    report = c.session.report()
    agreed(report)
    assert [r["kind"] for r in report["requests"]] == ["reduction"]
    assert report["callback"] is not None and report["callback"]["for"] == "debtor"
    assert not any("分期" in t and "最长" in t for t in c.bot_texts[-3:])  # the plan is agreed: not offered again


def test_a_contact_preference_at_the_closing_is_recorded(call):
    c = call()
    to_closing(c)
    c.say("另外说一句，你们别老在我上班的时候打过来，我在流水线上接不了")
    c.say("没了")
    report = c.session.report()
    agreed(report)
    assert report["contact_preference"] is not None
    assert c.session.dialog.finished


def test_less_often_at_the_closing_is_recorded(call):
    c = call()
    to_closing(c)
    c.say("嗯好，就是你们别一天给我打好几通电话，隔几天问一次就够了")
    c.say("#silence")
    report = c.session.report()
    agreed(report)
    assert report["contact_preference"] is not None and "less_often" in report["contact_preference"]["kinds"]


def test_a_callback_time_at_the_closing_is_kept_with_the_promise(call):
    c = call()
    to_closing(c)
    c.say("还有，后天下午四点你们再打个电话给我，我把卡号再核对一下")
    report = c.session.report()
    agreed(report)
    assert report["callback"]["at"] == "2026-11-20T16:00"
    assert report["result"] == "promise" if "result" in report else True


def test_distress_at_the_closing_hands_over(call):
    c = call()
    to_closing(c)
    out = c.say("唉，说实话，这样的日子我真不想活了")
    assert any(isinstance(a, Transfer) for a in out)
    assert c.session.report()["outcome"] == "escalated"


def test_a_question_answered_at_the_closing(call):
    c = call()
    to_closing(c)
    out = c.say("好的。那我到时候怎么还，在哪还啊？")
    assert any(getattr(a, "prompt_id", "").startswith("answer.how_to_pay") for a in out), out
    if not c.session.dialog.finished:
        c.say("#silence")
    report = c.session.report()
    agreed(report)
    assert c.session.dialog.finished and report["requests"] == []
