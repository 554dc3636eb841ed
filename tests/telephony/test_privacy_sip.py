"""Issue 13 finding 8 with real parts: a sipp call from a debtor's own number (a display name and
the number in From/Contact) through `ivr serve --cases`, whose every log line — serve, SIP worker,
engine host — must be free of the case's name, number and amount."""

from __future__ import annotations

import signal
import socket
from pathlib import Path

from peers import free_port, serve, sipp

from ivr.store import Store

REPO = Path(__file__).resolve().parents[2]
BOOK = REPO / "examples" / "cases.csv"  # C-2026-0042: 李娜, 4800 yuan, 13800138000
SCENARIO = Path(__file__).parent / "scenarios" / "uac_case_ref.xml"
SECRETS = ("李娜", "Li Na", "13800138000", "1380013", "4800", "4,800")


def test_a_whole_sip_call_logs_no_name_number_or_amount(tmp_path, data_dir, settings):
    """Issue 13 finding 8: `sip: call ... from "Li Na" <sip:13800138000@...>` was logged for every
    call (and database errors logged name, number and amount)."""
    scenario = tmp_path / "uac_from_debtor.xml"
    text = SCENARIO.read_text(encoding="iso-8859-1")
    text = text.replace("From: sipp <sip:sipp@", 'From: "Li Na" <sip:13800138000@')
    scenario.write_text(text.replace("Contact: sip:sipp@", "Contact: sip:13800138000@"), encoding="iso-8859-1")
    sip, http = free_port(), free_port(socket.SOCK_STREAM)
    proc = serve(tmp_path, sip, http, "--agent-uri", "sip:agent@127.0.0.1:5999", "--cases", str(BOOK))
    try:
        args = ["-sf", str(scenario), "-key", "case", "C-2026-0042", "-m", "1", "-i", "127.0.0.1"]
        code = sipp(tmp_path, [*args, "-mp", str(free_port()), "-timeout", "60s", f"127.0.0.1:{sip}"], wait=False)
        rc = code.wait(timeout=90)
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=30)
    log = (tmp_path / "serve.log").read_text()
    assert rc == 0, [p.read_text()[-1500:] for p in tmp_path.glob("sipp-*.log")]
    store = Store(settings.database_url)
    try:
        (call,) = store.list_calls()
        # the record keeps the data (the console masks it for agents); only the logs must not
        assert (call.debtor_name, call.caller_number, call.case["amount"]) == ("李娜", "13800138000", 4800)
    finally:
        store.engine.dispose()
    assert f"sip: call {call.id} from" in log and "*******8000" in log  # the per-call line, masked
    leaked = [line for line in log.splitlines() if any(s in line for s in SECRETS)]
    assert not leaked, leaked
