"""Console fixtures: a real uvicorn server on a free 127.0.0.1 port over the test's SQLite file,
real users (argon2 hashes), an httpx client per role, and headless Debian chromium."""

from __future__ import annotations

import socket
import threading
import time
from typing import Callable, Iterator

import httpx
import pytest
import uvicorn

PASSWORD = "correct-horse-9"
ROLES = ("agent", "supervisor", "admin")
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class LiveServer:
    def __init__(self, app) -> None:  # type: ignore[no-untyped-def]
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        config = uvicorn.Config(app, host="127.0.0.1", port=self.port, log_level="warning", timeout_graceful_shutdown=1)
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    def __enter__(self) -> "LiveServer":
        self.thread.start()
        deadline = time.monotonic() + 10
        while not self.server.started:
            assert time.monotonic() < deadline, "uvicorn did not start within 10 s"
            time.sleep(0.02)
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.config.app.state.stopping = True  # end live streams now
        self.server.should_exit = True
        self.thread.join(timeout=10)


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


@pytest.fixture(scope="session")
def browser():
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
