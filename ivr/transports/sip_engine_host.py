"""Call engines in a separate process from the PJSIP media clock.

Measured on these machines: any busy Python thread in the process that runs the pjsua2 bridge
clock delays its 20 ms ticks (they need the GIL), and the late ticks leave as RTP bursts that the
caller's jitter buffer drops.  So a SIP worker keeps only pjsua2 and byte copying; every call's
engine (VAD, Vosk, dialog, database) runs in this engine host, one per SIP worker.

SIP side (`RemoteEngines`): the media callbacks never block — `push_audio` and the pull request
are queued for a sender thread; `pull_audio` returns what the host already sent for that call
(a few frames are requested ahead to absorb pipe jitter; silence on underflow).
Host side (`serve_engines`): one loop that builds engines with the real factory and answers.
"""

from __future__ import annotations

import logging
import multiprocessing as mp
import os
import queue
import signal
import threading
from multiprocessing.connection import Connection
from typing import Any, Callable

from ivr.events import Transfer
from ivr.transports.media_call import CallContext

log = logging.getLogger("ivr.sip")

ENGINE_NICE = 10  # CPU weight ~1:10 against the SIP process when both are busy
PREFETCH_FRAMES = 3  # bot audio requested ahead of the media clock (60 ms at 20 ms frames)


# ---------------------------------------------------------------- SIP worker side


class RemoteEngine:
    """The Engine contract for one call, backed by the engine host."""

    def __init__(self, host: "RemoteEngines", ctx: CallContext) -> None:
        self.host = host
        self.ctx = ctx
        self.id = ctx.call_id
        self.buf = bytearray()
        self.lock = threading.Lock()
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
        with self.lock:
            out = bytes(self.buf[:n_bytes])
            del self.buf[:n_bytes]
        return out.ljust(n_bytes, b"\0")

    def dtmf(self, digit: str) -> None:
        self.host.send(("dtmf", self.id, digit))

    def transfer_result(self, ok: bool, detail: str = "") -> None:
        self.host.send(("transfer_result", self.id, (ok, detail)))

    def hangup(self) -> None:
        self.host.send(("hangup", self.id, None))


class RemoteEngines:
    """Starts the engine host process and is the EngineFactory of the SIP server."""

    def __init__(self, factory_spec: str | None, case_file: str | None = None) -> None:
        ctx = mp.get_context("spawn")  # a fresh interpreter: no pjsua2 state inherited
        self.conn, child = ctx.Pipe(duplex=True)
        self.proc = ctx.Process(target=serve_engines, args=(child, factory_spec, case_file), name="engine-host", daemon=True)
        self.proc.start()
        child.close()
        self.calls: dict[str, RemoteEngine] = {}
        self._out: queue.SimpleQueue[tuple | None] = queue.SimpleQueue()
        self._ready = threading.Event()
        self._error: str | None = None
        self._closing = False
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
        self.send(("open", ctx.call_id, {"transport": ctx.transport, "rate": ctx.rate,
                                         "caller_number": ctx.caller_number, "worker": ctx.worker}))
        return engine

    def send(self, msg: tuple) -> None:
        self._out.put(msg)  # never blocks the media thread

    def close(self) -> None:
        self._closing = True
        self._out.put(None)
        self.proc.join(5)
        if self.proc.is_alive():
            self.proc.terminate()

    def _send_loop(self) -> None:
        while (msg := self._out.get()) is not None:
            try:
                self.conn.send(msg)
            except (OSError, ValueError):
                log.error("engine host pipe closed; dropping %s", msg[0])
                return
            if msg[0] == "hangup":
                self.calls.pop(msg[1], None)
        try:
            self.conn.send(("exit", "", None))
        except (OSError, ValueError):
            pass

    def _recv_loop(self) -> None:
        while True:
            try:
                kind, call_id, payload = self.conn.recv()
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
            if kind == "ready":
                self._ready.set()
                continue
            if kind == "fatal":
                self._error = payload
                self._ready.set()
                return
            engine = self.calls.get(call_id)
            if engine is None:
                continue
            if kind == "opened":
                engine.mark_opened()
            elif kind == "audio":
                with engine.lock:
                    engine.buf += payload
            elif kind == "transfer":
                engine.ctx.on_transfer(payload)
            elif kind == "hangup":
                engine.ctx.on_hangup(payload)
            elif kind == "error":
                log.error("call %s: engine failed: %s", call_id, payload)
                engine.ctx.on_hangup("hangup")


# ---------------------------------------------------------------- engine host process


def serve_engines(conn: Connection, factory_spec: str | None, case_file: str | None = None) -> None:
    import sys

    from ivr.settings import load_settings
    from ivr.transports.sip_worker import load_factory

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(levelname)s %(message)s", stream=sys.stderr)
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the worker decides when we stop (Ctrl-C hits the group)
    # Decoding may use every core; the SIP process (media clock, little CPU) must win the CPU when
    # both want it, or its 20 ms ticks come late even though it is a separate process.
    os.nice(ENGINE_NICE)
    send_lock = threading.Lock()

    def send(msg: tuple) -> None:
        with send_lock:  # engine threads (callbacks) and this loop both send
            try:
                conn.send(msg)
            except (OSError, ValueError):
                pass

    try:
        factory = load_factory(factory_spec, load_settings(), case_file)
    except Exception as e:  # noqa: BLE001 - reported as one line by the worker
        send(("fatal", "", f"cannot build the call engine: {e}"))
        return
    send(("ready", "", None))
    engines: dict[str, Any] = {}
    while True:
        try:
            kind, call_id, payload = conn.recv()
        except (EOFError, OSError):
            break
        if kind == "exit":
            break
        try:
            if kind == "open":
                ctx = CallContext(call_id=call_id, **payload)
                ctx.on_transfer = lambda t, c=call_id: send(("transfer", c, t))
                ctx.on_hangup = lambda outcome, c=call_id: send(("hangup", c, outcome))
                engines[call_id] = factory(ctx)
                send(("opened", call_id, None))
                continue
            engine = engines.get(call_id)
            if engine is None:
                if kind == "pull":
                    send(("audio", call_id, b"\0" * payload))
                continue
            if kind == "push":
                engine.push_audio(payload)
            elif kind == "pull":
                send(("audio", call_id, engine.pull_audio(payload)))
            elif kind == "dtmf":
                engine.dtmf(payload)
            elif kind == "transfer_result":
                getattr(engine, "transfer_result", lambda ok, d: None)(*payload)
            elif kind == "hangup":
                engines.pop(call_id).hangup()
        except Exception as e:  # noqa: BLE001 - one call's failure must not stop the others
            log.exception("engine host: %s for call %s failed", kind, call_id)
            engines.pop(call_id, None)
            send(("error", call_id, f"{kind}: {e}"))
    for engine in engines.values():
        engine.hangup()


__all__ = ["RemoteEngines", "RemoteEngine", "Transfer"]
