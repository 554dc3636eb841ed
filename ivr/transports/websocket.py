"""WebSocket media endpoint for FreeSWITCH mod_audio_stream / mod_audio_fork and jambonz `listen`.

Route: `/media` (query: `rate=8000|16000`, optional `call_id`, `caller`, `case_id`).
Client → bot:
  text  {"event": "start", "sampleRate": 8000|16000, "callId": "...", "from": "...", "caseId": "..."}
        (rate may come from the query string instead; caseId: which case the dialer placed the call for);
        {"event": "dtmf", "digit": "5"};
        {"event": "stop"} or {"event": "hangup"}; {"event": "transfer_result", "ok": false, "detail": "..."}
  binary  L16 little-endian mono caller audio, any frame size.
Bot → client:
  binary  L16 frames of 20 ms, paced in real time;
  text  {"event": "transfer", "target": AGENT_URI, "reason": ..., "escalation_id": ...};
        {"event": "hangup", "outcome": ...} followed by a normal close (1000).
Bad input (invalid JSON, audio before the rate is known, odd-length audio, unsupported rate, an
id that is not 1-64 safe characters) closes that call with code 1007/1008 (1009: a frame over one
second of audio; 1011: our own failure) and a one-line reason; other calls are unaffected.

Security (issue 13, ivr/transports/guard.py, docs/telephony.md "Media security"): the request must
authenticate (Bearer token, Basic password, or a signed URL) unless its source is in
`media_allow`; a browser Origin must be listed in `media_origins`; at most `media_max_per_source`
connections per source; no message for `media_idle_timeout_s` ends the call; caller audio faster
than real time is dropped and a flooding peer is closed (1008).  `callId` is stored as the call's
`peer_ref`: the call id, the row key and the recording's file name are always generated here.
"""

from __future__ import annotations

import asyncio
import json
import logging
from pathlib import Path
from typing import Any

from fastapi import APIRouter, WebSocket, WebSocketDisconnect

from ivr.events import Transfer
from ivr.transports.guard import BadPeerId, MediaGuard, peer_ref
from ivr.transports.media_call import CallContext, EngineFactory, MediaCall, mark_transfer, pace_out, transfer_failed

log = logging.getLogger("ivr.websocket")

RATES = (8000, 16000)
START_TIMEOUT_S = 5.0
MAX_FRAME_S = 1.0  # a binary frame longer than this much audio is refused (1009)


class BadStream(Exception):
    def __init__(self, code: int, reason: str) -> None:
        super().__init__(reason)
        self.code = code


def media_router(
    engine_factory: EngineFactory,
    recordings_dir: Path | None = None,
    store: Any = None,
    agent_uri: str = "",
    path: str = "/media",
    guard: MediaGuard | None = None,
) -> APIRouter:
    """The router `ivr serve` includes in the console app (`app.include_router(...)`).
    `guard`: authentication and per-peer limits (`MediaGuard.from_settings`); the default one
    (no token, nothing trusted) refuses every connection."""
    router = APIRouter()
    g = guard or MediaGuard()

    @router.websocket(path)
    async def media(ws: WebSocket) -> None:
        await ws.accept()
        refused = g.check_ws(ws.url.path, ws.url.query, ws.headers, ws.client)
        why = "auth"
        if refused is None:
            refused, why = g.acquire(ws.client), "per_source"
        if refused is not None:
            _count_refused(why)
            log.warning("websocket from %s refused: %s", ws.client and ws.client.host, refused)
            await _close(ws, 1008, refused)
            return
        try:
            await _serve(ws, engine_factory, recordings_dir, store, agent_uri, g.idle_timeout_s)
        finally:
            g.release(ws.client)

    return router


def _count_refused(why: str) -> None:
    from ivr import metrics

    metrics.MEDIA_REFUSED.labels("websocket", why).inc()


def _caller(value: Any) -> str | None:
    """A caller number/URI from the peer: a leading + is allowed, otherwise what `peer_ref` allows."""
    if isinstance(value, str) and value.startswith("+"):
        return "+" + (peer_ref(value[1:], "from") or "")
    return peer_ref(value, "from")


class _Internal(Exception):
    """Our own failure while opening the call (kept apart from starlette's RuntimeError on disconnect)."""

    def __init__(self, cause: Exception) -> None:
        super().__init__(str(cause))
        self.cause = cause


def _rate(value: Any) -> int:
    try:
        rate = int(value)
    except (TypeError, ValueError, OverflowError):  # OverflowError: JSON's Infinity
        raise BadStream(1008, f"sampleRate must be one of {RATES}, got {value!r}") from None
    if rate not in RATES:
        raise BadStream(1008, f"sampleRate must be one of {RATES}, got {rate}")
    return rate


def _json(text: str) -> dict[str, Any]:
    try:
        msg = json.loads(text)
    except json.JSONDecodeError as e:
        raise BadStream(1007, f"text message is not JSON ({e.msg} at {e.pos})") from None
    except (ValueError, RecursionError) as e:  # the peer's: a 5000-digit number, arrays nested 100000 deep
        raise BadStream(1007, f"text message is not readable JSON ({type(e).__name__})") from None
    if not isinstance(msg, dict):
        raise BadStream(1007, f"text message must be a JSON object, got {type(msg).__name__}")
    return msg


async def _serve(
    ws: WebSocket, factory: EngineFactory, recordings_dir: Path | None, store: Any, agent_uri: str, idle_s: float
) -> None:
    q = ws.query_params
    meta: dict[str, Any] = {
        "rate": q.get("rate") or q.get("sampleRate"),
        "call_id": q.get("call_id"),
        "caller": q.get("caller"),
        "case_id": q.get("case_id"),
    }
    media: MediaCall | None = None
    sender: asyncio.Task | None = None
    ws.state.bot_reason = None  # set when the bot ends the call (read when the socket closes)
    reason = "?"
    code = 1000
    try:
        first: dict[str, Any] | None = None
        if meta["rate"] is None:  # the rate comes from the start message
            msg = await asyncio.wait_for(ws.receive(), START_TIMEOUT_S)
            if msg["type"] == "websocket.disconnect":
                return
            if msg.get("text") is None:
                raise BadStream(
                    1008, 'audio before the start message: send {"event": "start", "sampleRate": 8000} first'
                )
            first = _json(msg["text"])
            meta["rate"] = first.get("sampleRate", first.get("sample_rate", first.get("rate")))
            meta["call_id"] = first.get("callId") or first.get("call_id") or meta["call_id"]
            meta["caller"] = first.get("from") or first.get("caller") or meta["caller"]
            meta["case_id"] = first.get("caseId") or first.get("case_id") or meta["case_id"]
        rate = _rate(meta["rate"])
        try:  # ids from the peer are references only (issue 13 finding 1)
            meta["call_id"] = peer_ref(meta["call_id"], "callId")
            meta["case_id"] = peer_ref(meta["case_id"], "caseId")
            meta["caller"] = _caller(meta["caller"])
        except BadPeerId as e:
            raise BadStream(1008, str(e)) from None
        try:
            media = await _open(ws, factory, recordings_dir, store, agent_uri, rate, meta)
        except Exception as e:  # the engine could not be built: our failure (1011), logged below
            raise _Internal(e) from e
        sender = asyncio.create_task(pace_out(media, rate * 2 // 50, ws.send_bytes))
        reason = await _receive(ws, media, store, idle_s)
    except BadStream as e:
        code, reason = e.code, str(e)
        log.warning("websocket call %s: bad stream: %s", media and media.ctx.call_id, reason)
    except TimeoutError:
        code = 1008
        reason = (
            f"no start message within {START_TIMEOUT_S:.0f} s"
            if media is None
            else f"no message from the peer for {idle_s:g} s"
        )
        log.warning("websocket call %s: %s", media and media.ctx.call_id, reason)
    except (WebSocketDisconnect, RuntimeError) as e:
        reason = ws.state.bot_reason or f"client went away ({type(e).__name__})"
        log.info("websocket call %s: %s", media and media.ctx.call_id, reason)
    except Exception as e:  # our failure, not the peer's: 1011, never a normal close
        cause = e.cause if isinstance(e, _Internal) else e
        code, reason = 1011, f"internal error ({type(cause).__name__})"
        log.exception("websocket call %s: %s", media and media.ctx.call_id, reason)
    finally:
        if sender is not None:
            sender.cancel()
        if media is not None:
            await asyncio.to_thread(media.end, f"websocket {reason}")
        await _close(ws, code, reason)


async def _open(
    ws: WebSocket,
    factory: EngineFactory,
    recordings_dir: Path | None,
    store: Any,
    agent_uri: str,
    rate: int,
    meta: dict,
) -> MediaCall:
    loop = asyncio.get_running_loop()

    def send_json_threadsafe(payload: dict[str, Any]) -> None:
        asyncio.run_coroutine_threadsafe(_send_json(ws, payload), loop)

    def on_transfer(t: Transfer) -> None:  # engine thread
        ws.state.transfer = t
        mark_transfer(store, t, "requested", f"websocket: {agent_uri}")
        send_json_threadsafe(
            {"event": "transfer", "target": agent_uri, "reason": t.reason, "escalation_id": t.escalation_id}
        )

    def on_hangup(outcome: str) -> None:
        ws.state.bot_reason = f"bot hangup ({outcome})"
        send_json_threadsafe({"event": "hangup", "outcome": outcome})
        asyncio.run_coroutine_threadsafe(_close(ws, 1000, ws.state.bot_reason), loop)

    ctx = CallContext(
        "websocket",
        rate,
        worker="websocket",
        caller_number=meta.get("caller"),
        case_ref=meta.get("case_id"),
        peer_ref=meta.get("call_id"),
        on_transfer=on_transfer,
        on_hangup=on_hangup,
    )
    media = await asyncio.to_thread(MediaCall, ctx, factory, recordings_dir, store)
    ws.state.transfer = None
    log.info("websocket: call %s (peer %r) at %d Hz", ctx.call_id, ctx.peer_ref, rate)
    return media


async def _receive(ws: WebSocket, media: MediaCall, store: Any, idle_s: float) -> str:
    max_frame = int(media.ctx.rate * 2 * MAX_FRAME_S)
    while True:
        msg = await asyncio.wait_for(ws.receive(), idle_s)  # a stalled peer: TimeoutError, call ended
        if msg["type"] == "websocket.disconnect":
            return ws.state.bot_reason or "client closed"
        data = msg.get("bytes")
        if data is not None:
            if len(data) % 2:
                raise BadStream(1007, f"binary frame of {len(data)} bytes is not 16-bit L16 audio")
            if len(data) > max_frame:
                raise BadStream(1009, f"binary frame of {len(data)} bytes is over {MAX_FRAME_S:g} s of audio")
            if not media.push(data):  # faster than real time: dropped; let other calls' audio go first
                if media.flooding:
                    raise BadStream(1008, "caller audio faster than real time (flood)")
                await asyncio.sleep(0)
            continue
        event = _json(msg.get("text") or "")
        kind = event.get("event")
        if kind == "dtmf":
            media.dtmf(str(event.get("digit", event.get("dtmf", ""))))
        elif kind in ("stop", "hangup"):
            return "caller hangup"
        elif kind == "transfer_result":
            ok = bool(event.get("ok"))
            detail = str(event.get("detail", ""))
            if ws.state.transfer is not None:
                await asyncio.to_thread(mark_transfer, store, ws.state.transfer, "accepted" if ok else "failed", detail)
            if not ok:
                transfer_failed(media, detail or "transfer failed")
        elif kind == "start":
            log.warning("websocket call %s: repeated start ignored", media.ctx.call_id)
        else:
            log.warning("websocket call %s: unknown event %r ignored", media.ctx.call_id, kind)


async def _send_json(ws: WebSocket, payload: dict[str, Any]) -> None:
    try:
        await ws.send_text(json.dumps(payload, ensure_ascii=False))
    except (RuntimeError, WebSocketDisconnect):
        pass


async def _close(ws: WebSocket, code: int, reason: str) -> None:
    try:
        await ws.close(code, reason[:120])
    except (RuntimeError, WebSocketDisconnect):
        pass
