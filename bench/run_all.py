"""Run the quick benchmarks one after another (each prints its own table).

The SIP and scale benchmarks start real peers and take minutes: run them on their own
(`bench/bench_sip.py`, `bench/bench_scale.py`, see BENCHMARKS.md)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
QUICK = ["bench_understand.py", "bench_dialog.py", "bench_audio.py", "bench_console.py"]


def main() -> int:
    failed = []
    for name in QUICK:
        print(f"\n=== {name}", flush=True)
        if subprocess.call([sys.executable, str(HERE / name)]) != 0:
            failed.append(name)
    if failed:
        print(f"\nfailed: {', '.join(failed)}", file=sys.stderr)
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
