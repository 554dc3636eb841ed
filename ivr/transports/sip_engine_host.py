"""Call engines in a separate process from the PJSIP media clock.

Measured on these machines: any busy Python thread in the process that runs the pjsua2 bridge
clock delays its 20 ms ticks (they need the GIL), and the late ticks leave as RTP bursts that the
caller's jitter buffer drops.  So a SIP worker keeps only pjsua2 and byte copying; every call's
engine (VAD, Vosk, dialog, database) runs in this engine host, one per SIP worker.

SIP side (`RemoteEngines`): the media callbacks never block — `push_audio` and the pull request
are queued for a sender thread; `pull_audio` returns a frame the host already sent for that call
(a few frames are requested ahead to absorb pipe jitter; silence on underflow).
Host side (`serve_engines`): one loop that builds engines with the real factory and answers.

Wire format: every pipe message is a *list* of `(kind, call_id, payload)` tuples.  The sender
thread waits BATCH_WAIT_S after the first queued item so that one 20 ms media tick of every call
(a push and a pull each) travels as one message, and the host answers the pulls of a batch in one
message: 2 pipe messages per tick for the whole worker instead of 3 per call (measured in
docs/telephony.md).
"""

from __future__ import annotations

import ctypes
import logging
import multiprocessing as mp
import os
import queue
import signal
import threading
import time
from collections import deque
from collections.abc import Callable
from multiprocessing.connection import Connection
from typing import Any

from ivr.events import Transfer
from ivr.transports.media_call import CallContext

log = logging.getLogger("ivr.sip")

ENGINE_NICE = 10  # CPU weight ~1:10 against the SIP process when both are busy
PREFETCH_FRAMES = 3  # bot audio requested ahead of the media clock (60 ms at 20 ms frames)
OPEN_WAIT_S = 10.0  # longest wait for a new call's row before answering anyway
# How long the sender collects after the first queued item: the bridge clock serves every call's
# port back to back (well under 1 ms), so 2 ms gathers one whole tick without adding audible delay.
BATCH_WAIT_S = 0.002
PR_SET_NAME = 15

Msg = tuple[str, str, Any]


def name_os_thread(name: str) -> None:
    """Name the calling thread for `top -H` / /proc (and bench/bench_sip.py's per-thread CPU)."""
    try:
        ctypes.CDLL(None).prctl(PR_SET_NAME, name.encode()[:15])
    except (OSError, AttributeError):
        pass


def exact_frame(pcm: bytes, n_bytes: int) -> bytes:
    """`pcm` cut or zero-padded to exactly n_bytes (the Engine contract; a short frame glitches)."""
    return pcm if len(pcm) == n_bytes else pcm[:n_bytes].ljust(n_bytes, b"\0")


# ---------------------------------------------------------------- SIP worker side


class RemoteEngine:
    """The Engine contract for one call, backed by the engine host."""

    def __init__(self, host: RemoteEngines, ctx: CallContext) -> None:
        self.host = host
        self.ctx = ctx
        self.id = ctx.call_id
        self.frames: deque[bytes] = deque()  # whole frames from the host; append/popleft are atomic
        self.lock = threading.Lock()  # opened/_on_ready only
        self.primed = False
        self.opened = False  # the host has built this call's engine
        self._on_ready: Callable[[], None] | None = None

    def when_ready(self, fn: Callable[[], None]) -> None:
        """Call `fn` (on the engine-rx thread, or now) once the host has built the engine: the
        SIP server answers the call then."""
        with self.lock:
            self._on_ready, opened = fn, self.opened
        if opened:
            fn()

    def mark_opened(self) -> None:
        with self.lock:
            self.opened, fn = True, self._on_ready
        if fn is not None:
            fn()

    def push_audio(self, pcm16: bytes) -> None:
        self.host.send(("push", self.id, pcm16))

    def pull_audio(self, n_bytes: int) -> bytes:
        if not self.primed:
            self.primed = True
            for _ in range(PREFETCH_FRAMES):
                self.host.send(("pull", self.id, n_bytes))
        self.host.send(("pull", self.id, n_bytes))
        try:
            return self.frames.popleft()  # exactly n_bytes: the host sends one frame per pull
        except IndexError:
            return bytes(n_bytes)  # underflow (host late): silence

    def dtmf(self, digit: str) -> None:
        self.host.send(("dtmf", self.id, digit))

    def transfer_result(self, ok: bool, detail: str = "") -> None:
        self.host.send(("transfer_result", self.id, (ok, detail)))

    def hangup(self) -> None:
        self.host.send(("hangup", self.id, None))


class RemoteEngines:
    """Starts the engine host process and is the EngineFactory of the SIP server."""

    def __init__(self, factory_spec: str | None, case_file: str | None = None, cases_path: str | None = None) -> None:
        ctx = mp.get_context("spawn")  # a fresh interpreter: no pjsua2 state inherited
        self.conn, child = ctx.Pipe(duplex=True)
        self.proc = ctx.Process(
            target=serve_engines, args=(child, factory_spec, case_file, cases_path), name="engine-host", daemon=True
        )
        self.proc.start()
        child.close()
        self.calls: dict[str, RemoteEngine] = {}
        self._out: queue.SimpleQueue[Msg | None] = queue.SimpleQueue()
        self._ready = threading.Event()
        self._error: str | None = None
        self._closing = False
        self.sent_items = self.sent_messages = 0  # pipe batching, logged at close
        threading.Thread(target=self._send_loop, name="engine-tx", daemon=True).start()
        threading.Thread(target=self._recv_loop, name="engine-rx", daemon=True).start()

    def wait_ready(self, timeout: float = 120) -> None:
        if not self._ready.wait(timeout) or self._error:
            raise RuntimeError(self._error or f"engine host not ready after {timeout:.0f} s")

    def __call__(self, ctx: CallContext) -> RemoteEngine:
        if not self.proc.is_alive():
            raise RuntimeError("engine host process is not running")
        engine = RemoteEngine(self, ctx)
        self.calls[ctx.call_id] = engine
        self.send(
            (
                "open",
                ctx.call_id,
                {
                    "transport": ctx.transport,
                    "rate": ctx.rate,
                    "caller_number": ctx.caller_number,
                    "worker": ctx.worker,
                    "case_ref": ctx.case_ref,
                    "called_number": ctx.called_number,
                },
            )
        )
        return engine

    def send(self, msg: Msg) -> None:
        self._out.put(msg)  # never blocks the media thread

    def close(self) -> None:
        self._closing = True
        self._out.put(None)
        self.proc.join(5)
        log.info("engine pipe: %d items sent in %d messages", self.sent_items, self.sent_messages)
        if self.proc.is_alive():
            self.proc.terminate()

    def _send_loop(self) -> None:
        name_os_thread("engine-tx")
        running = True
        while running:
            batch = [self._out.get()]
            if BATCH_WAIT_S:
                time.sleep(BATCH_WAIT_S)  # let the rest of this media tick queue up behind it
            while True:
                try:
                    batch.append(self._out.get_nowait())
                except queue.Empty:
                    break
            if None in batch:  # close(): send what came before it, then stop
                batch, running = batch[: batch.index(None)], False
            try:
                if batch:
                    self.conn.send(batch)
                    self.sent_items += len(batch)
                    self.sent_messages += 1
            except (OSError, ValueError):
                log.error("engine host pipe closed; dropping %d message(s)", len(batch))
                return
            for kind, call_id, _ in batch:
                if kind == "hangup":
                    self.calls.pop(call_id, None)
        try:
            self.conn.send([("exit", "", None)])
        except (OSError, ValueError):
            pass

    def _recv_loop(self) -> None:
        name_os_thread("engine-rx")
        while True:
            try:
                batch: list[Msg] = self.conn.recv()
            except (EOFError, OSError):
                if not self._ready.is_set():
                    self._error = "engine host exited during start-up"
                    self._ready.set()
                elif not self._closing:
                    # Without engines the worker is useless: end its calls and stop it, so the
                    # supervisor (ivr serve) starts a fresh worker + host.
                    log.error("engine host died (exit code %s); stopping this SIP worker", self.proc.exitcode)
                    for engine in list(self.calls.values()):
                        engine.ctx.on_hangup("hangup")
                    os.kill(os.getpid(), signal.SIGTERM)
                return
            for kind, call_id, payload in batch:
                if not self._dispatch(kind, call_id, payload):
                    return

    def _dispatch(self, kind: str, call_id: str, payload: Any) -> bool:
        """Handle one message from the host; False once the host reported a fatal start-up error."""
        if kind == "ready":
            self._ready.set()
            return True
        if kind == "fatal":
            self._error = payload
            self._ready.set()
            return False
        engine = self.calls.get(call_id)
        if engine is None:
            return True
        if kind == "audio":
            engine.frames.append(payload)
        elif kind == "opened":
            engine.mark_opened()
        elif kind == "transfer":
            engine.ctx.on_transfer(payload)
        elif kind == "hangup":
            engine.ctx.on_hangup(payload)
        elif kind == "error":
            log.error("call %s: engine failed: %s", call_id, payload)
            engine.ctx.on_hangup("hangup")
        return True


# ---------------------------------------------------------------- engine host process


def serve_engines(
    conn: Connection, factory_spec: str | None, case_file: str | None = None, cases_path: str | None = None
) -> None:
    import sys

    from ivr.settings import load_settings
    from ivr.transports.sip_worker import load_factory

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(levelname)s %(message)s", stream=sys.stderr)
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the worker decides when we stop (Ctrl-C hits the group)
    # Decoding may use every core; the SIP process (media clock, little CPU) must win the CPU when
    # both want it, or its 20 ms ticks come late even though it is a separate process.
    os.nice(ENGINE_NICE)
    send_lock = threading.Lock()

    def send(*msgs: Msg) -> None:
        with send_lock:  # engine threads (callbacks) and this loop both send
            try:
                conn.send(list(msgs))
            except (OSError, ValueError):
                pass

    try:
        factory = load_factory(factory_spec, load_settings(), case_file, cases_path)
    except Exception as e:  # noqa: BLE001 - reported as one line by the worker
        send(("fatal", "", f"cannot build the call engine: {e}"))
        return
    send(("ready", "", None))
    engines: dict[str, Any] = {}
    running = True
    while running:
        try:
            batch: list[Msg] = conn.recv()
        except (EOFError, OSError):
            break
        replies: list[Msg] = []  # the pulls of this batch, answered in one message
        for kind, call_id, payload in batch:
            if kind == "exit":
                running = False
                break
            try:
                _handle(kind, call_id, payload, engines, factory, send, replies)
            except Exception as e:  # noqa: BLE001 - one call's failure must not stop the others
                log.exception("engine host: %s for call %s failed", kind, call_id)
                engines.pop(call_id, None)
                send(("error", call_id, f"{kind}: {e}"))
        if replies:
            send(*replies)
    for engine in engines.values():
        engine.hangup()


def _handle(
    kind: str,
    call_id: str,
    payload: Any,
    engines: dict[str, Any],
    factory: Any,
    send: Callable[..., None],
    replies: list[Msg],
) -> None:
    """One message from the SIP worker, in the engine host."""
    if kind == "open":
        ctx = CallContext(call_id=call_id, **payload)
        ctx.on_transfer = lambda t, c=call_id: send(("transfer", c, t))
        ctx.on_hangup = lambda outcome, c=call_id: send(("hangup", c, outcome))
        engine = engines[call_id] = factory(ctx)
        started = getattr(engine, "started", None)
        if started is None:
            send(("opened", call_id, None))
        else:  # answer once the call row is stored (see CallEngine.started), without blocking this loop
            threading.Thread(
                target=lambda: (started.wait(OPEN_WAIT_S), send(("opened", call_id, None))),
                name="engine-open",
                daemon=True,
            ).start()
        return
    engine = engines.get(call_id)
    if kind == "pull":
        replies.append(
            ("audio", call_id, exact_frame(engine.pull_audio(payload), payload) if engine else bytes(payload))
        )
    elif engine is None:
        return
    elif kind == "push":
        engine.push_audio(payload)
    elif kind == "dtmf":
        engine.dtmf(payload)
    elif kind == "transfer_result":
        getattr(engine, "transfer_result", lambda ok, d: None)(*payload)
    elif kind == "hangup":
        engines.pop(call_id).hangup()


__all__ = ["RemoteEngines", "RemoteEngine", "Transfer"]
