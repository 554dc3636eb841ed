"""Console fixtures: a real uvicorn server on a free 127.0.0.1 port over the test's SQLite file,
real users (argon2 hashes), an httpx client per role, and headless Debian chromium."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import httpx
import pytest

from ivr.web.threaded import ThreadedServer as LiveServer

PASSWORD = "correct-horse-9"
ROLES = ("agent", "supervisor", "admin")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


@pytest.fixture(autouse=True)
def cheap_argon2(monkeypatch: pytest.MonkeyPatch) -> None:
    """Real argon2, cheaper parameters: the defaults cost ~0.25 s per hash/verify on 2 cores and
    every test logs several users in.  (test_units checks the production parameters.)"""
    from argon2 import PasswordHasher

    monkeypatch.setattr("ivr.auth._HASHER", PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1))


@pytest.fixture
def users(store) -> dict[str, str]:
    from ivr.auth import add_user

    for role in ROLES:
        add_user(store, f"{role}1", role, PASSWORD)
    return {role: f"{role}1" for role in ROLES}


@pytest.fixture
def app(settings, store, users):
    from ivr.web.app import create_app

    return create_app(settings, ready=True, store=store)


@pytest.fixture
def server(app) -> Iterator[LiveServer]:
    with LiveServer(app) as srv:
        yield srv


@pytest.fixture
def client(server) -> Iterator[Callable[..., httpx.Client]]:
    """`client()` anonymous, `client("agent")` logged in: CSRF header set as a fetch() would."""
    made: list[httpx.Client] = []

    def make(role: str | None = None, csrf: bool = True) -> httpx.Client:
        c = httpx.Client(base_url=server.url, timeout=10, follow_redirects=False)
        made.append(c)
        if role:
            r = c.post("/api/login", json={"username": f"{role}1", "password": PASSWORD})
            assert r.status_code == 200, r.text
            if csrf:
                c.headers["X-CSRF-Token"] = r.json()["csrf_token"]
        return c

    yield make
    for c in made:
        c.close()


@pytest.fixture(scope="module")
def browser():
    # Module scope, not session: Playwright's sync API keeps an asyncio loop running in this
    # thread while it is open, which would break later tests that call asyncio.run().
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path="/usr/bin/chromium", args=CHROMIUM_ARGS)
        yield b
        b.close()


@pytest.fixture
def page(browser, server):
    ctx = browser.new_context(base_url=server.url, viewport={"width": 1360, "height": 900}, locale="zh-CN")
    pg = ctx.new_page()
    pg.set_default_timeout(10_000)
    yield pg
    ctx.close()


def login(page, role: str) -> None:
    page.goto("/login")
    page.fill("input[name=username]", f"{role}1")
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url("**/queue")


CASE = {
    "case_id": "C-2026-0042",
    "name": "李娜",
    "amount": 4800,
    "days_overdue": 45,
    "company": "安信消费金融",
    "phone": "400-800-1234",
    "caller_number": "13800138000",
}


def simulated_call(
    store,
    settings,
    lines: list[str],
    *,
    requests: dict[int, dict] | None = None,
    now=None,
    caller_number: str = "13800138000",
):
    """A whole call through the real CallSession + Dialog (as `ivr simulate --text` runs it).
    `requests` {turn: {"kind", "detail"}}: a request the dialog registers at that turn, as the
    request features do (SPEC v2 `requests[]`).  Returns the session (ended)."""
    import datetime as dt

    from ivr.case import Case
    from ivr.cli.records import parse_lines
    from ivr.events import CallerHangup
    from ivr.wiring import wiring_for

    session = wiring_for(settings).session(
        store,
        transport="text",
        case=Case.from_dict(CASE),
        now=now or dt.datetime.now().replace(second=0, microsecond=0),
        seed=0,
        caller_number=caller_number,
    )
    session.start()
    for idx, inp in enumerate([*parse_lines(lines), CallerHangup()], start=1):
        if requests and idx in requests:
            session.dialog.requests.append({**requests[idx], "turn": idx})
        session.handle(inp)
        if session.dialog.finished:
            break
    session.end()
    return session
