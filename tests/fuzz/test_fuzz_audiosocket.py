"""AudioSocket framing (ivr/transports/audiosocket.py) against the real server over TCP.

Each example is one connection: arbitrary bytes, or a first message that is wrong (kind, length,
an unsigned UUID, cut short), or a signed UUID followed by a generated stream — audio of any even
or odd length, DTMF with any payload, repeated UUIDs, unknown kinds, a message cut short, the
peer's hangup or error.  The server's answer is predicted from the wire rules: a protocol error
(wrong first message, unsigned UUID, odd audio, unknown kind) gets an error message (0xff) and the
connection closed; a hangup, an error from the peer or a connection cut short just close it.  Never
a hang, only kinds the protocol has, every connection's slot released, and a good call afterwards.
"""

from __future__ import annotations

import asyncio
import struct
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path

import pytest
from hypothesis import example, given
from hypothesis import strategies as st
from peers import MEDIA_TOKEN, media_guard
from tel_fakes import tone_factory

from ivr.store import Store
from ivr.transports.audiosocket import KIND_AUDIO, KIND_ERROR, KIND_HANGUP, AudioSocketServer, message
from ivr.transports.guard import signed_uuid

from .budget import fuzz

pytestmark = pytest.mark.timeout(120)

KNOWN = {0x00, 0x01, 0x03, 0x10, 0xFF}


@dataclass(frozen=True)
class Wire:
    data: bytes
    end: str | None  # None: the call goes on; "error": we get 0xff; "close": closed without 0xff


def uuid_message() -> bytes:
    return message(0x01, signed_uuid(MEDIA_TOKEN).bytes)


frames = st.one_of(
    st.integers(1, 320).map(lambda n: Wire(message(KIND_AUDIO, b"\x01\x00" * n), None)),
    st.integers(0, 320).map(lambda n: Wire(message(KIND_AUDIO, b"\x01" * (2 * n + 1)), "error")),
    # DTMF: any payload (the tone engine hands over on 0 and hangs up on #: not fuzzed here)
    st.binary(max_size=8).filter(lambda b: b[:1] not in (b"0", b"#")).map(lambda b: Wire(message(0x03, b), None)),
    st.binary(max_size=20).map(lambda b: Wire(message(0x01, b), None)),  # repeated UUID: ignored
    st.tuples(st.integers(0, 255).filter(lambda k: k not in KNOWN), st.binary(max_size=40)).map(
        lambda kb: Wire(message(kb[0], kb[1]), "error")
    ),
    st.binary(max_size=4).map(lambda b: Wire(message(KIND_HANGUP, b), "close")),
    st.binary(max_size=4).map(lambda b: Wire(message(KIND_ERROR, b), "close")),
    # cut short: the header promises more than comes before EOF
    st.tuples(st.sampled_from([0x10, 0x03, 0x42]), st.integers(1, 65535), st.binary(max_size=30)).map(
        lambda t: Wire(struct.pack(">BH", t[0], t[1]) + t[2][: t[1] - 1], "close")
    ),
    st.binary(min_size=1, max_size=2).map(lambda b: Wire(b, "close")),  # a header cut short
)


def first_expectation(raw: bytes) -> str:
    """What the server must do with `raw` as the whole first thing a connection sends (then EOF)."""
    if len(raw) < 3:
        return "close"
    kind, length = struct.unpack(">BH", raw[:3])
    if kind != 0x01 or length != 16:
        return "error"
    return "error" if len(raw) >= 19 else "close"  # an arbitrary 16 bytes are not a signed UUID


class Running:
    """The AudioSocket server on its own event loop thread, as `ivr serve` runs it."""

    def __init__(self, root: Path) -> None:
        self.store = Store(f"sqlite:///{root}/ivr.sqlite3")
        self.guard = media_guard(max_per_source=4, idle_timeout_s=2.0)
        self.server = AudioSocketServer(tone_factory(), root / "rec", self.store, port=0, guard=self.guard)
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.thread.start()
        self.port = asyncio.run_coroutine_threadsafe(self.server.start(), self.loop).result(10)

    def stop(self) -> None:
        asyncio.run_coroutine_threadsafe(self.server.close(), self.loop).result(15)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(10)
        self.store.engine.dispose()


@pytest.fixture(scope="module")
def server():
    with tempfile.TemporaryDirectory(prefix="fuzz-as-") as d:
        srv = Running(Path(d))
        yield srv
        srv.stop()


async def exchange(port: int, chunks: list[bytes]) -> tuple[list[int], float]:
    """Send, half-close, read every message back until the server closes; (kinds, seconds)."""
    t0 = time.monotonic()
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        for c in chunks:
            writer.write(c)
        await writer.drain()
        if writer.can_write_eof():
            writer.write_eof()
    except ConnectionError:
        pass
    kinds: list[int] = []
    try:
        while True:
            kind, length = struct.unpack(">BH", await asyncio.wait_for(reader.readexactly(3), 10))
            await asyncio.wait_for(reader.readexactly(length), 10)
            kinds.append(kind)
    except (asyncio.IncompleteReadError, ConnectionError):
        pass
    writer.close()
    return kinds, time.monotonic() - t0


def check(server: Running, chunks: list[bytes], end: str) -> None:
    kinds, took = asyncio.run(exchange(server.port, chunks))
    assert took < 10, f"the server took {took:.1f} s to close"
    assert set(kinds) <= {KIND_AUDIO, KIND_HANGUP, KIND_ERROR}, f"unexpected kinds {kinds}"
    if end == "error":
        assert kinds and kinds[-1] == KIND_ERROR, f"expected an error message last, got {kinds[-8:]}"
    else:
        assert KIND_ERROR not in kinds, f"no error expected, got {kinds[-8:]}"
    deadline = time.monotonic() + 5
    while server.guard._open and time.monotonic() < deadline:
        time.sleep(0.01)
    assert not server.guard._open, f"connection slots leaked: {server.guard._open}"


@given(raw=st.one_of(st.binary(max_size=64), st.binary(max_size=40).map(lambda b: b"\x01\x00\x10" + b)))
@example(raw=b"\x01\x00\x10" + bytes(16))  # a UUID that is not signed with the token
@fuzz(60)
def test_arbitrary_first_bytes(server, raw):
    check(server, [raw], first_expectation(raw))


@given(stream=st.lists(frames, max_size=10))
@fuzz(120)
def test_streams_after_a_signed_uuid(server, stream):
    chunks = [uuid_message()]
    end = "close"  # our EOF after the last one
    for w in stream:
        chunks.append(w.data)
        if w.end is not None:
            end = w.end
            break
    check(server, chunks, end)


def test_a_good_call_after_the_fuzz(server):
    async def main() -> list[int]:
        reader, writer = await asyncio.open_connection("127.0.0.1", server.port)
        writer.write(uuid_message())
        kinds = []
        for _ in range(10):
            writer.write(message(KIND_AUDIO, bytes(320)))
            kind, length = struct.unpack(">BH", await asyncio.wait_for(reader.readexactly(3), 5))
            await reader.readexactly(length)
            kinds.append(kind)
            await asyncio.sleep(0.02)
        writer.write(message(KIND_HANGUP))
        await writer.drain()
        writer.close()
        return kinds

    assert asyncio.run(main()) == [KIND_AUDIO] * 10
