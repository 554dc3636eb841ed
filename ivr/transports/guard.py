"""Who may open a media call, and how much one peer may take (issue 13, docs/telephony.md "Media security").

- **Peer ids are references, never keys or paths.**  A WebSocket `callId`/`caseId`, an AudioSocket
  UUID or a SIP `X-Case-Id` is checked with `peer_ref` (charset, length) and stored as the call's
  `peer_ref`/`case_ref`; the call's own id, its row key and its recording file name are generated
  by the product (`CallContext.call_id`).
- **Authentication** (`MediaGuard.check_ws`, `.check_uuid`): with `media_token` set, `/media` needs
  `Authorization: Bearer <token>`, HTTP Basic with the token as password (jambonz `wsAuth`), or a
  URL signed with `sign_url` (HMAC-SHA256, with an expiry: what a dialer hands to FreeSWITCH
  mod_audio_stream); AudioSocket needs a UUID made by `signed_uuid` (the only thing Asterisk
  sends).  Sources in `media_allow` (CIDRs) are trusted without a token.  With neither, every media
  connection is refused.  A browser `Origin` must be in `media_origins`.
- **Limits per peer**: at most `media_max_per_source` connections per source address; caller audio
  above `RATE_FACTOR` x real time is dropped (a bounded bucket, so the engine's queue cannot grow
  faster than real time) and a call that keeps flooding is closed; a call with no message for
  `media_idle_timeout_s` is closed and ended.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import ipaddress
import os
import re
import threading
import time
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit

PEER_REF_MAX = 64  # the call row keeps 64 characters
PEER_REF_CHARS = "A-Z a-z 0-9 . _ : / @ + = ~ -"  # a case id may hold / (ivr/casebook.py CASE_ID)
_PEER_REF = re.compile(r"[A-Za-z0-9][A-Za-z0-9._:/@+=~-]*")
MIN_TOKEN_CHARS = 16
RATE_FACTOR = 2.0  # caller audio accepted up to this many times real time (jitter bursts fit)
BURST_S = 1.0  # ...plus this much at once
FLOOD_S = 5.0  # this much audio dropped → the peer is flooding: the call is closed


class BadPeerId(ValueError):
    """An id from a peer that is not a safe reference (one line: field, expected, got)."""


def peer_ref(value: Any, name: str) -> str | None:
    """`value` as a stored reference: None when absent, else 1-64 of PEER_REF_CHARS (BadPeerId otherwise)."""
    if value is None or value == "":
        return None
    text = str(value) if isinstance(value, int | uuid.UUID) and not isinstance(value, bool) else value
    if not isinstance(text, str) or len(text) > PEER_REF_MAX or not _PEER_REF.fullmatch(text):
        shown = repr(value)
        shown = shown if len(shown) <= 40 else shown[:37] + "..."
        raise BadPeerId(f"{name}: expected 1-{PEER_REF_MAX} characters of [{PEER_REF_CHARS}], got {shown}")
    return text


# ------------------------------------------------------------------------ tokens and signatures
def _sig(token: str, message: str) -> str:
    return hmac.new(token.encode(), message.encode(), hashlib.sha256).hexdigest()


def _canonical(path: str, pairs: list[tuple[str, str]]) -> str:
    return path + "?" + urlencode(sorted((k, v) for k, v in pairs if k != "sig"))


def sign_url(url: str, token: str, ttl_s: float = 300.0, now: float | None = None) -> str:
    """`url` (ws://host/media?rate=8000&case_id=...) with `exp` and `sig` added: valid for `ttl_s`
    seconds, every query parameter covered by the signature."""
    parts = urlsplit(url)
    pairs = [(k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True) if k not in ("exp", "sig")]
    pairs.append(("exp", str(int((now or time.time()) + ttl_s))))
    query = urlencode(pairs + [("sig", _sig(token, _canonical(parts.path, pairs)))])
    return parts._replace(query=query).geturl()


def signed_uuid(token: str, nonce: bytes | None = None) -> uuid.UUID:
    """An AudioSocket UUID that proves the token: 8 random bytes + the first 8 of their HMAC."""
    nonce = os.urandom(8) if nonce is None else nonce
    return uuid.UUID(bytes=nonce + hmac.new(token.encode(), nonce, hashlib.sha256).digest()[:8])


def _host(addr: Any) -> str:
    if isinstance(addr, tuple | list):
        return str(addr[0]) if addr else ""
    return str(getattr(addr, "host", addr) or "")


@dataclass
class MediaGuard:
    """Authentication and per-peer limits of the media transports (`from_settings` in `ivr serve`)."""

    token: str | None = None
    allow: list[str] = field(default_factory=list)  # CIDRs trusted without a token
    origins: list[str] = field(default_factory=list)  # browser Origins allowed on /media
    max_per_source: int = 32
    idle_timeout_s: float = 5.0
    max_url_ttl_s: float = 86400.0  # a signed URL further in the future than this is refused

    def __post_init__(self) -> None:
        if self.token is not None and len(self.token) < MIN_TOKEN_CHARS:
            raise ValueError(f"media_token: expected at least {MIN_TOKEN_CHARS} characters, got {len(self.token)}")
        try:
            self._nets = [ipaddress.ip_network(c, strict=False) for c in self.allow]
        except ValueError as e:
            raise ValueError(f"media_allow: expected CIDRs like 10.0.0.0/8, got {e}") from None
        self._open: dict[str, int] = {}
        self._lock = threading.Lock()

    @classmethod
    def from_settings(cls, settings: Any) -> MediaGuard:
        return cls(
            token=settings.media_token,
            allow=list(settings.media_allow),
            origins=list(settings.media_origins),
            max_per_source=settings.media_max_per_source,
            idle_timeout_s=settings.media_idle_timeout_s,
        )

    # -- who ----------------------------------------------------------------------------------------
    def trusted(self, host: str) -> bool:
        try:
            addr = ipaddress.ip_address(host.strip("[]"))
        except ValueError:
            return False
        return any(addr in n for n in self._nets)

    def check_ws(
        self, path: str, query: str, headers: Mapping[str, str], peer: Any, now: float | None = None
    ) -> str | None:
        """Why this /media request is refused (None: admitted)."""
        origin = headers.get("origin")
        if origin is not None and origin not in self.origins:
            return f"Origin {origin[:60]!r} is not in media_origins"
        if self.trusted(_host(peer)):
            return None
        if self.token is None:
            return "media is closed: set media_token (or media_allow for trusted sources)"
        auth = headers.get("authorization", "")
        scheme, _, cred = auth.partition(" ")
        if scheme.lower() == "bearer" and hmac.compare_digest(cred.strip().encode(), self.token.encode()):
            return None
        if scheme.lower() == "basic":
            try:
                password = base64.b64decode(cred.strip(), validate=True).decode().partition(":")[2]
            except (ValueError, UnicodeDecodeError):
                password = ""
            if hmac.compare_digest(password.encode(), self.token.encode()):
                return None
        pairs = parse_qsl(query, keep_blank_values=True)
        got = dict(pairs)
        if "sig" in got:
            try:
                exp = int(got.get("exp", ""))
            except ValueError:
                return "signed URL: exp must be a unix time"
            t = now or time.time()
            if exp < t:
                return "signed URL has expired"
            if exp > t + self.max_url_ttl_s:
                return f"signed URL: exp more than {self.max_url_ttl_s:.0f} s ahead"
            if hmac.compare_digest(got["sig"], _sig(self.token, _canonical(path, pairs))):
                return None
            return "signed URL: bad signature"
        return "not authenticated: send Authorization: Bearer <media_token> or a signed URL"

    def check_uuid(self, call_uuid: uuid.UUID, peer: Any) -> str | None:
        """Why this AudioSocket connection is refused (None: admitted)."""
        if self.trusted(_host(peer)):
            return None
        if self.token is None:
            return "media is closed: set media_token (or media_allow for trusted sources)"
        b = call_uuid.bytes
        if hmac.compare_digest(b[8:], hmac.new(self.token.encode(), b[:8], hashlib.sha256).digest()[:8]):
            return None
        return "UUID is not signed with media_token"

    # -- how many -----------------------------------------------------------------------------------
    def acquire(self, peer: Any) -> str | None:
        """Count one more connection from this source; the reason it is refused when over the cap."""
        host = _host(peer)
        with self._lock:
            n = self._open.get(host, 0)
            if n >= self.max_per_source:
                return f"too many connections from {host} (media_max_per_source={self.max_per_source})"
            self._open[host] = n + 1
        return None

    def release(self, peer: Any) -> None:
        host = _host(peer)
        with self._lock:
            n = self._open.get(host, 0) - 1
            if n > 0:
                self._open[host] = n
            else:
                self._open.pop(host, None)


class AudioBucket:
    """Caller audio accepted at most RATE_FACTOR x real time plus BURST_S; the rest is dropped."""

    def __init__(self, bytes_per_s: float) -> None:
        self.rate = bytes_per_s * RATE_FACTOR
        self.capacity = bytes_per_s * BURST_S
        self.level = self.capacity
        self.at = time.monotonic()
        self.dropped = 0
        self.flood_bytes = bytes_per_s * FLOOD_S

    def take(self, n: int) -> bool:
        now = time.monotonic()
        self.level = min(self.capacity, self.level + (now - self.at) * self.rate)
        self.at = now
        if n <= self.level:
            self.level -= n
            return True
        self.dropped += n
        return False

    @property
    def flooding(self) -> bool:
        return self.dropped > self.flood_bytes
