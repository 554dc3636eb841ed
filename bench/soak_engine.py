"""In-process soak of the engine host's call path: what grows per call, and is it a leak?

    PYTHONPATH=$PWD .venv/bin/python bench/soak_engine.py [--calls 600] [--every 100] [--concurrent 4]
                                                         [--trace 25] [--no-trim]

bench/soak.py measures whole processes over SIP; this drives, in one process, the same engine
factory the SIP engine host builds (`ivr.wiring.load_factory(None, settings)`, own temporary data
dir and SQLite database) with the same caller as deploy/sipp/uac_speech.xml: sipp's 7 s PCMA speech
from the answer on, key 1 at 7.5 s, hang-up at 8.5 s, in 20 ms lock-step (push, pull), faster than
real time.  `--concurrent` calls run at once on their own threads (the soak has ~4 per engine host).

After a warm-up and then every `--every` calls it samples: VmRSS, Python heap in use
(tracemalloc, when `--trace N` is given: N frames per traceback), live objects per type (gc), and
RSS again after glibc `malloc_trim(0)` (what the allocator held but no longer used), and SQLite's
own heap (`sqlite3_memory_used`: the pooled connections' page caches).  Run it with
MALLOC_ARENA_MAX=2 to see how much of the growth is glibc's per-thread arenas.  At the end it
prints the top allocation growth between the first and last sample, grouped by file:line.
"""

from __future__ import annotations

import argparse
import ctypes
import gc
import os
import struct
import sys
import tempfile
import threading
import time
import tracemalloc
from collections import Counter
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
PCAP = Path("/usr/share/sip-tester/g711a.pcap")
RATE = 8000
FRAME = 320  # 20 ms of 16-bit mono at 8 kHz
KEY_AT_S, HANGUP_AT_S = 7.5, 8.5  # deploy/sipp/uac_speech.xml with --hold-ms 1000


def pcap_speech(path: Path) -> bytes:
    """The PCMA payloads of sipp's RTP capture as 8 kHz PCM16 (Ethernet/IPv4/UDP/RTP, no options)."""
    from ivr.codec import alaw_decode

    data = path.read_bytes()
    off, out = 24, []
    while off + 16 <= len(data):
        incl = struct.unpack("<IIII", data[off : off + 16])[2]
        out.append(data[off + 16 + 14 + 20 + 8 + 12 : off + 16 + incl])
        off += 16 + incl
    return alaw_decode(b"".join(out))


def rss_kib() -> int:
    status = Path("/proc/self/status").read_text()
    return int(next(line.split()[1] for line in status.splitlines() if line.startswith("VmRSS:")))


def malloc_trim() -> bool:
    try:
        return bool(ctypes.CDLL("libc.so.6").malloc_trim(0))
    except (OSError, AttributeError):
        return False


def sqlite_heap_kib() -> int:
    """SQLite's own heap (page caches of the pooled connections...), from the library Python uses."""
    try:
        lib = ctypes.CDLL("libsqlite3.so.0")
        lib.sqlite3_memory_used.restype = ctypes.c_int64
        return int(lib.sqlite3_memory_used()) // 1024
    except (OSError, AttributeError):
        return -1


def one_call(factory, speech: bytes) -> str:  # noqa: ANN001 - an EngineFactory
    from ivr.transports.media_call import CallContext

    ended = threading.Event()
    ctx = CallContext(transport="sip", rate=RATE, caller_number="10086", worker="soak-engine")
    ctx.on_hangup = lambda outcome: ended.set()
    engine = factory(ctx)
    engine.started.wait(10)
    ticks = int(HANGUP_AT_S / 0.02)
    for i in range(ticks):
        frame = speech[i * FRAME : (i + 1) * FRAME].ljust(FRAME, b"\0")
        engine.push_audio(frame)
        engine.pull_audio(FRAME)
        if i == int(KEY_AT_S / 0.02):
            engine.dtmf("1")
        if i % 5 == 0:
            engine.wait_idle(10)  # lock-step without racing minutes ahead of the worker
        if ended.is_set():
            break
    engine.hangup()
    engine.join(10)
    return engine.outcome or "?"


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--calls", type=int, default=600)
    ap.add_argument("--every", type=int, default=100, help="sample after this many calls")
    ap.add_argument("--warmup", type=int, default=20)
    ap.add_argument("--concurrent", type=int, default=4)
    ap.add_argument("--trace", type=int, default=0, help="tracemalloc with N frames (0: off)")
    ap.add_argument("--no-trim", action="store_true", help="do not call malloc_trim(0) at samples")
    ap.add_argument("--top", type=int, default=15)
    args = ap.parse_args()

    tmp = tempfile.mkdtemp(prefix="soak-engine-")
    os.environ["IVR_DATA_DIR"] = str(Path(tmp) / "data")
    os.environ["IVR_DB_URL"] = f"sqlite:///{tmp}/soak.sqlite3"
    import logging

    logging.basicConfig(level=logging.WARNING)
    from ivr.settings import load_settings
    from ivr.wiring import load_factory

    factory = load_factory(None, load_settings())
    speech = pcap_speech(PCAP)
    outcomes: Counter[str] = Counter()

    def run(n: int) -> None:
        left = [n]
        lock = threading.Lock()

        def worker() -> None:
            while True:
                with lock:
                    if left[0] <= 0:
                        return
                    left[0] -= 1
                out = one_call(factory, speech)
                with lock:
                    outcomes[out] += 1

        threads = [threading.Thread(target=worker) for _ in range(args.concurrent)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()

    run(args.warmup)
    if args.trace:
        tracemalloc.start(args.trace)
    rows, snaps = [], []

    def sample(done: int) -> None:
        gc.collect()
        time.sleep(0.5)  # daemon threads of ended calls exit
        types = Counter(type(o).__name__ for o in gc.get_objects())
        heap = tracemalloc.get_traced_memory()[0] if args.trace else 0
        before = rss_kib()
        t_trim = time.perf_counter()
        trimmed = before if args.no_trim else (malloc_trim(), rss_kib())[1]
        trim_ms = (time.perf_counter() - t_trim) * 1000
        rows.append(
            (done, before, trimmed, heap, sum(types.values()), threading.active_count(), types, sqlite_heap_kib())
        )
        if args.trace:
            snaps.append(tracemalloc.take_snapshot().filter_traces([tracemalloc.Filter(False, tracemalloc.__file__)]))
        print(
            f"calls={done:5d}  RSS {before / 1024:7.1f} MiB  after malloc_trim {trimmed / 1024:7.1f} MiB ({trim_ms:.1f} ms)  "
            f"py heap {heap / 2**20:6.2f} MiB  sqlite heap {rows[-1][7] / 1024:5.2f} MiB  gc objects {rows[-1][4]:8d}  threads {rows[-1][5]}  "
            f"t={time.monotonic() - t0:5.0f} s",
            flush=True,
        )

    t0 = time.monotonic()
    sample(0)
    done = 0
    while done < args.calls:
        n = min(args.every, args.calls - done)
        run(n)
        done += n
        sample(done)

    first, last = rows[1] if len(rows) > 2 else rows[0], rows[-1]
    span = max(last[0] - first[0], 1)
    print(
        f"\nfrom call {first[0]} to {last[0]}: RSS {(last[1] - first[1]) / span:+.2f} KiB/call, "
        f"after trim {(last[2] - first[2]) / span:+.2f} KiB/call, py heap {(last[3] - first[3]) / 1024 / span:+.2f} KiB/call, "
        f"sqlite heap {(last[7] - first[7]) / span:+.2f} KiB/call, gc objects {(last[4] - first[4]) / span:+.2f}/call"
    )
    grown = (last[6] - first[6]).most_common(args.top)
    print("object types grown:", ", ".join(f"{k} +{v}" for k, v in grown) or "none")
    if len(snaps) >= 2:
        a = snaps[1] if len(snaps) > 2 else snaps[0]
        for stat in snaps[-1].compare_to(a, "lineno")[: args.top]:
            print(f"  {stat.size_diff / 1024:+9.1f} KiB {stat.count_diff:+7d} blocks  {stat.traceback[0]}")
    print(f"outcomes: {dict(outcomes)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
