"""Distress detection: direct/indirect recall and false alarms per set, and the time the lexicon adds.

Every line of a distress set (label<TAB>category<TAB>text; labels direct/indirect/none) is run
through one Understander.  An utterance counts as flagged when the understood intent is `distress`
or a `distress` cue rides along (what the dialog hands over on).  Two ways of choosing the menu:

- rotated: line i is heard at menu i mod N, over ALL menus of grammars/ (what a call would do);
- every menu: the line is heard at each menu; a sign counts as heard only when every menu hears it,
  an ordinary line is a false alarm when any menu flags it (the strict, menu-independent score).

Prints per set and category: flagged / total and the rate, the totals, the p50/p95 ms of the
lexicon match alone and of the learned detector's score (ivr/distress_model.py), how many lines the
learned detector alone flagged, and its held-out report (threshold, recall, false alarms).  `--misses` also lists every missed sign and every false alarm (rotated).
Usage: PYTHONPATH=$PWD .venv/bin/python bench/bench_distress.py [--misses] [FILE.tsv ...]
(default: tests/conversation/calls/round*/distress_*.tsv and tests/brain/data/distress_*.tsv)
"""

from __future__ import annotations

import argparse
import collections
import os
import statistics
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
DEFAULT_SETS = ("tests/conversation/calls/round*/distress_*.tsv", "tests/brain/data/distress_*.tsv")
LABELS = ("direct", "indirect", "none")


def rows(path: Path) -> list[tuple[str, str, str]]:
    out = []
    for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if not line.strip() or line.startswith("#"):
            continue
        fields = line.split("\t")
        if len(fields) != 3 or fields[0] not in LABELS:
            sys.exit(f"{path}:{n}: expected label<TAB>category<TAB>text with label in {LABELS}, got {line!r}")
        out.append((fields[0], fields[1], fields[2]))
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("files", nargs="*", type=Path)
    ap.add_argument("--misses", action="store_true", help="list missed signs and false alarms")
    args = ap.parse_args()
    sys.path.insert(0, str(REPO))
    from ivr.grammar import load_grammars
    from ivr.understanding import Understander

    t0 = time.perf_counter()
    nlu = Understander(load_grammars(REPO / "grammars"))
    print(f"start-up (grammars + lexicon): {time.perf_counter() - t0:.2f} s; load average {os.getloadavg()[0]:.1f}")
    lexicon = nlu._distress
    assert lexicon is not None, "grammars/distress.yaml is missing"
    model = nlu._distress_model
    if model is not None:
        rep = ", ".join(f"{k} {v:.3f}" for k, v in model.report.items())
        print(
            f"learned detector ({'trained now' if model.trained else 'from the cache'}): threshold {model.threshold:.2f}; held-out: {rep}"
        )
    menus = sorted(nlu.grammars.menus)
    print(f"menus ({len(menus)}): {' '.join(menus)}")
    paths = args.files or sorted(p for g in DEFAULT_SETS for p in REPO.glob(g))

    def flagged(menu: str, text: str) -> bool:
        u = nlu.understand(menu, text)
        return u.intent == "distress" or "distress" in u.cues

    for path in paths:
        rot: collections.Counter[tuple[str, str]] = collections.Counter()
        every: collections.Counter[tuple[str, str]] = collections.Counter()
        total: collections.Counter[tuple[str, str]] = collections.Counter()
        times: list[float] = []
        model_times: list[float] = []
        by_model = 0
        wrong: list[str] = []
        for i, (label, cat, text) in enumerate(rows(path)):
            menu = menus[i % len(menus)]
            total[label, cat] += 1
            here = flagged(menu, text)
            by_model += here and "distress_by:model" in nlu.understand(menu, text).cues
            rot[label, cat] += here
            at_all = [here if m == menu else flagged(m, text) for m in menus]
            every[label, cat] += all(at_all) if label != "none" else any(at_all)
            if here != (label != "none"):
                wrong.append(f"    {'FALSE ALARM' if here else 'MISS'} {label}/{cat} @{menu}: {text}")
            norm = nlu.locale.normalize(text, synonyms=nlu._synonyms)
            t = time.perf_counter()
            lexicon.detect(norm)
            times.append((time.perf_counter() - t) * 1000)
            if model is not None:
                t = time.perf_counter()
                model.score(lexicon.without_idioms(norm), nlu.locale)
                model_times.append((time.perf_counter() - t) * 1000)
        print(f"\n{path.relative_to(REPO) if path.is_relative_to(REPO) else path}   (rotated | every menu)")
        for label in LABELS:
            keys = sorted(k for k in total if k[0] == label)
            what = "false alarms" if label == "none" else "recall"
            for key in keys + [(label, "ALL")]:
                pick = keys if key[1] == "ALL" else [key]
                n = sum(total[k] for k in pick)
                if not n or (key[1] == "ALL" and len(keys) == 1 and label == "direct"):
                    continue
                r, e = sum(rot[k] for k in pick), sum(every[k] for k in pick)
                print(f"  {label:8} {key[1]:14} {r:3} / {n:3}  {what} {100 * r / n:5.1f} % | {100 * e / n:5.1f} %")
        q = statistics.quantiles(times, n=20)
        print(f"  lexicon match: p50 {statistics.median(times):.2f} ms, p95 {q[18]:.2f} ms, max {max(times):.2f} ms")
        if model_times:
            q = statistics.quantiles(model_times, n=20)
            print(
                f"  learned detector: {by_model} lines flagged by it alone (rotated); score p50 {statistics.median(model_times):.2f} ms, p95 {q[18]:.2f} ms"
            )
        if args.misses and wrong:
            print("\n".join(wrong))


if __name__ == "__main__":
    main()
