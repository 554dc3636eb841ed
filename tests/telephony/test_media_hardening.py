"""Issue 13, media transports: hostile and broken peers on /media (WebSocket), AudioSocket and SIP.

Real uvicorn + websockets clients, real AudioSocket TCP clients, real SQLite and a real SIP worker;
each test names the finding of issue 13 it guards.  Every one of them failed on the main branch the
issue was filed against (noted per test).
"""

from __future__ import annotations

import asyncio
import base64
import json
import logging
import socket
import struct
import sys
import time
import uuid
from pathlib import Path

import numpy as np
import pytest
import websockets
from peers import MEDIA_AUTH, MEDIA_TOKEN, free_port, media_guard
from tel_fakes import ToneEngine, tone_factory
from test_audiosocket import Client
from test_websocket import Server, app_with, collect, connect

from ivr.transports.audiosocket import AudioSocketServer, message
from ivr.transports.guard import MediaGuard, peer_ref, sign_url, signed_uuid
from ivr.transports.media_call import CallContext, MediaCall
from ivr.transports.recorder import StereoRecorder
from ivr.wiring import engine_factory


async def talk(ws, seconds: float, frame: int = 320) -> None:
    t0 = time.monotonic()
    for i in range(int(seconds * 50)):
        await ws.send(b"\x01\x00" * (frame // 2))
        await asyncio.sleep(max(0.0, t0 + (i + 1) * 0.02 - time.monotonic()))


async def closed_with(ws, timeout: float = 10) -> tuple[int | None, str]:
    try:
        while True:
            await asyncio.wait_for(ws.recv(), timeout)
    except websockets.ConnectionClosed:
        return ws.close_code, ws.close_reason


def wav_files(root: Path) -> list[Path]:
    """Every WAV under root except the prompt caches (data/cache): the call recordings, wherever they went."""
    return sorted(p for p in root.rglob("*.wav") if "cache" not in p.relative_to(root).parts)


# ------------------------------------------------------------------ finding 1: ids from peers
def test_websocket_call_id_is_a_reference_never_a_path_or_key(settings, store, data_dir):
    """Finding 1.  A `callId` of ../../.. is refused (1008, one line); a reused valid `callId` makes a
    second call with its own row and recording, and the first recording stays byte for byte.
    On main the first wrote a WAV outside the data directory and the second truncated call 1's
    recording and rewrote its row."""
    factory = engine_factory(settings, store)

    async def one_call(start: dict, seconds: float) -> tuple[int | None, str]:
        async with connect(f"ws://127.0.0.1:{srv.port}/media") as ws:
            await ws.send(json.dumps(start))
            try:
                await talk(ws, seconds)
                await ws.send(json.dumps({"event": "stop"}))
            except websockets.ConnectionClosed:
                pass
            return await closed_with(ws)

    with Server(app_with(factory, settings, store)) as srv:
        code, reason = asyncio.run(one_call({"event": "start", "sampleRate": 8000, "callId": "../../.."}, 0.2))
        assert (code, reason.split(",")[0]) == (
            1008,
            "callId: expected 1-64 characters of [A-Z a-z 0-9 . _ : / @ + = ~ -]",
        )
        assert "got '../../..'" in reason
        assert wav_files(data_dir.parent) == [], "no recording for a refused call, nowhere"

        asyncio.run(one_call({"event": "start", "sampleRate": 8000, "callId": "pbx-7", "caseId": "C-1"}, 1.5))
        (first,) = store.calls_by_peer_ref("pbx-7")
        rec1 = Path(first.recording_path)
        before = rec1.read_bytes()
        assert len(before) > 8000 * 4  # a second or more of stereo audio
        asyncio.run(one_call({"event": "start", "sampleRate": 8000, "callId": "pbx-7"}, 0.3))

    calls = store.calls_by_peer_ref("pbx-7")
    assert len(calls) == 2 and calls[0].id == first.id != calls[1].id
    assert all(len(c.id) == 32 and c.id != "pbx-7" for c in calls)
    assert rec1.read_bytes() == before, "the reused id touched the first call's recording"
    assert calls[0].case_ref == "C-1" and store.get_call(first.id).outcome == first.outcome
    assert Path(calls[1].recording_path) != rec1 and Path(calls[1].recording_path).exists()
    assert {p.parent for p in wav_files(data_dir.parent)} == {settings.recordings_dir}


def test_audiosocket_reused_uuid_never_touches_the_earlier_call(settings, store):
    """Finding 1.  The same AudioSocket UUID twice: two calls (ids ours, the UUID their `peer_ref`),
    the first recording unchanged.  On main the second call truncated it (1.44 MB → 684 bytes)."""
    cid = signed_uuid(MEDIA_TOKEN)

    async def call(port: int, seconds: float) -> None:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        writer.write(message(0x01, cid.bytes))
        c = Client(reader, writer, cid.hex)
        await c.stream(b"\x01\x00" * 160, seconds)
        c.send(0x00)
        await asyncio.wait_for(c.closed.wait(), 5)

    async def main() -> tuple[Path, bytes]:
        server = AudioSocketServer(tone_factory(), settings.recordings_dir, store, port=0, guard=media_guard())
        port = await server.start()
        await call(port, 1.5)
        (rec,) = wav_files(settings.recordings_dir)
        before = rec.read_bytes()
        await call(port, 0.3)
        await server.close()
        return rec, before

    rec, before = asyncio.run(main())
    assert rec.read_bytes() == before and len(before) > 8000 * 4
    recs = wav_files(settings.recordings_dir)
    assert len(recs) == 2 and all(cid.hex not in p.name for p in recs)


def test_recordings_are_created_exclusively(tmp_path):
    """Finding 1.  A recording is never replaced: opening an existing path fails, the file stays."""
    path = tmp_path / "call.wav"
    path.write_bytes(b"earlier call")
    with pytest.raises(FileExistsError):
        StereoRecorder(path, 8000)
    assert path.read_bytes() == b"earlier call"


@pytest.mark.parametrize(
    "value", ["../../..", "a" * 65, "x\x00y", "C 1", "=HYPERLINK(1)", "", None, {"a": 1}, "Ω", "/abs"]
)
def test_peer_ref_accepts_only_short_safe_references(value):
    """Finding 1: the rule every peer id passes (charset, length) before it is stored."""
    if value in ("", None):
        assert peer_ref(value, "callId") is None
    else:
        with pytest.raises(ValueError, match=r"^callId: expected 1-64 characters of \[.*\], got "):
            peer_ref(value, "callId")
    assert peer_ref("C-2026/0042", "caseId") == "C-2026/0042" and peer_ref(7, "callId") == "7"


# ------------------------------------------------------------------ finding 2: recording write errors
def test_recording_write_error_never_escapes_the_media_tick(tmp_path, caplog):
    """Finding 2 (the SIP worker's media tick calls `MediaCall.flush`): a full disk (real ENOSPC from
    /dev/full) stops the recording, is logged once and counted, and the call goes on.  On main the
    OSError escaped the tick and took the SIP worker down with every call on it."""
    from ivr import metrics

    caplog.set_level(logging.INFO)
    errors_before = metrics.RECORDING_ERRORS._value.get()
    media = MediaCall(CallContext("sip", 8000), tone_factory(), tmp_path)
    rec = media.recorder
    assert rec is not None and rec._wav is not None
    full = open("/dev/full", "wb", buffering=0)  # noqa: SIM115 - every write fails with ENOSPC
    rec._wav._file = full  # type: ignore[attr-defined]  # the disk fills up mid-call
    for _ in range(3):
        for _ in range(25):  # half a second of media ticks
            assert media.push(b"\x01\x00" * 160) is True
            assert len(media.pull(320)) == 320
            time.sleep(0.02)
        media.flush()  # what SipServer._tick does twice a second: must never raise
    stats = media.end("sip 200 Normal call clearing")
    full.close()
    errors = [r for r in caplog.records if "recording stopped" in r.getMessage()]
    assert len(errors) == 1 and errors[0].levelno == logging.ERROR
    assert "No space left on device" in stats["recording_error"]
    assert metrics.RECORDING_ERRORS._value.get() == errors_before + 1
    assert stats["frames_in"] == 75 and stats["frames_out"] == 75  # the call went on


def test_recording_that_cannot_be_created_leaves_the_call_unrecorded(tmp_path, caplog):
    """Finding 2: a recordings directory that cannot be written (here: a file in its place) is one
    logged error, and the call is served without a recording instead of failing."""
    (tmp_path / "recordings").write_text("not a directory")
    media = MediaCall(CallContext("websocket", 8000), tone_factory(), tmp_path / "recordings")
    assert media.recorder is None and media.recording_error and media.push(b"\0" * 320)
    assert media.end("done")["recording_error"].startswith("open: ")


# ------------------------------------------------------------------ finding 3: per-peer limits
def test_stalled_websocket_peer_is_closed_and_its_call_ended(settings, store, caplog):
    """Finding 3.  A peer that opens a call and goes silent is closed within seconds (1008) and its
    call ended.  On main /media had no receive timeout: the call stayed open."""
    caplog.set_level(logging.INFO)

    async def main() -> tuple[float, int | None, str]:
        async with connect(f"ws://127.0.0.1:{srv.port}/media?rate=8000&call_id=staller") as ws:
            reader = asyncio.create_task(collect(ws, [], [], bytearray()))
            await talk(ws, 0.2)
            t0 = time.monotonic()
            await asyncio.wait_for(reader, 10)
            return time.monotonic() - t0, ws.close_code, ws.close_reason

    with Server(app_with(tone_factory(), settings, store, media_guard(idle_timeout_s=1.0))) as srv:
        waited, code, reason = asyncio.run(main())
    assert code == 1008 and reason == "no message from the peer for 1 s"
    assert 0.9 < waited < 3.0, waited
    assert "websocket no message from the peer" in caplog.text  # the call-end line: the call was ended


def test_stalled_or_dribbling_audiosocket_peer_is_closed_within_seconds(settings, store):
    """Finding 3.  Silence, or a message dribbled a byte at a time, ends the call after the idle
    timeout.  On main silence took 10 s and a dribbler was never closed."""

    async def main() -> list[float]:
        server = AudioSocketServer(
            tone_factory(), settings.recordings_dir, store, port=0, guard=media_guard(idle_timeout_s=1.0)
        )
        port = await server.start()
        took = []
        for dribble in (False, True):
            c = await Client.connect(port)
            await c.stream(b"\0" * 320, 0.2)
            t0 = time.monotonic()
            if dribble:  # a 0x10 header, then one payload byte every 0.4 s
                c.writer.write(struct.pack(">BH", 0x10, 320))
                while not c.closed.is_set() and time.monotonic() - t0 < 8:
                    c.writer.write(b"\0")
                    await asyncio.sleep(0.4)
            await asyncio.wait_for(c.closed.wait(), 8)
            took.append(time.monotonic() - t0)
        await server.close()
        assert [st["reason"] for st in server.finished] == [
            "audiosocket timeout waiting for Asterisk (nothing for 1 s)"
        ] * 2
        return took

    took = asyncio.run(main())
    assert all(0.9 < t < 3.0 for t in took), took


def test_per_source_connection_caps(settings, store):
    """Finding 3.  At most `media_max_per_source` media connections per source address, on /media
    and AudioSocket alike; a slot frees when its call ends.  On main there was no cap."""
    guard = media_guard(max_per_source=2)

    async def ws_main() -> tuple[tuple[int | None, str], tuple[int | None, str]]:
        url = f"ws://127.0.0.1:{srv.port}/media?rate=8000"
        a, b = await connect(url), await connect(url)
        for ws in (a, b):
            await ws.send(b"\0" * 320)
            await asyncio.wait_for(ws.recv(), 5)  # both are calls
        c = await connect(url)
        refused = await closed_with(c)
        await a.send(json.dumps({"event": "stop"}))
        await closed_with(a)
        d = await connect(url)
        await d.send(b"\0" * 320)
        await asyncio.wait_for(d.recv(), 5)  # admitted again
        await d.send(json.dumps({"event": "stop"}))
        await b.send(json.dumps({"event": "stop"}))
        return refused, (await closed_with(d))

    with Server(app_with(tone_factory(), settings, store, guard)) as srv:
        refused, after = asyncio.run(ws_main())
    assert refused == (1008, "too many connections from 127.0.0.1 (media_max_per_source=2)")
    assert after[0] == 1000

    async def as_main() -> list[int]:
        server = AudioSocketServer(
            tone_factory(), settings.recordings_dir, store, port=0, guard=media_guard(max_per_source=2)
        )
        port = await server.start()
        a, b = await Client.connect(port), await Client.connect(port)
        await asyncio.sleep(0.3)
        c = await Client.connect(port)
        await asyncio.wait_for(c.closed.wait(), 5)
        for x in (a, b):
            x.send(0x00)
            await asyncio.wait_for(x.closed.wait(), 5)
        await server.close()
        return c.kinds

    assert asyncio.run(as_main()) == [0xFF]  # refused with an error message, never a call


FLOODER = """
import asyncio, json, sys, time
import websockets

async def flood(port, token):
    sent = 0
    url = f"ws://127.0.0.1:{port}/media?rate=16000"
    async with websockets.connect(url, additional_headers={"Authorization": f"Bearer {token}"}) as f:
        try:
            end = time.monotonic() + 4
            while time.monotonic() < end:
                await f.send(b"\\x01\\x00" * 16000)  # 1 s of audio per message, back to back
                sent += 1
        except websockets.ConnectionClosed:
            pass
        try:
            while True:
                await asyncio.wait_for(f.recv(), 10)
        except websockets.ConnectionClosed:
            return [sent, f.close_code, f.close_reason]

async def main():
    print(json.dumps(await asyncio.gather(*(flood(sys.argv[1], sys.argv[2]) for _ in range(3)))))

asyncio.run(main())
"""


def test_flood_on_one_call_does_not_delay_another_calls_audio(settings, store, caplog):
    """Finding 3.  Three peers send audio as fast as the socket takes it while a good call talks in
    real time: the floods are dropped (bounded bucket before the engine's queue) and closed (1008),
    and the good call's bot audio keeps its pace.  Measured on main: max bot-frame gap 8.6 s, 753
    of 1161 frames (the good call lost a third of its audio); after: 696 of 707 frames, max gap
    224 ms on the same machine at load 8.5."""
    caplog.set_level(logging.INFO)

    async def main() -> tuple[list[float], list[list]]:
        frames: list[float] = []
        async with connect(f"ws://127.0.0.1:{srv.port}/media?rate=8000&call_id=good") as good:
            reader = asyncio.create_task(collect(good, frames, [], bytearray()))
            talker = asyncio.create_task(talk(good, 60.0))  # talks until the flood is over
            await asyncio.sleep(0.5)
            # the attacker is its own process, as it would be: three connections flooding for 4 s
            flooder = await asyncio.create_subprocess_exec(
                sys.executable, "-c", FLOODER, str(srv.port), MEDIA_TOKEN, stdout=asyncio.subprocess.PIPE
            )
            out, _ = await asyncio.wait_for(flooder.communicate(), 30)
            await asyncio.sleep(0.5)
            talker.cancel()
            await good.send(json.dumps({"event": "stop"}))
            await asyncio.wait_for(reader, 5)
        return frames, json.loads(out)

    with Server(app_with(tone_factory(), settings, store)) as srv:
        frames, floods = asyncio.run(main())
    gaps = np.diff(frames) * 1000
    span = frames[-1] - frames[0]
    print(f"good call: {len(frames)} bot frames in {span:.2f} s, max gap {gaps.max():.0f} ms; floods {floods}")
    # every flood is closed by policy (as a flood, or idle once the server stopped reading it)
    assert all(f[1] == 1008 for f in floods), floods
    assert any(f[2] == "caller audio faster than real time (flood)" for f in floods), floods
    assert len(frames) >= span * 50 * 0.95, (len(frames), span)
    # loose enough for a loaded 2-core CI machine (measured 224 ms at load 8.5 there); main: 8.6 s
    assert gaps.max() < 500, f"max bot-frame gap {gaps.max():.0f} ms during the flood"
    assert "dropped" in caplog.text and "bytes of caller audio sent faster than real time" in caplog.text


# ------------------------------------------------------------------ finding 4: authentication
def test_media_refuses_unauthenticated_peers_and_foreign_origins(settings, store):
    """Finding 4.  Without the token (or with a wrong one, a tampered or expired signed URL, or a
    browser Origin not allowed) /media closes with 1008 before any call exists; the Bearer token,
    Basic password (jambonz wsAuth) and a signed URL (mod_audio_stream) are admitted.  On main 25
    anonymous callers pressing 0 put 25 escalations in the queue."""
    opened: list[str] = []

    def factory(ctx: CallContext) -> ToneEngine:
        opened.append(ctx.call_id)
        return ToneEngine(ctx)

    basic = base64.b64encode(f"jambonz:{MEDIA_TOKEN}".encode()).decode()

    async def attempt(url: str, headers: dict | None = None) -> tuple[int | None, str]:
        async with websockets.connect(url, additional_headers=headers or {}) as ws:
            try:
                await ws.send(b"\0" * 320)
                await ws.send(json.dumps({"event": "dtmf", "digit": "0"}))
                await ws.send(json.dumps({"event": "stop"}))
            except websockets.ConnectionClosed:
                pass
            return await closed_with(ws)

    async def main() -> dict[str, tuple[int | None, str]]:
        base = f"ws://127.0.0.1:{srv.port}/media?rate=8000&case_id=C-1"
        signed = sign_url(base, MEDIA_TOKEN, ttl_s=60)
        cases = {
            "none": (base, None),
            "wrong": (base, {"Authorization": "Bearer " + "x" * 32}),
            "tampered": (signed.replace("case_id=C-1", "case_id=C-2"), None),
            "expired": (sign_url(base, MEDIA_TOKEN, ttl_s=-1), None),
            "origin": (base, {**MEDIA_AUTH, "Origin": "https://evil.example"}),
            "bearer": (base, MEDIA_AUTH),
            "basic": (base, {"Authorization": f"Basic {basic}"}),
            "signed": (signed, None),
            "origin-ok": (base, {**MEDIA_AUTH, "Origin": "https://console.example"}),
        }
        results = {}
        for name, (url, headers) in cases.items():
            results[name] = await attempt(url, headers)
        results["25 anonymous"] = (
            len([r for r in await asyncio.gather(*(attempt(base) for _ in range(25))) if r[0] == 1008]),
            "",
        )
        return results

    guard = media_guard(origins=["https://console.example"])
    with Server(app_with(factory, settings, store, guard)) as srv:
        r = asyncio.run(main())
    assert r["none"] == (1008, "not authenticated: send Authorization: Bearer <media_token> or a signed URL")
    assert r["wrong"][0] == r["tampered"][0] == r["expired"][0] == r["origin"][0] == 1008
    assert r["tampered"][1] == "signed URL: bad signature" and r["expired"][1] == "signed URL has expired"
    assert r["origin"][1] == "Origin 'https://evil.example' is not in media_origins"
    assert [r[k][0] for k in ("bearer", "basic", "signed", "origin-ok")] == [1000] * 4
    assert r["25 anonymous"][0] == 25
    assert len(opened) == 4, "only authenticated peers got a call"


def test_default_guard_refuses_every_media_connection(settings, store):
    """Finding 4: nothing configured (no media_token, no media_allow) means media is closed."""

    async def main() -> tuple[int | None, str]:
        async with websockets.connect(
            f"ws://127.0.0.1:{srv.port}/media?rate=8000", additional_headers=MEDIA_AUTH
        ) as ws:
            return await closed_with(ws)

    with Server(app_with(tone_factory(), settings, store, MediaGuard())) as srv:
        assert asyncio.run(main()) == (1008, "media is closed: set media_token (or media_allow for trusted sources)")


def test_audiosocket_needs_a_signed_uuid_or_a_trusted_source(settings, store):
    """Finding 4.  AudioSocket carries only a UUID: from an untrusted source it must be signed with
    the token (`signed_uuid`); a source in media_allow is trusted.  On main any UUID was a call."""

    async def attempt(server_guard: MediaGuard, cid: uuid.UUID) -> list[int]:
        server = AudioSocketServer(tone_factory(), settings.recordings_dir, store, port=0, guard=server_guard)
        port = await server.start()
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        writer.write(message(0x01, cid.bytes))
        c = Client(reader, writer, cid.hex)
        await c.stream(b"\0" * 320, 0.3)
        c.send(0x00)
        await asyncio.wait_for(c.closed.wait(), 5)
        await server.close()
        return c.kinds

    assert asyncio.run(attempt(media_guard(), uuid.uuid4())) == [0xFF]
    assert asyncio.run(attempt(media_guard(), signed_uuid("another-token-0123456789"))) == [0xFF]
    assert 0x10 in asyncio.run(attempt(media_guard(), signed_uuid(MEDIA_TOKEN)))
    assert 0x10 in asyncio.run(attempt(MediaGuard(allow=["127.0.0.0/8"]), uuid.uuid4()))
    assert len(store.list_calls()) == 0  # tone engines store nothing; refusals never reached a factory


def test_short_media_token_is_refused_with_one_line():
    """Finding 4: a placeholder-length token is refused at start (one line naming the setting)."""
    with pytest.raises(ValueError, match=r"^media_token: expected at least 16 characters, got 6$"):
        MediaGuard(token="secret")
    with pytest.raises(ValueError, match=r"^media_allow: expected CIDRs"):
        MediaGuard(token=MEDIA_TOKEN, allow=["not-a-net"])


# ------------------------------------------------------------------ finding 9: close codes, SIP SUBSCRIBE
def test_websocket_protocol_errors_never_close_with_1000(settings, store):
    """Finding 9.  A bad id closes 1008 with a one-line reason, an oversized frame 1009, our own
    failure 1011.  On main a NUL in callId or a failing engine closed with 1000 (a normal end)."""

    def broken(ctx: CallContext) -> ToneEngine:
        raise RuntimeError("engine could not be built")

    async def attempt(port: int, start: dict | None, frame: bytes = b"\0" * 320) -> tuple[int | None, str]:
        query = "" if start else "?rate=8000"
        async with connect(f"ws://127.0.0.1:{port}/media{query}") as ws:
            try:
                if start:
                    await ws.send(json.dumps(start))
                await ws.send(frame)
            except websockets.ConnectionClosed:
                pass
            return await closed_with(ws)

    with Server(app_with(tone_factory(), settings, store)) as srv:
        nul = asyncio.run(attempt(srv.port, {"event": "start", "sampleRate": 8000, "callId": "a\x00b"}))
        caller = asyncio.run(attempt(srv.port, {"event": "start", "sampleRate": 8000, "from": "=HYPERLINK(1)"}))
        big = asyncio.run(attempt(srv.port, None, b"\0" * 32002))
    with Server(app_with(broken, settings, store)) as srv:
        internal = asyncio.run(attempt(srv.port, None))
    assert nul[0] == 1008 and nul[1].startswith("callId: expected 1-64 characters")
    assert caller[0] == 1008 and caller[1].startswith("from: expected")
    assert big == (1009, "binary frame of 32002 bytes is over 1 s of audio")
    assert internal == (1011, "internal error (RuntimeError)")


def test_subscribe_is_refused_and_never_notifies_a_third_address(tmp_path, sip_worker):
    """Finding 9.  A SUBSCRIBE naming a third address in its Contact is refused (489 to an allowed
    source; a source outside sip_allow gets no answer at all, see test_sip_allow.py) and no NOTIFY
    goes anywhere.  On main pjsua accepted it (200) and sent NOTIFYs to the third address."""
    results = {}
    for allowed in (False, True):
        env = {} if allowed else {"IVR_SIP_ALLOW": '["10.0.0.0/8"]'}
        worker = sip_worker("--engine", "tel_fakes:tone_factory", "--in-process", env=env)
        third = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        third.bind(("127.0.0.1", 0))
        third.settimeout(2.0)
        me = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        me.bind(("127.0.0.1", free_port()))
        me.settimeout(5.0)
        port = me.getsockname()[1]
        tag = f"s{int(allowed)}"
        me.sendto(
            (
                f"SUBSCRIBE sip:bot@127.0.0.1:{worker.port} SIP/2.0\r\n"
                f"Via: SIP/2.0/UDP 127.0.0.1:{port};branch=z9hG4bK-{tag}\r\n"
                f"From: <sip:probe@127.0.0.1>;tag={tag}\r\nTo: <sip:bot@127.0.0.1>\r\nCall-ID: sub-{tag}\r\n"
                f"CSeq: 1 SUBSCRIBE\r\nContact: <sip:victim@127.0.0.1:{third.getsockname()[1]}>\r\n"
                "Event: presence\r\nAccept: application/pidf+xml\r\nExpires: 60\r\nMax-Forwards: 70\r\n"
                "Content-Length: 0\r\n\r\n"
            ).encode(),
            ("127.0.0.1", worker.port),
        )
        try:
            status: str | None = me.recv(4000).split(b"\r\n", 1)[0].decode()
        except TimeoutError:
            status = None
        try:
            notify = third.recv(4000).split(b"\r\n", 1)[0].decode()
        except TimeoutError:
            notify = None
        results[allowed] = (status, notify)
        me.close()
        third.close()
    assert results[False] == (None, None)
    assert results[True] == ("SIP/2.0 489 Bad Event", None)
