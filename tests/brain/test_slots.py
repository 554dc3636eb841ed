"""Numbers, instalment counts and dates as callers say them (fixed call time: Wed 2026-11-18)."""

from __future__ import annotations

import datetime as dt

import pytest

from ivr.dates import parse_date
from ivr.numbers import mask_numerals, parse_amount, parse_months
from ivr.textnorm import clean

from .conftest import NOW


@pytest.mark.parametrize(
    "said, yuan",
    [
        ("三千五", 3500),
        ("三千五百块", 3500),
        ("一万出头", 10000),
        ("两千", 2000),
        ("五六千", 5500),
        ("两三千块吧", 2500),
        ("七八百", 750),
        ("3k", 3000),
        ("3K左右", 3000),
        ("3000块", 3000),
        ("３０００元", 3000),
        ("1.5万", 15000),
        ("一个月四千左右", 4000),
        ("每个月也就八百", 800),
        ("一万二", 12000),
        ("万把块", 10000),
        ("三千多", 3000),
        ("两个孩子一个月三千", 3000),
    ],
)
def test_amounts(said: str, yuan: int) -> None:
    assert parse_amount(clean(said)) == yuan


def test_no_months_in_one_go() -> None:
    assert parse_months(clean("一次性还清")) is None


@pytest.mark.parametrize("said", ["不知道", "一个月", "等一下", "分三期", "十二号"])
def test_no_amount(said: str) -> None:
    assert parse_amount(clean(said)) is None


@pytest.mark.parametrize(
    "said, months",
    [("分十二期", 12), ("分6个月", 6), ("半年", 6), ("一年", 12), ("一年半", 18), ("分三次还", 3), ("两年", 24)],
)
def test_months(said: str, months: int) -> None:
    assert parse_months(clean(said)) == months


def test_numbers_are_masked_for_matching() -> None:
    assert mask_numerals("分十二期") == ("分几期", [(0, 1), (1, 3), (3, 4)])
    assert mask_numerals("宽限3天")[0] == "宽限几天"


@pytest.mark.parametrize(
    "said, iso",
    [
        ("今天", "2026-11-18"),
        ("明天", "2026-11-19"),
        ("后天", "2026-11-20"),
        ("大后天", "2026-11-21"),
        ("周五", "2026-11-20"),
        ("星期三", "2026-11-18"),
        ("这周日", "2026-11-22"),
        ("下周五", "2026-11-27"),
        ("下个星期一", "2026-11-23"),
        ("下礼拜三", "2026-11-25"),
        ("周末", "2026-11-21"),
        ("下下周五", "2026-12-04"),
        ("下下周", "2026-11-30"),
        ("下周", "2026-11-23"),
        ("这个月二十八号", "2026-11-28"),
        ("下个月十号", "2026-12-10"),
        ("下月5号", "2026-12-05"),
        ("三天之内", "2026-11-21"),
        ("三天后", "2026-11-21"),
        ("一个星期以内", "2026-11-25"),
        ("两个月内", "2027-01-18"),
        ("半个月", "2026-12-03"),
        ("月底", "2026-11-30"),
        ("下个月底", "2026-12-31"),
        ("月初", "2026-12-01"),
        ("12月1号", "2026-12-01"),
        ("十二月一日", "2026-12-01"),
        ("1月5号", "2027-01-05"),
        ("11月10号", "2026-11-10"),
        ("12-01", "2026-12-01"),
        ("2026-12-24", "2026-12-24"),
        ("1号", "2026-12-01"),
        ("20号", "2026-11-20"),
        ("18号", "2026-11-18"),
        # the past stays past (the dialog says so and asks again); the nearest month/day wins
        ("上周五", "2026-11-13"),
        ("上礼拜一", "2026-11-09"),
        ("上上周五", "2026-11-06"),
        ("上周", "2026-11-09"),
        ("上个月十号", "2026-10-10"),
        ("上月底", "2026-10-31"),
        ("上个月", "2026-10-01"),
        ("昨天", "2026-11-17"),
        ("前天", "2026-11-16"),
        ("大前天", "2026-11-15"),
        ("三天前", "2026-11-15"),
        ("11月1号", "2026-11-01"),
        ("10月30号", "2026-10-30"),
        ("马上周五就还", "2026-11-20"),
        ("晚上周五", "2026-11-20"),
    ],
)
def test_dates(said: str, iso: str) -> None:
    assert parse_date(clean(said), NOW) == dt.date.fromisoformat(iso)


@pytest.mark.parametrize("said", ["发工资那天", "等我有钱了", "尽快", "不知道", "2月30号"])
def test_no_date(said: str) -> None:
    assert parse_date(clean(said), NOW) is None


def test_month_end_in_february_and_year_rollover() -> None:
    assert parse_date("月底", dt.date(2027, 2, 3)) == dt.date(2027, 2, 28)
    assert parse_date("下个月十号", dt.date(2026, 12, 20)) == dt.date(2027, 1, 10)
    assert parse_date("下周一", dt.date(2026, 12, 30)) == dt.date(2027, 1, 4)
    assert parse_date("12月20号", dt.date(2027, 1, 5)) == dt.date(2026, 12, 20)  # nearest: last month
    assert parse_date("上个月五号", dt.date(2027, 1, 20)) == dt.date(2026, 12, 5)


@pytest.mark.parametrize(
    "said, yuan",
    [
        ("3千5", 3500),
        ("1万2", 12000),
        ("2千8左右", 2800),
        ("两千五六", 2550),
        ("一千五到两千", 1750),
        ("3000到4000之间", 3500),
        ("五千到六千吧", 5500),
    ],
)
def test_mixed_numerals_and_ranges(said: str, yuan: int) -> None:
    assert parse_amount(clean(said)) == yuan


def test_instalments_heard_as_a_homophone_of_qi() -> None:
    assert parse_months(clean("能不能分 六 其")) == 6
    assert parse_months(clean("分十起")) == 10
    assert parse_months(clean("我们一起还")) is None  # 一起 is "together", not one instalment


@pytest.mark.parametrize(
    "said, iso",
    [("元旦", "2027-01-01"), ("元旦前", "2027-01-01"), ("国庆节之前", "2027-10-01"), ("圣诞", "2026-12-25")],
)
def test_fixed_date_holidays(said: str, iso: str) -> None:
    assert parse_date(clean(said), NOW) == dt.date.fromisoformat(iso)
