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
    if d.outcome is None and d.menu == "closing":  # the closing listens: nothing more to say
        c.say("#silence")
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
        (
            "是我",
            "知道。就是你们这个年利率到底合不合法，我觉得超过百分之二十四了，要给我个正式答复",
            "开出租车",
            "五千多",
            "房租",
            "没了",
            "没有",
            "分三期吧",
            "下个月五号",
        ),
        (
            "是我",
            "清楚，但手机软件里显示的数和你刚才报的不一样，少了两百块，咋回事",
            "开出租车",
            "五千多",
            "房租",
            "没了",
            "没有",
            "一次还清",
            "下周五",
        ),
        (
            "是我",
            "知道的，能不能把每个月扣了多少钱的记录发到我邮箱，我对一下账",
            "开出租车",
            "五千多",
            "房租",
            "没了",
            "没有",
            "分六期",
            "十二月一号",
        ),
        (
            "我就是",
            "这个我认，但你们得给我寄一份罚息怎么算出来的书面材料",
            "在超市上班",
            "四千",
            "吃饭",
            "没了",
            "没有",
            "先还一半",
            "本周六",
        ),
        # at the plan
        (
            "是我",
            "知道",
            "开出租车",
            "五千多",
            "房租",
            "没了",
            "没有",
            "我一次性还了，不过还完以后那条逾期记录你们能给我删掉不",
            "下周一",
        ),
        (
            "是我",
            "知道",
            "开出租车",
            "五千多",
            "房租",
            "没了",
            "没有",
            "分四个月还，另外借款合同麻烦发一份电子版到我邮箱",
            "十二月三号",
        ),
        (
            "是我",
            "知道",
            "开出租车",
            "五千多",
            "房租",
            "没了",
            "没有",
            "延期两个月行吗？还有你们的年化利率是多少，得书面告诉我",
            "一月十号",
        ),
        # at the income question
        (
            "是我",
            "知道",
            "上班的，对了，把合同和这几个月的扣款清单给我邮寄一份",
            "五千多",
            "房租",
            "没了",
            "没有",
            "分三期",
            "下个月五号",
        ),
    ],
)
def test_a_question_without_an_answer_is_noted_with_a_callback_and_the_plan_is_taken(call, lines) -> None:
    c = call(CASE)
    c.say(*lines, "#silence")  # nothing more at the closing's "anything else?"
    d = c.session.dialog
    assert d.outcome == "completed", c.bot_texts[-3:]
    assert "plan" in d.slots
    _specialist(c)


# ---------------------------------------------------------------- (b) the charges asked later on
REST = ("开出租车", "五千多", "房租", "没了", "没有")
SPLIT = Case(name="郑秀英", amount=6600, days_overdue=35, principal=5000, interest=900, fees=200, penalty=500)


@pytest.mark.parametrize(
    ("case", "lines", "plan"),
    [
        # at the debt question: asking what the sum is made of says the caller knows of it
        (
            CASE,
            ("是我", "我才借了五千，怎么变成六千六了？利息是怎么算的", *REST, "分三期", "下个月五号"),
            "installment",
        ),
        (
            CASE,
            ("是我", "咋滚成这么多了？本金多少利息多少，你给我说道说道", *REST, "缓两个月", "一月十号"),
            "extension",
        ),
        (SPLIT, ("是我", "这六千六里头都是些啥钱，给我讲讲", *REST, "一次还清", "下周五"), "full"),
        # at the income and spending questions
        (
            SPLIT,
            (
                "是我",
                "知道",
                "开出租车",
                "四千来块。我问下，这六千六里头罚息占了多少",
                "四千",
                "房租",
                "没了",
                "没有",
                "先还一半",
                "这周六",
            ),
            "partial",
        ),
        (
            CASE,
            (
                "是我",
                "知道",
                "开出租车",
                "五千多",
                "房租八百。对了，欠的这些里面本金是多少啊",
                "没了",
                "没有",
                "分四期",
                "下个月五号",
            ),
            "installment",
        ),
        # at the day: how and where to pay, then the day
        (CASE, ("是我", "知道", *REST, "分六个月", "下周一。那我该怎么还，钱打到哪个账户"), "installment"),
        (CASE, ("是我", "知道", *REST, "一次还清", "钱往哪里转啊？支付宝能还不", "下周一"), "full"),
    ],
)
def test_a_question_about_the_charges_is_answered_and_the_plan_said_after_is_taken(call, case, lines, plan) -> None:
    c = call(case)
    c.say(*lines)
    _done(c, plan)


@pytest.mark.parametrize(
    ("case", "said"),
    [
        (CASE, "我才借了五千，怎么变成六千六了？利息是怎么算的"),
        (CASE, "咋滚成这么多了？本金多少利息多少，你给我说道说道"),
        (SPLIT, "这六千六里头都是些啥钱，给我讲讲"),
        (CASE, "当时借的四千五，现在多出来的这些是什么费用"),
        (SPLIT, "晓得，就是想问下本金占多少，罚息又是多少"),
        (CASE, "那我该怎么还，在哪里还"),
    ],
)
def test_asking_what_the_debt_is_made_of_says_the_caller_knows_of_it(call, case, said) -> None:
    c = call(case)
    c.say("是我", said)
    d = c.session.dialog
    assert d.outcome is None and d.menu == "income_source", c.bot_texts[-2:]


def test_denying_the_debt_while_asking_about_it_stays_a_dispute(call) -> None:
    c = call(CASE)
    c.say("是我", "这钱根本不是我借的，多出来的利息又是什么钱")
    assert c.session.dialog.menu != "income_source"


# ---------------------------------------------------------------- (d) a bare day after an extension
@pytest.mark.parametrize(
    ("plan", "day", "want"),
    [
        ("往后缓一个月", "十八号吧", "2026-12-18"),  # today's own day number: a month on, not today
        ("能不能推一个月", "二十五号", "2026-12-25"),
        ("延期一个月", "就二十号", "2026-12-20"),
        ("缓两个月吧", "十号那天", "2027-01-10"),
        ("推迟两个月", "十八号", "2027-01-18"),
        ("缓一个月", "下个月二十号", "2026-12-20"),  # the month said is kept
        ("缓一个月", "12月16号", "2026-12-16"),
    ],
)
def test_a_bare_day_after_an_extension_is_that_day_in_the_month_it_moves_to(call, plan, day, want) -> None:
    c = call(CASE)
    c.say("是我", "知道", *REST, plan, day)
    d = c.session.dialog
    assert d.slots["plan"].value == "extension"
    assert d.slots["promise_date"].value == want, c.bot_texts[-2:]
