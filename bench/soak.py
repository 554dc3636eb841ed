"""Bounded soak: many SIP calls in rounds through Kamailio into real `ivr serve` SIP workers, with the
memory (RSS) and open file descriptors of every process of the site before and after.

    .venv/bin/python bench/soak.py [--calls 500] [--round 50] [--concurrent 8] [--workers 2]
                                   [--hold-ms 1000] [--warmup 8] [--json OUT.json]

Starts, on 127.0.0.1 in a temporary directory (own SQLite database and data directory unless
IVR_DB_URL / IVR_DATA_DIR are set): one `ivr serve --sip-workers W` (its SIP worker processes and
their engine hosts are its children), and Kamailio with deploy/kamailio/kamailio.cfg over those
workers.  The callers are sipp with deploy/sipp/uac_speech.xml: every call speaks 7 s of PCMA speech,
presses 1 and hangs up `--hold-ms` later, at most `--concurrent` calls at once.

A warm-up round (`--warmup` calls: prompt cache, model, first-call allocations) runs before the
baseline is taken; then `--calls` calls in rounds of `--round`.  After each round it waits until
every call is closed in the database and the processes settle, and samples every process:
VmRSS from /proc/PID/status and the number of entries of /proc/PID/fd.  Prints one line per round
and a per-process table: baseline, end, growth, growth per 100 calls and growth over the second half
(a leak keeps its slope; warm-up does not), and what any new open descriptors point at.  The
default pause before a sample outlasts the engine hosts' idle trim (`sip_malloc_trim_idle_s` + 2 s),
so a sample shows what they keep, not freed heap glibc has not returned yet; the trims' log lines
are summarised at the end.  Exit 1 if a measured call failed, or a warm-up call was not stored and
closed (a warm-up call sipp did not complete, e.g. on a cold start, is reported with sipp's errors).
"""

from __future__ import annotations

import argparse
import json
import os
import re
import sys
import tempfile
import time
from collections import Counter
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(REPO / "tests" / "scale"), str(REPO / "tests" / "telephony")]  # SIP process helpers

from helpers import children  # noqa: E402
from sip_site import (  # noqa: E402
    Callers,
    IvrServe,
    Kamailio,
    free_tcp_port,
    free_udp_ports,
    missing_tools,
    wait_for,
)

from ivr.dispatch import worker_range  # noqa: E402
from ivr.settings import load_settings  # noqa: E402

SCENARIO = REPO / "deploy" / "sipp" / "uac_speech.xml"
SIPP_PCAPS = Path("/usr/share/sip-tester")


@dataclass(frozen=True)
class Sample:
    rss_kib: int
    fds: int


def _tree(pid: int) -> list[int]:
    out, todo = [], [pid]
    while todo:
        p = todo.pop()
        out.append(p)
        todo.extend(children(p))
    return out


def _label(pid: int) -> str:
    try:
        argv = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
    except OSError:
        return "?"
    text = " ".join(a.decode(errors="replace") for a in argv if a)
    if "kamailio" in text:
        return "kamailio"
    # a SIP worker's children started by multiprocessing's spawn: its engine host and the tracker
    if "spawn_main" in text:
        return "engine-host"
    if "resource_tracker" in text:
        return "mp-resource-tracker"
    for marker, name in (("engine_host", "engine-host"), ("sip.worker", "sip-worker"), ("serve", "ivr-serve")):
        if marker in text:
            listen = next((a.decode() for a in argv if a.startswith(b"127.0.0.1:")), "")
            return f"{name} {listen}".strip()
    return os.path.basename(argv[0].decode(errors="replace")) or "?"


def sample(pid: int) -> Sample | None:
    try:
        status = Path(f"/proc/{pid}/status").read_text()
        rss = int(next(line.split()[1] for line in status.splitlines() if line.startswith("VmRSS:")))
        return Sample(rss, len(os.listdir(f"/proc/{pid}/fd")))
    except (OSError, StopIteration, ValueError):
        return None


def fd_kinds(pid: int) -> Counter[str]:
    """What the open descriptors of `pid` point at, by kind (socket, pipe, an anon inode, a file path)."""
    kinds: Counter[str] = Counter()
    try:
        names = os.listdir(f"/proc/{pid}/fd")
    except OSError:
        return kinds
    for name in names:
        try:
            target = os.readlink(f"/proc/{pid}/fd/{name}")
        except OSError:
            continue
        # socket:[123] / pipe:[456] differ per descriptor; the kind is what a leak would repeat
        kinds[target.split(":[", 1)[0] if ":[" in target else target] += 1
    return kinds


def snapshot(roots: list[int]) -> dict[str, tuple[int, Sample]]:
    """{label#pid: (pid, sample)} of every process under `roots`."""
    snap = {}
    for root in roots:
        for pid in _tree(root):
            s = sample(pid)
            if s is not None:
                snap[f"{_label(pid)} [{pid}]"] = (pid, s)
    return snap


def closed_calls(db_url: str) -> int:
    from sqlalchemy import func, select

    from ivr.store import Call, Store

    store = Store(db_url)
    try:
        with store.session() as s:
            return int(s.scalar(select(func.count()).select_from(Call).where(Call.ended_at.is_not(None))) or 0)
    finally:
        store.engine.dispose()


TRIM_LINE = re.compile(
    r"engine host (\d+): malloc_trim #\d+ after [\d.]+ s without a call \((\d+) calls so far\): "
    r"RSS ([\d.]+) -> ([\d.]+) MiB in ([\d.]+) ms"
)


def trim_summary(log_text: str) -> str:
    """The engine hosts' idle malloc_trim log lines (ivr/transports/sip/engine_host.py IdleTrim), per host."""
    hosts: dict[str, list[tuple[float, ...]]] = {}
    for pid, *values in TRIM_LINE.findall(log_text):
        hosts.setdefault(pid, []).append(tuple(map(float, values)))
    if not hosts:
        return "engine hosts' idle malloc_trim: none logged (sip_malloc_trim_idle_s = 0, not glibc, or never idle)"
    lines = ["engine hosts' idle malloc_trim:"]
    for pid, rows in hosts.items():
        ms = sorted(r[3] for r in rows)
        freed = sorted(r[1] - r[2] for r in rows)
        lines.append(
            f"  engine host [{pid}]: {len(rows)} trims, {ms[len(ms) // 2]:.1f} ms median, {ms[-1]:.1f} ms max; "
            f"released {freed[len(freed) // 2]:.1f} MiB median, {freed[-1]:.1f} MiB max; RSS after the trims "
            f"(calls so far): " + ", ".join(f"{r[2]:.1f} ({r[0]:.0f})" for r in rows)
        )
    return "\n".join(lines)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--calls", type=int, default=500, help="measured calls (after the warm-up)")
    ap.add_argument("--round", type=int, default=50, help="calls per round (a sample after each)")
    ap.add_argument("--concurrent", type=int, default=8, help="calls up at once (<= 4 x workers)")
    ap.add_argument("--workers", type=int, default=2, help="SIP worker processes of the one `ivr serve`")
    ap.add_argument("--hold-ms", type=int, default=1000, help="after the 7.5 s of speech and the key")
    ap.add_argument("--warmup", type=int, default=8)
    trim_idle_s = load_settings().sip_malloc_trim_idle_s
    ap.add_argument(
        "--settle-s",
        type=float,
        default=max(3.0, trim_idle_s + 2),
        help="pause after a round before sampling (default: after the engine hosts' idle malloc_trim)",
    )
    ap.add_argument("--json", type=Path, help="write every sample here")
    ap.add_argument("--ready-s", type=float, default=600, help="wait this long for `ivr serve` (a loaded machine)")
    args = ap.parse_args()
    if missing := missing_tools():
        print(f"soak: missing {', '.join(missing)} (apt-get install kamailio sip-tester)", file=sys.stderr)
        return 2
    if args.concurrent > 4 * args.workers:
        print(f"soak: --concurrent {args.concurrent} > 4 x --workers {args.workers}: calls would be refused")
        return 2

    with tempfile.TemporaryDirectory(prefix="soak-") as tmp, ExitStack() as stack:
        work = Path(tmp)
        (work / "pcap").symlink_to(SIPP_PCAPS)
        env = {
            "IVR_DATA_DIR": os.environ.get("IVR_DATA_DIR", str(work / "data")),
            "IVR_DB_URL": os.environ.get("IVR_DB_URL", f"sqlite:///{work / 'soak.sqlite3'}"),
        }
        ports = free_udp_ports(2)
        base, kam_port = ports
        serve = IvrServe(
            work,
            "ivr-serve",
            ["--sip", f"127.0.0.1:{base}", "--sip-workers", str(args.workers)],
            env,
            free_tcp_port(),
        )
        stack.callback(serve.stop)
        wait_for(serve.healthy, args.ready_s, interval=0.5, what="`ivr serve` healthy")
        kam = stack.enter_context(Kamailio(work, worker_range("127.0.0.1", base, args.workers), kam_port))
        wait_for(lambda: all(f.startswith("A") for f in kam.destinations().values()), 30, what="workers active")
        proxy = f"127.0.0.1:{kam_port}"
        roots = [serve.proc.pid, kam.proc.pid]
        per_call_s = 7.5 + args.hold_ms / 1000

        def run(n: int, name: str) -> tuple[int, int]:
            callers = Callers(
                work, proxy, n, rate=args.concurrent, hold_ms=args.hold_ms, concurrent=args.concurrent,
                name=name, scenario=SCENARIO, timeout_s=int(60 + n * per_call_s / args.concurrent * 2),
            )  # fmt: skip
            result = callers.wait(timeout=60 + n * per_call_s)
            if result.completed < n:
                print(f"soak: {name}: {n - result.completed} of {n} call(s) not completed; sipp's errors:")
                print("  " + callers.errors().strip().replace("\n", "\n  "))
            return result.answered, result.completed

        def settle(expected_closed: int) -> None:
            try:
                wait_for(
                    lambda: closed_calls(env["IVR_DB_URL"]) >= expected_closed, 30, interval=0.5, what="calls closed"
                )
            except TimeoutError as e:
                print(f"soak: {e} ({closed_calls(env['IVR_DB_URL'])} of {expected_closed})")
            time.sleep(args.settle_s)

        print(
            f"soak: {args.warmup} warm-up + {args.calls} calls in rounds of {args.round}, {args.concurrent} at once, "
            f"{args.workers} SIP workers, ~{per_call_s:.1f} s per call; machine: {os.cpu_count()} CPU, "
            f"load {os.getloadavg()[0]:.1f}; samples {args.settle_s:g} s after a round"
        )
        answered, completed = run(args.warmup, "warmup")
        settle(args.warmup)
        # A warm-up call sipp did not complete (cold start: prompt cache, model) is not a failure of
        # the soak if the bot stored and closed it; one it never stored or closed is.
        warm_closed = closed_calls(env["IVR_DB_URL"])
        warm_failed = 0 if warm_closed >= args.warmup else args.warmup - warm_closed
        verdict = "" if completed == args.warmup else "; not a failure" if not warm_failed else "; FAILED"
        print(
            f"warm-up: {answered}/{args.warmup} answered, {completed}/{args.warmup} completed by sipp, "
            f"{warm_closed} stored and closed (not measured{verdict})"
        )
        baseline = snapshot(roots)
        baseline_fds = {key: fd_kinds(pid) for key, (pid, _) in baseline.items()}
        history = [{"calls": 0, **{k: vars(s) for k, (_, s) in baseline.items()}}]
        rss_after: list[tuple[int, dict[str, int]]] = []  # (calls done, RSS KiB per process) after each round
        done, failed, t0 = 0, warm_failed, time.monotonic()
        while done < args.calls:
            n = min(args.round, args.calls - done)
            answered, completed = run(n, f"round{done // args.round + 1}")
            done += n
            failed += n - completed
            settle(args.warmup + done)
            snap = snapshot(roots)
            history.append({"calls": done, **{k: vars(s) for k, (_, s) in snap.items()}})
            rss_after.append((done, {k: s.rss_kib for k, (_, s) in snap.items()}))
            rss = sum(s.rss_kib for _, s in snap.values()) / 1024
            fds = sum(s.fds for _, s in snap.values())
            print(
                f"round  calls={done:5d}  answered {answered}/{n} completed {completed}/{n}  "
                f"total RSS {rss:8.1f} MiB  fds {fds:5d}  processes {len(snap)}  t={time.monotonic() - t0:6.0f} s"
            )

        end = snapshot(roots)
        half = next(
            rss for calls, rss in rss_after if calls >= done / 2
        )  # growth after the first half: warm-up is over by then
        print(
            f"\n{'process':<34} {'RSS before':>11} {'RSS after':>10} {'growth':>9} {'/100 calls':>10} "
            f"{'2nd half':>9}   fds before/after"
        )
        for key in sorted(set(baseline) | set(end)):
            b, a = baseline.get(key), end.get(key)
            if b is None or a is None:
                print(f"{key:<34} {'(started during the soak)' if b is None else '(gone by the end)'}")
                continue
            grow = a[1].rss_kib - b[1].rss_kib
            mid = half.get(key, b[1].rss_kib)
            print(
                f"{key:<34} {b[1].rss_kib / 1024:9.1f} M {a[1].rss_kib / 1024:8.1f} M {grow / 1024:+7.1f} M "
                f"{grow / 1024 * 100 / max(done, 1):+8.2f} M {(a[1].rss_kib - mid) / 1024:+7.1f} M   "
                f"{b[1].fds:4d} -> {a[1].fds:4d} ({a[1].fds - b[1].fds:+d})"
            )
            delta = fd_kinds(a[0]) - baseline_fds.get(key, Counter())
            if delta:
                print(f"{'':<36}new fds: " + ", ".join(f"{kind} x{n}" for kind, n in delta.most_common()))
        print(
            f"\ncalls: {args.warmup + done} placed, {failed} failed (measured calls not completed, warm-up calls "
            f"not stored and closed); stored and closed: {closed_calls(env['IVR_DB_URL'])}"
        )
        print(trim_summary(serve.log.read_text(errors="replace")))
        if args.json:
            args.json.write_text(json.dumps(history, indent=1))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
