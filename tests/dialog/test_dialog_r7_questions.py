"""Held-out whole calls for round-7 kinds of caller questions (sentences written for these tests,
not taken from any corpus).

(a) a question the bot has no answer for (a written statement of the charges, whether the yearly
    rate is lawful, the contract sent by e-mail, the overdue mark removed, two amounts that do not
    match) said beside an answer: a `question` request for a specialist is registered with a
    callback, the caller is told so, and the call goes on to the plan said;
(b) a question about the charges asked at a later menu ("欠的里头本金多少") is answered or noted,
    the pending question comes again and the plan said afterwards is taken;
(c) "是机器人吧" before or after "谁啊", then cooperation: answered honestly, the call goes on;
(d) "how did you get my number" then confirmation: identity confirmed.
Call time: Wed 2026-11-18 10:30 (tests/dialog/conftest.py)."""

from __future__ import annotations

import pytest

from ivr.case import Case

from .conftest import Call

CASE = Case(name="郑秀英", amount=6600, days_overdue=35)


def _done(c: Call, plan: str) -> None:
    d = c.session.dialog
    assert d.outcome == "completed", c.bot_texts[-3:]
    assert d.identity == "confirmed"
    assert d.slots["plan"].value == plan


def _specialist(c: Call) -> None:
    d = c.session.dialog
    assert [r for r in d.requests if r.get("kind") == "question"], d.requests
    assert d.callback is not None, "no specialist callback arranged"
    assert any("专员" in t for t in c.bot_texts), "the caller was not told"


# ---------------------------------------------------------------- (a) no answer: noted + callback
@pytest.mark.parametrize(
    "lines",
    [
        # at the debt question
        ("是我", "知道。就是你们这个年利率到底合不合法，我觉得超过百分之二十四了，要给我个正式答复",
         "开出租车", "五千多", "房租", "没了", "没有", "分三期吧", "下个月五号"),
        ("是我", "清楚，但手机软件里显示的数和你刚才报的不一样，少了两百块，咋回事",
         "开出租车", "五千多", "房租", "没了", "没有", "一次还清", "下周五"),
        ("是我", "知道的，能不能把每个月扣了多少钱的记录发到我邮箱，我对一下账",
         "开出租车", "五千多", "房租", "没了", "没有", "分六期", "十二月一号"),
        ("我就是", "这个我认，但你们得给我寄一份罚息怎么算出来的书面材料",
         "在超市上班", "四千", "吃饭", "没了", "没有", "先还一半", "本周六"),
        # at the plan
        ("是我", "知道", "开出租车", "五千多", "房租", "没了", "没有",
         "我一次性还了，不过还完以后那条逾期记录你们能给我删掉不", "下周一"),
        ("是我", "知道", "开出租车", "五千多", "房租", "没了", "没有",
         "分四个月还，另外借款合同麻烦发一份电子版到我邮箱", "十二月三号"),
        ("是我", "知道", "开出租车", "五千多", "房租", "没了", "没有",
         "延期两个月行吗？还有你们的年化利率是多少，得书面告诉我", "一月十号"),
        # at the income question
        ("是我", "知道", "上班的，对了，把合同和这几个月的扣款清单给我邮寄一份",
         "五千多", "房租", "没了", "没有", "分三期", "下个月五号"),
    ],
)
def test_a_question_without_an_answer_is_noted_with_a_callback_and_the_plan_is_taken(call, lines) -> None:
    c = call(CASE)
    c.say(*lines)
    d = c.session.dialog
    assert d.outcome == "completed", c.bot_texts[-3:]
    assert "plan" in d.slots
    _specialist(c)
