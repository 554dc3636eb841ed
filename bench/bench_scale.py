"""Concurrent SIP calls through Kamailio: how many are answered, and how evenly the workers share them.

    .venv/bin/python bench/bench_scale.py [--calls 40] [--concurrent 8] [--hold-ms 3000]
        [--workers sipp|ivr] [--worker-count 2]      # a local balancer + local workers, or
        [--proxy HOST:PORT]                          # an existing balancer (e.g. a staging site)

Local mode starts Kamailio with deploy/kamailio/kamailio.cfg on 127.0.0.1 and a generated
dispatcher list over `--worker-count` workers: sipp UAS stand-ins (`--workers sipp`, measures the
balancer alone) or one real `ivr serve --sip-workers K` (`--workers ivr`; uses IVR_DB_URL /
IVR_DATA_DIR of the environment; run `ivr prompts build` first).  The callers are sipp
(deploy/sipp/uac.xml), at most `--concurrent` calls up at once, each held `--hold-ms`.

Prints: answered / completed / failed, calls per worker (spread), answer delay p50/p95/max
(INVITE → 200 OK, ms) and the achieved call rate.  Each worker holds at most 4 calls, so more than
4 × workers concurrent calls must show failures: that is the capacity line to read.
The bot's first-audio latency per call (from the callers' recordings) is a later section: see
`report_media_latency`.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from contextlib import ExitStack
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "tests" / "scale"))  # the SIP process helpers live with the scale tests

from sip_site import (  # noqa: E402
    CallerRun,
    Callers,
    IvrServe,
    Kamailio,
    SippWorker,
    free_tcp_port,
    free_udp_ports,
    missing_tools,
    wait_for,
)

from ivr.dispatch import parse_worker, worker_range  # noqa: E402


def start_local_site(stack: ExitStack, workdir: Path, kind: str, count: int) -> str:
    """Kamailio + `count` workers on 127.0.0.1; returns the balancer's HOST:PORT."""
    ports = free_udp_ports(count + 1)
    kam_port = ports.pop()
    if kind == "sipp":
        stand_ins = [SippWorker(workdir, p) for p in ports]
        for w in stand_ins:
            stack.callback(w.stop)
        workers = [w.worker for w in stand_ins]
    else:
        # one `ivr serve` with K SIP worker processes on base, base+2, ... (ports must be free)
        base = ports[0]
        workers = worker_range("127.0.0.1", base, count)
        serve = IvrServe(
            workdir, "ivr-serve", ["--sip", f"127.0.0.1:{base}", "--sip-workers", str(count)], {}, free_tcp_port()
        )
        stack.callback(serve.stop)
        wait_for(serve.healthy, 120, interval=0.5, what="`ivr serve` healthy")
    kam = stack.enter_context(Kamailio(workdir, workers, kam_port))
    wait_for(
        lambda: all(f.startswith("A") for f in kam.destinations().values()),
        30,
        what="all workers active in the dispatcher",
    )
    return f"127.0.0.1:{kam_port}"


# ---------------------------------------------------------------- report sections


def report_calls(run: CallerRun, args: argparse.Namespace, seconds: float) -> None:
    failed = args.calls - run.completed
    print(
        f"calls       placed={args.calls} answered={run.answered} completed={run.completed} failed={failed} "
        f"({args.calls / seconds:.1f} calls/s over {seconds:.1f} s, at most {args.concurrent} up at once)"
    )


def report_spread(run: CallerRun, args: argparse.Namespace, seconds: float) -> None:
    spread = run.spread()
    if not spread:
        print("spread      no call answered")
        return
    mean = sum(spread.values()) / len(spread)
    for worker, n in sorted(spread.items()):
        print(f"spread      {worker:<22} {n:5d} calls  ({n / mean:4.2f} × mean)")


def report_answer_delay(run: CallerRun, args: argparse.Namespace, seconds: float) -> None:
    delays = sorted(
        c.answered_ms - c.invite_ms for c in run.calls.values() if c.answered_ms is not None and c.invite_ms is not None
    )
    if delays:
        p95 = delays[min(len(delays) - 1, int(len(delays) * 0.95))]
        print(
            f"answer      INVITE→200 p50={statistics.median(delays):.0f} ms  p95={p95} ms  max={delays[-1]} ms  (n={len(delays)})"
        )


def report_media_latency(run: CallerRun, args: argparse.Namespace, seconds: float) -> None:
    # Later: callers that record what they hear (the telephony engineer's recordings-based probe)
    # give time-to-first-prompt-audio and turn latency per call; add them here from run/workdir.
    print("media       first-audio / turn latency: not measured yet (needs recording callers)")


SECTIONS: list[Callable[[CallerRun, argparse.Namespace, float], None]] = [
    report_calls,
    report_spread,
    report_answer_delay,
    report_media_latency,
]


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--calls", type=int, default=40)
    ap.add_argument("--concurrent", type=int, default=8, help="calls up at the same time (sipp -l)")
    ap.add_argument("--rate", type=float, default=None, help="new calls per second (default: --concurrent)")
    ap.add_argument("--hold-ms", type=int, default=3000)
    ap.add_argument("--proxy", help="HOST:PORT of an existing balancer; default: start one locally")
    ap.add_argument("--workers", choices=("sipp", "ivr"), default="sipp")
    ap.add_argument("--worker-count", type=int, default=2)
    args = ap.parse_args()
    if missing := missing_tools():
        print(f"bench_scale: missing {', '.join(missing)} (apt-get install kamailio sip-tester)", file=sys.stderr)
        return 2
    with tempfile.TemporaryDirectory(prefix="bench-scale-") as tmp, ExitStack() as stack:
        workdir = Path(tmp)
        if args.proxy:
            proxy = parse_worker(args.proxy).hostport
            where = f"balancer {proxy}"
        else:
            proxy = start_local_site(stack, workdir, args.workers, args.worker_count)
            where = f"local kamailio + {args.worker_count} {args.workers} workers"
        print(f"bench_scale: {args.calls} calls, {args.concurrent} concurrent, hold {args.hold_ms} ms, {where}")
        t0 = time.monotonic()
        callers = Callers(
            workdir, proxy, args.calls, args.rate or args.concurrent, args.hold_ms, concurrent=args.concurrent
        )
        run = callers.wait(timeout=120 + args.calls * (args.hold_ms / 1000 + 1))
        seconds = time.monotonic() - t0
        for section in SECTIONS:
            section(run, args, seconds)
    return 0 if run.completed == args.calls else 1


if __name__ == "__main__":
    sys.exit(main())
