"""What operations see of calls: Prometheus metrics after a call through the real /metrics endpoint,
a hand-over when the dialog itself fails, and calls orphaned by a crashed worker (real SQLite)."""

from __future__ import annotations

import datetime as dt
import logging
import sqlite3

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from ivr.events import NoInput, Say, Speech, Transfer
from ivr.session import CallSession
from ivr.store import Call, utcnow


def _scrape(url: str) -> dict[tuple[str, tuple], float]:
    r = httpx.get(url + "/metrics", timeout=10)
    assert r.status_code == 200
    return {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for fam in text_string_to_metric_families(r.text)
        for s in fam.samples
    }


def test_a_call_is_counted_in_the_metrics_endpoint(settings, store, new_dialog):
    from ivr.web.app import create_app
    from ivr.web.threaded import ThreadedServer

    with ThreadedServer(create_app(settings, ready=True, store=store)) as srv:
        _metrics_after_a_call(srv.url, store, new_dialog)


def _metrics_after_a_call(url: str, store, new_dialog) -> None:
    before = _scrape(url)

    def delta(after: dict, name: str, **labels: str) -> float:
        key = (name, tuple(sorted(labels.items())))
        return after.get(key, 0.0) - before.get(key, 0.0)

    session = CallSession(store, new_dialog(), transport="text")
    session.start()
    session.handle(NoInput())  # silence at the opening
    session.handle(Speech("苹果 香蕉 西瓜"))  # nothing the opening understands
    during = _scrape(url)
    assert delta(during, "ivr_calls_active") == 1 and delta(during, "ivr_db_calls_active") == 1
    actions = session.handle(Speech("给我转人工"))
    assert any(isinstance(a, Transfer) for a in actions)
    session.end()

    after = _scrape(url)
    assert delta(after, "ivr_calls_total") == 1
    assert delta(after, "ivr_calls_active") == 0
    assert delta(after, "ivr_escalations_total", reason="requested") == 1
    assert delta(after, "ivr_no_input_total", menu="opening") == 1
    assert delta(after, "ivr_no_match_total", menu="opening") == 1
    assert delta(after, "ivr_no_match_total", menu="purpose") == 0
    assert delta(after, "ivr_db_calls", outcome="escalated") == 1


class _Broken:
    """An understander that fails at one menu (a bug, a bad grammar edit)."""

    def __init__(self, real, menu: str) -> None:
        self.real, self.menu = real, menu

    def understand(self, menu, text, now=None):
        if menu == self.menu:
            raise RuntimeError("boom")
        return self.real.understand(menu, text, now)

    def understand_dtmf(self, menu, keys, now=None):
        return self.real.understand_dtmf(menu, keys, now)


def test_an_error_in_the_dialog_hands_the_caller_over(grammars, book, understander, store, caplog):
    from ivr.case import Case
    from ivr.dialog import Dialog
    from ivr.metrics import REGISTRY

    from .conftest import NOW

    dialog = Dialog(Case(), grammars, book, NOW, understander=_Broken(understander, "purpose"), seed=0)
    session = CallSession(store, dialog, transport="text")
    session.start()
    session.handle(Speech("是我"))
    escalations = REGISTRY.get_sample_value("ivr_escalations_total", {"reason": "confused"}) or 0.0
    with caplog.at_level(logging.ERROR, logger="ivr.session"):
        actions = session.handle(Speech("我知道"))

    # the caller hears the transfer notice and is transferred: never silence
    says = [a for a in actions if isinstance(a, Say)]
    transfer = actions[-1]
    assert says and says[0].prompt_id == "transfer.notice" and isinstance(transfer, Transfer)
    assert transfer.reason == "confused" and transfer.escalation_id is not None
    # the escalation was committed first (visible to another connection) and says why
    path = store.url.split("///", 1)[1]
    with sqlite3.connect(path) as con:
        reason, turn = con.execute(
            "SELECT reason, trigger_turn FROM escalations WHERE id = ?", (transfer.escalation_id,)
        ).fetchone()
    assert (reason, turn) == ("confused", 2)
    esc = store.list_escalations()[0]
    assert esc.summary["trigger"] == {"reason": "confused", "turn": 2, "text": "我知道", "cause": "internal_error"}
    assert "系统处理出错" in esc.narrative
    # the turn itself is stored, the error logged with the call id, the call ends escalated
    turns = store.call_turns(session.call_id)
    assert [(t.idx, t.menu, t.caller_text) for t in turns] == [(1, "opening", "是我"), (2, "purpose", "我知道")]
    assert any(session.call_id in r.getMessage() and r.exc_info for r in caplog.records)
    assert dialog.finished and dialog.outcome == "escalated"
    assert REGISTRY.get_sample_value("ivr_escalations_total", {"reason": "confused"}) == escalations + 1
    session.end()
    assert store.get_call(session.call_id).outcome == "escalated"


def test_a_crashed_workers_calls_are_closed_when_it_restarts(store, new_dialog, settings):
    from ivr.store import Store

    # worker w1 is in a call when its process dies (no end())
    crashed = CallSession(store, new_dialog(), transport="sip", worker="w1")
    crashed.start()
    crashed.handle(Speech("是我"))
    other = CallSession(store, new_dialog(), transport="sip", worker="w2")  # a live call elsewhere
    other.start()
    done = CallSession(store, new_dialog(), transport="sip", worker="w1")
    done.start()
    done.end("completed")

    restarted = Store(settings.database_url)  # the new process
    assert restarted.close_stale_calls(worker="w1") == 1
    row = restarted.get_call(crashed.call_id)
    assert (row.status, row.outcome, row.ended_reason) == ("ended", "hangup", "worker_restart")
    last_turn = restarted.call_turns(crashed.call_id)[-1].at
    assert row.ended_at == last_turn and row.duration_s == pytest.approx((last_turn - row.started_at).total_seconds())
    assert restarted.get_call(other.call_id).status == "active"  # another worker's call is untouched
    assert restarted.get_call(done.call_id).ended_reason is None
    assert restarted.close_stale_calls(worker="w1") == 0  # idempotent
    restarted.engine.dispose()


def test_calls_active_for_too_long_are_closed_as_stale(store):
    now = utcnow()
    store.start_call("old", started_at=now - dt.timedelta(hours=3), worker="w9")
    store.start_call("young", started_at=now - dt.timedelta(minutes=30), worker="w9")
    assert store.close_stale_calls(max_age=dt.timedelta(hours=2), now=now) == 1
    old, young = store.get_call("old"), store.get_call("young")
    assert (old.status, old.outcome, old.ended_reason) == ("ended", "hangup", "stale")
    assert young.status == "active"
    with store.session() as s:  # the console's active-call count no longer includes the orphan
        assert s.query(Call).filter(Call.status == "active").count() == 1


def test_an_older_database_file_gets_the_new_column(settings):
    from ivr.store import Store

    path = settings.database_url.split("///", 1)[1]
    Store(settings.database_url).engine.dispose()
    with sqlite3.connect(path) as con:  # a database created before calls.ended_reason existed
        con.execute("ALTER TABLE calls DROP COLUMN ended_reason")
        con.execute(
            "INSERT INTO calls (id, started_at, transport, [case], status, slots, emotion_timeline, turn_count)"
            " VALUES ('x', '2026-01-01 00:00:00', 'sip', '{}', 'active', '{}', '[]', 0)"
        )
    st = Store(settings.database_url)
    assert st.close_stale_calls(now=dt.datetime(2026, 1, 2)) == 1
    assert st.get_call("x").ended_reason == "stale"
    st.engine.dispose()
