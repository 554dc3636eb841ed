"""Amounts and month counts said loosely (issue 11 item 5): shares of the debt, ranges, 分一年, 仨."""

from __future__ import annotations

from fractions import Fraction

import pytest

from ivr.numbers import parse_amount, parse_amount_range, parse_months, parse_share
from ivr.textnorm import normalize
from ivr.understanding import Understander, payment_slots

from .conftest import NOW


def _n(said: str) -> str:
    return normalize(said).text


@pytest.mark.parametrize(
    "said, share",
    [
        ("先还三分之一", Fraction(1, 3)),
        ("还一半", Fraction(1, 2)),
        ("先还一小半", Fraction(1, 3)),
        ("大半吧", Fraction(2, 3)),
        ("一多半", Fraction(2, 3)),
        ("先还三成", Fraction(3, 10)),
        ("百分之三十", Fraction(3, 10)),
        ("剩下的都还了", Fraction(1)),
        ("全部还", Fraction(1)),
        ("都还了吧", Fraction(1)),
    ],
)
def test_shares_of_the_debt(said: str, share: Fraction) -> None:
    assert parse_share(_n(said)) == share


def test_the_rest_left_for_later_is_not_everything() -> None:
    assert parse_share(_n("先还三分之一，剩下的往后再商量")) == Fraction(1, 3)
    assert parse_share(_n("剩下的以后再说")) is None


@pytest.mark.parametrize(
    "said, low, high",
    [
        ("一两千", 1000, 2000),
        ("三五百", 300, 500),
        ("两三千块", 2000, 3000),
        ("先还个一两千吧", 1000, 2000),
        ("一千到两千", 1000, 2000),
    ],
)
def test_loose_ranges_stay_ranges(said: str, low: int, high: int) -> None:
    assert parse_amount_range(_n(said)) == (low, high)


@pytest.mark.parametrize("said", ["两千", "三千五", "分三期", "一万二"])
def test_a_single_figure_is_not_a_range(said: str) -> None:
    assert parse_amount_range(_n(said)) is None


def test_a_figure_said_wins_over_a_share_and_a_fraction_is_not_a_range() -> None:
    assert payment_slots(_n("先还三分之一，三千")) == {"amount": 3000}
    assert payment_slots(_n("先还三分之一")) == {"share": 0.3333}
    assert payment_slots(_n("先还一两千")) == {"amount_range": [1000, 2000]}


@pytest.mark.parametrize(
    "said, months",
    [
        ("分八期", 8),
        ("分8个月", 8),
        ("分一年", 12),
        ("分两年", 24),
        ("分两年嘛，二十四期", 24),  # the caller's count, never replaced here
        ("分一年行吗，一个月两千五", 12),  # 一个月两千五 is a rate
        ("分四个月吧，一个月两千四", 4),
        ("缓个仨月", 3),
        ("缓两个月", 2),
        ("宽限一个月", 1),
        ("分俩月吧", 2),
    ],
)
def test_month_counts(said: str, months: int) -> None:
    assert parse_months(_n(said)) == months


def test_a_per_month_rate_is_not_a_count() -> None:
    assert parse_months(_n("一个月还两千")) is None


def test_colloquial_numbers() -> None:
    assert parse_amount("还俩千块") == 2000 and parse_months("缓个仨月") == 3 and parse_months("分俩月") == 2


def test_plan_understanding_carries_shares_ranges_and_months(nlu: Understander) -> None:
    u = nlu.understand("plan", "先还三分之一行不？剩下的往后再商量", NOW)
    assert u.intent == "partial" and u.slots["share"] == pytest.approx(1 / 3, abs=1e-3)
    u = nlu.understand("plan", "分一年行吗，一个月两千五", NOW)
    assert u.intent == "installment" and u.slots["months"] == 12
    u = nlu.understand("plan", "缓个仨月", NOW)
    assert u.intent == "extension" and u.slots["months"] == 3
    u = nlu.understand("plan", "先还个一两千", NOW)
    assert u.slots.get("amount_range") == [1000, 2000] and "amount" not in u.slots


def test_promise_understanding_hints(nlu: Understander) -> None:
    u = nlu.understand("promise", "等发了工资就还", NOW)
    assert (u.intent, u.slots.get("date_hint")) == ("payday", "payday")
    u = nlu.understand("promise", "过几天吧", NOW)
    assert (u.intent, u.slots.get("date_hint")) == ("unknown", "soon")
    u = nlu.understand("promise", "年后吧", NOW)
    assert (u.intent, u.slots["date"], u.slots["date_hint"]) == ("date", "2027-02-13", "approx")
