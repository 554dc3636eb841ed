"""Days, amounts and plans said about something else than the payment (issue 11 items 3 and 5):
a day only fills the promise when the answer offers it for paying; a clock time is no amount; a
missed instalment is no plan.  Call time Wed 2026-11-18 10:30.  Sentences written for these tests."""

from __future__ import annotations

import datetime as dt

import pytest

from ivr.dates import DateReading, read_date
from ivr.numbers import parse_amount
from ivr.plan_rule import decide_plan
from ivr.textnorm import normalize

from .conftest import NOW


def _read(said: str) -> DateReading:
    return read_date(normalize(said).text, NOW)


@pytest.mark.parametrize(
    ("said", "iso"),
    [
        ("下周三先转一千过去", "2026-11-25"),
        ("还款就放在25号吧", "2026-11-25"),
        ("我先交一半，下周二", "2026-11-24"),
        ("马上就转", "2026-11-18"),
        ("月底工资到了一把结清", "2026-11-30"),
        ("这个月二十五号吧，以后每个月二十五号都还", "2026-11-25"),  # from then on: not "after the 25th"
    ],
)
def test_a_day_offered_for_paying(said: str, iso: str) -> None:
    r = _read(said)
    assert r.date == dt.date.fromisoformat(iso) and r.hint is None and r.for_payment is True, r


@pytest.mark.parametrize(
    ("said", "iso"),
    [
        ("我周末在奶茶店打工", "2026-11-21"),  # when the caller works
        ("明天开会的话，我先转五百", "2026-11-19"),  # a condition, then the payment without a day
        ("今天先讲清楚，本金我先交两千", "2026-11-18"),  # today is when we talk
        ("下周五", "2026-11-27"),  # a bare day: an answer at the promise menu, not offered ahead of it
    ],
)
def test_a_day_about_something_else(said: str, iso: str) -> None:
    r = _read(said)
    assert r.date == dt.date.fromisoformat(iso) and r.for_payment is False, r


@pytest.mark.parametrize(
    "said",
    [
        "现在手头周转不过来",  # the present, not today as a payment day
        "一个月交三百行吗",  # a rate
        "能不能分八个月",  # a plan
    ],
)
def test_no_day_at_all(said: str) -> None:
    assert _read(said).date is None


def test_a_day_within_months_is_still_a_day() -> None:
    assert _read("两个月内还清").date == dt.date(2027, 1, 18)


@pytest.mark.parametrize(
    ("said", "amount"),
    [
        ("晚上九点以前转", None),  # a clock time
        ("十点半前转八百", 800),
        ("年底一块给你们", None),  # 一块 = together
        ("就一块钱的事", 1),
    ],
)
def test_clock_times_and_together_are_not_money(said: str, amount: int | None) -> None:
    assert parse_amount(normalize(said).text) == amount


@pytest.mark.parametrize(
    ("said", "plan"),
    [
        ("分期要多交利息，不如一次结清", "full"),  # the instalments turned down by their cost
        ("分期图啥呀，我一把给完", "full"),
        ("缓两个月，到时候奖金发了一次给", "extension"),
        ("能不能分一年，一个月还三百", "installment"),
        ("一个月还五百，慢慢来", "installment"),
        ("上个月断了一期", None),  # an instalment missed, not a plan
        ("我漏了两期没交", None),
    ],
)
def test_which_plan(said: str, plan: str | None) -> None:
    assert decide_plan(normalize(said).text) == plan
