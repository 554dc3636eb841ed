"""Which repayment plan a caller chose, when the answer names one option and turns down another.

Callers rarely name just one plan: they say what they cannot do and then what they can
(一次拿不出来，分五个月行不行 · 全部还不上，先还两千 · 分期太麻烦，发了工资一次性还掉 ·
缓两个月，到时候一次还).  Phrase coverage (ivr/understanding.py) then picks whichever option has
the most characters, often the one turned down.  This rule reads the *markers* of each plan on the
normalised answer, drops a marker followed (or preceded) by a refusal, and ranks what is left:

    extension (缓/宽限/延期/往后推…) > installment (分期/分N期/分N个月/分N回/每月还)
      > partial (先还 + amount/一部分/一半/三分之一…, the principal alone) > full (一次/一把/全部/还清/结清…)

so "缓两个月，到时候一次还清" is an extension, "分十二期，头一期先打五千" instalments, "先还三千，
剩下的月底再还" a part payment, and a full payment only when nothing more specific is kept.
No marker kept → None: the grammar and the trained model decide as before (cannot, chatter...).
"""

from __future__ import annotations

import re

from ivr.numbers import colloquial

_N = r"[0-9零一二两俩仨三四五六七八九十百几]"
# a refusal right after a marker (一次还不了, 一下子拿不出来, 分期太麻烦)
_REFUSED_AFTER = re.compile(
    r"不了|不起|不上|不出|不行|不够|不来|不成|不中|不现实|不可能|扛不住|顶不住|做不到|没戏|没法|没办法|没那么多|"
    r"太麻烦|嫌麻烦|好麻烦|费事|费劲|啰嗦|算了|不划算|够呛|悬|难|"
    # what the option costs or why bother (分期还得多掏钱 · 分期太费钱 · 分期图啥)
    r"费钱|多掏|多出|多花|多交|多付|划不来|不值|没必要|吃亏|干嘛|干啥|图啥|图什么|有啥用"
)
# a refusal right before a marker (不能一次, 没法分期, 不想分期, 别分期, 做不到一次)
_REFUSED_BEFORE = re.compile(r"(?:不能|不会|没法|没办法|不想|不要|不用|别|不|做不到|拿不出)$")
# waved away with a verb between (不搞那些分期 · 甭跟我提分期 · 别给我整分期 · 不要给我办分期)
_WAVED_AWAY = re.compile(
    r"(?:不|别|甭|不要|不用|不想|用不着|犯不着|懒得)(?:跟我|给我|和我|同我)?"
    r"(?:整|搞|弄|办|提|说|讲|扯|来)(?:啥|什么|那些|这些|那个|这个|那种|这种|那|这)?$"
)
_ASKING = re.compile(r"能不能|可不可以|可不可|行不行|中不中|成不成|要不要|好不好|能否|要不然|要不")
_CLAUSE_STOP = re.compile(r"剩下|剩余|其余|余下|要不|或者|然后|再说")

_MARKERS: dict[str, re.Pattern[str]] = {
    "extension": re.compile(
        r"(?<!没)缓(?!解|慢|冲|和|过|不过)|宽限|延期|延后|延长|推迟|往后推|推一推|推推|展期|晚(?:个|一)?"
        + _N
        + r"?个月"
    ),
    "installment": re.compile(
        rf"分期|分{_N}+(?:期|个?月|回|次|笔|趟|年)|分半年|一个?月还{_N}|{_N}+期|分(?:个|成){_N}+|分开还|分批|分着还|每个?月还|按月还|慢慢还|一点一点还"
    ),
    "partial": re.compile(
        rf"先(?:还|给|打|转|付|交|拿|凑|把)(?:个|上|了|点|出)?(?:{_N}|一部分|部分|一点|点|一些|一半|一小半|本金|本钱)"
        # the principal alone (本金我今天就还上 · 只还本金): what is owed without interest is a part
        r"|(?:只|光|就)?还本金|本金(?![加和跟连带及]|利息)[^，]{0,8}?(?:还|给|转|付|交|结)"
    ),
    "full": re.compile(
        r"一次性|一次|一把|一回|一口气|一下子|一下(?=还|拿|全|都|给)|一块儿?(?=(?:给[您你]|都|全)?(?:还|结|清))|全部|全额|全款|全还|都还|还清|结清|还完|一起还|统统还|还齐|清掉"
    ),
}
_ORDER = ("extension", "installment", "partial", "full")


def _kept(text: str, m: re.Match[str], name: str) -> bool:
    """A marker counts unless a refusal follows within its clause (up to the next marker: 分四个月，
    一下子拿不出来 keeps the instalments) or stands right before it (能不能/可不可以 ask, not refuse)."""
    after = _ASKING.sub("", text[m.end() : m.end() + 8])
    others = (rx.search(after) for other, rx in _MARKERS.items() if other != name)
    cut = [x.start() for x in (_CLAUSE_STOP.search(after), *others) if x]
    after = after[: min(cut)] if cut else after
    if _REFUSED_AFTER.search(after):
        return False
    before = text[max(0, m.start() - 4) : m.start()]
    if before.endswith(("第", "首", "头")):
        return False  # 第一期先还两千 names which instalment, not a plan
    if name == "installment" and re.search(r"(?:了|上|这|那|哪)(?:个|一)?$", before) and not m.group().startswith("分"):
        return False  # 断了一期 / 漏了两期 / 上一期: instalments missed or past, not a plan
    if _WAVED_AWAY.search(text[max(0, m.start() - 8) : m.start()]):
        return False
    return not _REFUSED_BEFORE.search(_ASKING.sub("", before))


_REST = re.compile(r"剩下|剩余|其余|余下|剩的|其他的")
_COUNTED = re.compile(rf"分{_N}+(?:期|个?月|回|次|笔|趟|年)|{_N}+期|分半年|每个?月还{_N}")


def _vague_before_rest(text: str) -> bool:
    """An instalment word (慢慢还, 分开还) said before the rest is named: it is the plan itself."""
    rest = _REST.search(text)
    inst = _MARKERS["installment"].search(text)
    return rest is None or (inst is not None and inst.start() < rest.start())


def decide_plan(text: str) -> str | None:
    """The plan the (normalised) answer keeps, or None when it names none outright."""
    t = colloquial(text)
    kept = {name for name, rx in _MARKERS.items() for m in rx.finditer(t) if _kept(t, m, name)}
    if "partial" in kept and "installment" in kept and not _COUNTED.search(t) and not _vague_before_rest(t):
        kept.discard("installment")  # 先还三分之一，剩下的慢慢还: how the rest goes later, not a plan today
    if "extension" in kept and "installment" in kept and re.search(rf"分{_N}+期|分期", t):
        kept.discard("extension")  # 宽限一下，分六期: the count of instalments is the plan
    return next((name for name in _ORDER if name in kept), None)


__all__ = ["decide_plan"]
