"""Role-play corpora at call level: pass rate per writer and per category (docs/dialog.md).

    .venv/bin/python bench/roleplay.py tests/conversation/calls/round1/*.yaml [--failures FILE]

Each call runs through a real CallSession on a throwaway SQLite file; see ivr/roleplay.py for the
scripted caller and the grading (outcome, reason, identity, plan, date, callback, no disclosure).
"""

from __future__ import annotations

import argparse
import datetime as dt
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from ivr import roleplay  # noqa: E402


def session_factory(db: Path):
    """Calls built by the one wiring module, exactly as `ivr simulate --text` builds them."""
    from ivr.settings import default_settings
    from ivr.store import Store
    from ivr.wiring import wiring_for

    wiring = wiring_for(default_settings())
    store = Store(f"sqlite:///{db}")

    def new_session(case, now: dt.datetime):
        return wiring.session(store, transport="text", case=case, now=now, seed=0)

    return new_session


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("files", nargs="+", type=Path)
    ap.add_argument("--failures", type=Path, help="write each failing call with its transcript here")
    args = ap.parse_args()
    calls = [c for f in args.files for c in roleplay.load(f)]
    with tempfile.TemporaryDirectory() as tmp:
        t0 = time.perf_counter()
        verdicts = roleplay.run_all(calls, session_factory(Path(tmp) / "roleplay.sqlite3"))
        spent = time.perf_counter() - t0
    passed = sum(v.passed for v in verdicts)
    print(f"{passed}/{len(verdicts)} calls pass ({100 * passed / max(1, len(verdicts)):.1f} %) in {spent:.1f} s")
    print(f"disclosures: {sum(v.disclosed for v in verdicts)}")
    for title, by in (("writer", roleplay.writer_of), ("category", lambda v: v.call.category)):
        print(f"\nby {title}:")
        for k, (p, n) in roleplay.summarize(verdicts, by).items():
            print(f"  {k:28s} {p:3d}/{n:<3d} {100 * p / n:5.1f} %")
    if args.failures:
        with args.failures.open("w", encoding="utf-8") as out:
            for v in verdicts:
                if not v.passed:
                    out.write(f"### {v.call.id} [{v.call.category}] {v.call.note}\n")
                    out.write("".join(f"  ✗ {f}\n" for f in v.failures))
                    out.write(v.transcript() + "\n\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
