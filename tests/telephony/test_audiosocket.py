"""Asterisk AudioSocket: a protocol-level client (what res_audiosocket sends) against the server."""

from __future__ import annotations

import asyncio
import logging
import struct
import time

import numpy as np
from peers import MEDIA_TOKEN, TESTDATA_SPEECH, media_guard, read_wav
from tel_fakes import tone_factory

from ivr.store import Escalation
from ivr.transports.audiosocket import AudioSocketServer, message
from ivr.transports.guard import signed_uuid
from ivr.wiring import engine_factory

SPEECH = TESTDATA_SPEECH / "aishell_S0150" / "aishellsample_BAC009S0150W0001.wav"


def speech_8k() -> bytes:
    import soxr

    pcm, rate, _ = read_wav(SPEECH)
    return soxr.resample(pcm[:, 0].astype(np.float32), rate, 8000).clip(-32768, 32767).astype("<i2").tobytes()


class Client:
    """Plays Asterisk: UUID, 20 ms audio frames in real time, DTMF, hangup; logs what comes back."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, call_id: str) -> None:
        self.reader, self.writer, self.call_id = reader, writer, call_id
        self.audio_at: list[float] = []
        self.audio = bytearray()
        self.kinds: list[int] = []
        self.closed = asyncio.Event()
        self._task = asyncio.create_task(self._read())

    @classmethod
    async def connect(cls, port: int) -> Client:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        cid = signed_uuid(MEDIA_TOKEN)  # what the dialer sets as the AudioSocket UUID (docs/telephony.md)
        writer.write(message(0x01, cid.bytes))
        return cls(reader, writer, cid.hex)

    async def _read(self) -> None:
        try:
            while True:
                kind, length = struct.unpack(">BH", await self.reader.readexactly(3))
                payload = await self.reader.readexactly(length)
                self.kinds.append(kind)
                if kind == 0x10:
                    self.audio_at.append(time.monotonic())
                    self.audio += payload
        except (asyncio.IncompleteReadError, ConnectionError):
            self.closed.set()

    async def stream(self, pcm: bytes, seconds: float) -> None:
        t0 = time.monotonic()
        for i in range(int(seconds * 50)):
            frame = pcm[(i * 320) % max(len(pcm) - 320, 1) :][:320].ljust(320, b"\0")
            self.writer.write(message(0x10, frame))
            await asyncio.sleep(max(0.0, t0 + (i + 1) * 0.02 - time.monotonic()))

    def send(self, kind: int, payload: bytes = b"") -> None:
        self.writer.write(message(kind, payload))


def assert_paced(times: list[float], seconds: float) -> None:
    gaps = np.diff(times) * 1000
    assert len(times) >= seconds * 50 * 0.9, f"{len(times)} frames in {seconds}s"
    assert 19 <= np.median(gaps) <= 21, f"median frame interval {np.median(gaps):.1f} ms"
    assert np.percentile(gaps, 95) < 40, f"bursty output: p95 interval {np.percentile(gaps, 95):.1f} ms"
    # never sent faster than real time (unpaced writes are what make callers hear only prompt tails)
    assert (times[-1] - times[0]) > (len(times) - 1) * 0.02 * 0.9


def test_speech_call_is_paced_dtmf_transfers_and_hangs_up(settings, store):
    async def main() -> None:
        server = AudioSocketServer(
            engine_factory(settings, store), settings.recordings_dir, store, port=0, guard=media_guard()
        )
        port = await server.start()
        c = await Client.connect(port)
        await c.stream(speech_8k(), 7.0)  # speaks over the protected opening notice
        c.send(0x03, b"0")  # caller asks for a human
        streaming = asyncio.create_task(c.stream(b"\0" * 320, 15.0))
        await asyncio.wait_for(c.closed.wait(), 15)  # transfer → bot hands the channel back
        streaming.cancel()
        await server.close()  # waits for the call's clean-up
        assert_paced(c.audio_at[:300], 6.0)
        assert c.kinds[-1] == 0x00, "the bot must end with a hangup message"
        assert np.abs(np.frombuffer(bytes(c.audio), "<i2")).max() > 3000, "no prompt audio was sent"
        (st,) = server.finished
        assert "transferred" in st["reason"], st

    asyncio.run(main())
    (call,) = store.list_calls()
    assert call.transport == "audiosocket" and call.outcome == "escalated"
    with store.session() as s:
        (esc,) = s.query(Escalation).all()
    assert esc.reason == "requested" and esc.transfer_status == "requested"
    rec, rate, ch = read_wav(__import__("pathlib").Path(call.recording_path))
    assert ch == 2 and rate == 8000 and 8 < len(rec) / rate < 25


def test_bad_peers_end_their_own_call_only(settings, store, caplog):
    caplog.set_level(logging.INFO)

    async def main() -> None:
        server = AudioSocketServer(tone_factory(), settings.recordings_dir, store, port=0, guard=media_guard())
        port = await server.start()
        good = await Client.connect(port)
        good_stream = asyncio.create_task(good.stream(b"\x10\x00" * 160, 3.0))

        # 1. garbage instead of a UUID
        r, w = await asyncio.open_connection("127.0.0.1", port)
        w.write(b"GET / HTTP/1.0\r\n\r\n")
        await asyncio.wait_for(r.read(), 5)  # server answers with an error message and closes
        # 2. abrupt TCP close in the middle of a call
        rude = await Client.connect(port)
        await rude.stream(b"\0" * 320, 0.5)
        rude.writer.transport.abort()
        # 3. unknown message kind mid-call
        odd = await Client.connect(port)
        await odd.stream(b"\0" * 320, 0.3)
        odd.send(0x42, b"xyz")
        await asyncio.wait_for(odd.closed.wait(), 5)

        await good_stream
        good.send(0x00)
        await asyncio.wait_for(good.closed.wait(), 5)
        await server.close()
        assert_paced(good.audio_at, 2.5)
        reasons = sorted(st["reason"] for st in server.finished)
        assert len(reasons) == 3, reasons  # the garbage connection never became a call
        assert any("connection lost" in r for r in reasons) and any("unknown message kind 0x42" in r for r in reasons)
        assert any(r == "audiosocket caller hangup" for r in reasons)

    asyncio.run(main())
    assert "first message must be UUID" in caplog.text
    assert "connection lost" in caplog.text
