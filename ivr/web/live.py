"""Live queue over server-sent events (sse-starlette: pings, disconnects, uvicorn shutdown).

Escalations are written by other processes (SIP workers, `ivr simulate`), so an in-process event
would miss them: each open stream polls a cheap fingerprint of the open queue once a second
(`queries.queue_marker`) and sends the queue only when it changed.  EventSource reconnects by
itself if the stream drops.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator

from fastapi import Request
from sse_starlette import EventSourceResponse
from starlette.concurrency import run_in_threadpool

from ivr.web import queries
from ivr.web.security import CurrentUser, flow_of, store_of

POLL_S = 1.0
PING_S = 15  # comment line on an idle stream so proxies keep it open


def _payload(request: Request, user: CurrentUser, as_html: bool) -> dict:
    data = queries.present(queries.queue(store_of(request), flow_of(request)), user.masked)
    if not as_html:
        return data
    render = request.app.state.templates.get_template("_queue_rows.html").render
    return {
        "open": len(data["open"]),
        "waiting": sum(1 for e in data["open"] if e["status"] == "waiting"),
        "html": render(items=data["open"], now=data["now"]),
        "resolved_html": render(items=data["resolved"], now=data["now"], resolved=True),
    }


async def _events(request: Request, user: CurrentUser, as_html: bool) -> AsyncIterator[dict]:
    store = store_of(request)
    last_marker: tuple | None = None
    # `stopping`: set by whoever embeds the app in a thread (no signal handlers there)
    while not request.app.state.stopping:
        marker = await run_in_threadpool(queries.queue_marker, store)
        if marker != last_marker:
            last_marker = marker
            data = await run_in_threadpool(_payload, request, user, as_html)
            yield {"event": "queue", "data": json.dumps(data, ensure_ascii=False), "retry": 2000}
        await asyncio.sleep(POLL_S)


def queue_stream(request: Request, user: CurrentUser, as_html: bool) -> EventSourceResponse:
    return EventSourceResponse(_events(request, user, as_html), ping=PING_S, headers={"X-Accel-Buffering": "no"})
