"""Round 8 hardship kinds (held-out variants, own words), whole calls: ordinary hardship told at
the purpose or income question — work that dried up (活路 = a job in the south-west and centre),
livestock or crops lost to disease, a shop that cannot keep going, embarrassment at the employer
or family finding out, being away on the road — is NOT a sign of risk: the call goes on to a plan.
Near each kind, a real sign said with the same words (活不下去了, 不想回来了 as a farewell) still
hands over as `distress` with nothing said about the debt afterwards.
Call time: Wed 2026-11-18 10:30 (tests/dialog/conftest.py)."""

from __future__ import annotations

import pytest

from ivr.case import Case
from ivr.events import Transfer

from .conftest import Call

CASE = Case(name="罗海军", amount=5600, days_overdue=33)
REST_AT_INCOME_SOURCE = ["打零工", "三千左右", "房租吃饭", "没了", "没有", "分三期", "下周五", "#silence"]
REST_AT_INCOME_AMOUNT = ["房租吃饭", "没了", "没有", "分三期", "下周五", "#silence"]


@pytest.mark.parametrize(
    "hardship",
    [
        "晓得，这一年工厂订单少，我们这些临时工经常没活路做",  # 活路 = work (西南官话)
        "知道嘞，去年冬天猪场闹瘟，小猪死了大半，本钱全赔进去了",  # livestock lost to disease
        "知道，今年天太旱，果园里的苗子旱死了一片，没卖上钱",  # crops lost to drought
        "知道，我那个小卖部生意混不下去了，上个月关了门",  # a shop that cannot keep going
        "知道的，这事千万别让我们村里人晓得，传出去我脸上挂不住",  # embarrassment
        "晓得，我在外面跑运输，过年之前都回不来，一忙就搞忘了",  # away on the road
        "知道，养的那塘鱼苗前阵子缺氧，死了好几百斤",  # fish lost
    ],
)
def test_hardship_at_purpose_goes_on_to_a_plan(call, hardship: str) -> None:
    c: Call = call(CASE)
    out = c.say("是我", hardship)
    assert not [a for a in out if isinstance(a, Transfer)], c.bot_texts[-2:]
    c.say(*REST_AT_INCOME_SOURCE)
    d = c.session.dialog
    assert d.outcome == "completed", c.bot_texts[-3:]
    assert d.slots["plan"].value == "installment"


@pytest.mark.parametrize(
    "income",
    [
        "有活路的时候一天两百多，活路少的时候一分都没得",  # 活路 = work, with and without
        "在外头揽活路，一个月有个四千上下",
    ],
)
def test_work_called_huolu_at_income_amount_is_an_amount_not_distress(call, income: str) -> None:
    c: Call = call(CASE)
    c.say("是我", "知道", "在工地上干")
    out = c.say(income)
    assert not [a for a in out if isinstance(a, Transfer)], c.bot_texts[-2:]
    c.say(*REST_AT_INCOME_AMOUNT)
    d = c.session.dialog
    assert d.outcome == "completed", c.bot_texts[-3:]


@pytest.mark.parametrize(
    "sign",
    [
        "知道，工地上一直没活干，我是真的活不下去了",  # work talk, then a real sign
        "知道，我这辈子是没活路了，什么都没意思",  # 没活路了: no way to live
        "知道，鸡全死了，我也不想活了，跟它们一起死了算了",  # animals dying, then a death wish
        "知道，店混不下去了，我也混到头了，过两天我就走，不想回来了",  # a farewell
        "知道，丢人丢到这份上，我没脸再活下去了",  # shame turning to despair
        "知道，我出远门了，这次走了就再也不回来了，你们别找了",  # travel as disappearance
    ],
)
def test_real_sign_near_hardship_words_still_hands_over(call, sign: str) -> None:
    c: Call = call(CASE)
    out = c.say("是我", sign)
    assert [a.reason for a in out if isinstance(a, Transfer)] == ["distress"], c.bot_texts[-2:]
