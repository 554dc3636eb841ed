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


# ---------------------------------------------------------------- callback times: two steps, exact, window


@pytest.mark.parametrize(
    ("first", "second", "at"),
    [
        ("是我，在开车呢，你晚点再打吧", "晚上七点吧", "2026-11-18T19:00"),
        ("我就是，正开会呢，等我下班了再打过来", "五点半下班，六点吧", "2026-11-18T18:00"),
        ("嗯是我本人，在医院排队，回头再给我打", "下午四点一刻", "2026-11-18T16:15"),
        ("对，是我。这会儿不方便，礼拜一再联系我吧", "#silence", None),
    ],
)
def test_a_confirmed_caller_asking_to_be_called_later_is_called_back_at_the_time_asked(call, first, second, at):
    c = call()
    out = c.say(first)
    assert not isinstance(out[-1], Hangup) or at is None
    if not c.session.dialog.finished:
        c.say(second)
    report = c.session.report()
    assert report["outcome"] == "completed" and c.session.dialog.identity == "confirmed"
    assert report["callback"] is not None
    if at is not None:
        assert report["callback"]["at"] == at
    else:  # 礼拜一: the Monday after 2026-11-18
        assert report["callback"]["at"].startswith("2026-11-23")
    assert not any("逾期" in t for t in c.bot_texts)


@pytest.mark.parametrize(
    ("line", "at"),
    [
        ("是我，你后天早上六点半打，我七点出门，八点半以后就在地里了", "2026-11-20T08:00"),
        ("我就是，刚睡下，明天早上七点打吧，九点前我都在家", "2026-11-19T08:00"),
        ("是我，礼拜六早上九点给我打，我那天休息", "2026-11-21T09:00"),
        ("是我，明天下午两点半再打，我三点要出车", "2026-11-19T14:30"),
    ],
)
def test_the_time_in_the_clause_that_asks_for_the_call_is_kept_and_moved_into_the_window(call, line, at):
    c = call()
    c.say(line)
    if not c.session.dialog.finished:
        c.say("行，那就这样")
    report = c.session.report()
    assert report["callback"]["at"] == at and report["outcome"] == "completed"


@pytest.mark.parametrize(
    "line",
    [
        "是我。以后请晚上七点以后再联系我，白天在厂里上班接不了电话",
        "我就是。麻烦以后都下午五点以后打，现在上班不方便接",
    ],
)
def test_a_standing_hour_that_excludes_now_is_also_today_s_callback(call, line):
    c = call()
    c.say(line)
    if not c.session.dialog.finished:
        c.say("好的")
    report = c.session.report()
    assert report["contact_preference"] is not None
    assert report["callback"] is not None and report["callback"]["at"].startswith("2026-11-18T1")
    assert report["outcome"] == "completed"
