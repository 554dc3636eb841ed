"""Dates said loosely (issue 11 item 5), resolved against a fixed call time: Wed 2026-11-18 10:30,
and the last day of a month (Mon 2026-11-30).  Holidays come from grammars/holidays.yaml."""

from __future__ import annotations

import datetime as dt

import pytest

from ivr.dates import DateReading, load_holidays, read_date
from ivr.prompts import spoken_date
from ivr.textnorm import normalize

from .conftest import GRAMMARS_DIR, NOW

LAST_DAY = dt.datetime(2026, 11, 30, 9, 0)


def _read(said: str, now: dt.datetime = NOW) -> DateReading:
    return read_date(normalize(said).text, now)


@pytest.mark.parametrize(
    "said, iso",
    [
        ("月底吧", "2026-11-30"),
        ("这个月底", "2026-11-30"),
        ("十二月底", "2026-12-31"),
        ("12月底之前", "2026-12-31"),
        ("下个月底", "2026-12-31"),
        ("这周五", "2026-11-20"),
        ("下周三", "2026-11-25"),
        ("下下周一", "2026-11-30"),
        ("礼拜天", "2026-11-22"),
        ("下礼拜二吧", "2026-11-24"),
        ("周末", "2026-11-21"),
        ("后天", "2026-11-20"),
        ("大后天", "2026-11-21"),
        ("15号", "2026-12-15"),  # the next 15th
        ("二十号", "2026-11-20"),
    ],
)
def test_loose_but_concrete_dates(said: str, iso: str) -> None:
    r = _read(said)
    assert r.date == dt.date.fromisoformat(iso) and r.hint is None, r


@pytest.mark.parametrize(
    "said, iso",
    [
        ("一月中旬吧", "2027-01-15"),
        ("一月上旬", "2027-01-05"),
        ("一月下旬", "2027-01-25"),
        ("下个月中旬", "2026-12-15"),
        ("下个月上旬", "2026-12-05"),
        ("下个月下旬", "2026-12-25"),
        ("下旬", "2026-11-25"),
        ("中旬", "2026-11-20"),  # said on the 18th: what is left of this 中旬, not next month's
    ],
)
def test_ten_days_of_a_month_are_a_proposal(said: str, iso: str) -> None:
    """Ten days are not one day: the middle one is proposed (`approx`) and the caller's day taken."""
    r = _read(said)
    assert r.date == dt.date.fromisoformat(iso) and r.hint == "approx", r


def test_month_end_said_on_the_last_day_is_the_next_one() -> None:
    assert _read("月底", LAST_DAY).date == dt.date(2026, 12, 31)
    assert _read("月底前", LAST_DAY).date == dt.date(2026, 12, 31)
    assert _read("这个月底", LAST_DAY).date == dt.date(2026, 11, 30)  # said "this month": today


def test_a_month_end_already_past_is_next_year() -> None:
    assert _read("十月底").date == dt.date(2027, 10, 31)  # the dialog then offers the latest allowed day


@pytest.mark.parametrize(
    "said, iso",
    [
        ("年前", "2027-02-04"),  # 腊月廿八 before 正月初一 2027-02-06
        ("过年前还上", "2027-02-04"),
        ("年后吧", "2027-02-13"),  # 正月初八
        ("春节以后", "2027-02-13"),
        ("过完年再说", "2027-02-13"),
        ("开春", "2027-02-21"),  # 正月十六
        ("年底", "2026-12-31"),
        ("国庆后", "2027-10-08"),
        ("元旦后", "2027-01-04"),
        ("过了元旦", "2027-01-04"),
        ("正月十五以后", "2027-02-21"),
        ("明年三月份", "2027-03-01"),
    ],
)
def test_periods_of_the_year_are_proposed(said: str, iso: str) -> None:
    r = _read(said)
    assert (r.date, r.hint) == (dt.date.fromisoformat(iso), "approx")


@pytest.mark.parametrize(
    "said, iso",
    [
        ("15号以后", "2026-12-16"),
        ("下周三之后", "2026-11-26"),
        ("过了15号", "2026-12-16"),
        ("12月1号以后", "2026-12-02"),
    ],
)
def test_after_a_day_is_never_that_day_or_before(said: str, iso: str) -> None:
    r = _read(said)
    assert r.date == dt.date.fromisoformat(iso) and r.date > NOW.date() and r.hint == "approx"


def test_a_lunar_day_is_a_day() -> None:
    assert _read("正月初十") == DateReading(dt.date(2027, 2, 15))
    assert _read("年后，正月初十吧") == DateReading(dt.date(2027, 2, 15))


def test_an_explicit_day_next_to_a_holiday_is_the_day() -> None:
    r = _read("元旦过完，一月四号")
    assert (r.date, r.hint) == (dt.date(2027, 1, 4), None)


@pytest.mark.parametrize("said", ["发工资那天", "等发了工资就还", "工资下来就还", "开支那天还", "下个月发了工资就还"])
def test_payday_without_a_day_asks(said: str) -> None:
    assert _read(said) == DateReading(None, "payday")


def test_payday_with_its_day_is_that_day() -> None:
    assert _read("开支那天还，我们厂每个月八号开支").date == dt.date(2026, 12, 8)
    assert _read("我们二十号发工资").date == dt.date(2026, 11, 20)


@pytest.mark.parametrize("said", ["过几天吧", "过阵子", "尽快", "过段时间", "过几天吧，我这两天凑凑"])
def test_vague_soon_is_proposed_by_the_bot(said: str) -> None:
    assert _read(said) == DateReading(None, "soon")


def test_half_a_year_is_not_after_new_year() -> None:
    assert _read("半年后").hint != "approx"


def test_holidays_are_data(tmp_path) -> None:
    table = load_holidays(GRAMMARS_DIR / "holidays.yaml")
    assert table.new_year[2027] == dt.date(2027, 2, 6)
    custom = tmp_path / "h.yaml"
    custom.write_text(
        "lunar_new_year: {2027: 2027-02-06}\nholidays: []\nperiods:\n  - {names: [年后], lunar: 10}\n", encoding="utf-8"
    )
    assert read_date("年后", NOW, load_holidays(custom)).date == dt.date(2027, 2, 16)


def test_a_year_missing_from_the_table_leaves_lunar_dates_unresolved(tmp_path) -> None:
    custom = tmp_path / "h.yaml"
    custom.write_text("lunar_new_year: {}\nholidays: []\nperiods:\n  - {names: [年后], lunar: 7}\n", encoding="utf-8")
    assert read_date("年后", NOW, load_holidays(custom)).date is None


def test_dates_are_read_back_with_the_weekday() -> None:
    assert spoken_date(dt.date(2026, 12, 10)) == "12月10日，星期四"
    assert spoken_date(dt.date(2026, 11, 22)) == "11月22日，星期日"
