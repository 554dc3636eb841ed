"""Reading what a dialer put into an INVITE (pjsua2 gives the raw text as `rdata.wholeMsg`).

pjsua2 exposes no header lookup for an incoming call, so the header block is parsed here: names
are case-insensitive, folded lines are joined (RFC 3261 §7.3.1), the body is never read.
"""

from __future__ import annotations

import re
from urllib.parse import unquote

from ivr.transports.guard import peer_ref

CASE_HEADER = "X-Case-Id"
_REQUEST_URI = re.compile(r"^[A-Z]+\s+(?:sips?|tel):([^@;>\s]+)@", re.IGNORECASE)


def header(message: str, name: str) -> str | None:
    """First value of header `name` in a SIP message's header block, stripped; None if absent or empty."""
    head = re.split(r"\r?\n\r?\n", message, maxsplit=1)[0]
    # unfold, split at CRLF (or LF) only, drop the request line: str.splitlines() also split at
    # \x0b, \x1c-\x1e, U+2028... inside a value, so `X-Case-Id: A\u2028B` read as case A
    lines = re.split(r"\r?\n", re.sub(r"\r?\n[ \t]+", " ", head))[1:]
    wanted = name.lower()
    for line in lines:
        key, sep, value = line.partition(":")
        if sep and key.strip().lower() == wanted:
            return value.strip() or None
    return None


def case_ref(message: str) -> str | None:
    """The dialer's case reference (`X-Case-Id`): None if absent; `guard.BadPeerId` unless it is
    1-64 safe characters (a reference only, never cut or cleaned into something else)."""
    return peer_ref(header(message, CASE_HEADER), CASE_HEADER)


def request_user(message: str) -> str | None:
    """The user part of the request-URI (`INVITE sip:C-2026-0042@ivr SIP/2.0` → 'C-2026-0042')."""
    m = _REQUEST_URI.match(message.lstrip())
    return unquote(m.group(1)) if m else None
