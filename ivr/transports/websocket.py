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
Bad input (invalid JSON, audio before the rate is known, odd-length audio, unsupported rate)
closes that call with code 1003/1007/1008 and a one-line reason; other calls are unaffected.
"""

from __future__ import annotations

import asyncio
import json
import logging
from pathlib import Path
from typing import Any

from fastapi import APIRouter, WebSocket, WebSocketDisconnect

from ivr.events import Transfer
from ivr.transports.media_call import CallContext, EngineFactory, MediaCall, mark_transfer, pace_out, transfer_failed

log = logging.getLogger("ivr.websocket")

RATES = (8000, 16000)
START_TIMEOUT_S = 5.0


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
) -> APIRouter:
    """The router `ivr serve` includes in the console app (`app.include_router(...)`)."""
    router = APIRouter()

    @router.websocket(path)
    async def media(ws: WebSocket) -> None:
        await ws.accept()
        await _serve(ws, engine_factory, recordings_dir, store, agent_uri)

    return router


def _rate(value: Any) -> int:
    try:
        rate = int(value)
    except (TypeError, ValueError):
        raise BadStream(1008, f"sampleRate must be one of {RATES}, got {value!r}") from None
    if rate not in RATES:
        raise BadStream(1008, f"sampleRate must be one of {RATES}, got {rate}")
    return rate


def _json(text: str) -> dict[str, Any]:
    try:
        msg = json.loads(text)
    except json.JSONDecodeError as e:
        raise BadStream(1007, f"text message is not JSON ({e.msg} at {e.pos})") from None
    if not isinstance(msg, dict):
        raise BadStream(1007, f"text message must be a JSON object, got {type(msg).__name__}")
    return msg


async def _serve(
    ws: WebSocket, factory: EngineFactory, recordings_dir: Path | None, store: Any, agent_uri: str
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
        media = await _open(ws, factory, recordings_dir, store, agent_uri, rate, meta)
        sender = asyncio.create_task(pace_out(media, rate * 2 // 50, ws.send_bytes))
        reason = await _receive(ws, media, store)
    except BadStream as e:
        code, reason = e.code, str(e)
        log.warning("websocket call %s: bad stream: %s", media and media.ctx.call_id, reason)
    except TimeoutError:
        code, reason = 1008, f"no start message within {START_TIMEOUT_S:.0f} s"
        log.warning("websocket: %s", reason)
    except (WebSocketDisconnect, RuntimeError) as e:
        reason = ws.state.bot_reason or f"client went away ({type(e).__name__})"
        log.info("websocket call %s: %s", media and media.ctx.call_id, reason)
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

    case_ref = str(meta["case_id"])[:64] if meta.get("case_id") else None  # the call row keeps 64 characters
    ctx = CallContext(
        "websocket",
        rate,
        worker="websocket",
        caller_number=meta.get("caller"),
        case_ref=case_ref,
        on_transfer=on_transfer,
        on_hangup=on_hangup,
    )
    if meta.get("call_id"):
        ctx.call_id = str(meta["call_id"])[:36]
    media = await asyncio.to_thread(MediaCall, ctx, factory, recordings_dir, store)
    ws.state.transfer = None
    log.info("websocket: call %s at %d Hz", ctx.call_id, rate)
    return media


async def _receive(ws: WebSocket, media: MediaCall, store: Any) -> str:
    while True:
        msg = await ws.receive()
        if msg["type"] == "websocket.disconnect":
            return ws.state.bot_reason or "client closed"
        data = msg.get("bytes")
        if data is not None:
            if len(data) % 2:
                raise BadStream(1007, f"binary frame of {len(data)} bytes is not 16-bit L16 audio")
            media.push(data)
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
