"""Personal data never reaches a log in clear (issue 13 #8).

Installed once per process (`install()`, run when `ivr` is imported) as the logging record
factory, so every record of every logger — ours, SQLAlchemy's, uvicorn's, pjsip's — is masked
when it is made, before any handler or formatter sees it:

- phone and ID numbers: any run of 7+ digits (ASCII or full-width, also split as 138 0013 8000
  or 010-12345678, an ID's trailing X) keeps only its last 4 digits: ``*******8000``;
- a SIP display name (``"李娜" <sip:...>``) becomes ``"***"``;
- the names and amounts of the cases of live calls (`protect()`, called when a call row is
  stored) are replaced by ``***`` wherever they appear, whatever logged them.

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
_NUMERIC = re.compile(r"[0-9０-９][0-9０-９,]*[0-9０-９Xx]?")
_DISPLAY_NAME = re.compile(r'"[^"<>]*"(\s*<sips?:)')
MIN_DIGITS = 7
MAX_TERMS = 4000  # names/amounts of the most recent calls: far more than a host serves at once
_installed = False
_KEEP_ARGS = {"uvicorn.access"}


class _Terms:
    """The recent cases' names and amounts, most recent last; one compiled pattern for all."""

    def __init__(self) -> None:
        self._terms: OrderedDict[str, None] = OrderedDict()
        self._lock = threading.Lock()
        self._pattern: re.Pattern[str] | None = None

    def add(self, terms: Iterable[str]) -> None:
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
                self._pattern = None

    def pattern(self) -> re.Pattern[str] | None:
        with self._lock:
            if self._pattern is None and self._terms:
                # longest first so 王小明 is masked whole before 王小; an amount only as a whole number
                words = sorted(self._terms, key=len, reverse=True)
                alts = [
                    rf"(?<![0-9０-９A-Za-z,]){re.escape(w)}(?![0-9０-９A-Za-z])"
                    if _NUMERIC.fullmatch(w)
                    else re.escape(w)
                    for w in words
                ]
                self._pattern = re.compile("|".join(alts))
            return self._pattern

    def clear(self) -> None:
        with self._lock:
            self._terms.clear()
            self._pattern = None


_terms = _Terms()


def protect(name: str | None = None, amounts: Iterable[Any] = (), id_last4: str | None = None) -> None:
    """Mask this person's name, these amounts and the end of their ID number in every later log
    record of this process."""
    terms: list[str] = [id_last4] if id_last4 else []
    if name and len(name.strip()) >= 2:  # one character would mask half the log
        terms.append(name.strip())
    for a in amounts:
        if isinstance(a, int | float) and not isinstance(a, bool) and a >= 100:  # 10, 45 days... stay readable
            n = int(a)
            terms += [str(n), f"{n:,}", str(n).translate(_FULL_WIDTH)]
    if terms:
        _terms.add(terms)


def _mask_number(m: re.Match[str]) -> str:
    s = m.group(0)
    if sum(c.isdigit() for c in s) < MIN_DIGITS:
        return s
    places = [i for i, c in enumerate(s) if c.isdigit() or c in "Xx"]
    shown = set(places[-4:])
    return "".join(c if i in shown or not (c.isdigit() or c in "Xx") else "*" for i, c in enumerate(s))


def mask(text: str) -> str:
    """`text` with phone/ID numbers, SIP display names and protected names/amounts masked."""
    if not text:
        return text
    pattern = _terms.pattern()
    if pattern is not None:
        text = pattern.sub("***", text)
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
            if record.name in _KEEP_ARGS:  # its formatter unpacks the args: mask each, keep the shape
                if isinstance(record.args, tuple):
                    record.args = tuple(mask(a) if isinstance(a, str) else a for a in record.args)
            else:
                record.msg, record.args = mask(record.getMessage()), ()
            if record.exc_info and not record.exc_text:
                record.exc_text = mask(logging.Formatter().formatException(record.exc_info))
            if record.stack_info:
                record.stack_info = mask(record.stack_info)
        except Exception:  # a record that cannot be formatted is left for logging to report
            pass
        return record

    logging.setLogRecordFactory(factory)
