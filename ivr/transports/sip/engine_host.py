"""Call engines in a separate process from the PJSIP media clock.

Measured on these machines: any busy Python thread in the process that runs the pjsua2 bridge
clock delays its 20 ms ticks (they need the GIL), and the late ticks leave as RTP bursts that the
caller's jitter buffer drops.  So a SIP worker keeps only pjsua2 and byte copying; every call's
engine (VAD, Vosk, dialog, database) runs in this engine host, one per SIP worker.

SIP side (`RemoteEngines`): the media callbacks never block — `push_audio` and the pull request
are queued for a sender thread; `pull_audio` returns a frame the host already sent for that call
(a few frames are requested ahead to absorb pipe jitter; silence on underflow).
Host side (`serve_engines`): one loop that builds engines with the real factory and answers.

Wire format: every pipe message is a *list* of the typed messages of pipe.py.  The sender
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

from ivr.transports.media_call import CallContext, Engine, EngineFactory, when_started
from ivr.transports.sip.pipe import (
    Audio,
    Close,
    Ended,
    Exit,
    Failed,
    Fatal,
    Key,
    Open,
    Opened,
    Pull,
    Push,
    Ready,
    ToHost,
    ToWorker,
    TransferResult,
    Transferring,
)

log = logging.getLogger("ivr.sip")

ENGINE_NICE = 10  # CPU weight ~1:10 against the SIP process when both are busy
PREFETCH_FRAMES = 3  # bot audio requested ahead of the media clock (60 ms at 20 ms frames)
OPEN_WAIT_S = 10.0  # longest wait for a new call's row before answering anyway
# How long the sender collects after the first queued item: the bridge clock serves every call's
# port back to back (well under 1 ms), so 2 ms gathers one whole tick without adding audible delay.
BATCH_WAIT_S = 0.002
PR_SET_NAME = 15
PAGE_KIB = os.sysconf("SC_PAGE_SIZE") // 1024


def name_os_thread(name: str) -> None:
    """Name the calling thread for `top -H` / /proc (and bench/bench_sip.py's per-thread CPU)."""
    try:
        ctypes.CDLL(None).prctl(PR_SET_NAME, name.encode()[:15])
    except (OSError, AttributeError):
        pass


def exact_frame(pcm: bytes, n_bytes: int) -> bytes:
    """`pcm` cut or zero-padded to exactly n_bytes (the Engine contract; a short frame glitches)."""
    return pcm if len(pcm) == n_bytes else pcm[:n_bytes].ljust(n_bytes, b"\0")


def glibc_malloc_trim() -> Callable[[], int] | None:
    """glibc's `malloc_trim(0)`, or None where the C library has none (musl, macOS): only glibc
    exports the symbol."""
    try:
        fn = ctypes.CDLL(None).malloc_trim
    except (OSError, AttributeError):
        return None
    fn.argtypes = [ctypes.c_size_t]
    fn.restype = ctypes.c_int
    return lambda: int(fn(0))


def rss_mib() -> float:
    try:
        with open("/proc/self/statm") as f:
            return int(f.read().split()[1]) * PAGE_KIB / 1024
    except (OSError, IndexError, ValueError):
        return 0.0


class IdleTrim:
    """Gives the heap that ended calls freed back to the OS once no call has been open for `idle_s`
    (`sip_malloc_trim_idle_s`; 0 = never).

    Why: glibc keeps a freed heap's high-water mark mapped, so the engine host's RSS stepped up
    under load and stayed there although its Python objects were flat (BENCHMARKS.md "Soak").
    Why only when idle, from the host's message loop: the loop then has no call to serve, and a
    call arriving meanwhile waits in the pipe for at most one trim before its engine is built (it is
    ringing, no media yet).  One trim took 0.6-2.5 ms (median 1.1) on the ~305-313 MiB engine
    hosts of the 2000-call soak, releasing 3.9-8.1 MiB (42 trims; 1.0-3.4 ms on a ~400 MiB
    bench/soak_engine.py process) — cheap, but it walks every arena under its lock, so it
    never runs while a call is open.
    """

    def __init__(self, idle_s: float, trim: Callable[[], int] | None = None) -> None:
        self.idle_s = idle_s
        self.trim = (trim or glibc_malloc_trim()) if idle_s > 0 else None
        self.pending = True  # the start-up's garbage (model, grammars) is trimmed too
        self.idle_since: float | None = time.monotonic()
        self.calls = 0  # calls opened so far (in the log line)
        self.count = 0

    def describe(self) -> str:
        if self.idle_s <= 0:
            return "malloc_trim when idle: off (sip_malloc_trim_idle_s = 0)"
        if self.trim is None:
            return "malloc_trim when idle: unavailable (not glibc)"
        return f"malloc_trim when idle: after {self.idle_s:g} s without a call"

    def opened(self) -> None:
        self.calls += 1
        self.pending = True

    def after_batch(self, open_calls: int) -> None:
        if open_calls:
            self.idle_since = None
        elif self.idle_since is None:
            self.idle_since = time.monotonic()

    def wait_s(self, open_calls: int) -> float | None:
        """How long the loop may wait for the next message before trimming; None: no trim due."""
        if self.trim is None or not self.pending or open_calls or self.idle_since is None:
            return None
        return max(0.0, self.idle_since + self.idle_s - time.monotonic())

    def run(self) -> None:
        assert self.trim is not None and self.idle_since is not None
        idle = time.monotonic() - self.idle_since
        before, t0 = rss_mib(), time.perf_counter()
        self.trim()
        ms = (time.perf_counter() - t0) * 1000
        self.count += 1
        self.pending, self.idle_since = False, None
        log.info(
            "engine host %d: malloc_trim #%d after %.1f s without a call (%d calls so far): RSS %.1f -> %.1f MiB in %.1f ms",
            os.getpid(),
            self.count,
            idle,
            self.calls,
            before,
            rss_mib(),
            ms,
        )


# ---------------------------------------------------------------- SIP worker side


class RemoteEngine:
    """The Engine contract for one call, backed by the engine host."""

    def __init__(self, host: RemoteEngines, ctx: CallContext) -> None:
        self.host = host
        self.ctx = ctx
        self.id = ctx.call_id
        self.frames: deque[bytes] = deque()  # whole frames from the host; append/popleft are atomic
        self.primed = False
        self.started = threading.Event()  # the host has built the engine and stored the call row

    def push_audio(self, pcm16: bytes) -> None:
        self.host.send(Push(self.id, pcm16))

    def pull_audio(self, n_bytes: int) -> bytes:
        if not self.primed:
            self.primed = True
            for _ in range(PREFETCH_FRAMES):
                self.host.send(Pull(self.id, n_bytes))
        self.host.send(Pull(self.id, n_bytes))
        try:
            return self.frames.popleft()  # exactly n_bytes: the host sends one frame per pull
        except IndexError:
            return bytes(n_bytes)  # underflow (host late): silence

    def dtmf(self, digit: str) -> None:
        self.host.send(Key(self.id, digit))

    def transfer_result(self, ok: bool, detail: str = "") -> None:
        self.host.send(TransferResult(self.id, ok, detail))

    def hangup(self) -> None:
        self.host.send(Close(self.id))


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
        self._out: queue.SimpleQueue[ToHost] = queue.SimpleQueue()
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
        self.send(Open.of(ctx))
        return engine

    def send(self, msg: ToHost) -> None:
        self._out.put(msg)  # never blocks the media thread

    def close(self) -> None:
        self._closing = True
        self._out.put(Exit())
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
            for i, msg in enumerate(batch):
                if isinstance(msg, Exit):  # close(): send what came before it and the Exit, then stop
                    batch, running = batch[: i + 1], False
                    break
            try:
                self.conn.send(batch)
                self.sent_items += len(batch)
                self.sent_messages += 1
            except (OSError, ValueError):
                log.error("engine host pipe closed; dropping %d message(s)", len(batch))
                return
            for msg in batch:
                if isinstance(msg, Close):
                    self.calls.pop(msg.call_id, None)

    def _recv_loop(self) -> None:
        name_os_thread("engine-rx")
        while True:
            try:
                batch: list[ToWorker] = self.conn.recv()
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
            for msg in batch:
                if not self._dispatch(msg):
                    return

    def _dispatch(self, msg: ToWorker) -> bool:
        """Handle one message from the host; False once the host reported a fatal start-up error."""
        match msg:
            case Ready():
                self._ready.set()
            case Fatal(error):
                self._error = error
                self._ready.set()
                return False
            case Audio(call_id, pcm):
                if engine := self.calls.get(call_id):
                    engine.frames.append(pcm)
            case Opened(call_id):
                if engine := self.calls.get(call_id):
                    engine.started.set()
            case Transferring(call_id, transfer):
                if engine := self.calls.get(call_id):
                    engine.ctx.on_transfer(transfer)
            case Ended(call_id, outcome):
                if engine := self.calls.get(call_id):
                    engine.ctx.on_hangup(outcome)
            case Failed(call_id, error):
                log.error("call %s: engine failed: %s", call_id, error)
                if engine := self.calls.get(call_id):
                    engine.ctx.on_hangup("hangup")
        return True


# ---------------------------------------------------------------- engine host process


def serve_engines(
    conn: Connection, factory_spec: str | None, case_file: str | None = None, cases_path: str | None = None
) -> None:
    import sys

    from ivr.settings import load_settings
    from ivr.wiring import load_factory

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(levelname)s %(message)s", stream=sys.stderr)
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the worker decides when we stop (Ctrl-C hits the group)
    # Decoding may use every core; the SIP process (media clock, little CPU) must win the CPU when
    # both want it, or its 20 ms ticks come late even though it is a separate process.
    os.nice(ENGINE_NICE)
    send_lock = threading.Lock()

    def send(*msgs: ToWorker) -> None:
        with send_lock:  # engine threads (callbacks) and this loop both send
            try:
                conn.send(list(msgs))
            except (OSError, ValueError):
                pass

    try:
        settings = load_settings()
        factory = load_factory(factory_spec, settings, case_file, cases_path)
    except Exception as e:  # noqa: BLE001 - reported as one line by the worker
        send(Fatal(f"cannot build the call engine: {e}"))
        return
    trimmer = IdleTrim(settings.sip_malloc_trim_idle_s)
    log.info("engine host: %s", trimmer.describe())
    send(Ready())
    engines: dict[str, Engine] = {}
    running = True
    while running:
        # while a call is open this is None and the loop blocks in recv() as before
        if (wait := trimmer.wait_s(len(engines))) is not None and not conn.poll(wait):
            trimmer.run()
            continue
        try:
            batch: list[ToHost] = conn.recv()
        except (EOFError, OSError):
            break
        replies: list[ToWorker] = []  # the pulls of this batch, answered in one message
        for msg in batch:
            if isinstance(msg, Exit):
                running = False
                break
            if isinstance(msg, Open):
                trimmer.opened()
            try:
                _handle(msg, engines, factory, send, replies)
            except Exception as e:  # noqa: BLE001 - one call's failure must not stop the others
                log.exception("engine host: %s for call %s failed", type(msg).__name__, msg.call_id)
                engines.pop(msg.call_id, None)
                send(Failed(msg.call_id, f"{type(msg).__name__}: {e}"))
        if replies:
            send(*replies)
        trimmer.after_batch(len(engines))
    for engine in engines.values():
        engine.hangup()


def _handle(
    msg: ToHost,
    engines: dict[str, Engine],
    factory: EngineFactory,
    send: Callable[..., None],
    replies: list[ToWorker],
) -> None:
    """One message from the SIP worker, in the engine host."""
    match msg:
        case Open(call_id):
            ctx = msg.context()
            ctx.on_transfer = lambda t: send(Transferring(call_id, t))
            ctx.on_hangup = lambda outcome: send(Ended(call_id, outcome))
            engines[call_id] = built = factory(ctx)
            # answer once the call row is stored (Engine.started), without blocking this loop;
            # after OPEN_WAIT_S anyway (a slow database must not leave the caller ringing)
            when_started(built, lambda _in_time: send(Opened(call_id)), OPEN_WAIT_S)
        case Pull(call_id, n_bytes):
            replies.append(
                Audio(call_id, exact_frame(engine.pull_audio(n_bytes), n_bytes))
                if (engine := engines.get(call_id))
                else Audio(call_id, bytes(n_bytes))
            )
        case Push(call_id, pcm):
            if engine := engines.get(call_id):
                engine.push_audio(pcm)
        case Key(call_id, digit):
            if engine := engines.get(call_id):
                engine.dtmf(digit)
        case TransferResult(call_id, ok, detail):
            if engine := engines.get(call_id):
                engine.transfer_result(ok, detail)
        case Close(call_id):
            if engine := engines.pop(call_id, None):
                engine.hangup()


__all__ = ["IdleTrim", "RemoteEngines", "RemoteEngine", "glibc_malloc_trim"]
