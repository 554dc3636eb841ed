"""Issue 13 (hardening) for the store and the files it keeps, with real SQLite files and the real
`ivr` command: private file modes, no personal data in logs, retention, a full data disk, and calls
left active by a crash.  Each test names the finding it guards."""

from __future__ import annotations

import datetime as dt
import json
import logging
import os
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from ivr.case import Case
from ivr.events import Hangup, Say, Speech
from ivr.logsafe import mask
from ivr.session import CallSession
from ivr.store import AuditEntry, Store, utcnow

REPO = Path(__file__).resolve().parents[2]
# a case whose every personal value is unusual enough that a hit in a log can only be a leak
CASE = Case(
    case_id="C-77", name="欧阳娜娜", amount=48650, days_overdue=12, caller_number="13912345678", id_last4="512X"
)
SECRETS = ("欧阳娜娜", "48650", "48,650", "13912345678", "1391234")


def ivr(*args: str, env: dict[str, str] | None = None, timeout: float = 120) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-c", "from ivr.cli import main; main()", *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        env={**os.environ, **(env or {})},
        cwd=REPO,
    )


def leaks(text: str, secrets: tuple[str, ...] = SECRETS) -> list[str]:
    return [line for line in text.splitlines() if any(s in line for s in secrets)]


# ---------------------------------------------------------------- finding 8: logs


def test_mask_covers_numbers_names_and_amounts_in_every_form():
    """Issue 13 finding 8: the masking itself (phone and ID numbers in every spelling, SIP display names)."""
    from ivr import logsafe

    logsafe._terms.clear()  # earlier tests' calls protected their own amounts (100, 200 ... would hit the address)
    logsafe.protect("欧阳娜娜", [48650])
    line = mask(
        'call from "欧阳" <sip:+8613912345678@10.0.0.9> id 11010519491231512X 139 1234 5678, 欠 ４８６５０元 48,650 RMB'
    )
    assert line == 'call from "***" <sip:+*********5678@10.0.0.9> id **************512X *** **** 5678, 欠 ***元 *** RMB'
    assert mask("欧阳娜娜 owes 48650 at 2026-11-18 10:30:00,123 via 192.168.100.200:5070 pid 4242") == (
        "*** owes *** at 2026-11-18 10:30:00,123 via 192.168.100.200:5070 pid 4242"
    )
    assert mask("amount=148650 and 4865元 stay") == "amount=148650 and 4865元 stay"  # only the whole amount


def test_an_amount_is_masked_where_it_is_money_and_a_port_equal_to_it_is_not():
    """Issue 13 finding 8, the known bug: any number equal to a live case's amount was masked, so
    while a case owed 10000 the worker's port 10000 and its RTP port read `***` in every log.  Now
    the amount is masked where it is money (a currency, a money word, a money field, a data
    logger's values); ports, PIDs and durations equal to it stay; phone and ID numbers always go."""
    from ivr import logsafe

    logsafe._terms.clear()
    logsafe.protect("欧阳娜娜", [10000, 2500], "5070")
    readable = [
        "sip: listening on 127.0.0.1:10000 (udp+tcp), max 4 calls",
        "call 3eb3 RTP port 10000 bound; rtcp 10001; jitter 2500 ms",
        'call-end {"answer_ms": 2500, "rtp_rx": 10000, "total_ms": 10000}',
        "worker 127.0.0.1:5070 pid 10000 restarted",
    ]
    for text in readable:
        assert mask(text) == text, text
    money = {
        "您的账户有10000元逾期了12天": "您的账户有***元逾期了12天",
        "客户说先还 2,500 块，下个月还清": "客户说先还 *** 块，下个月还清",
        "欠款：１００００": "欠款：***",
        "promise amount=2500 date=2026-12-05": "promise amount=*** date=2026-12-05",
        "slots {'amount': 10000.0, 'months': 3}": "slots {'amount': ***, 'months': 3}",
        'case {"principal": "10000", "fees": 2500}': 'case {"principal": "***", "fees": ***}',
        "caller owes ¥10,000": "caller owes ¥***",
        "身份证尾号5070 id_last4='5070'": "身份证尾号*** id_last4='***'",
        "caller +8613912345678 again 139-1234-5678": "caller +*********5678 again ***-****-5678",
    }
    for text, masked in money.items():
        assert mask(text) == masked, text
    assert mask("('C-77', 10000, 2500)", data=True) == "('C-77', ***, ***)"  # SQL values

    logger = logging.getLogger("ivr.test.logsafe")  # the installed record factory, end to end
    records: list[logging.LogRecord] = []
    handler = logging.Handler()
    handler.emit = records.append  # type: ignore[method-assign]
    logger.addHandler(handler)
    try:
        logger.warning("sip: worker on 127.0.0.1:%d, caller agreed to pay %d元", 10000, 10000)
    finally:
        logger.removeHandler(handler)
    assert records[0].getMessage() == "sip: worker on 127.0.0.1:10000, caller agreed to pay ***元"


def test_a_database_error_logs_no_name_number_or_amount_and_the_call_ends_politely(store, new_dialog, caplog):
    """Issue 13 findings 8 and 2: a failing INSERT logged the statement's parameters (name, number,
    amount, the whole case) with its traceback, and the exception escaped `start()` so the caller
    was dropped without a word.  Now: parameters hidden, values masked, a polite goodbye."""
    with store.engine.begin() as conn:
        conn.exec_driver_sql(
            "CREATE TRIGGER full BEFORE INSERT ON calls BEGIN SELECT RAISE(ABORT, 'database or disk is full'); END"
        )
    caplog.set_level(logging.DEBUG)
    session = CallSession(store, new_dialog(CASE), transport="sip", caller_number="+8613912345678")
    actions = session.start()
    assert isinstance(actions[-1], Hangup) and any(isinstance(a, Say) for a in actions)
    said = " ".join(a.text for a in actions if isinstance(a, Say))
    assert "系统" in said and "48650" not in said and "欧阳" not in said  # nothing about the debt
    session.end()  # no second traceback: the end of a call that was never stored
    assert "the store cannot write" in caplog.text and "database or disk is full" in caplog.text
    errors = [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert len(errors) == 1, caplog.text  # one logged failure, not one per later write
    assert not leaks(caplog.text), leaks(caplog.text)


def test_a_store_failure_mid_call_ends_it_politely_and_keeps_what_was_stored(store, new_dialog):
    """Issue 13 finding 2: a turn that cannot be written ends the call with an apology, and the
    call row and turns stored before stay."""
    session = CallSession(store, new_dialog(CASE), transport="text")
    session.start()
    session.handle(Speech("是我"))
    with store.engine.begin() as conn:
        conn.exec_driver_sql("CREATE TRIGGER full BEFORE INSERT ON turns BEGIN SELECT RAISE(ABORT, 'disk full'); END")
    actions = session.handle(Speech("知道的"))
    assert isinstance(actions[-1], Hangup)
    session.end()
    assert [t.caller_text for t in store.call_turns(session.call_id)] == ["是我"]
    assert store.get_call(session.call_id).debtor_name == "欧阳娜娜"


def test_whole_simulated_call_logs_nothing_personal(tmp_path, data_dir):
    """Issue 13 finding 8: every log line of a whole simulated call (DEBUG, every logger) is free of
    the case's name, number and amount."""
    case = tmp_path / "case.json"
    case.write_text(json.dumps(CASE.as_dict(), ensure_ascii=False), encoding="utf-8")
    logs = ""
    for how in (["--text", str(REPO / "examples" / "happy_path.txt")], [str(REPO / "examples" / "caller_demo.wav")]):
        r = ivr("simulate", *how, "--case", str(case), "--fast", "--json", env={"IVR_LOG_LEVEL": "DEBUG"}, timeout=300)
        assert r.returncode == 0, r.stderr[-2000:]
        assert "欧阳娜娜" in r.stdout  # the report itself is data, not a log: it keeps the name
        logs += r.stderr
    assert len([line for line in logs.splitlines() if " DEBUG " in line or " INFO " in line]) > 3, logs
    assert not leaks(logs), leaks(logs)


# ---------------------------------------------------------------- finding 8: file modes


def test_data_dir_database_and_recordings_are_private(tmp_path):
    """Issue 13 finding 8: the database and recordings were world-readable (umask 022); now the data
    dir is 0700 (also an existing 0755 one), the database 0600 and recordings 0640 at most."""
    data = tmp_path / "data"
    data.mkdir(mode=0o755)
    os.chmod(data, 0o755)
    env = {"IVR_DATA_DIR": str(data), "IVR_DB_URL": ""}
    r = ivr("simulate", str(REPO / "examples" / "caller_demo.wav"), "--fast", env=env, timeout=300)
    assert r.returncode == 0, r.stderr[-2000:]
    assert data.stat().st_mode & 0o777 == 0o700
    db = data / "ivr.sqlite3"
    assert db.stat().st_mode & 0o777 == 0o600
    wavs = [p for p in data.rglob("*.wav")]
    assert wavs, sorted(p.name for p in data.rglob("*"))
    for p in [*wavs, *data.glob("ivr.sqlite3*")]:
        assert p.stat().st_mode & 0o027 == 0, (p, oct(p.stat().st_mode))


# ---------------------------------------------------------------- finding 8: retention


def _old_call(store: Store, call_id: str, days: float, recording: Path | None, status: str = "ended") -> None:
    started = utcnow() - dt.timedelta(days=days)
    store.start_call(call_id, started_at=started, status=status, debtor_name="欧阳娜娜")
    store.add_turn(call_id, idx=1, menu="opening", input_kind="speech", caller_text="是我", bot_text="您好")
    if recording is not None:
        recording.write_bytes(b"RIFF" + b"\0" * 100)
        store.update_call(call_id, recording_path=str(recording))


def test_retention_is_a_dry_run_by_default_then_applies_and_is_audited(settings, store):
    """Issue 13 finding 8: there was no retention.  `ivr retention apply` reports, `--apply` deletes
    recordings older than N days and blanks transcripts older than M days, and audits it."""
    rec = settings.recordings_dir
    rec.mkdir(parents=True, exist_ok=True)
    _old_call(store, "old", 40, rec / "old.wav")
    _old_call(store, "mid", 10, rec / "mid.wav")
    _old_call(store, "new", 1, rec / "new.wav")
    _old_call(store, "live", 40, rec / "live.wav", status="active")  # never touched while active
    stray = rec / "crashed.wav"
    stray.write_bytes(b"RIFF")
    os.utime(stray, (0, (utcnow() - dt.timedelta(days=45)).replace(tzinfo=dt.UTC).timestamp()))
    spoken = settings.cache_dir / "tts" / "8000"  # a debtor's name as speech (ivr/tts.py per-case pieces)
    spoken.mkdir(parents=True, exist_ok=True)
    (old_piece := spoken / "a1.wav").write_bytes(b"RIFF")
    (new_piece := spoken / "b2.wav").write_bytes(b"RIFF")
    os.utime(old_piece, (0, (utcnow() - dt.timedelta(days=9)).replace(tzinfo=dt.UTC).timestamp()))
    args = ("retention", "apply", "--recordings-days", "30", "--transcripts-days", "7")

    dry = ivr(*args)
    assert dry.returncode == 0, dry.stderr
    assert "would remove 1 linked to calls and 1 stray" in dry.stdout and "texts of 2 calls" in dry.stdout
    assert "and 1 synthesised per-case pieces" in dry.stdout and old_piece.exists()
    assert "dry run" in dry.stdout and (rec / "old.wav").exists() and stray.exists()
    assert store.call_turns("mid")[0].caller_text == "是我"

    done = ivr(*args, "--apply")
    assert done.returncode == 0, done.stderr
    assert not (rec / "old.wav").exists() and not stray.exists()
    assert not old_piece.exists() and new_piece.exists()  # speech of personal data goes with the transcripts
    assert all((rec / f"{c}.wav").exists() for c in ("mid", "new", "live"))
    assert store.get_call("old").recording_path is None and store.get_call("mid").recording_path
    for call_id, kept in (("old", False), ("mid", False), ("new", True), ("live", True)):
        turn = store.call_turns(call_id)[0]
        assert (turn.caller_text == "是我" and turn.bot_text == "您好") is kept, call_id
    assert store.get_call("old").debtor_name == "欧阳娜娜"  # the call record itself stays
    with store.session() as s:
        (audit,) = s.query(AuditEntry).filter_by(action="retention").all()
    assert audit.username.startswith("cli:") and json.loads(audit.detail)["recordings"] == 1

    again = ivr(*args, "--apply")
    assert "removed 0 linked to calls and 0 stray" in again.stdout and "texts of 0 calls" in again.stdout
    bad = ivr("retention", "apply")
    assert bad.returncode == 2 and bad.stderr.strip().startswith("ivr: error: retention apply: expected")


# ---------------------------------------------------------------- finding 9: stale calls after a crash


def test_stale_calls_keep_their_real_duration_and_recording(settings, store):
    """Issue 13 finding 9: after a crash a stale call was closed with duration 0 (no turns stored)
    and its recording left unlinked (the path is stored only at a clean end).  Now the last write to
    the recording dates the end and the file is linked to the row; WebSocket calls are closed too."""
    rec = settings.recordings_dir
    rec.mkdir(parents=True, exist_ok=True)
    started = utcnow() - dt.timedelta(minutes=5)
    for call_id, worker in (("ws1", "websocket:127.0.0.1:8080"), ("as1", "audiosocket:9092")):
        store.start_call(call_id, started_at=started, transport=worker.split(":")[0], worker=worker)
        (rec / f"{call_id}.wav").write_bytes(b"RIFF" + b"\0" * 100)
        os.utime(rec / f"{call_id}.wav", (0, (started + dt.timedelta(seconds=42)).replace(tzinfo=dt.UTC).timestamp()))
    store.start_call("other", started_at=started, worker="websocket:10.0.0.2:8080")  # another host's live call
    closed = store.close_stale_calls(worker=["websocket:127.0.0.1:8080", "audiosocket:9092"], recordings_dir=rec)
    assert closed == 2
    for call_id in ("ws1", "as1"):
        call = store.get_call(call_id)
        assert (call.status, call.outcome, call.ended_reason) == ("ended", "hangup", "worker_restart")
        assert call.duration_s == pytest.approx(42, abs=1) and call.recording_path == str(rec / f"{call_id}.wav")
    assert store.get_call("other").status == "active"


def test_a_call_ended_after_its_recorder_died_keeps_its_recording_linked(store, new_dialog, settings):
    """Issue 13 "crashes": a SIP worker killed -9 never links the recording it wrote, while its
    engine host still ends the call normally, so the restart's sweep (active calls only) never sees
    it: 18 of 40 calls of the kill -9 loop (tests/telephony/test_crash_loop.py) had a WAV on disk
    and no link.  The session links the file when it ends the call; no file, no link."""
    rec = settings.recordings_dir
    rec.mkdir(parents=True, exist_ok=True)
    kept = CallSession(store, new_dialog(CASE), transport="sip")
    kept.recording = str(rec / f"{kept.call_id}.wav")  # what Wiring.call sets for a recorded call
    Path(kept.recording).write_bytes(b"RIFF")  # written by the worker, which then died
    missing = CallSession(store, new_dialog(CASE), transport="sip")
    missing.recording = str(rec / f"{missing.call_id}.wav")  # never created (full disk)
    for session in (kept, missing):
        session.start()
        session.end()
    assert store.get_call(kept.call_id).recording_path == kept.recording
    assert store.get_call(missing.call_id).recording_path is None


def test_ivr_serve_closes_the_websocket_calls_it_left_active(tmp_path, settings, store):
    """Issue 13 finding 9: WebSocket calls left `active` by a crash of `ivr serve` stayed active."""
    import socket

    sys.path.insert(0, str(REPO / "tests" / "telephony"))
    from peers import free_port, serve

    http = free_port(socket.SOCK_STREAM)
    store.start_call("wscrash", started_at=utcnow() - dt.timedelta(minutes=3), worker=f"websocket:127.0.0.1:{http}")
    proc = serve(tmp_path, free_port(), http, "--no-sip")
    try:
        call = store.get_call("wscrash")
        assert (call.status, call.ended_reason) == ("ended", "worker_restart")
    finally:
        proc.terminate()
        proc.wait(timeout=30)


# ---------------------------------------------------------------- finding 2: a full data disk

FULL_DISK = textwrap.dedent(
    """
    import json, os, sys
    from pathlib import Path
    from fastapi.testclient import TestClient
    import ivr.store
    from ivr.case import Case
    from ivr.cli.records import parse_script, run_text_call
    from ivr.settings import load_settings
    from ivr.store import Store
    from ivr.web.app import create_app

    ivr.store.WRITE_PROBE_S = 0.0
    settings = load_settings()
    case = Case.load(Path(sys.argv[1]) / "examples" / "case.json")
    script = parse_script(Path(sys.argv[1]) / "examples" / "happy_path.txt")
    out = {}
    store = Store(settings.database_url)
    first = run_text_call(script, case, __import__("datetime").datetime(2026, 11, 18, 10, 30), store)
    out["first_turns"] = len(store.call_turns(first["call_id"]))
    app = create_app(settings, ready=True, store=store)  # the server runs when the disk fills up
    from ivr.wiring import wiring_for
    wiring = wiring_for(settings)
    with store.engine.connect() as conn:  # an empty WAL: the next write needs new space on the disk
        conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
    filler = settings.data_dir / "filler"
    with open(filler, "wb") as f:  # fill the disk
        try:
            while True:
                f.write(b"\\0" * 65536)
                f.flush()
        except OSError as e:
            out["fill"] = e.strerror
    with TestClient(app) as client:
        r = client.get("/healthz")
        out["healthz_full"] = [r.status_code, r.json()]
        session = wiring.session(store, transport="text", case=case)
        actions = session.start()
        out["second_call"] = [type(a).__name__ for a in actions]
        out["second_said"] = " ".join(getattr(a, "text", "") for a in actions)
        session.end()
        filler.unlink()
        r = client.get("/healthz")
        out["healthz_freed"] = [r.status_code, r.json()]
    kept = Store(settings.database_url)
    out["first_turns_after"] = len(kept.call_turns(first["call_id"]))
    out["first_outcome_after"] = kept.get_call(first["call_id"]).outcome
    print(json.dumps(out, ensure_ascii=False))
    """
)


def test_full_data_disk_healthz_not_ready_call_ends_politely_nothing_lost(tmp_path):
    """Issue 13 finding 2: with the data disk full every call failed with no row while /healthz said
    200.  A 1 MB tmpfs (mounted in a user namespace, no root needed) is filled: /healthz says 503
    with the reason, a new call hears an apology and ends, the call stored before is intact, and
    /healthz is 200 again once space is freed."""
    if not shutil.which("unshare"):
        pytest.skip("unshare (util-linux) not installed")
    probe = subprocess.run(["unshare", "-rm", "true"], capture_output=True)
    if probe.returncode != 0:
        pytest.skip(f"no user namespaces here: {probe.stderr.decode().strip()}")
    data = tmp_path / "data"
    data.mkdir()
    script = tmp_path / "full_disk.py"
    script.write_text(FULL_DISK, encoding="utf-8")
    env = {**os.environ, "IVR_DATA_DIR": str(data), "IVR_DB_URL": "", "PYTHONPATH": str(REPO)}
    env.setdefault("IVR_MODEL_CACHE", str(tmp_path / "cache"))
    r = subprocess.run(
        ["unshare", "-rm", "sh", "-c", f'mount -t tmpfs -o size=1m tmpfs "{data}" && exec "$@"', "sh",
         sys.executable, str(script), str(REPO)],
        capture_output=True, text=True, timeout=300, env=env, cwd=tmp_path,
    )  # fmt: skip
    assert r.returncode == 0, r.stderr[-3000:]
    out = json.loads(r.stdout.strip().splitlines()[-1])
    assert out["fill"] == "No space left on device"
    assert out["healthz_full"][0] == 503 and out["healthz_full"][1]["status"] == "store_unwritable", out
    assert out["second_call"][-1] == "Hangup" and "Say" in out["second_call"] and "系统" in out["second_said"]
    assert out["healthz_freed"] == [200, {"status": "ok"}]
    assert out["first_turns"] > 5 and out["first_turns_after"] == out["first_turns"]
    assert out["first_outcome_after"] == "completed"
