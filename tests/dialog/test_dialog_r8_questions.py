"""Round 8 question kinds (held-out variants, own words), whole calls:
a question the bot can answer in general but that carries the caller's OWN situation — the app
fails for them, a loan or exam they are planning, whether their family or employer will be told —
is answered AND noted for a specialist (`requests: question`), and the call goes on to a plan.
Call time: Wed 2026-11-18 10:30 (tests/dialog/conftest.py)."""

from __future__ import annotations

import pytest

from ivr.case import Case

from .conftest import Call

CASE = Case(name="周建国", amount=4800, days_overdue=40)


@pytest.mark.parametrize(
    "question",
    [
        "知道。就是手机软件上付款老是提示失败，我该怎么办",  # the app fails for this caller
        "知道，你们那个APP我登不上去，钱怎么还进去",
        "晓得。我问一下哈，这个会不会影响我办房贷，下半年要买房",  # a loan they plan
        "知道的，我想问问会上征信吗，我儿子明年要考公务员",  # a family member's exam
        "知道。要是我一时还不上，你们会不会打电话给我老婆",  # will family be told
        "嗯知道，这个事不会通知到我们公司领导吧",  # will the employer be told
    ],
)
def test_personal_question_is_answered_and_noted(call, question: str) -> None:
    c: Call = call(CASE)
    c.say("是我", question)
    d = c.session.dialog
    assert [r for r in d.requests if r.get("kind") == "question"], (d.requests, c.bot_texts[-2:])
    c.say("在超市上班", "四千多", "房租吃饭", "没了", "没有", "一次还清", "下周五", "#silence")
    assert d.outcome == "completed", c.bot_texts[-3:]
    assert d.slots["plan"].value == "full"


@pytest.mark.parametrize(
    "question",
    ["知道。这个钱怎么还啊", "知道，会上征信吗"],
)
def test_general_question_is_answered_not_noted(call, question: str) -> None:
    """A plain question the company's answer settles is not sent to a specialist."""
    c: Call = call(CASE)
    c.say("是我", question)
    d = c.session.dialog
    assert not [r for r in d.requests if r.get("kind") == "question"], d.requests
