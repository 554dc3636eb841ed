"""Issue 13, finding 9 (console part): every parameter of every route is bounded.

A property-based sweep (hypothesis) over the app's route table — the REST API and the HTML pages,
path and query parameters, plus JSON bodies of the POST routes — with extreme values: huge and
ancient dates, page numbers and ids beyond any integer column, long and odd strings.  Whatever
comes in, the answer is a 2xx/3xx/4xx with a JSON or HTML message, never a 500 (on main,
`date_to=9999-12-31`, `page=10**19` or `/api/escalations/10**19` gave 500).

Real app, real SQLite file with one escalated call in it; in-process ASGI client so a server
exception is seen as a 500 and not as a dropped connection.
"""

from __future__ import annotations

import datetime as dt
import typing
from urllib.parse import quote

import pytest
from fastapi.routing import APIRoute
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ivr.web import api, pages

from .conftest import PASSWORD

SKIP = {"/api/login", "/api/logout", "/login", "/logout", "/api/escalations/stream", "/queue/stream"}
ROUTES = [
    (method, r)
    for r in (*api.router.routes, *pages.router.routes)
    if isinstance(r, APIRoute) and r.path not in SKIP
    for method in sorted(r.methods)
]

EXTREME_INTS = ["0", "-1", "1", "2147483647", "2147483648", "9223372036854775807", "9223372036854775808", "1" * 40]
EXTREME_DATES = ["0001-01-01", "1000-01-01", "1970-01-01", "2026-02-30", "9999-12-31", "99999-01-01", "2026-1-1"]
ODD_TEXT = [
    "",
    " ",
    "[/]",
    "[bold]x[/]",
    "%",
    "_",
    "'; --",
    "a" * 300,
    "\u3000",
    "１３８１２３４５６７８",
    "💥",
    "\x00",
]


def _value(kind: str) -> st.SearchStrategy[str]:
    common = st.sampled_from(EXTREME_INTS + EXTREME_DATES + ODD_TEXT)
    if kind == "int":
        return st.one_of(common, st.integers(min_value=-(2**70), max_value=2**70).map(str))
    if kind == "date":
        return st.one_of(common, st.dates(dt.date(1, 1, 1), dt.date(9999, 12, 31)).map(dt.date.isoformat))
    return st.one_of(common, st.text(max_size=70))


def _kind(annotation: object) -> str:
    args = typing.get_args(annotation) or (annotation,)
    if int in args:
        return "int"
    if dt.date in args:
        return "date"
    return "str"


def _params(route: APIRoute, where: str) -> list[tuple[str, str]]:
    fields = route.dependant.path_params if where == "path" else route.dependant.query_params
    return [(f.alias, _kind(f.field_info.annotation)) for f in fields]


@pytest.fixture
def admin_client(app, store):
    from ivr.web.sampledata import make_call

    make_call(store, "distress", caller_number="13812345678")
    with TestClient(app, raise_server_exceptions=False) as c:
        r = c.post("/api/login", json={"username": "admin1", "password": PASSWORD})
        assert r.status_code == 200, r.text
        c.headers["X-CSRF-Token"] = r.json()["csrf_token"]
        yield c


def test_the_sweep_covers_the_routes_with_parameters():
    """The route table is what the sweep walks: a regression here means routes went missing."""
    paths = {r.path for _, r in ROUTES}
    assert {"/api/calls", "/api/escalations/{esc_id}", "/api/analytics", "/calls", "/analytics"} <= paths
    assert sum(1 for _, r in ROUTES if _params(r, "query") or _params(r, "path")) >= 25


@pytest.mark.parametrize(("method", "route"), ROUTES, ids=[f"{m} {r.path}" for m, r in ROUTES])
@settings(
    max_examples=12,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
    database=None,
)
@given(data=st.data())
def test_no_parameter_value_gives_a_server_error(admin_client, method, route, data):
    path = route.path
    for name, kind in _params(route, "path"):
        value = data.draw(_value(kind).filter(lambda v: v and "/" not in v and v not in (".", "..")), label=name)
        path = path.replace("{" + name + "}", quote(value, safe=""))
    query = {
        name: data.draw(_value(kind), label=name)
        for name, kind in _params(route, "query")
        if data.draw(st.booleans(), label=f"give {name}")
    }
    html = data.draw(st.booleans(), label="html")
    headers = {"Accept": "text/html" if html else "application/json"}
    body = None
    if method == "POST" and route.body_field is not None:
        body = data.draw(
            st.dictionaries(st.sampled_from(["text", "note", "disposition", "username", "role", "password"]), st.text())
        )
    r = admin_client.request(method, path, params=query, headers=headers, json=body, follow_redirects=False)
    assert r.status_code < 500, f"{method} {path} {query} → {r.status_code}: {r.text[:300]}"
    if r.status_code == 422 and not html:
        assert r.json()["detail"], r.text


@pytest.mark.parametrize(
    ("url", "field", "expected"),
    [
        ("/api/calls?date_to=9999-12-31", "query.date_to", "less than or equal to 2099-12-31"),
        ("/api/analytics?date_from=0001-01-01", "query.date_from", "greater than or equal to 2000-01-01"),
        ("/api/calls?page=9223372036854775807", "query.page", "less than or equal to 10000"),
        ("/api/escalations/9223372036854775808", "path.esc_id", "less than or equal to 2147483647"),
        ("/api/calls/" + "x" * 200, "path.call_id", "at most 64 characters"),
    ],
)
def test_out_of_range_values_are_a_clear_422(admin_client, url, field, expected):
    """One line naming the field, the bound and the value (main: 500 for each of these)."""
    r = admin_client.get(url)
    assert r.status_code == 422, r.text
    assert r.json()["detail"].startswith(f"{field}: ") and expected in r.json()["detail"], r.json()["detail"]


def test_pages_refuse_out_of_range_days_and_pages_with_a_message(admin_client):
    r = admin_client.get("/calls?date_to=9999-12-31", headers={"Accept": "text/html"})
    assert r.status_code == 422 and "date_to: expected a day from 2000-01-01 to 2099-12-31" in r.text
    r = admin_client.get("/contact-preferences?page=99999999999999999999", headers={"Accept": "text/html"})
    assert r.status_code == 422 and "page" in r.text
