"""One wiring module builds every call: `ivr simulate --text`, WAV/mic and the live factory share
the flow, the Understander and the case lookup, loaded once per process (ivr/wiring.py)."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


def test_text_simulation_and_live_calls_share_one_wiring(data_dir: Path) -> None:
    """In a fresh process: two scripted text calls and two live calls (one known case, one that no
    case matches) — one Understander built, the same flow objects, the unknown-case path live."""
    code = f"""
        import datetime as dt
        import ivr.understanding as u

        built = []
        init = u.Understander.__init__
        def counting(self, grammars, **kw):
            built.append(grammars.directory)
            init(self, grammars, **kw)
        u.Understander.__init__ = counting

        from ivr.casebook import CaseBook
        from ivr.cli.records import parse_lines, run_text_call
        from ivr.settings import load_settings
        from ivr.store import Store
        from ivr.transports.media_call import CallContext
        from ivr.wiring import wiring_for

        settings = load_settings()
        store = Store(settings.database_url)
        now = dt.datetime(2026, 11, 18, 10, 30)
        for _ in range(2):
            report = run_text_call(parse_lines(["#dtmf 2"]), None, now, store)
        wiring = wiring_for(settings)
        text = wiring.session(store, transport="text")
        book = CaseBook.load({str(REPO / "examples" / "cases.csv")!r})
        make = wiring.factory(store, book)
        known = make(CallContext("sip", 8000, case_ref="C-2026-0042"))
        unknown = make(CallContext("sip", 8000, case_ref="C-9999"))
        for engine in (known, unknown):
            assert engine.started.wait(20)
            engine.hangup()
        assert len(built) == 1, built
        assert text.dialog.understander is known.session.dialog.understander is wiring.understander
        assert text.dialog.flow is known.session.dialog.flow is wiring.flow
        assert unknown.session.dialog.flow is wiring.unknown_flow and wiring.unknown_flow.start == "unknown_case"
        row = store.get_call(unknown.session.call_id)
        assert (row.case_ref, row.case_id, row.debtor_name) == ("C-9999", None, None)
        print(report["outcome"], known.session.dialog.case.case_id)
    """
    env = dict(os.environ, IVR_DATA_DIR=str(data_dir), IVR_DB_URL=f"sqlite:///{data_dir / 'ivr.sqlite3'}")
    r = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)], capture_output=True, text=True, timeout=180, env=env, cwd=REPO
    )
    assert r.returncode == 0, r.stderr[-3000:]
    assert r.stdout.split() == ["completed", "C-2026-0042"], r.stdout
