"""Masking of phone, ID and bank numbers for the agent role: the one function behind every surface an
agent sees (pages, API JSON, CSV exports, the live queue, hand-off summaries).

A number can reach the console in many spellings: ASCII or full-width digits (１３８…), split by
spaces, dots, dashes or commas (138.0013.8000, 138 0013 8000, +86-138-…), or spoken, as the ASR or a
note writes it (幺三八零零…, 一 三 八 …, 洞 for 0, 两 for 2, 拐 for 7, 叉 for an ID's X).  Every
character is read through NFKC and the spoken-digit table first, groups of digits joined by a
separator are read as one number, and only then is it decided what the number is:

- mobile (optionally +86 / 0086): first 3 and last 4 digits kept  → ``138 **** 8000``
- resident ID (18 with a valid birth date, or legacy 15): first 4 and last 4 kept
- bank card (16-19 digits, one group or printed in fours): first 4 and last 4 kept
- landline (0 + area code, 10-12 digits): area code and last 4 kept
- any other spoken run of 7+ digits, or a written one of 12+ digits in one group: every digit hidden

Masking keeps the form: separators and kept digits stay as written, a hidden ASCII digit becomes
``*`` and a hidden full-width or spoken one ``＊``.  Amounts, dates and short numbers stay.

Keyed (or spoken) answers are masked by what they are: the second factor of SPEC §1 (menu
`verify`, the last four characters of the ID number) is hidden whole wherever it appears (the
turn's text and slots, the summary transcript, the case's `id_last4`); a numeric slot value (an
amount) stays unless it is one of the numbers above or has 8+ digits (a number keyed at an amount
prompt).  `contains_full_number` tells a search for a whole number apart (refused for agents).
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from typing import Any

SPOKEN_DIGITS = {
    "零": "0",
    "〇": "0",
    "洞": "0",
    "一": "1",
    "幺": "1",
    "二": "2",
    "两": "2",
    "三": "3",
    "四": "4",
    "五": "5",
    "六": "6",
    "七": "7",
    "拐": "7",
    "八": "8",
    "九": "9",
}
ID_X = frozenset("Xx叉")
# between two groups of one number (after NFKC: full-width ．－，／ and the ideographic space fold in)
SEPARATORS = frozenset(" \t.-_/,·\u00a0\u2010\u2011\u2012\u2013\u2014\u2015\u2212\u30fb\u30fc")
MAX_SEPARATOR = 3  # "138 - 0013" still one number; more is two things
SPOKEN_RUN = 7  # spoken digits in a row that are masked even when not recognised
LONG_RUN = 12  # written digits in one group that are masked even when not recognised
LONG_VALUE = 8  # a numeric slot value this long is not an amount anyone says

# SPEC §1: the second factor is asked at menu `verify`; what is said or keyed there is secret.
SECRET_MENUS = frozenset({"verify"})
SECRET_KEYS = frozenset({"id_last4"})
SENSITIVE_CASE_KEYS = ("phone", "mobile", "caller_number", "id_number", "id_card", "idcard", "身份证")

_MOBILE = re.compile(r"(0086|86)?(1[3-9]\d{9})")
_LANDLINE = re.compile(r"0[1-9]\d{8,10}")


@dataclass
class _Digit:
    pos: int  # index in the text
    value: str  # "0".."9" or "X"
    spoken: bool  # a word (幺, 三 ...), not a written digit


def _nfkc(ch: str) -> str:
    return unicodedata.normalize("NFKC", ch)


def _digit_of(ch: str) -> str | None:
    if ch in SPOKEN_DIGITS:
        return SPOKEN_DIGITS[ch]
    n = _nfkc(ch)
    return n if len(n) == 1 and "0" <= n <= "9" else None


def _is_separator(ch: str) -> bool:
    return ch in SEPARATORS or _nfkc(ch) in SEPARATORS


def _runs(text: str) -> list[list[list[_Digit]]]:
    """Runs of digit groups: a group is digits in a row (an ID's X may end it), a run is groups
    joined by short separators ("138.0013.8000" is one run of three groups)."""
    runs: list[list[list[_Digit]]] = []
    run: list[list[_Digit]] = []
    group: list[_Digit] = []
    i, n = 0, len(text)
    while i < n:
        ch = text[i]
        d = _digit_of(ch)
        if d is not None:
            group.append(_Digit(i, d, ch in SPOKEN_DIGITS))
            i += 1
            continue
        if not group:
            i += 1
            continue
        if ch in ID_X or _nfkc(ch) in ID_X:  # 11010119900307123X: the X ends the group
            group.append(_Digit(i, "X", ch == "叉"))
            i += 1
        run.append(group)
        group = []
        j = i
        while j < n and j - i < MAX_SEPARATOR and _is_separator(text[j]):
            j += 1
        if j < n and _digit_of(text[j]) is not None and (j > i or run[-1][-1].value == "X"):
            i = j  # the next group of the same number ("138 0013", "138.0013")
            continue
        runs.append(run)
        run = []
    if group:
        run.append(group)
    if run:
        runs.append(run)
    return runs


def _valid_date(y: str, m: str, d: str) -> bool:
    return 1 <= int(m) <= 12 and 1 <= int(d) <= 31 and (len(y) == 2 or y[:2] in ("19", "20"))


def _luhn(digits: str) -> bool:
    total = 0
    for k, c in enumerate(reversed(digits)):
        v = int(c) * (2 if k % 2 else 1)
        total += v - 9 if v > 9 else v
    return total % 10 == 0


def _keep(n: int, head: int, tail: int) -> list[bool]:
    return [k < head or k >= n - tail for k in range(n)]


def classify(digits: str, sizes: list[int] | None = None) -> tuple[str, list[bool]] | None:
    """What a digit string is (`mobile`, `id`, `bank`, `landline`) and which digits stay visible;
    None for anything else (amounts, dates, short numbers).  `sizes`: how it was grouped."""
    sizes = sizes or [len(digits)]
    n = len(digits)
    if "X" in digits[:-1]:
        return None
    if digits.endswith("X"):
        if n == 18 and digits[0] != "0" and _valid_date(digits[6:10], digits[10:12], digits[12:14]):
            return "id", _keep(n, 4, 4)
        return None
    if n == 18 and digits[0] != "0" and _valid_date(digits[6:10], digits[10:12], digits[12:14]):
        return "id", _keep(n, 4, 4)
    m = _MOBILE.fullmatch(digits)
    if m:
        prefix = len(m.group(1) or "")
        return "mobile", [k < prefix + 3 or k >= n - 4 for k in range(n)]
    if n == 15 and digits[0] != "0" and _valid_date(digits[6:8], digits[8:10], digits[10:12]):
        return "id", _keep(n, 4, 4)
    if 16 <= n <= 19 and (
        len(sizes) == 1 or all(s == 4 for s in sizes[:-1]) or (sizes[0] == 6 and len(sizes) == 2) or _luhn(digits)
    ):
        return "bank", _keep(n, 4, 4)
    if _LANDLINE.fullmatch(digits):
        area = 3 if digits[1] in "12" else 4
        return "landline", _keep(n, area, 4)
    return None


def _hidden(text: str, secret: bool = False) -> tuple[set[int], list[str]]:
    """Positions of `text` to hide, and the kinds of numbers found."""
    hide: set[int] = set()
    kinds: list[str] = []
    for run in _runs(text):
        covered: set[int] = set()
        i = 0
        while i < len(run):
            for j in range(len(run) - 1, i - 1, -1):
                span = [d for g in run[i : j + 1] for d in g]
                found = classify("".join(d.value for d in span), [len(g) for g in run[i : j + 1]])
                if found is None and span[-1].value == "X":  # an X after a number that is no ID
                    span = span[:-1]
                    found = classify("".join(d.value for d in span), [len(g) for g in run[i : j + 1]])
                if found is not None:
                    kind, keep = found
                    kinds.append(kind)
                    hide.update(d.pos for d, k in zip(span, keep, strict=True) if not k)
                    covered.update(d.pos for d in span)
                    i = j + 1
                    break
            else:
                i += 1
        rest = [d for g in run for d in g if d.pos not in covered]
        if secret and (len(rest) >= 2 or any(not d.spoken for d in rest)):
            hide.update(d.pos for d in rest)
            continue
        spoken = sum(1 for d in rest if d.spoken)
        if spoken >= SPOKEN_RUN:
            hide.update(d.pos for d in rest)
        for g in run:
            if len(g) >= LONG_RUN and not any(d.pos in covered for d in g):
                hide.update(d.pos for d in g)
    return hide, kinds


def mask_text(text: str | None, *, secret: bool = False) -> str | None:
    """Every phone, ID and bank number in free text masked, in whatever form it was written;
    `secret`: the text answers the second factor, so every digit in it is hidden."""
    if not text:
        return text
    hide, _ = _hidden(text, secret)
    if not hide:
        return text
    return "".join(("*" if c.isascii() else "＊") if k in hide else c for k, c in enumerate(text))


def contains_full_number(text: str | None) -> bool:
    """Does `text` hold a whole phone, ID or bank number (any spelling)?  A search by one would
    confirm that the number is on file."""
    return bool(text) and bool(_hidden(text or "")[1])


def mask_phone(number: str | None) -> str | None:
    """A caller number field, in the one display form ``138****5678`` (any spelling in)."""
    if not number:
        return number
    digits = "".join(d for d in (_digit_of(c) for c in number) if d is not None)
    if len(digits) == 13 and digits.startswith("86"):  # +86 country code
        digits = digits[2:]
    elif len(digits) == 15 and digits.startswith("0086"):
        digits = digits[4:]
    if len(digits) < 7:
        return "*" * len(digits)
    return f"{digits[:3]}****{digits[-4:]}"


def mask_number(value: int, *, secret: bool = False) -> int | str:
    """A numeric slot value: an amount stays; a phone/ID/bank number, anything 8+ digits long or a
    secret becomes a masked string."""
    s = str(value)
    if secret:
        return "*" * len(s)
    found = classify(s.lstrip("-"))
    if found is not None:
        return "".join(c if k else "*" for c, k in zip(s, found[1], strict=True))
    return "*" * len(s) if len(s.lstrip("-")) >= LONG_VALUE else value


_TURN_KEYS = ("turn", "idx")


def mask_value(
    value: Any, *, secret: bool = False, key: str | None = None, secret_turns: frozenset[int] = frozenset()
) -> Any:
    """Mask recursively inside JSON-like values (summaries, case data, slots) by key and type; an
    object made at a turn in `secret_turns` (`{"value": 4821, "turn": 2}`) is hidden whole."""
    if key in SECRET_KEYS and value not in (None, ""):
        return "*" * len(str(value))
    if key in SENSITIVE_CASE_KEYS and value not in (None, ""):
        text = str(value)
        masked = mask_text(text)
        return masked if masked != text else mask_phone(text)
    if isinstance(value, bool) or value is None or isinstance(value, float):
        return value
    if isinstance(value, int):
        return mask_number(value, secret=secret)
    if isinstance(value, str):
        return mask_text(value, secret=secret)
    if isinstance(value, dict):
        inner = secret or (bool(secret_turns) and value.get("turn") in secret_turns)
        return {
            k: v if inner and k in _TURN_KEYS else mask_value(v, secret=inner, key=k, secret_turns=secret_turns)
            for k, v in value.items()
        }
    if isinstance(value, list):
        return [mask_value(v, secret=secret, secret_turns=secret_turns) for v in value]
    return value


def secret_turns(turns: list[dict[str, Any]] | None) -> frozenset[int]:
    """The turns (console `idx` or summary `turn`) that answered the second factor."""
    out: set[int] = set()
    for t in turns or []:
        if isinstance(t, dict) and t.get("menu") in SECRET_MENUS and t.get("speaker", "caller") == "caller":
            n = t.get("idx", t.get("turn"))
            if isinstance(n, int):
                out.add(n)
    return frozenset(out)


def mask_turn(turn: dict[str, Any]) -> dict[str, Any]:
    """A console turn ({menu, caller_text, bot_text, slots ...}): the caller's words and slots masked
    by what the menu asked (the second factor hidden whole)."""
    secret = turn.get("menu") in SECRET_MENUS
    out = dict(turn)
    out["caller_text"] = mask_text(turn.get("caller_text"), secret=secret)
    out["bot_text"] = mask_text(turn.get("bot_text"))
    out["slots"] = mask_value(turn.get("slots") or {}, secret=secret)
    return out


def mask_summary(summary: dict[str, Any]) -> dict[str, Any]:
    """A hand-off summary (SPEC §2): whatever was said or made at a second-factor turn (transcript
    line, slot, emotion point) hidden whole, everything else by key and type."""
    hidden = secret_turns(summary.get("transcript"))
    out = {k: mask_value(v, key=k, secret_turns=hidden) for k, v in summary.items() if k != "transcript"}
    if "transcript" in summary:
        out["transcript"] = [
            dict(
                t,
                text=mask_text(t.get("text"), secret=t.get("menu") in SECRET_MENUS and t.get("speaker") == "caller"),
            )
            if isinstance(t, dict)
            else mask_value(t)
            for t in summary["transcript"] or []
        ]
    return out
