"""Personal data never reaches a log in clear (issue 13 #8).

Installed once per process (`install()`, run when `ivr` is imported) as the logging record
factory, so every record of every logger — ours, SQLAlchemy's, uvicorn's, pjsip's — is masked
when it is made, before any handler or formatter sees it:

- phone and ID numbers: any run of 7+ digits (ASCII or full-width, also split as 138 0013 8000
  or 010-12345678, an ID's trailing X) keeps only its last 4 digits: ``*******8000``;
- a SIP display name (``"李娜" <sip:...>``) becomes ``"***"``;
- the names of the cases of live calls (`protect()`, called when a call row is stored) are
  replaced by ``***`` wherever they appear, whatever logged them;
- their amounts only where a number is money: after a money word or field (``amount=``,
  ``"principal": ``, ``owes``, ``¥``, 欠款, 还 ...) or before a currency (元, 块, RMB); their
  ID numbers' last 4 digits only after an ID word or field (``id_last4``, 身份证, 尾号).  A port, a
  PID or a duration that happens to equal a live amount stays readable (an RTP port of 10000
  was masked when a case owed 10000).  Records of data loggers (SQLAlchemy: statements and their
  values) mask those amounts wherever they appear.

The formatted message replaces `msg` (and `args` is emptied), the exception text is rendered
and masked at once, so a later formatter only prints what was masked.
"""

from __future__ import annotations

import logging
import re
import threading
from collections import OrderedDict
from collections.abc import Iterable
from typing import Any

_DIGIT = r"[0-9０-９]"
# 7+ digits, optionally split by single spaces or dashes into groups of 3+ (dates such as
# 2026-11-18 have 2-digit groups and IP addresses dots: both stay readable); an ID's trailing X
_NUMBER = re.compile(
    rf"(?<![0-9０-９A-Za-z]){_DIGIT}{{3,}}(?:[ \-]?{_DIGIT}{{3,}})*(?:[Xx](?![A-Za-z0-9]))?(?![0-9０-９A-Za-z])"
)
_FULL_WIDTH = str.maketrans("0123456789", "０１２３４５６７８９")
_DISPLAY_NAME = re.compile(r'"[^"<>]*"(\s*<sips?:)')
MIN_DIGITS = 7
MAX_TERMS = 4000  # names/amounts of the most recent calls: far more than a host serves at once
_installed = False
_KEEP_ARGS = {"uvicorn.access"}
_DATA_LOGGERS = ("sqlalchemy",)  # their messages are statements and values: an amount there is the case's


_FIGURE_END = r"(?:\.[0-9]{1,2})?(?![0-9０-９A-Za-z])"
# a money word or field right before the number: `amount=`, `"overdue_amount": "`, `owes `, `¥`, 欠款
_MONEY_BEFORE = (
    r"(?:(?<![A-Za-z])(?i:[a-z_]*amount|principal|interest|fees?|penalty|balance|owe[sd]?|owing|debt|"
    r"paid|payment|repay|total|rmb|cny)(?![A-Za-z])|金额|欠款|欠|还款|还|本金|利息|罚息|费用|滞纳金|共计|合计|总计|"
    r"总共|余额|应还|已还|借款|贷款)[\"']?\s*[:=：]?\s*[\"']?\s*(?:[¥￥$]\s*)?|[¥￥$]\s*"
)
_MONEY_AFTER = r"(?=\s*(?:元|块|圆|人民币|(?i:rmb|cny|yuan)(?![A-Za-z])))"
_ID_BEFORE = (
    r"(?:(?<![A-Za-z])(?i:id_last4|last_?4|id)(?![A-Za-z])|身份证(?:号码?)?|证件(?:号码?)?|尾号)"
    r"[\"']?\s*[:=：]?\s*[\"']?\s*"
)


class _Terms:
    """The recent cases' names, amounts and ID endings, most recent last; compiled patterns for all."""

    def __init__(self) -> None:
        self._terms: OrderedDict[tuple[str, str], None] = OrderedDict()  # (kind, term)
        self._lock = threading.Lock()
        self._patterns: dict[str, re.Pattern[str] | None] | None = None

    def add(self, terms: Iterable[tuple[str, str]]) -> None:
        with self._lock:
            changed = False
            for t in terms:
                if t in self._terms:
                    self._terms.move_to_end(t)
                    continue
                self._terms[t] = None
                changed = True
            while len(self._terms) > MAX_TERMS:
                self._terms.popitem(last=False)
            if changed:
                self._patterns = None

    def patterns(self) -> dict[str, re.Pattern[str] | None]:
        """{"name": anywhere, "money": amounts in money context, "amount": amounts anywhere (data
        loggers), "id": ID endings after an ID word}; None where there is nothing to mask."""
        with self._lock:
            if self._patterns is None:
                by_kind: dict[str, list[str]] = {"name": [], "amount": [], "id": []}
                for kind, term in self._terms:
                    by_kind[kind].append(term)
                self._patterns = {k: None for k in ("name", "money", "amount", "id")}
                if by_kind["name"]:  # longest first so 王小明 is masked whole before 王小
                    names = sorted(by_kind["name"], key=len, reverse=True)
                    self._patterns["name"] = re.compile("|".join(re.escape(w) for w in names))
                if by_kind["amount"]:
                    fig = _figures(by_kind["amount"])
                    self._patterns["amount"] = re.compile(fig)
                    self._patterns["money"] = re.compile(rf"(?P<pre>{_MONEY_BEFORE}){fig}|{fig}{_MONEY_AFTER}")
                if by_kind["id"]:
                    self._patterns["id"] = re.compile(rf"(?P<pre>{_ID_BEFORE}){_figures(by_kind['id'])}")
            return self._patterns

    def clear(self) -> None:
        with self._lock:
            self._terms.clear()
            self._patterns = None


def _figures(words: list[str]) -> str:
    """One of these numbers as a whole number (not a part of 148650 or 48650123)."""
    alts = "|".join(re.escape(w) for w in sorted(words, key=len, reverse=True))
    return rf"(?<![0-9０-９A-Za-z,.])(?:{alts}){_FIGURE_END}"


_terms = _Terms()


def protect(name: str | None = None, amounts: Iterable[Any] = (), id_last4: str | None = None) -> None:
    """Mask this person's name (anywhere), these amounts (where they are money) and the end of
    their ID number (after an ID word) in every later log record of this process."""
    terms: list[tuple[str, str]] = [("id", id_last4.strip())] if id_last4 and id_last4.strip() else []
    if name and len(name.strip()) >= 2:  # one character would mask half the log
        terms.append(("name", name.strip()))
    for a in amounts:
        if isinstance(a, int | float) and not isinstance(a, bool) and a >= 100:  # 10, 45 days... stay readable
            n = int(a)
            terms += [("amount", str(n)), ("amount", f"{n:,}"), ("amount", str(n).translate(_FULL_WIDTH))]
    if terms:
        _terms.add(terms)


def _mask_number(m: re.Match[str]) -> str:
    s = m.group(0)
    if sum(c.isdigit() for c in s) < MIN_DIGITS:
        return s
    places = [i for i, c in enumerate(s) if c.isdigit() or c in "Xx"]
    shown = set(places[-4:])
    return "".join(c if i in shown or not (c.isdigit() or c in "Xx") else "*" for i, c in enumerate(s))


def _keep_prefix(m: re.Match[str]) -> str:
    return (m.group("pre") or "") + "***"


def mask(text: str, data: bool = False) -> str:
    """`text` with phone/ID numbers, SIP display names and protected names masked, and protected
    amounts where they are money (`data`: wherever they appear, e.g. SQL values)."""
    if not text:
        return text
    p = _terms.patterns()
    if p["name"] is not None:
        text = p["name"].sub("***", text)
    if data and p["amount"] is not None:
        text = p["amount"].sub("***", text)
    elif p["money"] is not None:
        text = p["money"].sub(_keep_prefix, text)
    if p["id"] is not None:
        text = p["id"].sub(_keep_prefix, text)
    text = _NUMBER.sub(_mask_number, text)
    return _DISPLAY_NAME.sub(r'"***"\1', text)


def install() -> None:
    """Make every log record of this process masked at creation (idempotent)."""
    global _installed
    if _installed:
        return
    _installed = True
    previous = logging.getLogRecordFactory()

    def factory(*args: Any, **kwargs: Any) -> logging.LogRecord:
        record = previous(*args, **kwargs)
        try:
            data = record.name.startswith(_DATA_LOGGERS)
            if record.name in _KEEP_ARGS:  # its formatter unpacks the args: mask each, keep the shape
                if isinstance(record.args, tuple):
                    record.args = tuple(mask(a, data) if isinstance(a, str) else a for a in record.args)
            else:
                record.msg, record.args = mask(record.getMessage(), data), ()
            if record.exc_info and not record.exc_text:
                record.exc_text = mask(logging.Formatter().formatException(record.exc_info), data)
            if record.stack_info:
                record.stack_info = mask(record.stack_info, data)
        except Exception:  # a record that cannot be formatted is left for logging to report
            pass
        return record

    logging.setLogRecordFactory(factory)
