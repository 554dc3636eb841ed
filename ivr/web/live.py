"""Live queue over server-sent events.

Escalations are written by other processes (SIP workers, `ivr simulate`), so an in-process event
would miss them: each open stream polls a cheap fingerprint of the open queue once a second
(`queries.queue_marker`) and sends the queue only when it changed.  A comment line every 15 s
keeps proxies from closing an idle stream; EventSource reconnects by itself if it drops.
"""

from __future__ import annotations

import asyncio
import json
import time
from typing import AsyncIterator

from fastapi import Request
from fastapi.responses import StreamingResponse
from starlette.concurrency import run_in_threadpool

from ivr.web import queries
from ivr.web.security import CurrentUser, store_of

POLL_S = 1.0
KEEPALIVE_S = 15.0
MAX_STREAM_S = 300.0  # a stream ends after 5 min (client reconnects): a server shutdown never waits longer


def _payload(request: Request, user: CurrentUser, as_html: bool) -> dict:
    data = queries.present(queries.queue(store_of(request)), user.masked)
    if not as_html:
        return data
    render = request.app.state.templates.get_template("_queue_rows.html").render
    return {
        "open": len(data["open"]),
        "waiting": sum(1 for e in data["open"] if e["status"] == "waiting"),
        "html": render(items=data["open"], now=data["now"]),
        "resolved_html": render(items=data["resolved"], now=data["now"], resolved=True),
    }


async def _events(request: Request, user: CurrentUser, as_html: bool) -> AsyncIterator[str]:
    store = store_of(request)
    yield "retry: 2000\n\n"
    last_marker: tuple | None = None
    last_sent = started = time.monotonic()
    while time.monotonic() - started < MAX_STREAM_S and not request.app.state.stopping:
        if await request.is_disconnected():
            return
        marker = await run_in_threadpool(queries.queue_marker, store)
        if marker != last_marker:
            last_marker = marker
            data = await run_in_threadpool(_payload, request, user, as_html)
            yield f"event: queue\ndata: {json.dumps(data, ensure_ascii=False)}\n\n"
            last_sent = time.monotonic()
        elif time.monotonic() - last_sent > KEEPALIVE_S:
            yield ": keepalive\n\n"
            last_sent = time.monotonic()
        await asyncio.sleep(POLL_S)


def queue_stream(request: Request, user: CurrentUser, as_html: bool) -> StreamingResponse:
    return StreamingResponse(
        _events(request, user, as_html),
        media_type="text/event-stream",
        headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
    )
