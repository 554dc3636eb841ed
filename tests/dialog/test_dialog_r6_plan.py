"""Held-out whole calls for the round-6 plan kinds, written for these tests (no role-play line copied):
a plan proposed as a question with a regional tag (要得不 / 中不中 / 阔以不), 人工 as labour cost (not a
request for a person), a payment still to come said at the debt question (这就还了 / 明天全还: not
already paid), and earnings or living words that only look like a plan (分到 / 试用期 / 一分不给 /
不够还了) said before the plan question."""

from __future__ import annotations

import pytest

from ivr.events import Hangup, Transfer

from .conftest import to_plan


def _transferred(out: list) -> bool:
    return any(isinstance(a, Transfer) for a in out)


# ---------------------------------------------------------------- a plan asked as a question


@pytest.mark.parametrize(
    ("line", "intent", "months"),
    [
        ("一口气拿不出来，分四个月要得不？", "installment", 4),  # 川渝
        ("分五期中不中？", "installment", 5),  # 河南
        ("我想分半年还，可以不？", "installment", 6),
        ("那分六个月阔以不", "installment", 6),
        ("分三期得不得嘛？", "installment", 3),
        ("每个月还一点，分八期好不啦？", "installment", 8),
        ("分十个月还，要不要得？", "installment", 10),
        ("往后缓两个月，要得不嘛？", "extension", 2),
        # a figure "taken out" (拿三千多出来) is no question about fees: the tagged proposal is the answer
        ("一下子拿三千多出来真拿不出，分三期行不？", "installment", 3),
        ("一次拿两千多出来我拿不出哦，分五个月中不中？", "installment", 5),
        ("叫我一把拿三千多出来办不到，缓一个月要得不？", "extension", 1),
    ],
)
def test_a_plan_proposed_with_a_regional_question_tag_is_the_answer(call, line, intent, months):
    c = call()
    to_plan(c, "在物流公司分拣", "四千五左右")
    out = c.say(line)
    assert not _transferred(out)
    assert c.session.dialog.menu == "promise", c.bot_texts[-1]
    plan = c.session.dialog.plan
    assert plan is not None and plan["intent"] == intent and plan["months"] == months


# ---------------------------------------------------------------- 人工 as labour cost


@pytest.mark.parametrize(
    ("menu_lines", "line", "after"),
    [
        (("是我", "知道", "做装修的"), "一个月毛收入一万，扣掉材料人工，剩五六千", "expenses"),
        (("是我", "知道", "种果园的"), "除开肥料人工，一个月平均落个五千", "expenses"),
        (("是我", "知道", "包点小工程"), "人工材料一算，到手四千来块", "expenses"),
        (("是我", "知道", "开小饭馆", "六千左右"), "店租三千，还有三个帮工的人工", "expenses"),
        (("是我", "知道", "开小饭馆", "六千左右"), "房租水电人工都要开", "expenses"),
        (("是我", "知道", "开小饭馆", "六千左右"), "最大的开销是人工，两个师傅要发工钱", "expenses"),
    ],
)
def test_labour_cost_is_not_a_request_for_a_person(call, menu_lines, line, after):
    c = call()
    c.say(*menu_lines)
    out = c.say(line)
    assert not _transferred(out), c.bot_texts[-1]
    assert c.session.dialog.menu in (after, "unusual_expense")


@pytest.mark.parametrize("line", ["给我转人工", "我要人工", "人工"])
def test_a_person_asked_for_is_still_a_transfer(call, line):
    c = call()
    c.say("是我", "知道", "开小饭馆")
    assert _transferred(c.say(line))


# ---------------------------------------------------------------- a payment still to come is not paid


@pytest.mark.parametrize(
    "line",
    [
        "知道知道，我马上就还了",
        "晓得，明天就全部还了",
        "嗯，我讲过了，礼拜五全还",
        "清楚，回头我就还了，你放心",
        "知道的，等会儿就转过去了",
        "晓得晓得，我这就去还了",
        "对，那笔钱我下个礼拜一全部还上",
    ],
)
def test_a_payment_still_to_come_at_the_debt_question_is_not_already_paid(call, line):
    c = call()
    c.say("是我")
    out = c.say(line)
    assert not _transferred(out), c.bot_texts[-1]
    assert c.session.dialog.menu != "purpose"  # asked on, or (a plan and its day said) closed as agreed
    assert "already_paid" not in [t.intent for t in c.session.dialog.turns]


# ---------------------------------------------------------------- words that only look like a plan


@pytest.mark.parametrize(
    "lines",
    [
        ("是我", "知道，就是房租一交就不够还了", "打工的", "四千", "吃饭", "没了", "没有"),
        ("是我", "知道", "还在试用期，拿基本工资", "四千", "吃饭", "没了", "没有"),
        ("是我", "知道", "跑船的", "一趟回来能分到八千", "吃饭", "没了", "没有"),
        ("是我", "知道", "开店的", "四千", "房租", "没了", "没出啥事，就是孩子他爸抚养费一分不给"),
        ("是我", "知道", "上班的", "年底分红能分个两万，平时四千", "吃饭", "没了", "没有"),
        ("是我", "知道", "打工的", "四千", "房租一千，剩下的刚够还信用卡", "没了", "没有"),
    ],
)
def test_words_that_only_look_like_a_plan_leave_the_plan_question_open(call, lines):
    c = call()
    out = c.say(*lines)
    assert not _transferred(out)
    assert c.session.dialog.menu == "plan", c.bot_texts[-1]
    assert c.session.dialog.plan is None


def test_a_plan_said_early_is_still_kept(call):
    c = call()
    c.say("是我", "知道，我想分四期还", "打工的", "四千", "吃饭", "没了", "没有")
    out = c.say("下个月五号", "#silence")
    assert out[-1] == Hangup("completed")
    assert c.session.report()["plan"]["months"] == 4
