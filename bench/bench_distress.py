"""Distress lexicon: recall and false alarms per category, and the time it adds per answer.

Runs every line of a distress set (label<TAB>category<TAB>text; labels direct/indirect/none)
through one Understander, each line at a different menu in turn (as a call would hear it), and
prints one line per category: flagged / total, recall (direct/indirect) or false-alarm rate
(none), then the totals and the p50/p95 milliseconds of the lexicon match alone.
Usage: .venv/bin/python bench/bench_distress.py [FILE.tsv ...]   (default tests/brain/data/distress_*.tsv)
"""

from __future__ import annotations

import collections
import statistics
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
DATA = REPO / "tests" / "brain" / "data"
MENUS = ("opening", "purpose", "income_source", "income_amount", "expenses", "unusual_expense", "plan", "promise")


def rows(path: Path) -> list[tuple[str, str, str]]:
    out = []
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.strip() and not line.startswith("#"):
            label, cat, text = line.split("\t")
            out.append((label, cat, text))
    return out


def main() -> None:
    sys.path.insert(0, str(REPO))
    from ivr.grammar import load_grammars
    from ivr.textnorm import normalize
    from ivr.understanding import Understander

    t0 = time.perf_counter()
    nlu = Understander(load_grammars(REPO / "grammars"))
    print(f"start-up (grammars + lexicon): {time.perf_counter() - t0:.2f} s")
    lexicon = nlu._distress
    assert lexicon is not None, "grammars/distress.yaml is missing"
    paths = [Path(p) for p in sys.argv[1:]] or sorted(DATA.glob("distress_*.tsv"))
    for path in paths:
        hit: collections.Counter[tuple[str, str]] = collections.Counter()
        total: collections.Counter[tuple[str, str]] = collections.Counter()
        times: list[float] = []
        for i, (label, cat, text) in enumerate(rows(path)):
            u = nlu.understand(MENUS[i % len(MENUS)], text)
            total[label, cat] += 1
            hit[label, cat] += u.intent == "distress" or "distress" in u.cues
            norm = normalize(text, synonyms=nlu._synonyms)
            t = time.perf_counter()
            lexicon.detect(norm)
            times.append((time.perf_counter() - t) * 1000)
        print(f"\n{path.name}")
        for label in ("direct", "indirect", "none"):
            keys = sorted(k for k in total if k[0] == label)
            what = "false alarms" if label == "none" else "recall"
            for key in keys:
                print(
                    f"  {label:8} {key[1]:14} {hit[key]:3} / {total[key]:3}  {what} {100 * hit[key] / total[key]:5.1f} %"
                )
            n, h = sum(total[k] for k in keys), sum(hit[k] for k in keys)
            if n:
                print(f"  {label:8} {'ALL':14} {h:3} / {n:3}  {what} {100 * h / n:5.1f} %")
        q = statistics.quantiles(times, n=20)
        print(f"  lexicon match: p50 {statistics.median(times):.2f} ms, p95 {q[18]:.2f} ms, max {max(times):.2f} ms")


if __name__ == "__main__":
    main()
