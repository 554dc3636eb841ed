"""When to call back: "四点半以后", "明天上午", "晚上七点", "十点过后" → a datetime (SPEC §1 `callback`).

Kept apart from ivr/dates.py (promise *dates*): a callback is a moment of the day, clamped to the
hours the company may call (flow.yaml `callback.window`, default 08:00–21:00 local).

Rules (documented in docs/dialog.md "Callbacks"):
- day: 今天/今晚 (0), 明天/明早/明晚/明儿 (+1), 后天 (+2), 大后天 (+3); else a weekday or date via
  ivr/dates.parse_date; else today (or tomorrow when the moment has already passed today);
- part of the day: 凌晨 早上 上午 中午 下午 傍晚 晚上 夜里; alone it means its usual hour
  (PERIOD_HOUR: 明天上午 → 10:00, 晚上 → 19:00);
- clock: N点 / N点半 / N点一刻 / N点M分 / HH:MM, Chinese or Arabic numerals; an hour 1–12 without a
  part of the day is the next such hour still ahead (at 10:30 "四点半" is 16:30, at 19:20 "十点" 22:00);
- relative: N个小时后 / 半个小时后 / 过半个钟头 / 过二十分钟 → now + that, to the minute (not rounded);
  "以后/之后/过后" after a moment mean that moment;
- a range (七点到八点半都行) means its start (clamped into the window by the dialog).
Vague wishes (晚点, 改天, 回头, 下班以后 with no hour) give no time: the dialog asks for one.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass

from ivr.dates import parse_date

_NUM = r"[0-9零〇一二两三四五六七八九十]{1,3}"
_DIGIT = {c: i for i, c in enumerate("零一二三四五六七八九")} | {"〇": 0, "两": 2}
PERIOD_HOUR: dict[str, int] = {
    "凌晨": 6,
    "早上": 9,
    "早晨": 9,
    "一早": 9,
    "早": 9,
    "上午": 10,
    "中午": 12,
    "午饭": 12,
    "下午": 15,
    "傍晚": 18,
    "下班": 18,
    "收工": 18,
    "晚上": 19,
    "晚": 19,
    "夜里": 20,
    "夜晚": 20,
    "夜": 20,
}
_PM = {"下午", "傍晚", "晚上", "晚", "夜里", "夜晚", "夜", "下班", "收工"}
_PERIOD = "|".join(sorted(PERIOD_HOUR, key=len, reverse=True))
_DAY_WORDS: tuple[tuple[str, int], ...] = (
    ("大后天", 3),
    ("后天", 2),
    ("明天", 1),
    ("明日", 1),
    ("明儿", 1),
    ("明个", 1),
    ("明早", 1),
    ("明晚", 1),
    ("明晨", 1),
    ("今天", 0),
    ("今儿", 0),
    ("今晚", 0),
    ("今早", 0),
    ("今日", 0),
)
# 时 as the hour (三时半) but not "for a while" (一时还不上, 一时间, 一时半会): no clock time
_CLOCK = re.compile(
    rf"(?:({_PERIOD}))?\s*({_NUM})\s*(?:点|时(?![还不没间候之会]|半会))(?:\s*(半|一刻|三刻|过?({_NUM})分?))?|(\d{{1,2}})[:：](\d{{2}})"
)
# alone (no clock time after it) a part of the day needs two characters: 晚点再打 is "later", not 晚上
_PERIOD_ONLY = re.compile("(" + "|".join(sorted((p for p in PERIOD_HOUR if len(p) > 1), key=len, reverse=True)) + ")")
# "两个小时以后" and, with 过 in front, "过半个小时(再打)" (no 以后 needed)
_IN_HOURS = re.compile(
    rf"({_NUM}|半)个?(?:多)?(?:小时|钟?头)(?:以后|之后|后)|(?<![点时])过\s*({_NUM}|半)个?(?:多)?(?:小时|钟?头)"
)
_IN_MINUTES = re.compile(
    rf"(?<![点时过0-9零〇一二两三四五六七八九十])({_NUM})分钟?(?:以后|之后|后)|(?<![点时])过\s*({_NUM})分钟?(?![0-9零〇一二两三四五六七八九十])"
)
# the hours of a range ("七点到八点半都行"): a callback goes at its start (then clamped into the window)
_RANGE = re.compile(r"\s*(?:到|至|~|～|-|—)\s*$")
# "下班以后" names no hour (the caller knows when that is, we do not): asked, not guessed
_VAGUE_PERIODS = {"下班", "收工"}
_IN_DAYS = re.compile(rf"过({_NUM})天|({_NUM})天(?:以后|之后|后)")
_NOT_CLOCK_BEFORE = "慢快早晚大小多少好高低轻重声"  # 说慢一点, 早一点打: 一点 is "a bit", not 1 o'clock


@dataclass(frozen=True)
class CallbackTime:
    at: dt.datetime
    explicit_clock: bool  # a clock time was said (not only "明天上午")


def _int(span: str) -> int | None:
    if span.isdigit():
        return int(span)
    if span == "十":
        return 10
    if "十" in span:
        tens, _, ones = span.partition("十")
        t = _DIGIT.get(tens, None) if tens else 1
        o = _DIGIT.get(ones, None) if ones else 0
        return None if t is None or o is None else t * 10 + o
    if len(span) == 1:
        return _DIGIT.get(span)
    digits = [_DIGIT.get(c) for c in span]
    return None if None in digits else int("".join(str(d) for d in digits))


def _day_offset(text: str) -> int | None:
    for word, offset in _DAY_WORDS:
        if word in text:
            return offset
    return None


def bare_clock(text: str) -> bool:
    """Only a clock time, no day or part of the day (行，八点就八点): it may confirm a proposed moment."""
    t = text.replace("钟", "")
    return _day_offset(t) is None and not _PERIOD_ONLY.search(t) and not re.search(r"周|星期|礼拜|号|日|月", t)


def names_no_day(text: str) -> bool:
    """No day said (中午十二点吧 / 那下午三点): after we proposed a day, that day is meant."""
    return (
        _day_offset(text) is None
        and not _IN_DAYS.search(text)
        and not re.search(r"周|星期|礼拜|号|日|月|今|明|后天", text)
    )


_CLAUSE_END = re.compile(r"[，。？！；,.?!;\s]")
# a clause that tells the caller's own schedule: "我三点才上班", "我十点要去医院", "俺九点得出门"
_OWN_DAY = re.compile(r"^(?:那|因为|反正)?[我俺咱](?:一般|平时)?[^打联来回]{0,8}?(?:才|要|得|就要|还要)")


_CALL_WORDS = re.compile(r"打|联系|来电|回电|电话|找我")
# what a caller's own day is made of: a clause with one of these and no call word tells when they
# are busy or free, it is not the time asked for
_STATE_WORDS = re.compile(r"下班|上班|上工|收工|出门|起床|起来|醒|睡|在|到家|回家|忙|开会|之前|以前|前都|前我")


def _clause_of(text: str, m: re.Match[str]) -> str:
    """The clause (between punctuation marks) holding a match; the whole text when it has none."""
    starts = [i + 1 for i in range(m.start()) if _CLAUSE_END.match(text[i])]
    ends = [i for i in range(m.end(), len(text)) if _CLAUSE_END.match(text[i])]
    return text[(starts[-1] if starts else 0) : (ends[0] if ends else len(text))]


def parse_callback_time(text: str, now: dt.datetime) -> CallbackTime | None:
    """The moment a caller asks to be called back, or None when no time was said."""
    t = text.replace("钟", "")
    m_rel = _IN_HOURS.search(t)
    if m_rel:
        span = m_rel.group(1) or m_rel.group(2)
        n = 0.5 if span == "半" else _int(span)
        if n:
            return CallbackTime(_exact(now + dt.timedelta(hours=n)), True)
    m_min = _IN_MINUTES.search(t)
    if m_min and (n_min := _int(m_min.group(1) or m_min.group(2))):
        return CallbackTime(_exact(now + dt.timedelta(minutes=n_min)), True)

    offset = _day_offset(t)
    m_days = _IN_DAYS.search(t)
    if offset is None and m_days:
        offset = _int(m_days.group(1) or m_days.group(2))
    day: dt.date | None = None
    if offset is not None:
        day = now.date() + dt.timedelta(days=offset)
    # the last clock time said wins: "九点以后不行啊？那八点半嘛" means 8:30
    clocks = [
        m
        for m in _CLOCK.finditer(t)
        if not (m.group(2) == "一" and not m.group(1) and m.start() > 0 and t[m.start() - 1] in _NOT_CLOCK_BEFORE)
    ]
    # a later clause about the caller's own day ("我十点才上班") does not move the time asked for
    while len(clocks) >= 2 and _OWN_DAY.match(_clause_of(t, clocks[-1])):
        clocks.pop()
    # the time of the clause that asks for the call wins over later clauses about the caller's day
    # ("明早七点打吧，我七点下班，九点前都醒着" asks for 7:00); a later correction ("那八点吧") still wins
    if any(_CALL_WORDS.search(_clause_of(t, m)) for m in clocks[:-1]):
        while (
            len(clocks) >= 2
            and not _CALL_WORDS.search(own := _clause_of(t, clocks[-1]))
            and (own.startswith(("我", "俺", "咱")) or _STATE_WORDS.search(own))
        ):
            clocks.pop()
    clock = clocks[-1] if clocks else None
    if len(clocks) >= 2 and _RANGE.match(t[clocks[-2].end() : clocks[-1].start()]):
        clock = clocks[-2]
    if clock is not None:
        # a day said in the clause of the time is that time's day ("周末我不在，下周二十点打给我")
        own = _clause_of(t, clock)
        if own != t and (_day_offset(own) is not None or re.search(r"周|星期|礼拜|号|日|月", own)):
            t = own
            clock = next(m for m in _CLOCK.finditer(t) if m.group(0) == clock.group(0))
            offset = _day_offset(t)
            day = now.date() + dt.timedelta(days=offset) if offset is not None else None
    # "周六九点以后": the 以后 is about the hour, not the day (not "after Saturday")
    rest = t[: clock.start()] + re.sub(r"^(?:以后|之后|过后|后)", "", t[clock.end() :]) if clock else t
    if day is None and re.search(r"周|星期|礼拜|号|日|月", rest):
        day = parse_date(rest, now)
    period = None
    if clock and clock.group(1):
        period = clock.group(1)
    else:
        mp = _PERIOD_ONLY.search(t[: clock.start()] if clock else t)
        period = mp.group(1) if mp else None
        if period is None and ("今晚" in t or "明晚" in t):
            period = "晚上"
        if period is None and ("明早" in t or "今早" in t or "明晨" in t):
            period = "早上"

    if clock:
        if clock.group(5):
            hour, minute = int(clock.group(5)), int(clock.group(6))
        else:
            hour = _int(clock.group(2)) or 0
            frac = clock.group(3)
            minute = 0
            if frac == "半":
                minute = 30
            elif frac == "一刻":
                minute = 15
            elif frac == "三刻":
                minute = 45
            elif clock.group(4):
                minute = _int(clock.group(4)) or 0
        if not (0 <= hour <= 24 and 0 <= minute < 60):
            return None
        return CallbackTime(_resolve(now, day, period, hour, minute), True)
    if period in _VAGUE_PERIODS:
        return None
    if period is not None and (day is not None or period in PERIOD_HOUR):
        hour = PERIOD_HOUR[period]
        target = dt.datetime.combine(day or now.date(), dt.time(hour))
        if day is None and target <= now:
            # "晚上" said in the evening: soon; "上午" said in the afternoon: tomorrow morning
            if now.hour < 21 and period in _PM:
                target = _round(now + dt.timedelta(hours=1))
            else:
                target += dt.timedelta(days=1)
        return CallbackTime(target, False)
    if day is not None and day > now.date():
        return CallbackTime(dt.datetime.combine(day, now.time().replace(second=0, microsecond=0)), False)
    return None


def _resolve(now: dt.datetime, day: dt.date | None, period: str | None, hour: int, minute: int) -> dt.datetime:
    if period is not None:
        if period in _PM and hour < 12:
            hour += 12
        elif period in ("中午", "午饭") and hour < 6:
            hour += 12
        hour = min(hour, 23)
        target = dt.datetime.combine(day or now.date(), dt.time(hour, minute))
        if day is None and target <= now:
            target += dt.timedelta(days=1)
        return target
    if day is not None:
        if 1 <= hour <= 6:  # nobody asks to be called at 3 a.m.: 明天三点 is the afternoon
            hour += 12
        return dt.datetime.combine(day, dt.time(min(hour, 23), minute))
    candidates = [hour] if hour > 12 else [hour, hour + 12] if hour != 12 else [12]
    for extra_days in (0, 1):
        for h in candidates:
            if h > 23:
                continue
            target = dt.datetime.combine(now.date() + dt.timedelta(days=extra_days), dt.time(h, minute))
            if target > now and (extra_days == 0 or 7 <= h <= 21):
                return target
    return dt.datetime.combine(now.date() + dt.timedelta(days=1), dt.time(hour % 24, minute))


def _exact(at: dt.datetime) -> dt.datetime:
    """To the minute: "一个小时后" said at 14:10 is 15:10, the moment the caller named (not rounded)."""
    return at.replace(second=0, microsecond=0)


def _round(at: dt.datetime) -> dt.datetime:
    """To the next quarter hour (a callback "in an hour" is planned, not timed to the second)."""
    at = at.replace(second=0, microsecond=0)
    extra = (-at.minute) % 15
    return at + dt.timedelta(minutes=extra)


def clamp(at: dt.datetime, start: dt.time, end: dt.time) -> dt.datetime:
    """Into the calling window: before it → its start that day; after it → its end that day."""
    if at.time() < start:
        return dt.datetime.combine(at.date(), start)
    if at.time() > end:
        return dt.datetime.combine(at.date(), end)
    return at


def spoken_time(at: dt.datetime, now: dt.datetime) -> str:
    """今天下午4点30分 / 明天上午10点 / 11月24日星期二下午4点半 — what the caller hears read back."""
    from ivr.prompts import spoken_date

    days = (at.date() - now.date()).days
    day = {0: "今天", 1: "明天", 2: "后天"}.get(days) or spoken_date(at.date())
    h = at.hour
    part = (
        "凌晨"
        if h < 6
        else "早上"
        if h < 9
        else "上午"
        if h < 12
        else "中午"
        if h < 13
        else "下午"
        if h < 18
        else "晚上"
    )
    h12 = h if h <= 12 else h - 12
    minute = "" if at.minute == 0 else "半" if at.minute == 30 else f"{at.minute}分"
    return f"{day}{part}{h12}点{minute}"
