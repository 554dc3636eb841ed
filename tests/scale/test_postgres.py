"""ivr.store on a real PostgreSQL server: the shared store of several worker processes/hosts."""

from __future__ import annotations

import datetime as dt
import subprocess
import sys
from collections import Counter
from pathlib import Path

import pytest

from ivr.flow import bundled_flow
from ivr.store import Store

FLOW = bundled_flow()

WRITER = Path(__file__).with_name("store_writer.py")


@pytest.fixture
def pg_store(pg_url: str):
    st = Store(pg_url)
    yield st
    st.engine.dispose()


def test_store_runs_on_postgresql(pg_store: Store) -> None:
    assert pg_store.engine.dialect.name == "postgresql"
    pg_store.start_call("c1", transport="sip", worker="10.0.0.2:5070")
    assert pg_store.get_call("c1").worker == "10.0.0.2:5070"


def test_writers_in_separate_processes_all_visible_through_one_store(pg_url: str) -> None:
    n = 15
    # Both start on an empty database at once: schema creation itself must not race.
    procs = {
        w: subprocess.Popen(
            [sys.executable, str(WRITER), pg_url, w, str(n)], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
        )
        for w in ("worker-a:5070", "worker-b:5072")
    }
    written: dict[str, set[str]] = {}
    for w, p in procs.items():
        out, err = p.communicate(timeout=120)
        assert p.returncode == 0, f"writer {w} failed: {[ln for ln in err.splitlines() if 'Error' in ln][-1:]}"
        written[w] = set(out.split())
    assert all(len(ids) == n for ids in written.values())

    store = Store(pg_url)
    try:
        calls = store.list_calls(limit=1000)
        assert Counter(c.worker for c in calls) == {"worker-a:5070": n, "worker-b:5072": n}
        assert {c.id for c in calls} == written["worker-a:5070"] | written["worker-b:5072"]
        assert all(c.turn_count == 3 and c.outcome == "escalated" for c in calls)
        some = next(iter(written["worker-b:5072"]))
        assert [t.caller_text for t in store.call_turns(some)] == ["是我", "知道", "打零工"]
        queue = store.list_escalations(status="waiting", limit=1000)
        assert len(queue) == 2 * n
        assert Counter(e.summary["worker"] for e in queue) == {"worker-a:5070": n, "worker-b:5072": n}
    finally:
        store.engine.dispose()


def test_json_columns_round_trip(pg_store: Store) -> None:
    case = {
        "debtor": "李四",
        "amount": 12800.5,
        "overdue_days": 45,
        "tags": ["分期", None, True],
        "nested": {"k": [1, {"x": "是"}]},
    }
    slots = {
        "amount": {"value": 3000, "confidence": 0.91, "turn": 4},
        "categories": {"value": ["rent", "medical"], "confidence": 0.8, "turn": 5},
    }
    timeline = [
        {"turn": 1, "lexical": 0.0, "acoustic": 0.12, "score": 0.05},
        {"turn": 4, "lexical": 0.9, "acoustic": 0.7, "score": 0.85},
    ]
    pg_store.start_call("c-json", case=case, slots=slots, emotion_timeline=timeline)
    pg_store.add_turn(
        "c-json", idx=1, menu="income_amount", input_kind="speech", slots={"amount": 3000}, timing={"latency_ms": 812.5}
    )
    summary = {"identity": "confirmed", "slots": slots, "transcript": [{"caller": "别再打了", "bot": "抱歉打扰您"}]}
    esc = pg_store.add_escalation(
        "c-json", "emotional", 1, summary=summary, narrative="第4轮情绪激动（“别再打了”），转人工。"
    )

    call = pg_store.get_call("c-json")
    assert (call.case, call.slots, call.emotion_timeline) == (case, slots, timeline)
    assert pg_store.call_turns("c-json")[0].timing == {"latency_ms": 812.5}
    got = pg_store.list_escalations()[0]
    assert got.id == esc.id and got.summary == summary and got.narrative.endswith("转人工。")


def _fill_queue(store: Store) -> list[tuple[str, str, str]]:
    t0 = dt.datetime(2026, 11, 18, 10, 0)
    # Ties on purpose: same priority and same created_at must still come out in one fixed order.
    rows = [
        ("c1", "confused", 0),
        ("c2", "distress", 5),
        ("c3", "requested", 1),
        ("c4", "emotional", 1),
        ("c5", "emotional", 1),
        ("c6", "distress", 5),
        ("c7", "complaint", 2),
        ("c8", "confused", 0),
        ("c9", "dispute", 3),
        ("c10", "emotional", 0),
    ]
    for call_id, reason, minute in rows:
        store.start_call(call_id)
        store.add_escalation(call_id, reason, FLOW.priority(reason), created_at=t0 + dt.timedelta(minutes=minute))
    store.add_escalation("c1", "requested", FLOW.priority("requested"), created_at=t0, status="resolved")
    return [(e.call_id, e.reason, e.status) for e in store.list_escalations()]


def test_escalation_queue_order_same_as_sqlite(pg_store: Store, store: Store) -> None:
    on_sqlite, on_pg = _fill_queue(store), _fill_queue(pg_store)
    assert on_pg == on_sqlite
    # distress first, earliest first within a reason, insertion order on exact ties
    assert [r for _, r, _ in on_pg] == sorted((r for _, r, _ in on_pg), key=FLOW.priority)
    waiting = [(e.call_id, e.reason) for e in pg_store.list_escalations(status="waiting")]
    assert waiting == [(e.call_id, e.reason) for e in store.list_escalations(status="waiting")]
    assert waiting[:2] == [("c2", "distress"), ("c6", "distress")]
    assert waiting[2:5] == [("c10", "emotional"), ("c4", "emotional"), ("c5", "emotional")]


def test_console_queue_order_same_as_sqlite(pg_store: Store, store: Store) -> None:
    """What agents see (the console's queue query), not only the store's own listing."""
    from ivr.web.queries import queue

    _fill_queue(store)
    _fill_queue(pg_store)
    on_sqlite = [(e["call_id"], e["reason"]) for e in queue(store, FLOW)["open"]]
    on_pg = [(e["call_id"], e["reason"]) for e in queue(pg_store, FLOW)["open"]]
    assert on_pg == on_sqlite


def _fill_tasks(store: Store) -> dict:
    """Requests, a callback and contact preferences as a CallSession stores them; then the console's
    reads and writes on them."""
    from ivr.web import tasks

    store.start_call("t1", caller_number="13812345678", case_ref="C-1")
    store.start_call("t2", caller_number="+86 138 1234 5678")
    for seq, kind in enumerate(("reduction", "question")):
        store.save_request(
            "t1", seq, case_ref="C-1", caller_number="13812345678", kind=kind, detail="利息", turn=seq + 2
        )
    store.save_request("t1", 0, case_ref="C-1", kind="reduction")  # idempotent
    store.save_callback("t1", case_ref="C-1", at="2026-11-19T16:30", said="四点半以后", turn=3, for_party="debtor")
    store.save_callback("t1", at="2026-11-19T17:00")  # updated in place
    store.save_contact_preference("t1", case_ref="C-1", caller_number="13812345678", kinds=["not_at_work"], turn=2)
    store.save_contact_preference("t2", caller_number="+86 138 1234 5678", kinds=["less_often", "preferred_time"])
    rid = tasks.search_requests(store, tasks.RequestFilter(kind="reduction"))["items"][0]["id"]
    tasks.claim_request(store, rid, "agent1")
    tasks.resolve_request(store, rid, "agent1", "可停息三个月")
    now = dt.datetime(2026, 11, 19, 18, 0)
    cbs = tasks.search_callbacks(store, tasks.CallbackFilter(), now=now)
    return {
        "requests": [
            (r["kind"], r["status"], r["resolution"]) for r in tasks.all_requests(store, tasks.RequestFilter())
        ],
        "callbacks": [(c["at"], c["state"], c["said"]) for c in cbs["items"]],
        "overdue": cbs["overdue"],
        "prefs": sorted((p["call_id"], tuple(p["kinds"])) for p in store.contact_preferences_for("0086 13812345678")),
        "by_case": [p["call_id"] for p in store.contact_preferences_for("C-1")],
    }


def test_requests_callbacks_contact_preferences_same_as_sqlite(pg_store: Store, store: Store) -> None:
    on_sqlite, on_pg = _fill_tasks(store), _fill_tasks(pg_store)
    assert on_pg == on_sqlite
    assert on_pg["requests"] == [("reduction", "resolved", "可停息三个月"), ("question", "pending", None)]
    assert on_pg["callbacks"] == [("2026-11-19T17:00", "overdue", "四点半以后")] and on_pg["overdue"] == 1
    assert on_pg["prefs"] == [("t1", ("not_at_work",)), ("t2", ("less_often", "preferred_time"))]
    assert on_pg["by_case"] == ["t1"]
