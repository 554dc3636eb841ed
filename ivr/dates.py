"""Repayment dates said the way callers say them, resolved against the call's date.

Rules (documented choices, weeks start on Monday):
- 今天/马上/现在 → today; 明天 +1; 后天 +2; 大后天 +3; 过两天/这两天 +2.
- 周五/星期五/礼拜五/这周五 → the next Friday on or after today; 下周五 → Friday of next week;
  下下周五 → Friday of the week after; 周末 → the coming Saturday; 下周 alone → Monday of next week.
- N天之内/N天后/N天以内 → today + N; 一周内/一个星期 → +7; 半个月 → +15; N个月内 → same day N months on.
- 12月1号 / 十二月一日 / 12-01 (and keyed MMDD) → the *nearest* such day, past or future: 11月1号
  said on 11-18 is this year's, already past, so the dialog can say so and ask again (a promise
  is never moved a year on silently); 1月5号 said in November is next January.
  这个月28号 → literal this month; 下个月10号 → next month; 28号 alone → the next 28th on or after today.
- 月底 → last day of this month (下个月底 → of next month); 月初 → 1st of next month; 月中 → the 15th.
- The past is the past: 上周五/上上周五 → Friday of last week / the week before; 上周 → its Monday;
  上个月10号 → the 10th of last month, 上个月底 → its last day, 上个月 → its 1st; 昨天 -1, 前天 -2,
  大前天 -3, 前两天 -2, N天前 -N.  The dialog refuses those dates (promise.past) and asks again.
- Fixed-date holidays (元旦, 五一/劳动节, 国庆, 圣诞...) → their next occurrence; "元旦前" is read
  like "15号之前": the holiday itself is the deadline.  Lunar holidays (春节) are not resolved.
- Anything tied to an unknown event (发工资那天, 等有钱了) → None.
"""

from __future__ import annotations

import calendar
import datetime as dt
import re

from ivr.numbers import parse_int

_N = r"[0-9零一二两三四五六七八九十]+"
_WEEKDAY = {"一": 0, "二": 1, "三": 2, "四": 3, "五": 4, "六": 5, "日": 6, "天": 6, "末": 5}
_WEEK_WORD = r"(?:周|星期|礼拜)"
_WEEKDAY_RE = re.compile(rf"(下+个?|(?<![马晚早])上+个?|这个?|本)?{_WEEK_WORD}([一二三四五六日天末])")
_MONTH_DAY = re.compile(rf"({_N})月({_N})[号日]?")
_DAY_ONLY = re.compile(rf"(这个月|本月|下个?月|上个?月)?({_N})[号日]")
_DAYS_AGO = re.compile(rf"({_N})天以?前")
_IN_DAYS = re.compile(rf"({_N})天(?:之内|以内|内|后|以后|之后)?")
_IN_WEEKS = re.compile(rf"({_N}|半)个?(?:周|星期|礼拜)(?:之内|以内|内|后|以后|之后)")
_IN_MONTHS = re.compile(rf"({_N}|半)个月(?:之内|以内|内|后|以后|之后)?")
_ISO = re.compile(r"(?:(\d{4})[-/.年])?(\d{1,2})[-/.](\d{1,2})")

_HOLIDAYS = {
    "元旦": (1, 1),
    "情人节": (2, 14),
    "妇女节": (3, 8),
    "五一": (5, 1),
    "劳动节": (5, 1),
    "儿童节": (6, 1),
    "国庆": (10, 1),
    "双十一": (11, 11),
    "双十二": (12, 12),
    "平安夜": (12, 24),
    "圣诞": (12, 25),
}
_RELATIVE_DAYS = (
    ("大后天", 3),
    ("后天", 2),
    ("明天", 1),
    ("明儿", 1),
    ("过两天", 2),
    ("这两天", 2),
    ("大前天", -3),
    ("前两天", -2),
    ("前天", -2),
    ("昨天", -1),
    ("昨儿", -1),
    ("今天", 0),
    ("今儿", 0),
    ("马上", 0),
    ("现在", 0),
    ("立刻", 0),
)


_MONTH_STEP = {"上": -1, "下": 1}


def _weeks(prefix: str) -> int:
    """下 = 1, 下下 = 2, 上 = -1, 上上 = -2 weeks from this one; 这/本/nothing = 0."""
    return prefix.count("下") - prefix.count("上")


def _add_months(day: dt.date, months: int) -> dt.date:
    y, m = divmod(day.month - 1 + months, 12)
    year, month = day.year + y, m + 1
    return day.replace(year=year, month=month, day=min(day.day, calendar.monthrange(year, month)[1]))


def _monday(today: dt.date, weeks_ahead: int) -> dt.date:
    return today - dt.timedelta(days=today.weekday()) + dt.timedelta(days=7 * weeks_ahead)


def _month_end(day: dt.date) -> dt.date:
    return day.replace(day=calendar.monthrange(day.year, day.month)[1])


def _valid(year: int, month: int, day: int) -> dt.date | None:
    try:
        return dt.date(year, month, day)
    except ValueError:
        return None


def next_month_day(today: dt.date, month: int, day: int) -> dt.date | None:
    """month/day on or after today (this year, else next year)."""
    d = _valid(today.year, month, day)
    if d is not None and d < today:
        d = _valid(today.year + 1, month, day)
    return d


def nearest_month_day(today: dt.date, month: int, day: int) -> dt.date | None:
    """month/day in the year that puts it closest to today (a tie goes to the future): a date
    said without a year is a slip about the recent past or a plan for the near future."""
    days = [d for y in (today.year - 1, today.year, today.year + 1) if (d := _valid(y, month, day))]
    return min(days, key=lambda d: (abs((d - today).days), d < today), default=None)


def next_day_of_month(today: dt.date, day: int) -> dt.date | None:
    """The next `day`-th of a month on or after today."""
    for k in range(0, 3):
        first = _add_months(today.replace(day=1), k)
        d = _valid(first.year, first.month, day)
        if d is not None and d >= today:
            return d
    return None


def parse_date(text: str, now: dt.datetime | dt.date) -> dt.date | None:
    """Resolve the repayment date in a cleaned answer, or None when none is stated."""
    today = now.date() if isinstance(now, dt.datetime) else now

    m = _ISO.search(text)
    if m:
        month, day = int(m.group(2)), int(m.group(3))
        if m.group(1):
            return _valid(int(m.group(1)), month, day)
        return nearest_month_day(today, month, day)
    m = _MONTH_DAY.search(text)
    if m:
        month, day = parse_int(m.group(1)), parse_int(m.group(2))
        if month and day and 1 <= month <= 12:
            return nearest_month_day(today, month, day)
    m = _DAY_ONLY.search(text)
    if m:
        day = parse_int(m.group(2))
        if day and 1 <= day <= 31:
            which = m.group(1) or ""
            if which[:1] in ("下", "上"):
                return _valid(*_add_months(today.replace(day=1), _MONTH_STEP[which[0]]).timetuple()[:2], day)
            if which:
                return _valid(today.year, today.month, day)
            return next_day_of_month(today, day)

    for name, (month, day) in _HOLIDAYS.items():
        if name in text:
            return next_month_day(today, month, day)

    if "月底" in text or "月末" in text:
        m = re.search(r"([上下])个?月[底末]", text)
        return _month_end(_add_months(today.replace(day=1), _MONTH_STEP[m.group(1)]) if m else today)
    if "月初" in text:
        return _add_months(today.replace(day=1), 1)
    if "月中" in text:
        d = today.replace(day=15)
        return _add_months(d, 1) if d < today or "下" in text else d

    m = _WEEKDAY_RE.search(text)
    if m:
        target = _WEEKDAY[m.group(2)]
        weeks = _weeks(m.group(1) or "")
        if weeks:
            return _monday(today, weeks) + dt.timedelta(days=target)
        return today + dt.timedelta(days=(target - today.weekday()) % 7)
    m = re.search(r"(下+|(?<![马晚早])上+)个?(?:周|星期|礼拜)", text)
    if m:
        return _monday(today, _weeks(m.group(1)))
    m = re.search(r"(?<![马晚早])上个?月", text)
    if m:
        return _add_months(today.replace(day=1), -1)

    for word, days in _RELATIVE_DAYS:
        if word in text:
            return today + dt.timedelta(days=days)
    m = _DAYS_AGO.search(text)
    if m and (n := parse_int(m.group(1))) is not None:
        return today - dt.timedelta(days=n)
    m = _IN_DAYS.search(text)
    if m and (n := parse_int(m.group(1))) is not None:
        return today + dt.timedelta(days=n)
    m = _IN_WEEKS.search(text)
    if m:
        n = 0.5 if m.group(1) == "半" else parse_int(m.group(1))
        if n:
            return today + dt.timedelta(days=int(7 * n))
    m = _IN_MONTHS.search(text)
    if m:
        if m.group(1) == "半":
            return today + dt.timedelta(days=15)
        n = parse_int(m.group(1))
        if n:
            return _add_months(today, n)
    return None
