"""REST API against a real uvicorn server and SQLite file: every route, its auth and bad input."""

from __future__ import annotations

import csv
import io
import shutil
from pathlib import Path

import httpx
import pytest

TESTDATA = Path(__file__).resolve().parents[2].parent / "shared" / "testdata" / "speech"

PHONE = "13812345678"


@pytest.fixture
def esc(store):
    """A distress escalation written through Store as a session does; (call_id, escalation_id)."""
    from ivr.web.sampledata import make_call

    return make_call(store, "distress", caller_number=PHONE)


@pytest.fixture
def recorded(store, data_dir):
    """A call with a real recording (AISHELL speech) attached."""
    from ivr.web.sampledata import make_call

    wav = data_dir / "recordings" / "call.wav"
    wav.parent.mkdir()
    shutil.copy(sorted((TESTDATA / "aishell_S0150").glob("*.wav"))[0], wav)
    call_id, _ = make_call(store, None, recording=str(wav))
    return call_id, wav


# ---------------------------------------------------------------- auth


def test_anonymous_requests_are_refused(client, esc):
    anon = client()
    call_id, esc_id = esc
    for path in (
        "/api/escalations",
        f"/api/escalations/{esc_id}",
        "/api/calls",
        f"/api/calls/{call_id}",
        "/api/analytics",
        "/api/promises.csv",
        "/api/audit",
        "/api/users",
        "/api/me",
        f"/api/calls/{call_id}/recording",
        f"/api/calls/{call_id}/waveform",
        "/api/escalations/stream",
    ):
        r = anon.get(path)
        assert r.status_code == 401, path
        assert r.json() == {"detail": "not logged in"}
    r = anon.get("/queue", headers={"accept": "text/html"})
    assert r.status_code == 303 and r.headers["location"] == "/login?next=/queue"
    assert anon.get("/docs", headers={"accept": "text/html"}).status_code == 303


def test_login_wrong_password_is_401_and_audited(client, store):
    from ivr.web import queries

    r = client().post("/api/login", json={"username": "agent1", "password": "nope"})
    assert r.status_code == 401
    assert queries.audit(store)[0]["action"] == "login_failed"


def test_login_returns_role_and_csrf_then_logout_ends_session(client):
    c = client()
    r = c.post("/api/login", json={"username": "supervisor1", "password": "correct-horse-9"})
    body = r.json()
    assert body["role"] == "supervisor" and len(body["csrf_token"]) > 20
    assert c.get("/api/me").json()["username"] == "supervisor1"
    assert c.post("/api/logout").status_code == 403  # no CSRF header: refused
    assert c.post("/api/logout", headers={"X-CSRF-Token": body["csrf_token"]}).json() == {"ok": True}
    assert c.get("/api/me").status_code == 401


def test_state_changes_need_the_csrf_token(client, esc):
    _, esc_id = esc
    c = client("agent", csrf=False)
    for path, body in (
        (f"/api/escalations/{esc_id}/claim", None),
        (f"/api/escalations/{esc_id}/notes", {"text": "x"}),
        (f"/api/escalations/{esc_id}/resolve", {"disposition": "callback"}),
    ):
        r = c.post(path, json=body)
        assert r.status_code == 403 and "CSRF" in r.json()["detail"], path
        r = c.post(path, json=body, headers={"X-CSRF-Token": "forged"})
        assert r.status_code == 403, path
    assert c.get(f"/api/escalations/{esc_id}").json()["status"] == "waiting"
    # an HTML form post without the token is refused too
    assert c.post(f"/escalations/{esc_id}/claim", data={"csrf_token": ""}).status_code == 403


def test_a_deactivated_user_is_cut_off_at_once(client, store):
    from ivr.store import User

    c = client("agent")
    with store.session() as s:
        s.query(User).filter_by(username="agent1").update({"active": 0})
    assert c.get("/api/escalations").status_code == 401


def test_roles_limit_analytics_audit_and_users(client):
    agent, sup = client("agent"), client("supervisor")
    for path in ("/api/analytics", "/api/promises.csv", "/api/audit", "/api/users"):
        assert agent.get(path).status_code == 403, path
    assert sup.get("/api/analytics").status_code == 200
    assert sup.get("/api/users").status_code == 403
    assert agent.get("/analytics", headers={"accept": "text/html"}).status_code == 403


# ---------------------------------------------------------------- escalations


def test_queue_is_in_priority_order_with_waiting_time(client, store):
    from ivr.web.sampledata import make_call

    ids = {
        reason: make_call(store, reason, seed=i)[1] for i, reason in enumerate(["confused", "emotional", "distress"])
    }
    q = client("supervisor").get("/api/escalations").json()
    assert [e["reason"] for e in q["open"]] == ["distress", "emotional", "confused"]
    assert [e["id"] for e in q["open"]] == [ids["distress"], ids["emotional"], ids["confused"]]
    top = q["open"][0]
    assert top["reason_label"] == "危机（自伤风险）" and top["waiting_s"] >= 0 and top["narrative"]


def test_claim_note_resolve_and_audit_trail(client, esc):
    _, esc_id = esc
    agent = client("agent")
    assert agent.post(f"/api/escalations/{esc_id}/claim").json()["claimed_by"] == "agent1"
    assert agent.post(f"/api/escalations/{esc_id}/notes", json={"text": "已联系家属"}).status_code == 200
    r = agent.post(f"/api/escalations/{esc_id}/resolve", json={"disposition": "hardship_plan", "note": "三期"})
    assert r.json()["status"] == "resolved"
    detail = agent.get(f"/api/escalations/{esc_id}").json()
    assert detail["status"] == "resolved" and detail["disposition"] == "hardship_plan"
    assert [n["text"] for n in detail["notes"]] == ["已联系家属", "三期"]
    actions = [a["action"] for a in client("supervisor").get("/api/audit", params={"target_id": str(esc_id)}).json()]
    assert actions[:4] == ["view", "resolve", "note", "claim"]  # newest first
    # resolved: no more changes
    r = agent.post(f"/api/escalations/{esc_id}/claim")
    assert r.status_code == 409 and "已解决" in r.json()["detail"]
    assert esc_id not in [e["id"] for e in agent.get("/api/escalations").json()["open"]]


def test_claimed_by_someone_else_is_a_conflict(client, esc):
    _, esc_id = esc
    assert client("agent").post(f"/api/escalations/{esc_id}/claim").status_code == 200
    r = client("supervisor").post(f"/api/escalations/{esc_id}/resolve", json={"disposition": "callback"})
    assert r.status_code == 409 and "agent1" in r.json()["detail"]


def test_unknown_ids_are_404_json(client):
    c = client("admin")
    for method, path, body in (
        ("get", "/api/escalations/999", None),
        ("post", "/api/escalations/999/claim", None),
        ("post", "/api/escalations/999/notes", {"text": "x"}),
        ("post", "/api/escalations/999/resolve", {"disposition": "callback"}),
        ("get", "/api/calls/nope", None),
        ("get", "/api/calls/nope/recording", None),
        ("get", "/api/calls/nope/waveform", None),
    ):
        r = getattr(c, method)(path, json=body) if body else getattr(c, method)(path)
        assert r.status_code == 404, path
        assert "not found" in r.json()["detail"] or "no recording" in r.json()["detail"], path
    assert c.get("/escalations/999", headers={"accept": "text/html"}).status_code == 404


def test_bad_input_is_422_naming_the_field(client, esc):
    _, esc_id = esc
    c = client("agent")
    r = c.post(f"/api/escalations/{esc_id}/resolve", json={"disposition": "paid_maybe"})
    assert r.status_code == 422
    assert "disposition" in r.json()["detail"] and "paid_maybe" in r.json()["detail"]
    assert c.post(f"/api/escalations/{esc_id}/notes", json={"text": ""}).status_code == 422
    assert c.post(f"/api/escalations/{esc_id}/notes", json={"text": "   "}).status_code == 422
    assert c.get("/api/escalations/abc").status_code == 422
    assert c.get("/api/calls", params={"outcome": "won"}).status_code == 422
    assert c.get("/api/calls", params={"date_from": "2026-13-01"}).status_code == 422
    sup = client("supervisor")
    r = sup.get("/api/analytics", params={"date_from": "2026-11-20", "date_to": "2026-11-01"})
    assert r.status_code == 422 and "after" in r.json()["detail"]


# ---------------------------------------------------------------- masking


def test_agent_sees_masked_numbers_supervisor_sees_them_whole(client, store, esc):
    call_id, esc_id = esc
    store.update_call(call_id, case={"name": "张伟", "phone": "13900001111", "id_number": "110101199003071234"})
    store.add_turn(
        call_id, idx=20, menu="promise", input_kind="speech", caller_text="我电话13700002222身份证110101199003071234"
    )
    agent, sup = client("agent"), client("supervisor")
    assert sup.post(f"/api/escalations/{esc_id}/notes", json={"text": "客户新号码13700002222"}).status_code == 200
    for path in (f"/api/escalations/{esc_id}", f"/api/calls/{call_id}", "/api/escalations", "/api/calls"):
        text = agent.get(path).text
        assert PHONE not in text and "13700002222" not in text and "110101199003071234" not in text, path
    assert "138****5678" in agent.get("/api/escalations").text
    d = agent.get(f"/api/calls/{call_id}").json()
    assert (
        d["case"]["phone"] == "139****1111"
        and d["turns"][-1]["caller_text"] == "我电话137****2222身份证1101**********1234"
    )
    page = agent.get(f"/escalations/{esc_id}").text
    assert PHONE not in page and "138****5678" in page
    assert PHONE in sup.get(f"/api/escalations/{esc_id}").text
    assert "13700002222" in sup.get(f"/api/calls/{call_id}").text


# ---------------------------------------------------------------- calls, recording


def test_call_search_and_filters(client, store):
    from ivr.web.sampledata import make_call, populate

    populate(store, 120, seed=3)
    c = client("supervisor")
    all_ = c.get("/api/calls", params={"per_page": 500}).json()
    assert all_["total"] == 120 and len(all_["items"]) == 120
    times = [i["started_at"] for i in all_["items"]]
    assert times == sorted(times, reverse=True)
    esc_calls = c.get("/api/calls", params={"outcome": "escalated", "per_page": 500}).json()
    assert esc_calls["total"] > 0 and {i["outcome"] for i in esc_calls["items"]} == {"escalated"}
    dis = c.get("/api/calls", params={"reason": "dispute", "per_page": 500}).json()
    assert {i["escalation_reason"] for i in dis["items"]} == {"dispute"}
    plan = c.get("/api/calls", params={"menu": "plan", "per_page": 500}).json()
    assert plan["total"] > 0 and {i["last_menu"] for i in plan["items"]} == {"plan"}
    paged = c.get("/api/calls", params={"per_page": 50, "page": 3}).json()
    assert paged["pages"] == 3 and len(paged["items"]) == 20
    call_id, _ = make_call(store, None, caller_number="13512340000", seed=99)
    found = c.get("/api/calls", params={"q": "1351234"}).json()
    assert [i["id"] for i in found["items"]] == [call_id]
    assert c.get("/api/calls", params={"q": call_id[:8]}).json()["items"][0]["id"] == call_id
    assert c.get("/api/calls", params={"date_from": "2000-01-01", "date_to": "2000-01-02"}).json()["total"] == 0
    detail = c.get(f"/api/calls/{call_id}").json()
    assert [t["idx"] for t in detail["turns"]] == list(range(1, len(detail["turns"]) + 1))
    assert detail["profile"][0] == {
        "key": "identity",
        "label": "身份",
        "value": "已确认本人",
        "confidence": detail["turns"][0]["confidence"],
        "turn": 1,
    }


def test_recording_is_served_with_range_and_waveform(client, recorded):
    call_id, wav = recorded
    c = client("agent")
    whole = c.get(f"/api/calls/{call_id}/recording")
    assert whole.status_code == 200 and whole.headers["content-type"] == "audio/wav"
    assert whole.content == wav.read_bytes()
    part = c.get(f"/api/calls/{call_id}/recording", headers={"Range": "bytes=100-199"})
    assert part.status_code == 206 and part.content == wav.read_bytes()[100:200]
    w = c.get(f"/api/calls/{call_id}/waveform", params={"buckets": 200}).json()
    assert w["sample_rate"] == 16000 and len(w["peaks"]) == 200 and 1 < w["duration_s"] < 30
    assert max(w["peaks"]) > 0.05 and min(w["peaks"]) < max(w["peaks"]) / 4  # speech and pauses
    actions = [a["action"] for a in client("supervisor").get("/api/audit", params={"target_id": call_id}).json()]
    assert actions == ["listen"]  # the range request for the tail is not a second listen


def test_missing_or_broken_recording_is_404_naming_the_file(client, store, data_dir):
    from ivr.web.sampledata import make_call

    bad = data_dir / "broken.wav"
    bad.write_bytes(b"RIFF0000WAVEjunk")
    call_id, _ = make_call(store, None, recording=str(bad))
    r = client("agent").get(f"/api/calls/{call_id}/waveform")
    assert r.status_code == 404 and "broken.wav" in r.json()["detail"] and "not a PCM WAV" in r.json()["detail"]
    store.update_call(call_id, recording_path=str(data_dir / "gone.wav"))
    r = client("agent").get(f"/api/calls/{call_id}/recording")
    assert r.status_code == 404 and "gone.wav: file not found" in r.json()["detail"]


# ---------------------------------------------------------------- analytics, promises, users, ops


def test_analytics_numbers_match_the_records(client, store):
    from ivr.web.sampledata import populate

    populate(store, 300, days=10, seed=5)
    a = client("supervisor").get("/api/analytics").json()
    assert a["total_calls"] == 300 and sum(d["calls"] for d in a["calls_per_day"]) == 300
    assert len(a["calls_per_day"]) == 30
    out = a["outcomes"]
    assert a["completion_rate"] == round(out["completed"] / 300, 4)
    assert a["escalation_rate"] == round(out["escalated"] / 300, 4)
    assert sum(r["count"] for r in a["escalations_by_reason"]) == out["escalated"]
    assert a["escalations_by_reason"][0]["reason"] == "distress"
    funnel = {f["menu"]: f for f in a["funnel"]}
    assert funnel["opening"]["reached"] == 300
    assert funnel["closing"]["reached"] == out["completed"]
    reached = [f["reached"] for f in a["funnel"]]
    assert reached == sorted(reached, reverse=True)
    assert sum(f["dropped"] for f in a["funnel"]) == 300 - out["completed"]
    assert 350 <= a["avg_turn_latency_ms"] <= 900


def test_promises_csv_for_follow_up(client, store):
    from ivr.web.sampledata import populate

    populate(store, 100, seed=9)
    r = client("supervisor").get("/api/promises.csv")
    assert r.headers["content-type"].startswith("text/csv") and "attachment" in r.headers["content-disposition"]
    rows = list(csv.reader(io.StringIO(r.content.decode("utf-8-sig"))))
    assert rows[0][0] == "承诺还款日期" and rows[0][-1] == "提醒日期"
    body = rows[1:]
    completed = client("supervisor").get("/api/calls", params={"outcome": "completed", "per_page": 500}).json()
    assert len(body) == completed["total"] > 0
    dates = [row[0] for row in body]
    assert dates == sorted(dates)
    assert all(len(row[4]) == 11 and row[4].isdigit() for row in body)  # full numbers for the follow-up team


def test_admin_creates_users_with_validation(client):
    admin = client("admin")
    assert (
        admin.post("/api/users", json={"username": "li.na", "role": "agent", "password": "longenough"}).status_code
        == 201
    )
    r = admin.post("/api/users", json={"username": "li.na", "role": "agent", "password": "longenough"})
    assert r.status_code == 409 and "already exists" in r.json()["detail"]
    r = admin.post("/api/users", json={"username": "x y", "role": "agent", "password": "longenough"})
    assert r.status_code == 422 and "username" in r.json()["detail"]
    r = admin.post("/api/users", json={"username": "wang", "role": "agent", "password": "short"})
    assert r.status_code == 422 and "at least 10" in r.json()["detail"]
    assert (
        admin.post("/api/users", json={"username": "wang", "role": "boss", "password": "longenough"}).status_code == 422
    )
    assert "li.na" in [u["username"] for u in admin.get("/api/users").json()]
    assert client().post("/api/login", json={"username": "li.na", "password": "longenough"}).status_code == 200


def test_healthz_follows_ready_flag(client, app):
    anon = client()
    assert anon.get("/healthz").json() == {"status": "ok"}
    app.state.ready = False
    assert anon.get("/healthz").status_code == 503


def test_metrics_expose_process_and_database_counts(client, store, esc):
    from ivr import metrics

    metrics.ESCALATIONS_TOTAL.labels(reason="distress").inc()
    metrics.TURN_LATENCY_SECONDS.observe(0.42)
    text = client().get("/metrics").text
    assert 'ivr_escalations_total{reason="distress"}' in text
    assert "ivr_turn_latency_seconds_bucket" in text and "ivr_asr_decode_seconds_count" in text
    assert 'ivr_db_calls{outcome="escalated"} 1.0' in text
    assert 'ivr_db_escalations_open{reason="distress"} 1.0' in text


def test_metrics_token_when_configured(settings, store):
    from ivr.web.app import create_app

    from .conftest import LiveServer

    app = create_app(settings.model_copy(update={"metrics_token": "s3cret"}), ready=True, store=store)
    with LiveServer(app) as srv:
        assert httpx.get(f"{srv.url}/metrics").status_code == 401
        assert httpx.get(f"{srv.url}/metrics", headers={"Authorization": "Bearer wrong"}).status_code == 401
        assert httpx.get(f"{srv.url}/metrics", headers={"Authorization": "Bearer s3cret"}).status_code == 200


def test_openapi_lists_every_api_route_and_docs_work_offline(client):
    spec = client().get("/openapi.json").json()
    for path in (
        "/api/escalations",
        "/api/escalations/{esc_id}/resolve",
        "/api/calls",
        "/api/calls/{call_id}/recording",
        "/api/analytics",
        "/api/promises.csv",
        "/healthz",
        "/metrics",
    ):
        assert path in spec["paths"], path
    docs = client("agent").get("/docs").text
    assert "/static-docs/swagger-ui-bundle.js" in docs and "cdn" not in docs.lower()
    assert client().get("/static-docs/swagger-ui-bundle.js").status_code == 200


def test_html_forms_work_with_the_page_token(client, esc):
    """The no-JS path: forms post the token rendered into the page, errors come back as a flash."""
    import re

    _, esc_id = esc
    admin = client("admin", csrf=False)
    page = admin.get(f"/escalations/{esc_id}").text
    token = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
    r = admin.post(f"/escalations/{esc_id}/resolve", data={"csrf_token": token, "disposition": "nonsense"})
    assert r.status_code == 303 and r.headers["location"] == f"/escalations/{esc_id}"
    assert "disposition: expected one of" in admin.get(f"/escalations/{esc_id}").text  # flash, status unchanged
    assert admin.post(f"/escalations/{esc_id}/claim", data={"csrf_token": token}).status_code == 303
    assert admin.post(f"/escalations/{esc_id}/notes", data={"csrf_token": token, "text": "回访"}).status_code == 303
    admin.post(f"/escalations/{esc_id}/resolve", data={"csrf_token": token, "disposition": "callback"})
    d = admin.get(f"/api/escalations/{esc_id}").json()
    assert (d["status"], d["claimed_by"], d["disposition"], d["notes"][0]["text"]) == (
        "resolved",
        "admin1",
        "callback",
        "回访",
    )
    r = admin.post(
        "/users", data={"csrf_token": token, "username": "zhao", "role": "supervisor", "password": "longenough"}
    )
    assert r.status_code == 303 and "已添加用户 zhao" in admin.get("/users").text
    html = admin.get("/calls?page=abc", headers={"accept": "text/html"})
    assert html.status_code == 422 and "输入有误" in html.text and "page" in html.text
