"""A stand-in call engine for plumbing tests (the real engine is exercised by the e2e tests).

It plays a known chirp as its "prompt", logs keys, asks for a transfer on 0 and hangs up on #.
"""

from __future__ import annotations

import logging
import threading

import numpy as np

from ivr.events import Transfer
from ivr.transports.media_call import CallContext

log = logging.getLogger("fake-engine")


def chirp(rate: int, seconds: float = 1.0) -> bytes:
    t = np.arange(int(rate * seconds)) / rate
    sig = 0.4 * np.sin(2 * np.pi * (300 + 900 * t / seconds) * t)  # 300→1200 Hz sweep
    return (sig * 32767).astype("<i2").tobytes()


class ToneEngine:
    def __init__(self, ctx: CallContext) -> None:
        self.ctx = ctx
        self.out = bytearray(chirp(ctx.rate))
        self.lock = threading.Lock()
        self.pushed = 0
        self.started = threading.Event()
        self.started.set()  # nothing to store: ready at once

    def push_audio(self, pcm16: bytes) -> None:
        self.pushed += len(pcm16)

    def pull_audio(self, n_bytes: int) -> bytes:
        with self.lock:
            chunk = bytes(self.out[:n_bytes])
            del self.out[:n_bytes]
        return chunk.ljust(n_bytes, b"\0")

    def dtmf(self, digit: str) -> None:
        log.info("fake-engine %s dtmf %s", self.ctx.call_id, digit)
        with self.lock:
            self.out += chirp(self.ctx.rate, 0.3)
        if digit == "0":
            threading.Thread(target=self.ctx.on_transfer, args=(Transfer("requested"),)).start()
        elif digit == "#":
            threading.Thread(target=self.ctx.on_hangup, args=("completed",)).start()

    def transfer_result(self, ok: bool, detail: str) -> None:
        log.info("fake-engine %s transfer_result %s %s", self.ctx.call_id, ok, detail)

    def hangup(self) -> None:
        log.info("fake-engine %s hangup pushed=%d", self.ctx.call_id, self.pushed)


def tone_factory(settings=None):
    return ToneEngine


BUILD_DELAY_S = 2.0


def slow_tone_factory(settings=None):
    """A tone engine that takes BUILD_DELAY_S to build, like the real one synthesising prompts
    that `ivr prompts build` did not pre-render."""
    import time

    def make(ctx: CallContext) -> ToneEngine:
        time.sleep(BUILD_DELAY_S)
        return ToneEngine(ctx)

    return make
