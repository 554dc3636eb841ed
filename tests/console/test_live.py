"""The live queue stream sees escalations written by another process (as SIP workers do)."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap


def next_event(lines) -> tuple[str, dict]:  # type: ignore[no-untyped-def]
    event = None
    for line in lines:
        if line.startswith("event: "):
            event = line[7:]
        elif line.startswith("data: ") and event:
            return event, json.loads(line[6:])
    raise AssertionError("stream ended")


def insert_from_other_process(db_url: str, caller: str) -> int:
    code = textwrap.dedent(f"""
        from ivr.store import Store
        from ivr.web.sampledata import make_call
        print(make_call(Store({db_url!r}), "complaint", caller_number={caller!r})[1])
    """)
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True)
    return int(out.stdout.strip())


def test_stream_pushes_escalations_from_other_processes_masked_for_agents(client, settings):
    agent = client("agent")
    with agent.stream("GET", "/api/escalations/stream", timeout=15) as r:
        assert r.status_code == 200 and r.headers["content-type"].startswith("text/event-stream")
        lines = r.iter_lines()
        event, first = next_event(lines)
        assert event == "queue" and first["open"] == []
        esc_id = insert_from_other_process(settings.database_url, "13912345678")
        event, data = next_event(lines)  # pushed within ~1 s poll, no request from us
        assert [e["id"] for e in data["open"]] == [esc_id]
        assert data["open"][0]["caller_number"] == "139****5678"


def test_page_stream_sends_rendered_rows(client, store):
    from ivr.web.sampledata import make_call

    _, esc_id = make_call(store, "requested")
    with client("supervisor").stream("GET", "/queue/stream", timeout=15) as r:
        event, data = next_event(r.iter_lines())
    assert data["open"] == 1 and data["waiting"] == 1
    assert f'data-id="{esc_id}"' in data["html"] and "要求人工" in data["html"]
