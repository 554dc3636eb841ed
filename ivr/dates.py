"""Repayment dates said the way callers say them, resolved against the call's date.

`read_date` returns a `DateReading`: the date (or None) and a `hint` for the dialog —
`approx` (a loose period resolved to one concrete day: the bot reads it back and asks to confirm),
`payday` (tied to the caller's payday: the bot asks which day that is), `soon` (过几天/过阵子/尽快:
the bot proposes a day within policy).  `parse_date` is its date alone.

Rules (documented choices, weeks start on Monday):
- 今天/马上/现在 → today; 明天 +1; 后天 +2; 大后天 +3; 过两天/这两天 +2.
- 周五/星期五/礼拜五/这周五 → the next Friday on or after today; 下周五 → Friday of next week;
  下下周五 → Friday of the week after; 周末 → the coming Saturday; 下周 alone → Monday of next week.
- N天之内/N天后/N天以内 → today + N; 一周内/一个星期 → +7; 半个月 → +15; N个月内 → same day N months on.
- 12月1号 / 十二月一日 / 12-01 (and keyed MMDD) → the *nearest* such day, past or future: 11月1号
  said on 11-18 is this year's, already past, so the dialog can say so and ask again (a promise
  is never moved a year on silently); 1月5号 said in November is next January.
  这个月28号 → literal this month; 下个月10号 → next month; 28号 alone → the next 28th on or after today.
- 月底 → last day of this month; said on the last day itself, the next month's (这个月底 stays
  today); 下个月底 → of next month; N月底 → the next month N's last day.  月初 → 1st of next month;
  月中 → the 15th.  上旬/中旬/下旬 → the middle of those ten days: the 5th/15th/25th, of this month
  unless already past (中旬 said on the 18th → the 20th, what is left of it; after the 20th → next
  month's 15th); 下个月中旬 → next month's; N月中旬 → the next month N's.  Ten days are not a day:
  these are `approx` (the bot proposes the day and takes the one the caller then names).
- N月/N月份 with no day (明年三月份) → the 1st of the next month N, proposed (`approx`).
- "X以后/X之后/X后/过了X" after a day → the day after X (never before X), proposed (`approx`).
- The past is the past: 上周五/上上周五 → Friday of last week / the week before; 上周 → its Monday;
  上个月10号 → the 10th of last month, 上个月底 → its last day, 上个月 → its 1st; 昨天 -1, 前天 -2,
  大前天 -3, 前两天 -2, N天前 -N.  The dialog refuses those dates (promise.past) and asks again.
- Holidays and periods of the year are data (grammars/holidays.yaml, with the Spring Festival of
  each year): 元旦/国庆/春节/中秋... → their next occurrence ("元旦前" is the holiday itself, a
  deadline, like "15号之前"); "国庆后/过了元旦/春节以后" → the first day after the public break;
  年前 → 腊月廿八 (last working day before the break), 年后/过完年 → 正月初八, 开春 → 正月十六,
  年底 → 12-31; 正月初十 / 正月十五 → counted from 正月初一.  All of these are `approx`.
- 发工资那天/等发了工资/工资下来/开支那天 with no day → None, hint `payday`; with a day (我们厂八号
  发工资, 明天发工资) → that day.  过几天/过阵子/过段时间/尽快/回头 with no day → None, hint `soon`.
- Anything else tied to an unknown event (等有钱了) → None.
"""

from __future__ import annotations

import calendar
import datetime as dt
import re
from dataclasses import dataclass, field, replace
from functools import lru_cache
from pathlib import Path
from typing import Any

from ivr.datafile import load_yaml
from ivr.numbers import colloquial, parse_int

HOLIDAYS_FILE = Path(__file__).resolve().parent.parent / "grammars" / "holidays.yaml"

_N = r"[0-9零一二两三四五六七八九十]+"
_WEEKDAY = {"一": 0, "二": 1, "三": 2, "四": 3, "五": 4, "六": 5, "日": 6, "天": 6, "末": 5}
_WEEK_WORD = r"(?:周|星期|礼拜)"
_WEEKDAY_RE = re.compile(rf"(下+个?|(?<![马晚早])上+个?|这个?|本)?{_WEEK_WORD}([一二三四五六日天末])")
_MONTH_DAY = re.compile(rf"({_N})月({_N})[号日]?")
_DAY_ONLY = re.compile(rf"(这个月|本月|下个?月|上个?月)?({_N})[号日]")
_PAY_AFTER = re.compile(r".{0,3}?(?:还|打钱|打款|转|付|交)")
_DAYS_AGO = re.compile(rf"({_N})天以?前")
_IN_DAYS = re.compile(rf"({_N})天(?:之内|以内|内|后|以后|之后)?")
_IN_WEEKS = re.compile(rf"({_N}|半)个?(?:周|星期|礼拜)(?:之内|以内|内|后|以后|之后)")
_IN_MONTHS = re.compile(rf"({_N}|半)个月(之内|以内|内|后|以后|之后)?")
_ISO = re.compile(r"(?:(\d{4})[-/.年])?(\d{1,2})[-/.](\d{1,2})")
# 十二月底, 一月中旬, 下个月上旬, 这个月底, 明年三月份 (a month named, a part of it or none)
_MONTH_PART = re.compile(
    rf"(明年)?(?:({_N})月份?|(这个?|本|下+个?|(?<![马晚早])上+个?)?月)(底|末|初|上旬|中旬|下旬|中)?(?!(?!一(?:次|把|起|口气|下|并|块))"
    rf"{_N[:-1]}|份?[号日])"
)  # 月底一次还清: 一次 is no day
_BARE_PART = re.compile(r"(?<![月年])(上旬|中旬|下旬)")
_TEN_DAYS = {"上旬": 5, "中旬": 15, "下旬": 25, "中": 15, "初": 1}
_LOOSE_PARTS = ("上旬", "中旬", "下旬")  # ten days, not one: the day is proposed and confirmed (approx)
_TEN_DAYS_END = {"上旬": 10, "中旬": 20, "中": 20, "下旬": 31}  # 中旬 said on the 18th: the 20th, not next month
_AFTER = ("以后", "之后", "过后", "后", "过了", "过完", "一过")
_AFTER_BEFORE = ("过了", "过完", "等过了", "等过完")
_NOT_BEFORE_YEAR = "零〇一二两三四五六七八九十半明去今前后几每0123456789"  # 半年后 is not 年后
_LUNAR_DAY = re.compile(rf"正月(?:初)?({_N})")
_NEW_YEAR_DAY = re.compile(r"初([一二三四五六七八九十]+)")
_NEW_YEAR_WORDS = ("过完年", "过了年", "年后", "春节", "过年")
_PAYDAY = re.compile(
    r"发工资|发了工资|工资发|工资下来|工资到|发薪|开工资|开支|开了支|发钱那天|工资一到|领工资|结工资|工资结"
)
# 现在/马上 are a day only when the paying follows (现在就转, 马上还): 现在实在周转不开 is the present
_NOW_WORDS = ("现在", "马上", "立刻")
_PAY_SOON = re.compile(r".{0,3}?(?:还(?!不)|(?<!周)转(?!不)|付|交|打钱|打过去|结)")
# 一个月还四百 / 一个月一千五: an amount each month, not a day a month from now
_RATE_AFTER = re.compile(r"(?:还|交|付|给|打|能还)?[0-9零一二两三四五六七八九十百千万]")
_SOON = re.compile(
    r"过几天|过些天|过些日子|过阵子|过一阵|过段时间|过一段时间|过两天再说|尽快|尽早|回头|晚几天|晚些时候|改天"
)

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


# a day named outright (今天/明天/后天) with the payday words: 明天发工资就还 means tomorrow
_NAMED_DAY = re.compile(r"今天|今儿|明天|明儿|后天")
_MONTH_STEP = {"上": -1, "下": 1}


@dataclass(frozen=True)
class DateReading:
    date: dt.date | None
    hint: str | None = None  # approx | payday | soon
    # the day is offered as the day of a payment (下周五先还一千, 还款就定在15号): True; a day said about
    # something else (今天能谈的话…, 周末做点家教, 现在实在周转不开): False; None when no day was read
    for_payment: bool | None = field(default=None, compare=False)


# ---------------------------------------------------------------- the holidays table (data)


@dataclass(frozen=True)
class _Day:
    """A holiday or period: a fixed month/day, an offset from 正月初一, or dates per year."""

    names: tuple[str, ...]
    month_day: tuple[int, int] | None = None
    lunar: int | None = None
    dates: tuple[dt.date, ...] = ()
    days: int = 1


@dataclass(frozen=True)
class Holidays:
    new_year: dict[int, dt.date]
    holidays: tuple[_Day, ...]
    periods: tuple[_Day, ...]

    def occurrences(self, d: _Day, year: int) -> list[dt.date]:
        out = []
        if d.month_day:
            out.append(_valid(year, *d.month_day))
        if d.lunar is not None and year in self.new_year:
            out.append(self.new_year[year] + dt.timedelta(days=d.lunar))
        out += [x for x in d.dates if x.year == year]
        return [x for x in out if x is not None]

    def next(self, d: _Day, today: dt.date, offset: int = 0) -> dt.date | None:
        """The first occurrence (+offset days) on or after today."""
        for year in (today.year - 1, today.year, today.year + 1, today.year + 2):
            for day in self.occurrences(d, year):
                if day + dt.timedelta(days=offset) >= today:
                    return day + dt.timedelta(days=offset)
        return None

    def new_year_on_or_after(self, today: dt.date, slack: int = 0) -> dt.date | None:
        """正月初一 of the lunar year that `today` is in or before (slack: days after it still count)."""
        for year in (today.year, today.year + 1):
            ny = self.new_year.get(year)
            if ny is not None and ny + dt.timedelta(days=slack) >= today:
                return ny
        return None


def _parse_day(raw: dict[str, Any], where: str) -> _Day:
    try:
        md = tuple(int(x) for x in str(raw["date"]).split("-")) if "date" in raw else None
        dates = tuple(dt.date.fromisoformat(str(v)) for v in (raw.get("dates") or {}).values())
        return _Day(
            tuple(str(n) for n in raw["names"]),
            md if md and len(md) == 2 else None,
            int(raw["lunar"]) if "lunar" in raw else None,
            dates,
            int(raw.get("days", 1)),
        )
    except (KeyError, TypeError, ValueError) as e:
        raise ValueError(f"{where}: expected names and one of date (MM-DD), lunar (days) or dates ({e})") from None


def load_holidays(path: Path | str = HOLIDAYS_FILE) -> Holidays:
    raw = load_yaml(Path(path).read_text(encoding="utf-8")) or {}
    new_year = {int(y): dt.date.fromisoformat(str(d)) for y, d in (raw.get("lunar_new_year") or {}).items()}
    hols = tuple(_parse_day(h, f"{path}: holidays[{i}]") for i, h in enumerate(raw.get("holidays") or []))
    periods = tuple(_parse_day(h, f"{path}: periods[{i}]") for i, h in enumerate(raw.get("periods") or []))
    return Holidays(new_year, hols, periods)


@lru_cache(maxsize=4)
def cached_holidays(path: str = str(HOLIDAYS_FILE)) -> Holidays:
    return load_holidays(path)


# ---------------------------------------------------------------- calendar helpers


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


def _part_of_month(first: dt.date, part: str | None) -> dt.date:
    """A part of the month starting at `first`: 底/末 → its last day, 上/中/下旬 → 5th/15th/25th."""
    if part in ("底", "末"):
        return _month_end(first)
    return first.replace(day=_TEN_DAYS.get(part or "", 1))


def _rest_of_part(today: dt.date, part: str | None) -> dt.date | None:
    """The last day of the part of this month today is in (中旬 said on the 18th → the 20th)."""
    end = _TEN_DAYS_END.get(part or "")
    if end is None:
        return None
    last = min(end, _month_end(today).day)
    return today.replace(day=last) if today.day <= last else None


# ---------------------------------------------------------------- reading


def _is_after(text: str, start: int, end: int) -> bool:
    """ "X以后 / X之后 / X后 / 过了X": the caller means after X, never X itself or before it."""
    before = text[:start]
    if re.match(r"(?:以后|之后)(?:每|都)", text[end:]):
        return False  # 二十号，以后每个月二十号: from then on, the day itself is the first one
    # 过了15号 / 等过了元旦; not the 过完 of 元旦过完，一月四号 (that one is about the holiday)
    return text[end:].startswith(_AFTER) or before in _AFTER_BEFORE or before.endswith(("等过了", "等过完"))


def _month_part(text: str, today: dt.date) -> tuple[dt.date, int, int, bool] | None:
    """(date, start, end, approx) of 十二月底 / 一月中旬 / 下个月上旬 / 月底 / 三月份 ..."""
    m: re.Match[str] | None
    for m in _MONTH_PART.finditer(text):
        next_year, number, which, part = m.group(1), m.group(2), m.group(3), m.group(4)
        if number is None and part is None:  # 下个月 / 这个月 alone: no day
            if which and which[0] == "上":  # 上个月 → its 1st (a past date the dialog refuses)
                return _add_months(today.replace(day=1), _weeks(which)), m.start(), m.end(), False
            continue
        if number is not None:
            month = parse_int(number)
            if not month or not 1 <= month <= 12:
                continue
            first = dt.date(today.year + (1 if next_year else 0), month, 1)
            if not next_year and _part_of_month(first, part) < today:
                first = first.replace(year=today.year + 1)
            return _part_of_month(first, part), m.start(), m.end(), part is None or part in _LOOSE_PARTS
        steps = _weeks(which or "")
        first = _add_months(today.replace(day=1), steps)
        day = _part_of_month(first, part)
        if not which and part in ("底", "末") and day == today:
            day = _month_end(_add_months(first, 1))  # 月底 said on the last day: the next one
        elif not which and day < today:
            day = _rest_of_part(today, part) or _part_of_month(_add_months(first, 1), part)
        return day, m.start(), m.end(), part in _LOOSE_PARTS
    m = _BARE_PART.search(text)
    if m:
        day = _part_of_month(today.replace(day=1), m.group(1))
        if day < today:
            day = _rest_of_part(today, m.group(1)) or _part_of_month(_add_months(today.replace(day=1), 1), m.group(1))
        return day, m.start(), m.end(), True
    return None


def _said(text: str, name: str) -> bool:
    """`name` in text; a name starting with 年 (年后, 年底) not as the tail of 半年/明年/两年."""
    at = text.find(name)
    while at >= 0:
        if not (name[0] == "年" and at > 0 and text[at - 1] in _NOT_BEFORE_YEAR):
            return True
        at = text.find(name, at + 1)
    return False


def _holiday(text: str, today: dt.date, table: Holidays) -> tuple[dt.date, bool] | None:
    """(day, approx): a lunar day (正月初十 is a day; 正月十五以后 the day after, approx), else a
    period of the year (年后, 开春), else a holiday (国庆, 过了元旦) — all but a lunar day approx."""
    m = _LUNAR_DAY.search(text)
    if m is None and any(w in text for w in _NEW_YEAR_WORDS):
        m = _NEW_YEAR_DAY.search(text)  # 过完年初八 = 正月初八
    if m and (n := parse_int(m.group(1))) and 1 <= n <= 30:
        ny = table.new_year_on_or_after(today, slack=n - 1)
        if ny is not None:
            later = _is_after(text, m.start(), m.end())
            return ny + dt.timedelta(days=n - 1 + (1 if later else 0)), later
    for period in table.periods:
        if any(_said(text, n) for n in period.names):
            if period.month_day:
                day = table.next(period, today)
            else:
                ny = table.new_year_on_or_after(today, slack=max(0, period.lunar or 0))
                day = ny + dt.timedelta(days=period.lunar or 0) if ny else None
            return (day, True) if day else None
    for h in table.holidays:
        for name in h.names:
            at = text.find(name)
            if at < 0:
                continue
            after = _is_after(text, at, at + len(name)) or text[:at].endswith(("过了", "过完"))
            day = table.next(h, today, offset=h.days if after else 0)
            # a one-day fixed date said as the day itself (双十二那天) is that day, not a period
            return (day, after or h.days > 1 or not h.month_day) if day else None
    return None


def read_date(text: str, now: dt.datetime | dt.date, holidays: Holidays | None = None) -> DateReading:
    """Resolve the repayment date in a cleaned answer (see the module doc for the rules), and whether
    the answer offers that day for a payment (`for_payment`, see `pays_on`)."""
    today = now.date() if isinstance(now, dt.datetime) else now
    text = colloquial(text)
    reading, span = _read(text, today, holidays or cached_holidays())
    if reading.date is None:
        return reading
    return replace(reading, for_payment=pays_on(text, *span) if span else None)


def _read(text: str, today: dt.date, table: Holidays) -> tuple[DateReading, tuple[int, int] | None]:
    """The reading and where in `text` the day was said (None when unknown)."""

    def after(day: dt.date | None, start: int, end: int, approx: bool = False) -> tuple[DateReading, tuple[int, int]]:
        if day is not None and _is_after(text, start, end):
            return DateReading(day + dt.timedelta(days=1), "approx"), (start, end)
        return DateReading(day, "approx" if approx and day else None), (start, end)

    month: int | None
    day: int | dt.date | None
    m = _ISO.search(text)
    if m:
        month, day = int(m.group(2)), int(m.group(3))
        if m.group(1):
            return after(_valid(int(m.group(1)), month, day), m.start(), m.end())
        return after(nearest_month_day(today, month, day), m.start(), m.end())
    m = _MONTH_DAY.search(text)
    if m:
        month, day = parse_int(m.group(1)), parse_int(m.group(2))
        if month and day and 1 <= month <= 12 and not text[: m.start()].endswith("个"):
            return after(nearest_month_day(today, month, day), m.start(), m.end())
    said = list(_DAY_ONLY.finditer(text))  # 28号复查完，29号打钱: the day the money goes is the day
    m = next((d for d in reversed(said) if _PAY_AFTER.match(text, d.end())), said[0] if said else None)
    if m:
        day = parse_int(m.group(2))
        if day and 1 <= day <= 31:
            which = m.group(1) or ""
            if which[:1] in ("下", "上"):
                first = _add_months(today.replace(day=1), _MONTH_STEP[which[0]])
                return after(_valid(first.year, first.month, day), m.start(), m.end())
            if which:
                return after(_valid(today.year, today.month, day), m.start(), m.end())
            return after(next_day_of_month(today, day), m.start(), m.end())

    m = _WEEKDAY_RE.search(text)
    if m:
        target = _WEEKDAY[m.group(2)]
        weeks = _weeks(m.group(1) or "")
        if weeks:
            return after(_monday(today, weeks) + dt.timedelta(days=target), m.start(), m.end())
        return after(today + dt.timedelta(days=(target - today.weekday()) % 7), m.start(), m.end())

    part = _month_part(text, today)  # a month named (三月份, 一月中旬) wins over 开春 in the same breath
    if part is not None:
        day, start, end, approx = part
        if not (approx and _PAYDAY.search(text)):  # 下个月发了工资就还: the payday decides
            return after(day, start, end, approx)
    holiday = _holiday(text, today, table)
    if holiday is not None:
        return DateReading(holiday[0], "approx" if holiday[1] else None), None

    if _PAYDAY.search(text) and not _NAMED_DAY.search(text):  # 明天发工资: the payday is that day
        return DateReading(None, "payday"), None
    if _SOON.search(text):
        return DateReading(None, "soon"), None

    m = re.search(r"(下+|(?<![马晚早])上+)个?(?:周|星期|礼拜)", text)
    if m:
        return after(_monday(today, _weeks(m.group(1))), m.start(), m.end())

    for word, days in _RELATIVE_DAYS:
        at = text.find(word)
        if at >= 0 and not (word in _NOW_WORDS and not _PAY_SOON.match(text, at + len(word))):
            return DateReading(today + dt.timedelta(days=days)), (at, at + len(word))
    n: float | None
    m = _DAYS_AGO.search(text)
    if m and (n := parse_int(m.group(1))) is not None:
        return DateReading(today - dt.timedelta(days=n)), m.span()
    m = _IN_DAYS.search(text)
    if m and (n := parse_int(m.group(1))) is not None:
        return DateReading(today + dt.timedelta(days=n)), m.span()
    m = _IN_WEEKS.search(text)
    if m:
        n = 0.5 if m.group(1) == "半" else parse_int(m.group(1))
        if n:
            return DateReading(today + dt.timedelta(days=int(7 * n))), m.span()
    for m in _IN_MONTHS.finditer(text):
        if not m.group(2) and (text[: m.start()].endswith(("分", "每")) or _RATE_AFTER.match(text, m.end())):
            continue  # 分六个月 is a plan, 一个月还四百 a rate: neither is a day
        if m.group(1) == "半":
            return DateReading(today + dt.timedelta(days=15)), m.span()
        n = parse_int(m.group(1))
        if n:
            return DateReading(_add_months(today, n)), m.span()
    return DateReading(None), None


# ---------------------------------------------------------------- is the day offered for a payment?

# paying: 还 (not the adverb of 还在/还是/还有/还没…, nor a refusal 还不上), 付, 交, 转 (not 周转),
# 打钱/打过去, 结清, 给你们
_PAY_VERB = re.compile(
    r"还(?!在|是|有|没|好|行|挺|早|算|要|得很|不上|不了|不起|不清|不到|不出)|(?<!周)转(?!不)|付|交(?!流|通|代|往)"
    r"|打(?:钱|款|过去|到|[0-9零一二两三四五六七八九十百千万块元]{1,8}(?:过去|过来|给))|结(?:清|了|掉|账)|给(?:你|您)(?!打电话|回)|清掉|凑齐|凑够"
)
# between the day and the paying: the day is about talking or a condition (今天能谈的话，我先还一千;
# 今天先说定，本金先还两千), not when the money goes
_NOT_THE_DAY = re.compile(r"的话|谈|说|聊|商量|问|讲|(?<![一确肯])定|打电话|联系|回复|回电|考虑|想想|看看|再议")
_PAY_GAP = 12  # characters from the day to its paying verb (今天晚上下了班就转)
_PAY_BEFORE = re.compile(r"(?:还款|还钱|付款|打款|转账|还)(?:日期?|时间)?(?:就|定|放|约)*(?:在|到|是)?$")


def pays_on(text: str, start: int, end: int) -> bool:
    """True when the day said at text[start:end] is offered as the day of a payment: a paying verb
    close after it (下周五先还一千, 月底一把结清) or before it (先还一半，这个星期六) with no talk or
    condition in between, or the day is where a payment is put (还款日定在15号)."""
    if _PAY_BEFORE.search(text[max(0, start - 8) : start]):
        return True
    rest = text[end : end + _PAY_GAP]
    m = _PAY_VERB.search(rest)
    if m is not None and not _NOT_THE_DAY.search(rest[: m.start()]):
        return True
    # the paying said first and its day after it (我先还一半，四千五，这个星期六)
    before = text[max(0, start - _PAY_GAP) : start]
    paid = [p for p in _PAY_VERB.finditer(before)]
    return bool(paid) and not _NOT_THE_DAY.search(before[paid[-1].end() :])


def parse_date(text: str, now: dt.datetime | dt.date) -> dt.date | None:
    """Resolve the repayment date in a cleaned answer, or None when none is stated."""
    return read_date(text, now).date
