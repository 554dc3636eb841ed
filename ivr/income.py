"""Monthly income said as a rate (Mandarin): 一天三百，一个月干二十来天 → 6000; 日薪两百 → 4400;
一个礼拜一千二 → 4800; 一年五六万 → 4600; 平均下来五六千 → 5500.

Only the income_amount answer is read this way (ivr/understanding.py, through `Locale.parse_income`);
a payment ("一天还三百") is never multiplied.  Without a rate or an average this returns None and the
plain amount reading (ivr/numbers.py) decides.  Work paid per batch or per trip with no count of
them (卖一批羊才有一笔钱) has no monthly figure: the grammar hears it as `unknown`.
Text must be normalised (ivr/textnorm.py: simplified, no spaces or punctuation, 礼拜 → 周).
"""

from __future__ import annotations

import re

from ivr.numbers import colloquial, numeral_value, parse_amount

_NUM = r"[0-9零〇一二两三四五六七八九十百千万点]+"
_SOFT = r"(?:的活|活|工钱|工资)?(?:能|可以|就|也就|大概|差不多|少说|最少|至少|好的时候|一般)?(?:挣|赚|拿|给|开|有|是|能挣|能拿)?(?:个)?"
# unit words → (how many of them make a month when the caller does not say, counted unit)
_RATES: tuple[tuple[str, float, str], ...] = (
    (r"一天|每天|天天|一日|每日|日薪|日工资|一个工|一工|点工", 22.0, "天|个工|工"),
    (
        r"一周|每周|一个周|一个星期|一星期|每星期|每个星期|一个礼拜|一礼拜|每礼拜|周薪",
        4.0,
        "周|个星期|星期|个礼拜|礼拜",
    ),
    (r"一年|每年|一年到头|年薪|年收入|一年下来", 1 / 12, ""),
)
_AVERAGE = re.compile(r"平均(?:下来|起来|算下来|算)?(?:一个月|每个月|每月|一月)?")


def _value(span: str, after: str) -> float | None:
    """The money numeral at the start of `span` (三百一|个月: the 一 counts the month, not money)."""
    if len(span) > 2 and span.endswith("一") and after.startswith(("个", "月", "年", "周", "天")):
        span = span[:-1]
    return numeral_value(span)


def _count(text: str, units: str) -> float | None:
    """How many days/weeks are worked in a month, when said (一个月干二十来天 → 20, 干二十多天 → 23)."""
    if not units:
        return None
    for m in re.finditer(rf"({_NUM})(来|多|出头)?(?:{units})", text):
        n = numeral_value(m.group(1))
        if n is None or n < 2 or n > 31:
            continue
        return n + (3 if m.group(2) == "多" else 0)
    return None


def parse_income(text: str) -> int | None:
    """Monthly income in yuan from a rate or an average said in the answer, else None."""
    text = colloquial(text)
    avg = _AVERAGE.search(text)
    if avg:
        amount = parse_amount(text[avg.end() :])
        if amount:
            return amount
    for words, per_month, units in _RATES:
        m = re.search(rf"(?:{words}){_SOFT}({_NUM})", text)
        if m is None:
            continue
        after = text[m.end() :]
        value = _value(m.group(1), after)
        if value is None or value < 10:
            continue
        count = _count(text[: m.start()] + "|" + after, units)
        monthly = value * (count if count is not None else per_month)
        return int(round(monthly / 100.0) * 100) if monthly >= 100 else int(monthly)
    return None


__all__ = ["parse_income"]
