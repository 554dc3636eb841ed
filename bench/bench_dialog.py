"""How long the brain takes per caller turn, with and without the durable records.

    .venv/bin/python bench/bench_dialog.py [--calls N]

Prints per-turn latency (p50/p95/max, ms) of Dialog.handle alone (understanding + flow + prompt
rendering) and of CallSession.handle (the same plus SQLite writes of the turn and call row), and
the time to commit an escalation.  Target: p95 well under 50 ms per turn, so the brain is never
noticeable next to ASR end-pointing (hundreds of ms).
"""

from __future__ import annotations

import argparse
import datetime as dt
import statistics
import tempfile
import time
from pathlib import Path

from ivr.case import Case
from ivr.cli.records import parse_lines
from ivr.dialog import Dialog
from ivr.grammar import load_grammars
from ivr.prompts import PromptBook
from ivr.session import CallSession
from ivr.store import Store
from ivr.understanding import Understander

REPO = Path(__file__).resolve().parent.parent
NOW = dt.datetime(2026, 11, 18, 10, 30)
HAPPY = [
    "是我",
    "知道的",
    "我现在跑外卖，算兼职",
    "一个月大概三千块",
    "房租，还有看病吃药",
    "没有了",
    "上个月刚失业了",
    "分六期吧",
    "下周五",
]
ESCALATE = ["是我", "你们好烦啊", "怎么又打来了"]


def _stats(name: str, ms: list[float]) -> None:
    ms = sorted(ms)
    p95 = ms[min(len(ms) - 1, int(len(ms) * 0.95))]
    print(f"{name:<34} n={len(ms):<5} p50={statistics.median(ms):6.2f} ms  p95={p95:6.2f} ms  max={ms[-1]:6.2f} ms")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--calls", type=int, default=50)
    args = ap.parse_args()
    grammars = load_grammars(REPO / "grammars")
    book = PromptBook.load(REPO / "audio_prompts")
    nlu = Understander(grammars)

    def dialog(seed: int) -> Dialog:
        return Dialog(Case(), grammars, book, NOW, understander=nlu, seed=seed)

    pure: list[float] = []
    for i in range(args.calls):
        d = dialog(i)
        d.start()
        for inp in parse_lines(HAPPY):
            t0 = time.perf_counter()
            d.handle(inp)
            pure.append((time.perf_counter() - t0) * 1000)

    stored: list[float] = []
    escalation: list[float] = []
    with tempfile.TemporaryDirectory() as tmp:
        store = Store(f"sqlite:///{tmp}/bench.sqlite3")
        for i in range(args.calls):
            for script, sink in ((HAPPY, stored), (ESCALATE, escalation)):
                s = CallSession(store, dialog(i))
                s.start()
                inputs = parse_lines(script)
                for n, inp in enumerate(inputs):
                    t0 = time.perf_counter()
                    s.handle(inp)
                    took = (time.perf_counter() - t0) * 1000
                    (sink if script is HAPPY or n == len(inputs) - 1 else stored).append(took)
                s.end()
        store.engine.dispose()

    _stats("Dialog.handle (no I/O)", pure)
    _stats("CallSession.handle (SQLite)", stored)
    _stats("turn that commits an escalation", escalation)


if __name__ == "__main__":
    main()
