"""Login attempts (issue 13, finding 5): throttled per account and per source address, argon2
verifications bounded, every refusal audited or counted.

- **Back-off**: after `free` failures within `window_s`, each further attempt of that account (or
  from that address) must wait `base_s * 2**(n - free)` seconds (capped at `max_delay_s`); an
  attempt during the wait is refused with 429 and a `Retry-After`, without verifying anything.
- **Lockout**: at `lockout_after` failures the key is locked for `lockout_s`; the lock is audited
  (`login_locked`) once.  A success clears the account's failures (not the address's).
- Unknown user names are throttled exactly like real ones (no enumeration through the lockout).
- **Bounded argon2**: at most `settings.login_concurrency` verifications run at once (64 MiB each
  with the production parameters); further attempts wait in an asyncio queue (no thread held) and
  beyond `MAX_WAITING` are refused with 503 at once.

State is per process (the console runs as one process per host; docs/console.md).
"""

from __future__ import annotations

import asyncio
import math
import time
from collections import OrderedDict
from dataclasses import dataclass, field

from fastapi import Request
from starlette.concurrency import run_in_threadpool

from ivr import auth, metrics
from ivr.store import Store, User
from ivr.web import actions
from ivr.web.security import store_of

MAX_WAITING = 32  # logins queued for an argon2 slot before new ones get 503
MAX_KEYS = 20_000  # remembered accounts/addresses (oldest forgotten first): bounded memory


@dataclass(frozen=True)
class Policy:
    free: int  # failures allowed without any wait
    lockout_after: int
    base_s: float = 1.0
    max_delay_s: float = 60.0
    lockout_s: float = 900.0
    window_s: float = 900.0  # failures older than this are forgotten


ACCOUNT = Policy(free=3, lockout_after=10)
ADDRESS = Policy(free=10, lockout_after=50)  # several agents may share one NAT address


@dataclass
class _Record:
    failures: int = 0
    last: float = 0.0
    until: float = 0.0  # no attempt before this (back-off or lockout)


class LoginRefused(Exception):
    def __init__(self, status: int, message: str, retry_after: int | None = None) -> None:
        super().__init__(message)
        self.status, self.message, self.retry_after = status, message, retry_after


@dataclass
class LoginGate:
    concurrency: int = 2
    clock: object = time.monotonic
    _records: OrderedDict[tuple[str, str], _Record] = field(default_factory=OrderedDict)
    _slots: asyncio.Semaphore | None = None
    _waiting: int = 0
    in_flight_max: int = 0  # the most verifications seen at once (tests, metrics)
    _in_flight: int = 0

    def _now(self) -> float:
        return self.clock()  # type: ignore[operator]

    def _get(self, key: tuple[str, str], policy: Policy) -> _Record:
        rec = self._records.get(key)
        now = self._now()
        if rec is None or (now - rec.last > policy.window_s and now >= rec.until):
            rec = _Record()
        self._records[key] = rec
        self._records.move_to_end(key)
        while len(self._records) > MAX_KEYS:
            self._records.popitem(last=False)
        return rec

    def _keys(self, username: str, address: str) -> list[tuple[tuple[str, str], Policy]]:
        return [(("account", username.lower()), ACCOUNT), (("address", address), ADDRESS)]

    def wait_for(self, username: str, address: str) -> tuple[float, str]:
        """Seconds before this account/address may try again (0: now), and which scope blocks."""
        now = self._now()
        for key, policy in self._keys(username, address):
            rec = self._get(key, policy)
            if rec.until > now:
                return rec.until - now, key[0]
        return 0.0, ""

    def failed(self, username: str, address: str) -> list[str]:
        """Count a failure; returns the scopes that became locked by it."""
        now = self._now()
        locked = []
        for key, policy in self._keys(username, address):
            rec = self._get(key, policy)
            rec.failures += 1
            rec.last = now
            if rec.failures >= policy.lockout_after:
                rec.until = now + policy.lockout_s
                if rec.failures == policy.lockout_after:
                    locked.append(key[0])
            elif rec.failures >= policy.free:
                rec.until = now + min(policy.max_delay_s, policy.base_s * 2 ** (rec.failures - policy.free))
        return locked

    def succeeded(self, username: str) -> None:
        self._records.pop(("account", username.lower()), None)

    async def verify(self, store: Store, username: str, password: str) -> User | None:
        """auth.authenticate with at most `concurrency` argon2 verifications at once."""
        if self._slots is None:
            self._slots = asyncio.Semaphore(self.concurrency)
        if self._waiting >= MAX_WAITING:
            metrics.LOGIN_REFUSED.labels("busy").inc()
            raise LoginRefused(503, "too many logins at once; try again in a few seconds", 2)
        self._waiting += 1
        try:
            async with self._slots:
                self._in_flight += 1
                self.in_flight_max = max(self.in_flight_max, self._in_flight)
                try:
                    return await run_in_threadpool(auth.authenticate, store, username, password)
                finally:
                    self._in_flight -= 1
        finally:
            self._waiting -= 1


def gate_of(request: Request) -> LoginGate:
    return request.app.state.login_gate


def source_address(request: Request) -> str:
    return request.client.host if request.client else "unknown"


async def attempt(request: Request, username: str, password: str) -> User:
    """One login attempt: the user, or LoginRefused (401 wrong, 429 throttled/locked, 503 busy)."""
    gate, store, address = gate_of(request), store_of(request), source_address(request)
    wait, scope = gate.wait_for(username, address)
    if wait > 0:
        metrics.LOGIN_REFUSED.labels(scope).inc()
        seconds = math.ceil(wait)
        raise LoginRefused(429, f"too many failed logins for this {scope}; try again in {seconds} s", seconds)
    user = await gate.verify(store, username, password)
    if user is None:
        metrics.LOGIN_FAILURES.inc()
        await run_in_threadpool(actions.record, store, username, "login_failed", "user", username, address)
        for locked in gate.failed(username, address):
            detail = f"{locked} locked for {int(ACCOUNT.lockout_s if locked == 'account' else ADDRESS.lockout_s)} s"
            await run_in_threadpool(
                actions.record, store, username, "login_locked", "user", username, f"{detail} ({address})"
            )
        raise LoginRefused(401, "invalid username or password")
    gate.succeeded(username)
    return user
