"""Asterisk AudioSocket server (asyncio TCP): one connection = one call.

Wire format (Asterisk res_audiosocket): 1-byte kind, 2-byte big-endian length, payload.
  0x01 call UUID (16 bytes, first message)   0x10 audio: signed linear 16-bit 8 kHz mono
  0x03 DTMF digit (Asterisk 20+)             0x00 hangup        0xff error
Bot audio goes back as 0x10 frames of 320 bytes paced at 20 ms with TCP_NODELAY.  A transfer
ends the AudioSocket with a hangup message so the dialplan continues (e.g. to Dial the agents);
see docs/telephony.md for the dialplan.

Security (issue 13, ivr/transports/guard.py): a connection from outside `media_allow` must send a
UUID signed with `media_token` (`guard.signed_uuid`); at most `media_max_per_source` connections per
source; a peer silent for `media_idle_timeout_s` (or dribbling a message slower than that) is closed
and its call ended; audio faster than real time is dropped and a flooding peer closed.  The UUID is
stored as the call's `peer_ref` and case reference, never as its id or file name.
"""

from __future__ import annotations

import asyncio
import logging
import socket
import struct
import uuid
from pathlib import Path
from typing import Any

from ivr.events import Transfer
from ivr.transports.guard import MediaGuard
from ivr.transports.media_call import CallContext, EngineFactory, MediaCall, mark_transfer, pace_out

log = logging.getLogger("ivr.audiosocket")

KIND_HANGUP, KIND_UUID, KIND_DTMF, KIND_AUDIO, KIND_ERROR = 0x00, 0x01, 0x03, 0x10, 0xFF
RATE = 8000
FRAME_BYTES = RATE * 2 // 50  # 20 ms
MAX_PAYLOAD = 65535
FIRST_MESSAGE_TIMEOUT_S = 5.0


class ProtocolError(Exception):
    pass


def message(kind: int, payload: bytes = b"") -> bytes:
    return struct.pack(">BH", kind, len(payload)) + payload


async def read_message(reader: asyncio.StreamReader, timeout: float) -> tuple[int, bytes]:
    """One whole message within `timeout` (header and payload together: dribbling bytes does not
    keep a stalled peer alive)."""

    async def whole() -> tuple[int, bytes]:
        kind, length = struct.unpack(">BH", await reader.readexactly(3))
        return kind, (await reader.readexactly(length) if length else b"")

    return await asyncio.wait_for(whole(), timeout)


class AudioSocketServer:
    def __init__(
        self,
        engine_factory: EngineFactory,
        recordings_dir: Path | None = None,
        store: Any = None,
        host: str = "127.0.0.1",
        port: int = 0,
        worker: str | None = None,
        guard: MediaGuard | None = None,
    ) -> None:
        """`guard`: authentication and per-peer limits (`MediaGuard.from_settings`); the default one
        (no token, nothing trusted) refuses every connection."""
        self.engine_factory = engine_factory
        self.recordings_dir = recordings_dir
        self.store = store
        self.host, self.port = host, port
        self.worker = worker
        self.guard = guard or MediaGuard()
        self.server: asyncio.AbstractServer | None = None
        self.finished: list[dict[str, Any]] = []
        self._handlers: set[asyncio.Task] = set()

    async def start(self) -> int:
        self.server = await asyncio.start_server(self._serve_call, self.host, self.port)
        self.port = self.server.sockets[0].getsockname()[1]
        log.info("audiosocket: listening on %s:%d", self.host, self.port)
        return self.port

    async def close(self, grace_s: float = 5.0) -> None:
        """Stop listening; let calls in progress finish their clean-up (recording, call row)."""
        if self.server is not None:
            self.server.close()
        if self._handlers:
            await asyncio.wait(self._handlers, timeout=grace_s)

    async def _serve_call(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        if task is not None:
            self._handlers.add(task)
            task.add_done_callback(self._handlers.discard)
        peer = writer.get_extra_info("peername")
        sock = writer.get_extra_info("socket")
        if sock is not None:
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        media: MediaCall | None = None
        reason = "?"
        refused = self.guard.acquire(peer)
        if refused is not None:
            self._refuse(peer, "per_source", refused)
            await _send(writer, KIND_ERROR, b"", quiet=True)
            writer.close()
            return
        try:
            # check the header before reading a payload: a stray client must not hold a slot
            kind, length = struct.unpack(">BH", await asyncio.wait_for(reader.readexactly(3), FIRST_MESSAGE_TIMEOUT_S))
            if kind != KIND_UUID or length != 16:
                raise ProtocolError(
                    f"first message must be UUID (kind 0x01, 16 bytes), got kind 0x{kind:02x} with {length} bytes"
                )
            payload = await asyncio.wait_for(reader.readexactly(16), FIRST_MESSAGE_TIMEOUT_S)
            call_uuid = uuid.UUID(bytes=payload)
            refused = self.guard.check_uuid(call_uuid, peer)
            if refused is not None:
                self._refuse(peer, "auth", refused)
                raise ProtocolError(refused)
            media = await self._open(call_uuid, writer)
            sender = asyncio.create_task(
                pace_out(media, FRAME_BYTES, lambda pcm: _send(writer, KIND_AUDIO, pcm, quiet=True))
            )
            try:
                reason = await self._receive(reader, media)
            finally:
                sender.cancel()
        except ProtocolError as e:
            reason = f"protocol error: {e}"
            log.warning("audiosocket %s: %s", peer, reason)
            await _send(writer, KIND_ERROR, b"", quiet=True)
        except (asyncio.IncompleteReadError, ConnectionError) as e:
            bot_reason = getattr(writer, "ivr_reason", None)
            if bot_reason:  # we hung up (done or handed back to the dialplan)
                reason = bot_reason
                log.info("audiosocket call %s: %s", media and media.ctx.call_id, reason)
                return
            reason = f"connection lost ({type(e).__name__})"
            log.warning("audiosocket %s call %s: %s", peer, media and media.ctx.call_id, reason)
        except TimeoutError:
            reason = f"timeout waiting for Asterisk (nothing for {self.guard.idle_timeout_s:g} s)"
            log.warning("audiosocket %s call %s: %s", peer, media and media.ctx.call_id, reason)
        except Exception as e:  # our own failure: end this call cleanly, never the server
            reason = f"internal error ({type(e).__name__})"
            log.exception("audiosocket %s call %s: %s", peer, media and media.ctx.call_id, reason)
            await _send(writer, KIND_ERROR, b"", quiet=True)
        finally:
            self.guard.release(peer)
            if media is not None:
                self.finished.append(await asyncio.to_thread(media.end, f"audiosocket {reason}"))
            writer.close()

    @staticmethod
    def _refuse(peer: Any, why: str, reason: str) -> None:
        from ivr import metrics

        metrics.MEDIA_REFUSED.labels("audiosocket", why).inc()
        log.warning("audiosocket %s refused: %s", peer, reason)

    async def _open(self, call_uuid: uuid.UUID, writer: asyncio.StreamWriter) -> MediaCall:
        loop = asyncio.get_running_loop()
        holder: dict[str, MediaCall] = {}

        def on_transfer(t: Transfer) -> None:  # engine thread → loop
            loop.call_soon_threadsafe(lambda: asyncio.ensure_future(self._handoff(holder["m"], writer, t)))

        def on_hangup(outcome: str) -> None:
            loop.call_soon_threadsafe(lambda: asyncio.ensure_future(_bye(writer, f"bot hangup ({outcome})")))

        # The UUID is all AudioSocket carries: the peer's reference of the call, and the case
        # reference for a book keyed by UUIDs (docs/telephony.md "Which case is this call?").  The
        # call id (row key, recording name) is ours: a reused UUID never touches an earlier call.
        ctx = CallContext(
            "audiosocket",
            RATE,
            worker=self.worker,
            case_ref=str(call_uuid),
            peer_ref=str(call_uuid),
            on_transfer=on_transfer,
            on_hangup=on_hangup,
        )
        media = await asyncio.to_thread(MediaCall, ctx, self.engine_factory, self.recordings_dir, self.store)
        holder["m"] = media
        log.info("audiosocket: call %s (peer UUID %s)", ctx.call_id, call_uuid)
        return media

    async def _handoff(self, media: MediaCall, writer: asyncio.StreamWriter, t: Transfer) -> None:
        """AudioSocket cannot transfer: hand the channel back to the dialplan, which dials the agents."""
        await asyncio.to_thread(mark_transfer, self.store, t, "requested", "audiosocket: back to dialplan")
        await _bye(writer, "transferred: back to dialplan")

    async def _receive(self, reader: asyncio.StreamReader, media: MediaCall) -> str:
        while True:
            kind, payload = await read_message(reader, self.guard.idle_timeout_s)
            if kind == KIND_AUDIO:
                if len(payload) % 2:
                    raise ProtocolError(f"audio payload of {len(payload)} bytes is not 16-bit samples")
                if not media.push(payload):  # faster than real time: dropped; other calls first
                    if media.flooding:
                        raise ProtocolError("caller audio faster than real time (flood)")
                    await asyncio.sleep(0)
            elif kind == KIND_DTMF:
                media.dtmf(payload.decode("ascii", "replace")[:1])
            elif kind == KIND_HANGUP:
                return "caller hangup"
            elif kind == KIND_ERROR:
                return f"Asterisk error {payload.hex() or '(no code)'}"
            elif kind == KIND_UUID:
                log.warning("audiosocket call %s: repeated UUID message ignored", media.ctx.call_id)
            else:
                raise ProtocolError(f"unknown message kind 0x{kind:02x} ({len(payload)} bytes)")


async def _send(writer: asyncio.StreamWriter, kind: int, payload: bytes, quiet: bool = False) -> None:
    try:
        writer.write(message(kind, payload))
        await writer.drain()
    except (ConnectionError, RuntimeError):
        if not quiet:
            raise


async def _bye(writer: asyncio.StreamWriter, reason: str) -> None:
    """Bot side hangup: tell Asterisk and close; the receive loop then ends on EOF."""
    writer.ivr_reason = reason  # type: ignore[attr-defined]  # read back when the receive loop ends
    await _send(writer, KIND_HANGUP, b"", quiet=True)
    writer.close()
