"""WebSocket media (FreeSWITCH mod_audio_stream / jambonz style) against a real uvicorn server."""

from __future__ import annotations

import asyncio
import json
import logging
import socket
import threading
import time

import numpy as np
import pytest
import uvicorn
import websockets
from fastapi import FastAPI
from peers import MEDIA_AUTH, TESTDATA_SPEECH, free_port, media_guard, read_wav
from tel_fakes import tone_factory
from test_audiosocket import assert_paced

from ivr.store import Escalation
from ivr.transports.websocket import media_router
from ivr.wiring import engine_factory

SPEECH = TESTDATA_SPEECH / "aishell_S0150" / "aishellsample_BAC009S0150W0002.wav"  # 16 kHz


class Server:
    def __init__(self, app: FastAPI) -> None:
        self.port = free_port(socket.SOCK_STREAM)
        self.server = uvicorn.Server(
            uvicorn.Config(app, host="127.0.0.1", port=self.port, log_level="warning", ws="websockets-sansio")
        )
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    def __enter__(self) -> Server:
        self.thread.start()
        deadline = time.monotonic() + 10
        while not self.server.started and time.monotonic() < deadline:
            time.sleep(0.02)
        return self

    def __exit__(self, *exc) -> None:
        self.server.should_exit = True
        self.thread.join(10)


def app_with(factory, settings, store, guard=None) -> FastAPI:
    app = FastAPI()
    app.include_router(
        media_router(factory, settings.recordings_dir, store, agent_uri="sip:agent@pbx", guard=guard or media_guard())
    )
    return app


def connect(url: str, **kw):
    """A /media client that authenticates as the bundled examples do (Bearer media_token)."""
    return websockets.connect(url, additional_headers=kw.pop("headers", MEDIA_AUTH), **kw)


async def stream(ws, pcm: bytes, seconds: float, frame: int = 640) -> None:
    t0 = time.monotonic()
    for i in range(int(seconds * 50)):
        await ws.send(pcm[(i * frame) % max(len(pcm) - frame, 1) :][:frame].ljust(frame, b"\0"))
        await asyncio.sleep(max(0.0, t0 + (i + 1) * 0.02 - time.monotonic()))


async def collect(ws, frames: list[float], texts: list[dict], audio: bytearray) -> None:
    try:
        async for msg in ws:
            if isinstance(msg, bytes):
                frames.append(time.monotonic())
                audio += msg
            else:
                texts.append(json.loads(msg))
    except websockets.ConnectionClosed:
        pass


@pytest.mark.slow
def test_speech_call_paced_transfer_fails_then_bot_hangs_up(settings, store):
    pcm, rate, _ = read_wav(SPEECH)
    assert rate == 16000

    async def main() -> tuple[list[float], list[dict], bytearray, int]:
        frames: list[float] = []
        texts: list[dict] = []
        audio = bytearray()
        async with connect(f"ws://127.0.0.1:{srv.port}/media") as ws:
            await ws.send(
                json.dumps({"event": "start", "sampleRate": 16000, "callId": "ws-call-1", "from": "13800000000"})
            )
            reader = asyncio.create_task(collect(ws, frames, texts, audio))
            await stream(ws, pcm[:, 0].tobytes(), 7.0)
            await ws.send(json.dumps({"event": "dtmf", "digit": "0"}))
            talker = asyncio.create_task(stream(ws, b"\0" * 640, 30.0))
            for _ in range(300):  # the PBX tries the agent and reports that nobody answered
                if any(t.get("event") == "transfer" for t in texts):
                    break
                await asyncio.sleep(0.05)
            await ws.send(json.dumps({"event": "transfer_result", "ok": False, "detail": "486 Busy Here"}))
            await asyncio.wait_for(reader, 30)  # apology + callback offer, then the bot hangs up
            talker.cancel()
            return frames, texts, audio, ws.close_code

    with Server(app_with(engine_factory(settings, store), settings, store)) as srv:
        frames, texts, audio, code = asyncio.run(main())

    assert_paced(frames[:300], 6.0)
    assert np.abs(np.frombuffer(bytes(audio), "<i2")).max() > 3000, "no prompt audio was sent"
    events = [t["event"] for t in texts]
    assert events == ["transfer", "hangup"], texts
    assert texts[0]["target"] == "sip:agent@pbx" and texts[0]["reason"] == "requested"
    assert code == 1000
    (call,) = store.calls_by_peer_ref("ws-call-1")  # the peer's id is a reference, the row key ours
    assert call.transport == "websocket" and call.caller_number == "13800000000" and call.outcome == "escalated"
    with store.session() as s:
        (esc,) = s.query(Escalation).all()
    assert esc.transfer_status == "failed" and esc.transfer_detail == "486 Busy Here"
    turns = store.call_turns(call.id)
    assert turns[0].input_kind == "dtmf" and turns[0].intent == "human"


def test_bad_frames_end_only_their_call(settings, store, caplog):
    caplog.set_level(logging.INFO)

    async def bad(send: list, query: str = "") -> tuple[int, str]:
        async with connect(f"ws://127.0.0.1:{srv.port}/media{query}") as ws:
            for m in send:
                await ws.send(m)
            try:
                while True:
                    await asyncio.wait_for(ws.recv(), 5)
            except websockets.ConnectionClosed:
                return ws.close_code, ws.close_reason

    async def main() -> None:
        frames: list[float] = []
        async with connect(f"ws://127.0.0.1:{srv.port}/media?rate=8000&call_id=good") as good:
            reader = asyncio.create_task(collect(good, frames, [], bytearray()))
            talker = asyncio.create_task(stream(good, b"\x01\x00" * 160, 3.0, frame=320))
            results = await asyncio.gather(
                bad([b"\0" * 320]),  # audio before the start message
                bad(["{not json"], "?rate=8000"),
                bad([b"\0" * 321], "?rate=8000"),  # not 16-bit samples
                bad([json.dumps({"event": "start", "sampleRate": 44100})]),
            )
            await talker
            await good.send(json.dumps({"event": "stop"}))
            await asyncio.wait_for(reader, 5)
        assert [code for code, _ in results] == [1008, 1007, 1007, 1008], results
        assert "sampleRate must be one of (8000, 16000), got 44100" in results[3][1]
        assert_paced(frames, 2.5)

    with Server(app_with(tone_factory(), settings, store)) as srv:
        asyncio.run(main())
    assert "not 16-bit L16 audio" in caplog.text and "not JSON" in caplog.text
    assert "(peer 'good')" in caplog.text and "websocket caller hangup" in caplog.text
