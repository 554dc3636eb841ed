"""Follow-up work over the REST API (real uvicorn + SQLite file): caller requests, callback tasks and
contact preferences written by real simulated calls (CallSession + Dialog); auth, roles, CSRF,
422, 409, masking, CSV (formula cells neutralised), the dialer's `contact_preferences_for`."""

from __future__ import annotations

import csv
import datetime as dt
import io

import pytest

from .conftest import CASE, simulated_call

PHONE = "13812345678"
REDUCTION = {"kind": "reduction", "detail": "利息能不能减免一些，回拨13812345678"}
QUESTION = {"kind": "question", "detail": '=HYPERLINK("http://x")会不会上征信'}


@pytest.fixture
def calls(store, settings):
    """Three calls: a request pair, a busy caller (key 9, then no time: the default callback),
    a calm contact preference."""
    req = simulated_call(
        store, settings, ["是我", "知道", "打零工"], requests={2: REDUCTION, 3: QUESTION}, caller_number=PHONE
    )
    busy = simulated_call(store, settings, ["#dtmf 9", "#dtmf 5", "#dtmf 5", "#dtmf 5"], caller_number=PHONE)
    pref = simulated_call(
        store, settings, ["是我", "你们别在我上班的时候打电话，我在车间接不了"], caller_number="+86 138-1234-5678"
    )
    return {"req": req.call_id, "busy": busy.call_id, "pref": pref.call_id, "busy_report": busy.report()}


def test_session_stores_requests_when_made_and_once(store, settings):
    from ivr.case import Case
    from ivr.cli.records import parse_lines
    from ivr.store import CallerRequest
    from ivr.wiring import wiring_for

    session = wiring_for(settings).session(store, transport="text", case=Case.from_dict(CASE), now=dt.datetime.now())
    session.start()
    session.handle(parse_lines(["是我"])[0])
    session.dialog.requests.append({**REDUCTION, "turn": 2})
    session.handle(parse_lines(["知道"])[0])
    with store.session() as s:  # stored at the moment it was made, before the call ended
        (row,) = s.query(CallerRequest).all()
    assert (row.kind, row.detail, row.turn, row.status, row.case_ref) == (
        "reduction",
        REDUCTION["detail"],
        2,
        "pending",
        "C-2026-0042",
    )
    session.end()
    session.end()
    with store.session() as s:
        assert s.query(CallerRequest).count() == 1


def test_busy_caller_callback_task_matches_the_report(client, calls, store):
    cb = calls["busy_report"]["callback"]
    assert cb["at"] and cb["for"] == "debtor"
    data = client("supervisor").get("/api/callbacks").json()
    (item,) = data["items"]
    assert item["call_id"] == calls["busy"] and item["at"] == cb["at"] and item["state"] == "due"
    assert item["caller_number"] == PHONE and item["case_ref"] == "C-2026-0042" and item["for"] == "debtor"


def test_requests_list_filters_and_masking(client, calls):
    sup = client("supervisor").get("/api/requests").json()
    assert sup["total"] == 2 and {r["kind"] for r in sup["items"]} == {"reduction", "question"}
    assert sup["kinds"] == ["question", "reduction"]
    assert all(r["caller_number"] == PHONE and r["debtor_name"] == "李娜" for r in sup["items"])
    agent = client("agent").get("/api/requests", params={"kind": "reduction"}).json()
    (r,) = agent["items"]
    assert r["caller_number"] == "138****5678" and "13812345678" not in r["detail"] and "138****5678" in r["detail"]
    today = dt.datetime.now(dt.timezone(dt.timedelta(hours=8))).date()
    c = client("agent")
    assert c.get("/api/requests", params={"status": "pending", "date_from": str(today)}).json()["total"] == 2
    assert c.get("/api/requests", params={"date_from": str(today + dt.timedelta(days=1))}).json()["total"] == 0
    assert c.get("/api/requests", params={"q": "李娜"}).json()["total"] == 2
    assert c.get("/api/requests", params={"status": "resolved"}).json()["total"] == 0


def test_request_claim_resolve_conflicts_and_audit(client, calls):
    agent, other, sup = client("agent"), client("supervisor"), client("supervisor")
    rid = agent.get("/api/requests", params={"kind": "reduction"}).json()["items"][0]["id"]
    assert agent.post(f"/api/requests/{rid}/claim").json()["claimed_by"] == "agent1"
    assert agent.post(f"/api/requests/{rid}/claim").status_code == 200  # idempotent for the claimer
    r = other.post(f"/api/requests/{rid}/claim")
    assert r.status_code == 409 and "agent1" in r.json()["detail"]
    assert other.post(f"/api/requests/{rid}/resolve", json={"note": "x"}).status_code == 409
    r = agent.post(f"/api/requests/{rid}/resolve", json={"note": ""})
    assert r.status_code == 422 and r.json()["detail"].startswith("body.note:")
    r = agent.post(f"/api/requests/{rid}/resolve", json={"note": "同意免除两个月利息，专员已回电"})
    assert r.json()["status"] == "resolved"
    assert agent.post(f"/api/requests/{rid}/claim").status_code == 409  # resolved
    detail = sup.get(f"/api/requests/{rid}").json()
    assert (
        detail["status"] == "resolved" and detail["resolution"].startswith("同意") and detail["claimed_by"] == "agent1"
    )
    assert [a["action"] for a in detail["audit"]] == ["resolve", "claim", "claim"]
    audit = sup.get("/api/audit", params={"target_type": "request", "target_id": str(rid)}).json()
    assert {a["username"] for a in audit} == {"agent1"}
    assert sup.get("/api/requests", params={"status": "resolved"}).json()["total"] == 1


def test_callback_done_states_and_conflict(client, calls, store):
    from ivr.store import CallbackTask

    agent = client("agent")
    (item,) = agent.get("/api/callbacks").json()["items"]
    assert agent.get("/api/callbacks", params={"state": "overdue"}).json()["total"] == 0
    with store.session() as s:  # the time has passed: overdue
        s.get(CallbackTask, item["id"]).due_at = dt.datetime.now() - dt.timedelta(hours=1)
    over = agent.get("/api/callbacks", params={"state": "overdue"}).json()
    assert over["total"] == 1 and over["overdue"] == 1 and over["items"][0]["state"] == "overdue"
    r = agent.post(f"/api/callbacks/{item['id']}/done", json={"note": "已回电，客户约定周五还款"})
    assert r.json() == {"ok": True, "id": item["id"], "status": "done", "done_by": "agent1"}
    assert agent.post(f"/api/callbacks/{item['id']}/done", json={}).status_code == 409
    assert agent.get("/api/callbacks").json()["total"] == 0
    (done,) = agent.get("/api/callbacks", params={"state": "done"}).json()["items"]
    assert done["done_by"] == "agent1" and done["state"] == "done"
    sup = client("supervisor")
    assert [a["action"] for a in sup.get("/api/audit", params={"target_type": "callback"}).json()] == ["done"]
    assert agent.post("/api/callbacks/9999/done", json={}).status_code == 404


def test_contact_preferences_api_and_dialer_lookup(client, calls, store):
    data = client("supervisor").get("/api/contact-preferences").json()
    (p,) = data["items"]
    assert p["call_id"] == calls["pref"] and "not_at_work" in p["kinds"]
    assert p["caller_number"] == "+86 138-1234-5678"
    for key in ("C-2026-0042", "13812345678", "+8613812345678", "0086 138 1234 5678"):
        found = store.contact_preferences_for(key)
        assert [f["call_id"] for f in found] == [calls["pref"]], key
        assert client("supervisor").get("/api/contact-preferences", params={"q": key}).json()["total"] == 1
    assert store.contact_preferences_for("13900000000") == [] and store.contact_preferences_for("") == []
    masked = client("agent").get("/api/contact-preferences").json()["items"][0]
    assert masked["caller_number"] == "138****5678"


def test_call_detail_carries_its_tasks(client, calls):
    sup = client("supervisor")
    t = sup.get(f"/api/calls/{calls['req']}").json()["tasks"]
    assert [r["kind"] for r in t["requests"]] == ["reduction", "question"] and t["callback"] is None
    t = sup.get(f"/api/calls/{calls['busy']}").json()["tasks"]
    assert t["callback"]["at"] and not t["requests"] and t["contact_preference"] is None
    t = client("agent").get(f"/api/calls/{calls['pref']}").json()["tasks"]
    assert "not_at_work" in t["contact_preference"]["kinds"]
    assert t["contact_preference"]["caller_number"] == "138****5678"


def test_csv_exports_neutralise_formulas(client, calls):
    sup = client("supervisor")
    r = sup.get("/api/requests.csv")
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/csv")
    assert r.text.startswith("\ufeff")
    rows = list(csv.DictReader(io.StringIO(r.text.lstrip("\ufeff"))))
    assert len(rows) == 2
    q = next(row for row in rows if row["类型"] == "question")
    assert q["内容"].startswith("'=HYPERLINK"), q["内容"]
    assert q["来电号码"] == PHONE  # the follow-up team gets whole numbers
    cb = list(csv.DictReader(io.StringIO(sup.get("/api/callbacks.csv").text.lstrip("\ufeff"))))
    assert len(cb) == 1 and cb[0]["回电时间(当地)"] and cb[0]["状态"] == "due"
    assert sup.get("/api/requests.csv", params={"kind": "reduction"}).text.count("\n") == 2
    audit = sup.get("/api/audit", params={"target_type": "request"}).json()
    assert audit[0]["action"] == "export" and audit[0]["detail"] == "1 rows"


def test_csv_cell_neutralises_every_formula_prefix():
    from ivr.web.tasks import csv_cell

    for bad in ("=1+1", "+86138", "-2+3", "@SUM(A1)", "\t=x", "\r=x"):
        assert csv_cell(bad) == "'" + bad
    assert csv_cell("利息=多少") == "利息=多少" and csv_cell(-5) == "-5" and csv_cell(None) == ""
    assert csv_cell(["a", "b"]) == "a、b"


def test_auth_roles_csrf_and_bad_input(client, calls):
    anon = client()
    for path in (
        "/api/requests",
        "/api/requests/1",
        "/api/requests.csv",
        "/api/callbacks",
        "/api/callbacks.csv",
        "/api/contact-preferences",
    ):
        r = anon.get(path)
        assert r.status_code == 401 and r.json() == {"detail": "not logged in"}, path
    assert anon.post("/api/requests/1/claim").status_code in (401, 403)
    agent = client("agent")
    for path in ("/api/requests.csv", "/api/callbacks.csv"):  # agents export masked (issue 13 #7)
        r = agent.get(path)
        assert r.status_code == 200 and "13812345678" not in r.text, path
    rid = agent.get("/api/requests").json()["items"][0]["id"]
    cbid = agent.get("/api/callbacks").json()["items"][0]["id"]
    no_csrf = client("agent", csrf=False)
    for path, body in (
        (f"/api/requests/{rid}/claim", None),
        (f"/api/requests/{rid}/resolve", {"note": "x"}),
        (f"/api/callbacks/{cbid}/done", {}),
    ):
        r = no_csrf.post(path, json=body)
        assert r.status_code == 403 and "CSRF" in r.json()["detail"], path
        r = no_csrf.post(path, json=body, headers={"X-CSRF-Token": "forged"})
        assert r.status_code == 403, path
    assert agent.get(f"/api/requests/{rid}").json()["status"] == "pending"  # nothing changed
    bad = {
        "/api/requests?status=open": "query.status",
        "/api/requests?kind=DROP%20TABLE": "query.kind",
        "/api/requests?date_from=yesterday": "query.date_from",
        "/api/requests?per_page=0": "query.per_page",
        "/api/callbacks?state=later": "query.state",
        "/api/requests/abc": "path.req_id",
    }
    for path, field in bad.items():
        r = agent.get(path)
        assert r.status_code == 422 and r.json()["detail"].startswith(field), (path, r.text)
    r = agent.post(f"/api/requests/{rid}/resolve", json={"note": "x" * 2001})
    assert r.status_code == 422 and "body.note" in r.json()["detail"]
    r = agent.post(f"/api/requests/{rid}/resolve", json={})
    assert r.status_code == 422 and "body.note" in r.json()["detail"]
    assert agent.get("/api/requests/99999").json() == {"detail": "request 99999 not found"}


def test_openapi_lists_the_new_routes(client):
    paths = client().get("/openapi.json").json()["paths"]
    for p in (
        "/api/requests",
        "/api/requests/{req_id}/claim",
        "/api/requests/{req_id}/resolve",
        "/api/requests.csv",
        "/api/callbacks",
        "/api/callbacks/{cb_id}/done",
        "/api/callbacks.csv",
        "/api/contact-preferences",
    ):
        assert p in paths, p


def test_pages_render_for_agent_masked(client, calls):
    agent = client("agent")
    h = {"accept": "text/html"}
    page = agent.get("/requests", headers=h)
    assert page.status_code == 200 and "减免申请" in page.text and "13812345678" not in page.text
    assert "138****5678" in page.text
    page = agent.get("/callbacks", headers=h)
    assert page.status_code == 200 and "待回电" in page.text and "13812345678" not in page.text
    page = agent.get("/contact-preferences", headers=h)
    assert "上班时间别打" in page.text and "13812345678" not in page.text
    page = agent.get(f"/calls/{calls['req']}", headers=h)
    assert 'id="tasks"' in page.text and "/requests/" in page.text
    assert agent.get("/requests?status=nope", headers=h).status_code == 422
    assert agent.get("/requests/99999", headers=h).status_code == 404


def test_list_pages_page_links_keep_the_filters(client, store):
    """The paged list table (templates/_paged_table.html): with 51 requests (50 a page) page 1 links
    to page 2 and page 2 back to 1, both keeping the filter; an empty list spans every column."""
    store.start_call("pagedcall0000000000000000000000001", transport="text")
    for seq in range(51):
        store.save_request("pagedcall0000000000000000000000001", seq, kind="reduction", detail=f"第{seq}条")
    agent = client("agent")
    h = {"accept": "text/html"}
    first = agent.get("/requests?kind=reduction", headers=h).text
    assert first.count('<tr data-id="') == 50 and "第 1 / 2 页" in first
    assert 'href="/requests?kind=reduction&amp;page=2">下一页' in first and "上一页" not in first
    second = agent.get("/requests?kind=reduction&page=2", headers=h).text
    assert second.count('<tr data-id="') == 1 and "第 2 / 2 页" in second
    assert 'href="/requests?kind=reduction&amp;page=1">上一页' in second and "下一页" not in second
    empty = agent.get("/requests?kind=question", headers=h).text
    assert '<tr class="empty-row"><td colspan="9">没有符合条件的客户诉求</td></tr>' in empty
    assert 'class="pager"' not in empty
