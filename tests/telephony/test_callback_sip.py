"""A real SIP call through `ivr serve` (python server.py) that leaves a callback task: a baresip
caller presses 9 (busy) at the opening, then keys that name no time; the dialog settles its default
callback, which must be stored in the SQLite file and listed by the console API."""

from __future__ import annotations

import signal
import socket
import subprocess
import time
from pathlib import Path

import httpx
from peers import TESTDATA_SPEECH, baresip_call, free_port, padded_wav, serve

from ivr.store import CallbackTask, Store

REPO = Path(__file__).resolve().parents[2]
PASSWORD = "correct-horse-9"


def _serve(tmp_path: Path, sip: int, http: int) -> subprocess.Popen:
    return serve(tmp_path, sip, http, "--no-media")


def _callback(store: Store, timeout: float = 15.0) -> CallbackTask | None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with store.session() as s:
            row = s.query(CallbackTask).first()
        if row is not None:
            return row
        time.sleep(0.2)
    return None


def test_busy_caller_by_keys_leaves_a_stored_callback(tmp_path, data_dir, settings, store):
    from ivr.auth import add_user

    add_user(store, "sup1", "supervisor", PASSWORD)
    sip, http = free_port(), free_port(socket.SOCK_STREAM)
    proc = _serve(tmp_path, sip, http)
    try:
        speak = padded_wav(
            TESTDATA_SPEECH / "tts_zh" / "opening_confirm.wav", tmp_path / "speak.wav", lead_s=0.0, tail_s=40.0
        )
        # 9 = busy once the opening has played; then three keys that name no time (the dialog asks
        # "什么时候方便" twice, then settles its default callback and hangs up)
        keys = [(9.0, "9"), (17.0, "5"), (25.0, "5"), (33.0, "5")]
        baresip_call(tmp_path, f"sip:bot@127.0.0.1:{sip}", speak, seconds=50, keys=keys)
        cb = _callback(store)
        with httpx.Client(base_url=f"http://127.0.0.1:{http}", timeout=10) as c:
            assert c.post("/api/login", json={"username": "sup1", "password": PASSWORD}).status_code == 200
            listed = c.get("/api/callbacks").json()
    finally:
        proc.send_signal(signal.SIGTERM)
        rc = proc.wait(timeout=30)
    log = (tmp_path / "serve.log").read_text()
    assert rc == 0 and "Traceback" not in log, log[-3000:]

    calls = store.list_calls()
    assert len(calls) == 1, [c.id for c in calls]
    call = calls[0]
    turns = store.call_turns(call.id)
    assert call.transport == "sip" and [t.input_kind for t in turns][:1] == ["dtmf"], [
        (t.menu, t.caller_text) for t in turns
    ]
    assert turns[0].intent == "busy", [(t.menu, t.caller_text, t.intent) for t in turns]
    assert cb is not None, (call.outcome, [(t.menu, t.caller_text, t.intent, t.bot_text) for t in turns], log[-2000:])
    assert (
        cb.call_id == call.id
        and cb.at
        and cb.due_at is not None
        and cb.for_party == "debtor"
        and cb.status == "pending"
    )
    assert call.callback and call.callback["at"] == cb.at and call.turn_count == 4
    # the bot says goodbye and hangs up; a caller who hangs up during the goodbye ends it as `hangup`
    assert call.outcome in ("completed", "hangup") and call.status == "ended"
    assert [i["call_id"] for i in listed["items"]] == [call.id] and listed["items"][0]["at"] == cb.at
