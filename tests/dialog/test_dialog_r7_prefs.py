"""Held-out whole calls for round-7 kinds of contact preferences and complaints (sentences written for
these tests, not taken from any corpus):
- a calm preference said with identity or the debt question — how often ("一次就够了" is "enough",
  not "I have had enough"), not in the morning (regional 莫 for 别), only on weekdays, or not at a
  relative's number ("有什么直接找我") — is recorded, acknowledged and the call goes on to the plan;
  it is never soothed or escalated as emotional, and a standing time is no callback today;
- a cold "我要投诉你们" asked together with a question is a `complaint`, not the question.
Call time: Wed 2026-11-18 10:30 (tests/dialog/conftest.py)."""

from __future__ import annotations

import pytest

from ivr.case import Case

from .conftest import Call

CASE = Case(name="韩雪梅", amount=5400, days_overdue=40)
ANSWERS = ("在超市上班", "四千多", "房租", "没了", "没有")


def _goes_on_to_the_plan(c: Call, said: str) -> None:
    d = c.session.dialog
    assert d.contact_preference is not None, said
    assert d.outcome is None, (said, d.outcome, d.trigger and d.trigger.reason)
    assert d.callback is None, (said, d.callback)
    if d.menu == "purpose":
        c.say("知道")
    for line in ANSWERS:
        if d.menu == "plan" or d.outcome is not None:
            break
        c.say(line)
    assert d.menu == "plan", (said, d.menu)
    assert not any("抱歉让您不愉快" in t or "不愉快" in t for t in c.bot_texts), said


# ---------------------------------------------------------------- said with the identity answer
@pytest.mark.parametrize(
    "said",
    [
        "是我，韩雪梅。你们一天给我打五六个电话，打一个就够了，我会接的",
        "我就是。跟你说一下，以后一周联系一次就够了，没必要天天打",
        "对，是我本人。一个礼拜打一回就足够了，我记着这事呢",
        "是我。你们别一上午打好几个了，一天一个就够了嘛",
        "是我，我是韩雪梅。以后发个微信消息提醒就够了，电话我开车不好接",
    ],
)
def test_a_preference_said_with_identity_is_calm_and_the_call_goes_on(call, said: str) -> None:
    c = call(CASE)
    c.say(said)
    assert c.session.dialog.identity == "confirmed", said
    _goes_on_to_the_plan(c, said)


# ---------------------------------------------------------------- said with the debt question
@pytest.mark.parametrize(
    "said",
    [
        # a standing time of day (regional 莫 = 别), not "call me back at three today"
        "晓得咯。我晚上出摊，白天困觉，莫早上打，下午两点以后打",
        "知道的，以后莫在中午打，我那时候在店里最忙",
        "知道。以后只在工作日打给我，周六周日我要带娃",
        "知道的。你们莫往我屋里打，有么子事直接找我",
        "清楚。麻烦别再打我爸那个号了，他身体不好会着急，有什么事直接找我本人",
        "知道，别打我老婆电话了，她会担心，以后有什么直接打我这个号",
        "知道。一天一个电话就够了，别打那么多",
    ],
)
def test_a_preference_said_with_the_debt_question_is_recorded_and_the_call_goes_on(call, said: str) -> None:
    c = call(CASE)
    c.say("是我", said)
    _goes_on_to_the_plan(c, said)


# ---------------------------------------------------------------- a cold complaint with a question
@pytest.mark.parametrize(
    "said",
    [
        "一天到晚打，连我同事都接到了，我要投诉你们，你们投诉电话多少？",
        "你们到底打了几次了？我要去投诉，你们的投诉渠道是什么",
        "我问你，你们打我单位电话经过我同意了吗？我要投诉",
        "你们凭什么打我家里人？我要举报你们，电话给我",
        "我要投诉你们公司，怎么投诉？",
        "这个月打了不下二十个，我要投诉，你把投诉热线报给我",
    ],
)
def test_a_cold_complaint_said_with_a_question_is_a_complaint(call, said: str) -> None:
    c = call(CASE)
    c.say("是我", said)
    d = c.session.dialog
    assert d.outcome == "escalated" and d.trigger is not None and d.trigger.reason == "complaint", (
        said,
        d.outcome,
        d.trigger and d.trigger.reason,
    )


@pytest.mark.parametrize(
    "said",
    [
        "你们一共打了多少个电话了？我家里人都被你们问过了，我要投诉你们",
        "你们打了几遍了你知道吗？连我家里人都接到了，我要投诉你们",
        "我家里人的电话你们也打？我要投诉你们，投诉找谁",
    ],
)
def test_a_complaint_after_a_question_about_the_family_is_a_complaint(call, said: str) -> None:
    c = call(CASE)
    c.say("是我", said)
    d = c.session.dialog
    assert d.outcome == "escalated" and d.trigger is not None and d.trigger.reason == "complaint", (
        said,
        d.outcome,
        d.trigger and d.trigger.reason,
    )


# ---------------------------------------------------------------- a short answer beside a request and its reason
@pytest.mark.parametrize(
    "said",
    [
        pytest.param(
            "知道。不过你们别再打我姐姐那边了，她胆子小，听了睡不着，有啥事冲我来",
            # the request is recorded as not_family, but 她胆子小 is heard ahead as income `unstable`
            # (the income classifier, not the contact rule): the income question is skipped
            marks=pytest.mark.xfail(strict=True, reason="income classifier hears 她胆子小 as unstable"),
        ),
        "晓得的，还有，别打我爸手机了，老人家血压高，经不起吓，直接找我",
        "知道，别再联系我老婆了，她怀着孕呢，受不了这个",
        "清楚。你们不要再打给我弟弟了，他还在读书，有事打我",
        "嗯知道。以后别打我家里座机，我奶奶会接，她耳朵不好又爱多想",
        "知道。另外别打我公司了，领导已经说我好几回了，打我手机就行",
    ],
)
def test_a_short_answer_beside_a_request_about_a_relative_is_taken(call, said: str) -> None:
    c = call(CASE)
    c.say("是我", said)
    d = c.session.dialog
    assert d.contact_preference is not None, said
    assert d.contact_preference["kinds"] != ["stop_calling"], (said, d.contact_preference)
    assert d.menu == "income_source", (said, d.menu, d.outcome)
