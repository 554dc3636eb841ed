"""Amounts and counts in colloquial Mandarin: 三千五 → 3500, 五六千 → 5500, 一万出头 → 10000, 3k → 3000.

`cn2an` converts well-formed numerals (including the spoken tail 三千五 = 3500, 一万五 = 15000);
the forms it rejects are handled here: ranges of two neighbouring digits (五六千 → the middle,
5500), Arabic digits with k/w/千/万 suffixes, and bare units (万把块 → 10000).  Text must already be
cleaned by `textnorm.clean` (no spaces, simplified, half-width digits).
"""

from __future__ import annotations

import re

import cn2an

from ivr.textnorm import sound_char

_DIGITS = "零〇一二两三四五六七八九"
_DIGIT_VALUE = {c: i for i, c in enumerate("零一二三四五六七八九")} | {"〇": 0, "两": 2}
_UNIT_VALUE = {"十": 10, "百": 100, "千": 1000, "k": 1000, "万": 10000, "w": 10000, "亿": 100000000}

# A numeral: Arabic and Chinese units mixed (3千5, 1万2), Arabic (with optional k/w/千/万
# multipliers) or a run of Chinese numeral characters.
_MIXED = re.compile(r"\d+(?:[十百千万]\d+)+[十百千万]?")
NUMERAL = re.compile(
    rf"{_MIXED.pattern}|\d+(?:\.\d+)?[kw千万百]*|[零〇一二两三四五六七八九十百千万亿][零〇一二两三四五六七八九十百千万亿点]*"
)
# "5 6 thousand": two neighbouring digits before a unit mean a range; we take its middle.
_RANGE = re.compile(r"^([一二两三四五六七八])([二三四五六七八九])([十百千万])$")
# A numeral followed by one of these counts something other than money.
_RANGE_TO = re.compile(rf"(?:到|至|~|-)({NUMERAL.pattern})")
_TAIL_RANGE = re.compile(r"^(.+[百千万])([一二两三四五六七八])([二三四五六七八九])$")
_NOT_MONEY_AFTER = (
    "个月",
    "个星期",
    "个礼拜",
    "个人",
    "口人",
    "个孩子",
    "个小时",
    "天",
    "期",
    "号",
    "日",
    "年",
    "次",
    "周",
    "点",
    "岁",
    "小时",
    "分钟",
    "月",
    "下",
    "些",
    "直",
    "般",
    "样",
    "起",
    "定",
)
_MONEY_AFTER = ("块", "元", "钱", "左右", "多", "来", "出头", "上下")


def numeral_value(span: str) -> float | None:
    """Value of one numeral span, or None if it is not a number (e.g. the 一 of 一下)."""
    span = span.lower()
    if _MIXED.fullmatch(span):  # 3千5 is said 三千五: the spoken tail rule applies to both
        span = re.sub(r"\d+", lambda d: cn2an.an2cn(d.group()), span)
    m = re.fullmatch(r"(\d+(?:\.\d+)?)([kw千万百]*)", span)
    if m:
        value = float(m.group(1))
        for unit in m.group(2):
            value *= _UNIT_VALUE[unit]
        return value
    m = _RANGE.match(span)
    if m and _DIGIT_VALUE[m.group(2)] == _DIGIT_VALUE[m.group(1)] + 1:
        return (_DIGIT_VALUE[m.group(1)] + 0.5) * _UNIT_VALUE[m.group(3)]
    m = _TAIL_RANGE.match(span)  # 两千五六 = 2500..2600: the middle
    if m and _DIGIT_VALUE[m.group(3)] == _DIGIT_VALUE[m.group(2)] + 1:
        low, high = numeral_value(m.group(1) + m.group(2)), numeral_value(m.group(1) + m.group(3))
        if low is not None and high is not None:
            return (low + high) / 2
    if span[0] in "十百千万亿" and span[0] != "十":
        span = "一" + span  # 万把块, 千把块
    try:
        return float(cn2an.cn2an(span, "smart"))
    except (ValueError, KeyError, IndexError):
        return None


def numerals(text: str) -> list[tuple[int, int, float]]:
    """All numeral spans in text as (start, end, value)."""
    out = []
    for m in NUMERAL.finditer(text):
        value = numeral_value(m.group())
        if value is not None:
            out.append((m.start(), m.end(), value))
    return out


def parse_amount(text: str) -> int | None:
    """The money amount (yuan) in a cleaned answer, or None.

    Numerals that count months/days/people (一个月, 三天, 两个孩子) are skipped; a numeral followed by
    块/元/钱/左右/多 wins over a bare one; a bare one must be at least 10 (一下 is not money)."""
    bare: int | None = None
    for start, end, value in numerals(text):
        after = text[end:]
        if text[:start].endswith("第") or after.startswith(_NOT_MONEY_AFTER):
            continue
        if after.startswith(_MONEY_AFTER):
            return int(round(value))
        upper = _RANGE_TO.match(after)  # 一千五到两千: the middle of the range
        if upper and (high := numeral_value(upper.group(1))) is not None and high > value:
            return int(round((value + high) / 2))
        if bare is None and value >= 10:
            bare = int(round(value))
    return bare


_MONTHS = re.compile(r"([0-9零一二两三四五六七八九十百]+)个?(?:月|期)|分([0-9零一二两三四五六七八九十]+)次")
_SPLIT_INTO = re.compile(r"分([0-9零一二两三四五六七八九十]+)(.)")
_YEARS = re.compile(r"([0-9一二两三四五六七八九十]+)年(半)?")


def parse_months(text: str) -> int | None:
    """Instalment count / extension length in months: 分十二期 → 12, 六个月 → 6, 半年 → 6, 一年半 → 18,
    and 分六其 → 6 (ASR wrote a homophone of 期 after 分 + number)."""
    m = _MONTHS.search(text)
    if m:
        value = numeral_value(m.group(1) or m.group(2))
        if value:
            return int(value)
    for m in _SPLIT_INTO.finditer(text):
        if sound_char(m.group(2)) == sound_char("期") and (value := numeral_value(m.group(1))):
            return int(value)
    m = _YEARS.search(text)
    if m:
        value = numeral_value(m.group(1))
        if value:
            return int(value * 12) + (6 if m.group(2) else 0)
    if "半年" in text:
        return 6
    return None


def mask_numerals(text: str) -> tuple[str, list[tuple[int, int]]]:
    """Every numeral read as 几 ("some number"): 分十二期 → 分几期, 宽限3天 → 宽限几天.

    Also returns, for each character of the result, the (start, end) it stands for in `text`."""
    out: list[str] = []
    origin: list[tuple[int, int]] = []
    pos = 0
    for m in NUMERAL.finditer(text):
        out.append(text[pos : m.start()])
        origin.extend((i, i + 1) for i in range(pos, m.start()))
        out.append("几")
        origin.append((m.start(), m.end()))
        pos = m.end()
    out.append(text[pos:])
    origin.extend((i, i + 1) for i in range(pos, len(text)))
    return "".join(out), origin


def parse_int(span: str) -> int | None:
    value = numeral_value(span)
    return int(value) if value is not None else None
