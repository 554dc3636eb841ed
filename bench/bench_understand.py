"""Understanding speed: start-up (imports + grammar load) and per-utterance latency.

Runs every answer of tests/brain/data/heldout*.tsv (the tuned set and the blind batches) through
one Understander, ROUNDS times, and prints start-up time, p50/p95/max milliseconds per utterance
and the intent accuracy of each file; start-up cold (the models of grammars/examples/ trained into
an empty cache) and warm (loaded from it), and each menu model's held-out threshold.
Usage: .venv/bin/python bench/bench_understand.py [ROUNDS]
"""

from __future__ import annotations

import datetime as dt
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
DATA = REPO / "tests" / "brain" / "data"
NOW = dt.datetime(2026, 11, 18, 10, 30)


def main() -> None:
    rounds = int(sys.argv[1]) if len(sys.argv) > 1 else 20
    rows = [
        [path.name, *line.split("\t")[:3]]
        for path in sorted(DATA.glob("heldout*.tsv"))
        for line in path.read_text(encoding="utf-8").splitlines()
        if line.strip() and not line.startswith("#")
    ]

    t0 = time.perf_counter()
    sys.path.insert(0, str(REPO))
    from ivr import classifier
    from ivr.grammar import load_grammars
    from ivr.understanding import Understander

    grammars = load_grammars(REPO / "grammars")
    with tempfile.TemporaryDirectory() as cache:
        # cold: the trained models of grammars/examples/ are not cached yet (first start)
        nlu = Understander(grammars, cache_dir=Path(cache))
        nlu.understand("opening", "是我", NOW)  # first call loads the pinyin/zhconv/emotion tables (jieba: at build)
        startup = time.perf_counter() - t0
        # warm: a later start, the models loaded from the disk cache
        classifier._LOADED.clear()
        t1 = time.perf_counter()
        nlu = Understander(grammars, cache_dir=Path(cache))
        warm = time.perf_counter() - t1

    per_row: list[list[float]] = [[] for _ in rows]
    correct: dict[str, list[bool]] = {}
    for r in range(rounds):
        for i, (name, menu, text, intent) in enumerate(rows):
            t = time.perf_counter()
            u = nlu.understand(menu, text, NOW)
            per_row[i].append((time.perf_counter() - t) * 1000)
            if r == 0:
                correct.setdefault(name, []).append(u.intent == (None if intent == "-" else intent))
    times = sorted(ms for row in per_row for ms in row)
    # round 1 is cold: every answer is segmented (jieba) for the first time, as in a live call
    cold = sorted(row[0] for row in per_row)
    # the max of single calls includes scheduler noise; the slowest per-utterance median does not
    worst, worst_i = max((statistics.median(row), i) for i, row in enumerate(per_row))
    p = lambda q: times[min(len(times) - 1, int(q * len(times)))]  # noqa: E731
    print(f"machine: {os.cpu_count()} cpu(s), python {sys.version.split()[0]}")
    print(f"load average: {' '.join(f'{x:.2f}' for x in os.getloadavg())} (other processes share the cores)")
    print(f"start-up, cold (imports + grammars + training the models + first call): {startup * 1000:.0f} ms")
    print(f"start-up, warm (grammars + models from the disk cache): {warm * 1000:.0f} ms")
    if nlu._model:
        for menu, m in sorted(nlu._model.models.items()):
            r = m.report
            print(
                f"model {menu:16} examples {r['examples']:.0f}  out-of-fold accuracy {r['accuracy']:.1%}  "
                f"threshold {m.threshold:.3f} (precision {r['precision']:.1%}, recall {r['recall']:.1%}, "
                f"none_of_these refused {r['none_refused']:.1%})"
            )
    print(f"utterances: {len(rows)} x {rounds} rounds = {len(times)}")
    print(
        f"per utterance: p50 {p(0.50):.2f} ms  p95 {p(0.95):.2f} ms  max {times[-1]:.2f} ms  "
        f"mean {statistics.fmean(times):.2f} ms"
    )
    print(
        f"first round (nothing cached): p50 {cold[len(cold) // 2]:.2f} ms  p95 {cold[int(0.95 * len(cold))]:.2f} ms  "
        f"max {cold[-1]:.2f} ms"
    )
    print(f"slowest utterance (median of {rounds}): {worst:.2f} ms  {rows[worst_i][1]}: {rows[worst_i][2]}")
    for name, ok in correct.items():
        print(f"intent accuracy {name}: {sum(ok)}/{len(ok)} = {sum(ok) / len(ok):.1%}")


if __name__ == "__main__":
    main()
