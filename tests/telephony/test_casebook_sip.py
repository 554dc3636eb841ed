"""Per-call case lookup with real parts: `ivr serve --cases` answering sipp calls whose INVITEs carry
different `X-Case-Id` headers, and WebSocket media calls with a `case_id`; the calls are checked
in the SQLite file the server wrote."""

from __future__ import annotations

import asyncio
import json
import signal
import socket
import subprocess
import uuid
from pathlib import Path

import pytest
import websockets
from peers import MEDIA_AUTH, free_port, media_guard, serve, sipp
from test_audiosocket import Client
from test_websocket import Server, app_with, collect

from ivr.casebook import LiveCaseBook
from ivr.store import Escalation, Store
from ivr.transports.audiosocket import AudioSocketServer, message
from ivr.transports.guard import BadPeerId
from ivr.transports.sip.message import case_ref, header, request_user
from ivr.wiring import engine_factory

REPO = Path(__file__).resolve().parents[2]
BOOK = REPO / "examples" / "cases.csv"
SCENARIO = Path(__file__).parent / "scenarios" / "uac_case_ref.xml"

INVITE = (
    "INVITE sip:C-2026-0044@10.0.0.5:5070;transport=udp SIP/2.0\r\n"
    "Via: SIP/2.0/UDP 10.0.0.9:5060;branch=z9hG4bK1\r\n"
    "X-Case-Id:\r\n  C-2026-0042 \r\n"  # folded onto a continuation line
    "Subject: x-case-id: not this one\r\n"
    "Content-Length: 20\r\n\r\n"
    "X-Case-Id: nor-this\r\n"
)


def test_invite_parsing_is_robust():
    assert case_ref(INVITE) == "C-2026-0042"
    assert request_user(INVITE) == "C-2026-0044"
    assert header(INVITE, "content-length") == "20"
    assert case_ref(INVITE.replace("X-Case-Id:\r\n  C-2026-0042 \r\n", "")) is None  # the body is not headers
    # issue 13 finding 1: a header that is not 1-64 safe characters is refused, never cut or cleaned
    # into some other case's reference (the endpoint logs it and takes the unknown-case path)
    for bad in ("\x07" + "A" * 10, "A" * 65, "../../etc/passwd", "C-1 OR 1=1"):
        with pytest.raises(BadPeerId, match="X-Case-Id: expected 1-64 characters"):
            case_ref(f"INVITE sip:bot@h SIP/2.0\r\nX-Case-Id: {bad}\r\n\r\n")
    assert request_user("INVITE sip:%43-1@h SIP/2.0\r\n\r\n") == "C-1" and request_user("garbage") is None


def _serve(tmp_path: Path, sip: int, http: int) -> subprocess.Popen:
    return serve(tmp_path, sip, http, "--agent-uri", "sip:agent@127.0.0.1:5999", "--cases", str(BOOK))


def test_sip_calls_are_looked_up_by_x_case_id(tmp_path, data_dir, settings):
    sip, http = free_port(), free_port(socket.SOCK_STREAM)
    proc = _serve(tmp_path, sip, http)
    try:
        refs = ["C-2026-0042", "C-2026-0043", "C-404"]
        calls = [
            sipp(
                tmp_path,
                [
                    "-sf",
                    str(SCENARIO),
                    "-key",
                    "case",
                    ref,
                    "-m",
                    "1",
                    "-i",
                    "127.0.0.1",
                    "-mp",
                    str(free_port()),
                    "-timeout",
                    "60s",
                    f"127.0.0.1:{sip}",
                ],
                wait=False,
            )
            for ref in refs
        ]
        codes = [c.wait(timeout=90) for c in calls]
    finally:
        proc.send_signal(signal.SIGTERM)
        rc = proc.wait(timeout=30)
    log = (tmp_path / "serve.log").read_text()
    assert codes == [0, 0, 0], (
        codes,
        [p.read_text()[-1500:] for p in sorted(tmp_path.glob("sipp-*.log"))],
        log[-3000:],
    )
    assert rc == 0 and "Traceback" not in log, log[-3000:]

    store = Store(settings.database_url)
    try:
        rows = {c.case_ref: c for c in store.list_calls()}
        assert sorted(rows) == sorted(refs)
        for ref, name in (("C-2026-0042", "李娜"), ("C-2026-0043", "王强")):
            call = rows[ref]
            assert (call.case_id, call.debtor_name, call.transport, call.outcome) == (ref, name, "sip", "escalated")
            with store.session() as s:
                (esc,) = s.query(Escalation).filter_by(call_id=call.id).all()
            assert esc.summary["case"]["name"] == name and esc.transfer_status == "accepted"
        unknown = rows["C-404"]
        # the safe path: no case stored, no hand-over, the call simply ended after the neutral line
        assert (unknown.case_id, unknown.debtor_name, unknown.case, unknown.outcome) == (None, None, {}, "completed")
        with store.session() as s:
            assert s.query(Escalation).filter_by(call_id=unknown.id).count() == 0
    finally:
        store.engine.dispose()
    assert "no case for reference 'C-404'" in log


def test_websocket_case_id_from_query_or_start_message(settings, store):
    factory = engine_factory(settings, store, cases=LiveCaseBook(BOOK))

    async def call(url: str, start: dict | None) -> None:
        async with websockets.connect(url, additional_headers=MEDIA_AUTH) as ws:
            reader = asyncio.create_task(collect(ws, [], [], bytearray()))  # keep reading: the close frame comes last
            if start:
                await ws.send(json.dumps(start))
            for _ in range(25):
                await ws.send(b"\0" * 320)
                await asyncio.sleep(0.02)
            await ws.send(json.dumps({"event": "stop"}))
            await asyncio.wait_for(reader, 5)

    with Server(app_with(factory, settings, store)) as srv:
        base = f"ws://127.0.0.1:{srv.port}/media"
        asyncio.run(call(f"{base}?rate=8000&call_id=ws-q&case_id=C-2026-0043", None))
        asyncio.run(call(base, {"event": "start", "sampleRate": 8000, "callId": "ws-s", "caseId": "C-2026-0044"}))
        asyncio.run(call(f"{base}?rate=8000&call_id=ws-phone&caller=%2B8613800138000", None))  # no id: caller number
    rows = {ref: store.calls_by_peer_ref(ref)[0] for ref in ("ws-q", "ws-s", "ws-phone")}
    got = {ref: (c.case_ref, c.case_id, c.debtor_name) for ref, c in rows.items()}
    assert got == {
        "ws-q": ("C-2026-0043", "C-2026-0043", "王强"),
        "ws-s": ("C-2026-0044", "C-2026-0044", "陈静"),
        "ws-phone": (None, "C-2026-0042", "李娜"),
    }


def test_audiosocket_uuid_is_the_reference(tmp_path, settings, store):
    """AudioSocket carries only the call UUID: a book keyed by UUIDs matches it; a random UUID takes
    the unknown-case path (the neutral line, then the bot hangs up)."""
    case_uuid = uuid.uuid4()
    book = tmp_path / "cases.jsonl"
    book.write_text(
        json.dumps(
            {
                "case_id": str(case_uuid),
                "name": "周敏",
                "amount": 900,
                "days_overdue": 3,
                "company": "安信消费金融",
                "phone": "400-800-1234",
            },
            ensure_ascii=False,
        )
        + "\n",
        encoding="utf-8",
    )
    factory = engine_factory(settings, store, cases=LiveCaseBook(book))

    async def call(port: int, cid: uuid.UUID, hang_up_after: float | None) -> Client:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        writer.write(message(0x01, cid.bytes))
        c = Client(reader, writer, cid.hex)
        streaming = asyncio.create_task(c.stream(b"\0" * 320, hang_up_after or 30.0))
        if hang_up_after:
            await streaming
            c.send(0x00)
        await asyncio.wait_for(c.closed.wait(), 30)
        streaming.cancel()
        return c

    async def main() -> tuple[Client, Client]:
        # the Asterisk host is trusted by address (media_allow): its UUIDs are the dialer's, unsigned
        server = AudioSocketServer(
            factory, settings.recordings_dir, store, port=0, guard=media_guard(allow=["127.0.0.1/32"])
        )
        port = await server.start()
        try:
            return await call(port, case_uuid, 1.0), await call(port, uuid.uuid4(), None)
        finally:
            await server.close()

    known, unknown = asyncio.run(main())
    (call_known,) = store.calls_by_peer_ref(str(case_uuid))
    (call_unknown,) = store.calls_by_peer_ref(str(uuid.UUID(hex=unknown.call_id)))
    assert (call_known.case_ref, call_known.case_id, call_known.debtor_name) == (str(case_uuid), str(case_uuid), "周敏")
    assert 0x00 in unknown.kinds and len(unknown.audio) > 8000  # the bot spoke, then hung up itself
    assert (call_unknown.case_id, call_unknown.debtor_name, call_unknown.outcome) == (None, None, "completed")
