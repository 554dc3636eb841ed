"""Issue 13 (console part): regression tests for findings 4-7, each against the real app over a
real SQLite file.  Every test names the finding it covers; each failed on main."""

from __future__ import annotations

import csv
import io

import pytest

from .conftest import PASSWORD

# ---------------------------------------------------------------- finding 4: CSV formula injection

WIDE_FORMULAS = [
    '＝HYPERLINK("http://x","点我")',  # full-width =
    "＋86 138 1234 5678",
    "－1+1",
    "＠SUM(A1)",
    "  =1+1",  # leading spaces
    "\u3000=cmd|' /C calc'!A0",  # ideographic space
    "\n=1+1",
]


def test_csv_cell_neutralises_full_width_and_spaced_formula_prefixes():
    """Finding 4: full-width ＝＋－＠ and spaced prefixes were written raw on main."""
    from ivr.web.tasks import csv_cell

    for bad in WIDE_FORMULAS:
        assert csv_cell(bad) == "'" + bad, bad
    for fine in ("李娜", "利息＝多少", "13812345678", "2026-12-01", " 还款"):
        assert csv_cell(fine) == fine


def test_promises_csv_neutralises_full_width_formulas_in_every_text_column(client, store):
    """Finding 4, end to end: a caller number and a name typed with a Chinese IME."""
    for i, bad in enumerate(WIDE_FORMULAS):
        store.start_call(f"call-{i}", transport="text", caller_number=bad, debtor_name=bad, case_id=bad)
        store.update_call(f"call-{i}", promise_date="2026-12-01", promise_amount=500.0)
    r = client("supervisor").get("/api/promises.csv")
    assert r.status_code == 200
    rows = list(csv.DictReader(io.StringIO(r.content.decode("utf-8-sig"))))
    assert len(rows) == len(WIDE_FORMULAS)
    for row in rows:
        for column in ("客户姓名", "案件号", "来电号码"):
            assert row[column].startswith("'"), (column, row[column])


# ---------------------------------------------------------------- finding 5: login throttling


class FakeClock:
    def __init__(self) -> None:
        self.t = 1000.0

    def __call__(self) -> float:
        return self.t


@pytest.fixture
def clock(app) -> FakeClock:
    c = FakeClock()
    app.state.login_gate.clock = c
    return c


def _login(c, username: str, password: str):
    return c.post("/api/login", json={"username": username, "password": password})


def _audit(store, action: str) -> list:
    from ivr.store import AuditEntry

    with store.session() as s:
        return [(a.username, a.detail) for a in s.query(AuditEntry).filter_by(action=action)]


def test_login_backs_off_then_locks_the_account_audited_and_counted(client, store, clock):
    """Finding 5: 200 wrong passwords in a row were all verified on main, no 429 ever."""
    c = client()
    for _ in range(3):
        assert _login(c, "agent1", "wrong-password-x").status_code == 401
    r = _login(c, "agent1", PASSWORD)  # even the right password waits out the back-off
    assert r.status_code == 429 and int(r.headers["Retry-After"]) >= 1, r.text
    assert "account" in r.json()["detail"]
    delays = [int(r.headers["Retry-After"])]
    for _ in range(6):  # failures 4..9, each after the wait: exponential, capped at 60 s
        clock.t += delays[-1]
        assert _login(c, "agent1", "wrong-password-x").status_code == 401
        r = _login(c, "agent1", "wrong-password-x")
        assert r.status_code == 429
        delays.append(int(r.headers["Retry-After"]))
    assert delays == [1, 2, 4, 8, 16, 32, 60]
    clock.t += 60
    assert _login(c, "agent1", "wrong-password-x").status_code == 401  # 10th failure: locked
    clock.t += 300
    r = _login(c, "agent1", PASSWORD)
    assert r.status_code == 429 and int(r.headers["Retry-After"]) > 500
    assert [u for u, _ in _audit(store, "login_locked")] == ["agent1"]
    assert len(_audit(store, "login_failed")) == 10
    clock.t += 901
    assert _login(c, "agent1", PASSWORD).status_code == 200
    metrics = c.get("/metrics").text
    assert 'ivr_login_refused_total{scope="account"}' in metrics
    assert "ivr_login_failures_total" in metrics


def test_unknown_users_are_throttled_like_real_ones(client, clock):
    """Finding 5: no user enumeration through the throttle (same answers, same order)."""
    real = [_login(client(), "agent1", "wrong-password-x").status_code for _ in range(5)]
    ghost = [_login(client(), "nobody-here", "wrong-password-x").status_code for _ in range(5)]
    assert real == ghost == [401, 401, 401, 429, 429]


def test_one_address_trying_many_accounts_is_throttled(client, clock):
    """Finding 5: per source address, whatever the user names tried."""
    c = client()
    codes = [_login(c, f"guess{i}", "wrong-password-x").status_code for i in range(11)]
    assert codes[:10] == [401] * 10 and codes[10] == 429
    r = _login(c, "supervisor1", PASSWORD)
    assert r.status_code == 429 and "address" in r.json()["detail"]


def test_dummy_hash_for_unknown_users_costs_what_a_real_one_costs(store, monkeypatch):
    """Finding 5: unknown and disabled users are verified against a hash of the hasher in use."""
    from argon2 import PasswordHasher, extract_parameters

    from ivr import auth

    seen: list[str] = []

    class Spy(PasswordHasher):
        def verify(self, hash: str | bytes, password: str | bytes) -> bool:  # noqa: A002
            seen.append(str(hash))
            return super().verify(hash, password)

    hasher = Spy(time_cost=2, memory_cost=2048, parallelism=1)
    monkeypatch.setattr("ivr.auth._HASHER", hasher)
    auth.add_user(store, "li", "agent", "long-password-1")
    auth.set_active(store, "li", False)
    assert auth.authenticate(store, "nobody", "long-password-1") is None
    assert auth.authenticate(store, "li", "long-password-1") is None
    assert len(seen) == 2
    assert all(extract_parameters(h) == extract_parameters(hasher.hash("x")) for h in seen)


def test_parallel_logins_run_at_most_login_concurrency_argon2_verifications(app, server, monkeypatch):
    """Finding 5: 60 parallel wrong logins ran 60 argon2 verifications at once on main (2.1 GiB).
    Real (production-cost) argon2 here, 16 logins at once from different accounts."""
    import concurrent.futures

    import httpx
    from argon2 import PasswordHasher

    monkeypatch.setattr("ivr.auth._HASHER", PasswordHasher(time_cost=3, memory_cost=32768, parallelism=1))
    gate = app.state.login_gate
    assert gate.concurrency == 2

    def one(i: int) -> int:
        with httpx.Client(base_url=server.url, timeout=60) as c:
            return _login(c, f"agent{i}", "wrong-password-x").status_code

    with concurrent.futures.ThreadPoolExecutor(16) as pool:
        codes = list(pool.map(one, range(16)))
    assert set(codes) <= {401, 429} and codes.count(401) >= 10
    assert gate.in_flight_max == 2


# ---------------------------------------------------------------- finding 6: sessions and keys


def test_a_copied_cookie_stops_working_after_logout(client):
    """Finding 6: on main the signed cookie still worked after logout (nothing server-side)."""
    c = client("supervisor")
    stolen = dict(c.cookies)
    assert c.post("/api/logout").status_code == 200
    replay = client()
    replay.cookies.update(stolen)
    assert replay.get("/api/me").status_code == 401


@pytest.mark.parametrize("change", ["passwd", "disable", "delete"])
def test_password_change_disable_and_delete_end_every_session(client, store, change):
    """Finding 6: `ivr users passwd|disable|delete` (did not exist on main) end the user's sessions."""
    from typer.testing import CliRunner

    from ivr.cli.users import users_app

    a, b = client("agent"), client("agent")
    assert a.get("/api/me").status_code == b.get("/api/me").status_code == 200
    stdin = "another-Secret-42\n" if change == "passwd" else ""
    args = [change, "agent1"] + (["--password-stdin"] if change == "passwd" else [])
    r = CliRunner().invoke(users_app, args, input=stdin)
    assert r.exit_code == 0, r.output
    assert a.get("/api/me").status_code == b.get("/api/me").status_code == 401
    if change == "passwd":
        assert _login(client(), "agent1", "another-Secret-42").status_code == 200
        assert _login(client(), "agent1", PASSWORD).status_code == 401


def test_users_cli_password_policy_and_unknown_user(store):
    from typer.testing import CliRunner

    from ivr.auth import add_user
    from ivr.cli.users import users_app

    add_user(store, "wang.li", "agent", "first-Passw0rd")
    run = CliRunner().invoke
    for bad, why in [
        ("short", "at least 10 characters"),
        ("my-wang.li-pass", "does not contain the user name"),
        ("password123", "well-known"),
        ("aaaaaaaaaaaa", "well-known one or one character repeated"),
    ]:
        r = run(users_app, ["passwd", "wang.li", "--password-stdin"], input=bad + "\n")
        assert r.exit_code == 2 and why in r.output, r.output
        assert len(r.output.strip().splitlines()) == 1
    r = run(users_app, ["disable", "nobody"])
    assert r.exit_code == 2 and "username 'nobody': no such user" in r.output


@pytest.mark.parametrize(
    ("key", "why"),
    [
        ("CHANGE-ME", "placeholder"),
        ("change-me-to-something-random-and-long-enough", "placeholder"),
        ("abc123", "at least 32"),
    ],
)
def test_placeholder_or_short_secret_key_is_refused_at_start(settings, key, why):
    """Finding 6: deploy/ivr.env.example's IVR_SECRET_KEY=CHANGE-ME was accepted on main."""
    import subprocess
    import sys

    from ivr.auth import SecretKeyError
    from ivr.web.app import create_app

    with pytest.raises(SecretKeyError, match=why):
        create_app(settings.model_copy(update={"secret_key": key}), ready=True)
    env = {**__import__("os").environ, "IVR_SECRET_KEY": key}
    r = subprocess.run(
        [
            sys.executable,
            "-c",
            "from ivr.cli import main; main()",
            "serve",
            "--no-sip",
            "--no-media",
            "--http",
            "127.0.0.1:0",
        ],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert r.returncode == 2, r.stderr
    assert r.stderr.strip().count("\n") == 0 and "IVR_SECRET_KEY" in r.stderr and why in r.stderr


# ---------------------------------------------------------------- /metrics and /openapi.json


def test_metrics_and_openapi_only_for_allowed_source_networks(client, settings, store):
    """Issue 13 "Files and privacy": /metrics and /openapi.json can be restricted (IVR_OPS_ALLOW)."""
    from fastapi.testclient import TestClient

    from ivr.web.app import create_app

    assert client().get("/metrics").status_code == 200  # loopback: in the default allow-list
    assert client().get("/openapi.json").status_code == 200
    app = create_app(settings.model_copy(update={"ops_allow": ["10.9.0.0/16"]}), ready=True, store=store)
    with TestClient(app, client=("192.0.2.7", 50000)) as c:
        for path in ("/metrics", "/openapi.json"):
            r = c.get(path)
            assert r.status_code == 403 and "IVR_OPS_ALLOW" in r.json()["detail"]
        assert c.get("/healthz").status_code == 200
    with TestClient(app, client=("10.9.3.4", 50000)) as c:
        assert c.get("/metrics").status_code == 200
    with pytest.raises(ValueError, match="IVR_OPS_ALLOW: expected CIDR networks like 10.0.0.0/8, got 'intranet'"):
        create_app(settings.model_copy(update={"ops_allow": ["intranet"]}), ready=True, store=store)
