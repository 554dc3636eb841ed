"""Masking of phone and ID numbers for the agent role (pages and API alike).

Agents need to recognise a caller, not to copy their numbers: keep the first 3 and last 4 digits
of a phone number and the first 4 and last 4 characters of a resident ID number.
"""

from __future__ import annotations

import re
from typing import Any

# 18-char resident ID (last char may be X) or legacy 15 digits; checked before phones (longer first).
_ID_RE = re.compile(r"(?<![0-9A-Za-z])(\d{6})(\d{8}|\d{6})(\d{3}[\dXx]|\d{1})?(?![0-9A-Za-z])")
# Mainland mobile (optionally +86/86 prefixed) and landlines with area code.
_PHONE_RE = re.compile(
    r"(?<!\d)(\+?86[- ]?)?(1[3-9]\d)[- ]?(\d{4})[- ]?(\d{4})(?!\d)|(?<!\d)(0\d{2,3})-?(\d{7,8})(?!\d)"
)
# Spoken digit strings as ASR transcribes them ("一 三 八 ..."); masked when 7+ digits in a row.
_DIGIT_WORDS = "零〇一二三四五六七八九幺"
_SPOKEN_RE = re.compile(rf"(?:[{_DIGIT_WORDS}]\s*){{6,}}[{_DIGIT_WORDS}]")

SENSITIVE_CASE_KEYS = ("phone", "mobile", "caller_number", "id_number", "id_card", "idcard", "身份证")


def mask_phone(number: str | None) -> str | None:
    if not number:
        return number
    digits = re.sub(r"\D", "", number)
    if len(digits) == 13 and digits.startswith("86"):  # +86 country code
        digits = digits[2:]
    if len(digits) < 7:
        return "*" * len(digits)
    return f"{digits[:3]}****{digits[-4:]}"


def _mask_id(m: re.Match[str]) -> str:
    s = m.group(0)
    if len(s) not in (15, 18):
        return s
    return s[:4] + "*" * (len(s) - 8) + s[-4:]


def _mask_phone_match(m: re.Match[str]) -> str:
    if m.group(2):  # mobile: drop the +86 prefix, keep 3 + 4 digits
        return f"{m.group(2)}****{m.group(4)}"
    return f"{m.group(5)}****{m.group(6)[-4:]}"  # landline: area code + last 4


def mask_text(text: str | None) -> str | None:
    """Mask every ID number, phone number and long spoken digit string inside free text."""
    if not text:
        return text
    text = _ID_RE.sub(_mask_id, text)
    text = _PHONE_RE.sub(_mask_phone_match, text)
    return _SPOKEN_RE.sub(lambda m: "＊" * len(m.group(0).replace(" ", "")), text)


def mask_value(value: Any) -> Any:
    """Mask recursively inside JSON-like values (summaries, case data, slots)."""
    if isinstance(value, str):
        return mask_text(value)
    if isinstance(value, dict):
        return {k: (mask_phone(str(v)) if k in SENSITIVE_CASE_KEYS and v else mask_value(v)) for k, v in value.items()}
    if isinstance(value, list):
        return [mask_value(v) for v in value]
    return value
