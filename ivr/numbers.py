"""Amounts and counts in colloquial Mandarin: 三千五 → 3500, 五六千 → 5500, 一万出头 → 10000, 3k → 3000.

`cn2an` converts well-formed numerals (including the spoken tail 三千五 = 3500, 一万五 = 15000);
the forms it rejects are handled here: ranges of two neighbouring digits (五六千 → the middle,
5500), Arabic digits with k/w/千/万 suffixes, and bare units (万把块 → 10000).  Text must already be
cleaned by `textnorm.clean` (no spaces, simplified, half-width digits).
"""

from __future__ import annotations

import re
from fractions import Fraction

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
    "来天",  # 二十来天, 十多天, 三十多岁: about N days/years, not money
    "来个",
    "多天",
    "多个",
    "来岁",
    "多岁",
    "来年",
    "多年",
    "来次",
    "多次",
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


_DECIMAL_UNIT = re.compile(r"([一二两三四五六七八九])([千万])")


def numerals(text: str) -> list[tuple[int, int, float]]:
    """All numeral spans in text as (start, end, value)."""
    out = []
    for m in NUMERAL.finditer(text):
        span = m.group()
        if len(span) > 1 and span.endswith("点"):
            span = span[:-1]  # 十二点前 / 八点钟: a clock time (the 点 is left for _NOT_MONEY_AFTER)
        start, value, end = m.start(), numeral_value(span), m.start() + len(span)
        if value is None and len(m.group()) > 2 and m.group().endswith("一"):
            value, end = numeral_value(m.group()[:-1]), end - 1  # 两千八|一个月: the 一 counts the months
        if value is None and span.startswith("一点") and len(span) > 2:
            tenth = _DECIMAL_UNIT.fullmatch(span[2:])
            if tenth:  # 一点五万: one and a half ten-thousands
                value = (1 + _DIGIT_VALUE[tenth.group(1)] / 10) * _UNIT_VALUE[tenth.group(2)]
            elif any(u in span[2:] for u in "百千万"):  # 先还一点，五百 (comma gone): "a little", then the figure
                start, value = m.start() + 2, numeral_value(span[2:])  # (一点五十 stays a clock time)
        if value is not None:
            out.append((start, end, value))
    return out


# 周一 / 星期三 / 礼拜六: the weekday's numeral is a day, never the first digit of an amount said right
# after it (下周一五千六 is 5600 on Monday, not 6600); 每周三百 (a unit follows) stays money.
_WEEKDAY_DIGIT = re.compile(r"(?<=周|期|拜)[一二三四五六日天](?![十百千万块元])")


def without_weekdays(text: str) -> str:
    """The answer with each weekday's numeral replaced by a non-numeral mark (周一 → 周X)."""
    return _WEEKDAY_DIGIT.sub("X", text)


def parse_amount(text: str) -> int | None:
    """The money amount (yuan) in a cleaned answer, or None.

    Numerals that count months/days/people (一个月, 三天, 两个孩子) are skipped; a numeral followed by
    块/元/钱/左右/多 wins over a bare one; a bare one must be at least 10 (一下 is not money); a
    weekday's numeral is never money (下周一五千六 → 5600)."""
    text = without_weekdays(colloquial(text))
    bare: int | None = None
    for start, end, value in numerals(text):
        after = text[end:]
        if text[:start].endswith(("第", "初", "正月", "腊月", "双")) or after.startswith(_NOT_MONEY_AFTER):
            continue  # 第三, 初十, 正月十五 are not money
        if value == 1 and after.startswith("块") and not after.startswith(("块钱", "块五")):
            continue  # 一块还 / 一块儿给: together, not one yuan
        if after.startswith(_MONEY_AFTER):
            return int(round(value))
        upper = _RANGE_TO.match(after)  # 一千五到两千: the middle of the range
        if upper and (high := numeral_value(upper.group(1))) is not None and high > value:
            return int(round((value + high) / 2))
        if bare is None and value >= 10:
            bare = int(round(value))
    return bare


_MONTHS = re.compile(
    r"([0-9零一二两三四五六七八九十百]+)个?(?:月|期)|分([0-9零一二两三四五六七八九十]+)(?:次|回|笔|趟)"
)  # 分四回 = four payments
_INSTALMENTS = re.compile(r"([0-9零一二两三四五六七八九十百]+)期")
_SPLIT_INTO = re.compile(r"分([0-9零一二两三四五六七八九十]+)(.)")
_YEARS = re.compile(r"([0-9一二两三四五六七八九十]+)年(半)?")
# 一个月两千五 / 每个月还一千: a per-month payment, not a number of months
# (一个月顶多还一千 · 一个月我就挤得出八百: a few words of how much may stand between, within the
# clause, unless they say when (缓一个月再还五千 · 一个月后给三千 is a length, then the payment)
_PER_MONTH = re.compile(
    r"^(?:还|给|交|付|打|能还|就还)?(?:个)?(?=[0-9零一二两三四五六七八九十百千万])"
    r"|^(?:(?![再后才到以之过等缓延推])[^，,。；;？?！!\s]){1,6}?(?:还|给|交|付|拿|出|挤|凑|存)(?:个|出|得出)?"
    r"(?=[0-9零一二两三四五六七八九十百千万])"
)


def _per_month(after: str) -> bool:
    """True when what follows 一个月 is money (一个月两千五): a rate, not a count of months."""
    m = _PER_MONTH.match(after)
    if m is None:
        return False
    n = NUMERAL.match(after, m.end())
    return n is not None and not after[n.end() :].startswith(_NOT_MONEY_AFTER)


_MONTH_NAME = re.compile(r"份|底|初|中旬|上旬|下旬|末|尾|[0-9零一二两三四五六七八九十]+[号日]")


_WITHOUT_AFTER = re.compile(r"(都|也|还|一直)?(没|沒|不发|不开)")


def parse_months(text: str) -> int | None:
    """Instalment count / extension length in months: 分十二期 → 12, 六个月 → 6, 半年 → 6, 一年半 → 18,
    分一年 → 12, 缓个仨月 → 3, and 分六其 → 6 (ASR wrote a homophone of 期 after 分 + number).

    A count of instalments (期) wins over months; 一个月两千五 / 每个月 is a rate, not a count."""
    text = colloquial(text)
    m = _INSTALMENTS.search(text)
    if m and not text[: m.start()].endswith("第") and (value := numeral_value(m.group(1))):
        return int(value)
    found: list[tuple[int, int]] = []  # (position, months)
    for m in _MONTHS.finditer(text):
        value = numeral_value(m.group(1) or m.group(2))
        if not value:
            continue
        if m.group(1) and (text[: m.start()].endswith("每") or (value == 1 and _per_month(text[m.end() :]))):
            continue
        if m.group(1) and m.group().endswith("月") and "个" not in m.group() and _MONTH_NAME.match(text[m.end() :]):
            continue  # 八月份 / 十二月十号 / 三月底: a month of the year, not a count of months
        if _WITHOUT_AFTER.match(text[m.end() :]):
            continue  # 俩月没进项 / 三个月都没活: how long the money stopped, not a count of months to pay
        found.append((m.start(), int(value)))
    for m in _SPLIT_INTO.finditer(text):
        if sound_char(m.group(2)) == sound_char("期") and (value := numeral_value(m.group(1))):
            found.append((m.start(), int(value)))
    for m in _YEARS.finditer(text):
        value = numeral_value(m.group(1))
        if value and not text[: m.start()].endswith(("明", "去", "今", "前", "后")):
            found.append((m.start(), int(value * 12) + (6 if m.group(2) else 0)))
    if found:
        return min(found)[1]
    if "半年" in text:
        return 6
    return None


# ---------------------------------------------------------------- shares of the debt and ranges

_FRACTION = re.compile(r"([0-9零一二两三四五六七八九十]+|百)分之([0-9零一二两三四五六七八九十]+)")
_TENTHS = re.compile(r"([一二两三四五六七八九])成")
_SHARE_WORDS = (  # longest first
    ("一小半", Fraction(1, 3)),
    ("一大半", Fraction(2, 3)),
    ("一多半", Fraction(2, 3)),
    ("大半", Fraction(2, 3)),
    ("小半", Fraction(1, 3)),
    ("一半", Fraction(1, 2)),
    ("半数", Fraction(1, 2)),
)
_ALL = re.compile(r"全部|全额|全款|全还|都还(?![不没])|一次性还|剩下的(?:都|全|一起|一次)|剩下那些都|剩余的都")
_DEFERRED = re.compile(r"剩下的.{0,4}(?:再|往后|以后|慢慢|商量|下个?月|过段|之后|分期)")


def parse_share(text: str) -> Fraction | None:
    """The share of the debt a caller offers, said as a fraction: 三分之一 → 1/3, 一半 → 1/2,
    一小半 → 1/3, 大半/一多半 → 2/3, 三成 → 3/10, 百分之三十 → 3/10; 全部/都还了/剩下的都还 → 1.
    (剩下的再商量 is the rest left for later, not everything.)"""
    text = colloquial(text)
    for _start, _end, share in _fractions(text):
        return share
    for word, share in _SHARE_WORDS:
        if word in text:
            return share
    m = _TENTHS.search(text)
    if m and not text[m.end() : m.end() + 1] == "功":  # 八成 as "probably" is said before a verb, rarely alone
        return Fraction(_DIGIT_VALUE[m.group(1)], 10)
    if _ALL.search(text) and not _DEFERRED.search(text):
        return Fraction(1)
    return None


def _fractions(text: str) -> list[tuple[int, int, Fraction]]:
    """(start, end, share) of each N分之M; M is the longest numeral not above N (三分之一三千 is
    1/3 then 三千, 百分之三十 is 3/10)."""
    out = []
    for m in _FRACTION.finditer(text):
        whole = 100 if m.group(1) == "百" else numeral_value(m.group(1))
        digits = m.group(2)
        for k in range(len(digits), 0, -1):
            part = numeral_value(digits[:k])
            if whole and part and 0 < part <= whole:
                out.append((m.start(), m.start(2) + k, Fraction(int(part), int(whole))))
                break
    return out


def without_shares(text: str) -> str:
    """The text with fractions blanked out: the 一 of 三分之一 is not the start of 一三千."""
    for start, end, _ in reversed(_fractions(text)):
        text = text[:start] + "、" + text[end:]
    return text


# 一两千, 三五百, 两三千块: two small digits before a unit are a range the caller did not settle
_LOOSE_RANGE = re.compile(r"^([一二两三四五六七八])([二两三四五六七八九])([十百千万])$")


def parse_amount_range(text: str) -> tuple[int, int] | None:
    """A money range said loosely (一两千 → (1000, 2000), 三五百 → (300, 500), 一千到两千), or None.
    Used where the figure is what the caller will pay: the bot asks which, never picks one."""
    text = without_weekdays(without_shares(colloquial(text)))
    for m in NUMERAL.finditer(text):
        span, after = m.group(), text[m.end() :]
        if after.startswith(_NOT_MONEY_AFTER) or text[: m.start()].endswith("第"):
            continue
        r = _LOOSE_RANGE.match(span)
        if r:
            low, high = _DIGIT_VALUE[r.group(1)], _DIGIT_VALUE[r.group(2)]
            if 0 < high - low <= 2:
                unit = _UNIT_VALUE[r.group(3)]
                return low * unit, high * unit
        upper = _RANGE_TO.match(after)
        if upper:
            low_v, high_v = numeral_value(span), numeral_value(upper.group(1))
            if low_v is not None and high_v is not None and high_v > low_v >= 10:
                return int(low_v), int(high_v)
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


_COLLOQUIAL = re.compile(r"([俩仨])(?=[十百千万块])|([俩仨])")


def colloquial(text: str) -> str:
    """俩 = 两个, 仨 = 三个 (缓个仨月 → 缓个三个月, 俩月 → 两个月), said without a measure word;
    before a unit they are the digit (俩千 → 两千)."""
    return _COLLOQUIAL.sub(
        lambda m: {"俩": "两", "仨": "三"}[m.group(1)] if m.group(1) else {"俩": "两个", "仨": "三个"}[m.group(2)], text
    )
