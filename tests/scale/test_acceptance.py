"""CI-sized scale-out acceptance: Kamailio + two real `ivr serve` SIP workers + a console, all on
one PostgreSQL, callers are sipp.  The 3-host layout of docs/scale.md, on one machine."""

from __future__ import annotations

import importlib.util
import os
import re
import secrets
import subprocess
from collections import Counter
from pathlib import Path

import httpx
import pytest
from sip_site import (
    IVR,
    Callers,
    IvrServe,
    Kamailio,
    free_tcp_port,
    free_udp_ports,
    missing_tools,
    place_calls,
    wait_for,
)
from sqlalchemy import select

from ivr.dispatch import parse_workers
from ivr.store import Call, Store

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(
        bool(missing_tools()),
        reason=f"SIP tools missing: {', '.join(missing_tools())} (apt-get install kamailio sip-tester)",
    ),
    pytest.mark.skipif(
        importlib.util.find_spec("pjsua2") is None, reason="pjsua2 (pjsua2-python wheel) not installed: no SIP workers"
    ),
]

PASSWORD = "scale-test-Passw0rd!"


def _console_calls(console: IvrServe) -> dict:
    with httpx.Client(base_url=console.http, timeout=10) as http:
        r = http.post("/api/login", json={"username": "boss", "password": PASSWORD})
        assert r.status_code == 200, r.text
        r = http.get("/api/calls", params={"per_page": 500})
        assert r.status_code == 200, r.text
        return r.json()


def _stored_workers(db_url: str) -> Counter[str]:
    store = Store(db_url)
    try:
        with store.session() as s:
            return Counter(s.scalars(select(Call.worker).where(Call.transport == "sip")))
    finally:
        store.engine.dispose()


def _ivr(*args: str, stdin: str | None = None, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    done = subprocess.run(
        [str(IVR), *args],
        input=stdin or "",
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, **(env or {})},
    )
    assert done.returncode == 0, f"ivr {' '.join(args)}: {done.stderr.strip()[-500:]}"
    return done


@pytest.fixture
def site(tmp_path: Path, pg_url: str):
    """Two worker 'hosts' (each `ivr serve --sip-workers 1`) + a console 'host', one database and
    one data directory (in production: the shared recordings/prompt-cache mount of docs/scale.md)."""
    env = {"IVR_DB_URL": pg_url, "IVR_DATA_DIR": str(tmp_path / "data"), "IVR_SECRET_KEY": secrets.token_hex(32)}
    _ivr("users", "add", "boss", "--role", "supervisor", "--password-stdin", stdin=PASSWORD + "\n", env=env)
    _ivr("prompts", "build", env=env)  # deployment step: no TTS synthesis while a caller waits for the answer
    sip1, sip2, kam_port = free_udp_ports(3)
    workers = f"127.0.0.1:{sip1},127.0.0.1:{sip2}"
    servers = [
        IvrServe(tmp_path, "worker1", ["--sip", f"127.0.0.1:{sip1}", "--sip-workers", "1"], env, free_tcp_port()),
        # two "hosts" on one machine: the second gets the next RTP range (on real hosts both keep the default)
        IvrServe(
            tmp_path,
            "worker2",
            ["--sip", f"127.0.0.1:{sip2}", "--sip-workers", "1"],
            {**env, "IVR_SIP_RTP_BASE": "10100"},
            free_tcp_port(),
        ),
        IvrServe(tmp_path, "console", ["--no-sip"], env, free_tcp_port()),
    ]
    try:
        wait_for(
            lambda: all(s.healthy() for s in servers), 120, interval=0.3, what="three `ivr serve` processes healthy"
        )
        listing = tmp_path / "dispatcher.list"
        _ivr("deploy", "dispatcher-list", "--workers", workers, "-o", str(listing))
        with Kamailio(tmp_path, parse_workers(workers), kam_port) as kam:
            assert kam.list_file.read_text() == listing.read_text()  # the CLI writes what the balancer reads
            wait_for(
                lambda: all(f.startswith("A") for f in kam.destinations().values()),
                15,
                what="both workers answer OPTIONS",
            )
            yield kam, servers, f"127.0.0.1:{kam_port}", (f"127.0.0.1:{sip1}", f"127.0.0.1:{sip2}"), pg_url
    finally:
        for s in servers:
            s.stop()


def test_calls_through_kamailio_reach_both_workers_and_survive_a_worker_crash(site, tmp_path: Path) -> None:
    kam, (worker1, worker2, console), proxy, (w1, w2), db_url = site

    first = place_calls(tmp_path, proxy, calls=6, rate=3, hold_ms=1000, name="first")
    assert first.answered == first.completed == 6, f"answered {first.answered}, completed {first.completed} of 6"
    assert first.spread() == {w1: 3, w2: 3}
    listed = _console_calls(console)
    assert listed["total"] == 6 and {c["transport"] for c in listed["items"]} == {"sip"}
    assert _stored_workers(db_url) == {w1: 3, w2: 3}

    # worker host 2 crashes while calls keep coming (2/s, never more than 4 at once on worker 1)
    callers = Callers(tmp_path, proxy, calls=10, rate=2, hold_ms=300, name="crash")
    wait_for(lambda: callers.elapsed_ms() >= 1500, 5, what="first calls of the second run placed")
    worker2.kill()
    killed_at = callers.elapsed_ms()
    run = callers.wait()
    after = [c for c in run.calls.values() if c.invite_ms is not None and c.invite_ms > killed_at]
    assert len(after) >= 5
    assert all(c.worker == w1 and c.ok for c in after), f"calls after the crash: {after}"
    unanswered = [c.number for c in run.calls.values() if c.worker is None]
    assert not unanswered, f"INVITEs never answered despite failover: {unanswered}"
    wait_for(lambda: kam.destinations()[f"sip:{w2}"].startswith("I"), 10, what="the crashed worker out of the rotation")

    # nothing stored is lost: every answered call of both runs is in the one database and console
    answered = first.spread() + run.spread()
    stored = _stored_workers(db_url)
    assert stored[w1] == answered[w1]
    assert stored[w2] >= answered[w2]  # incl. a call worker 2 may have taken just as it died
    listed = _console_calls(console)
    assert listed["total"] == sum(stored.values()) == len({c["id"] for c in listed["items"]})
    # every worker kept to the RTP range `ivr serve` gave it: no port collisions retried
    # (the log masks a dash-joined run of 10 digits like a phone number: match the range's last digits)
    for server, ports in ((worker1, "RTP 10000-10099"), (worker2, "RTP 10100-10199")):
        log = server.log.read_text(errors="replace")
        shape = re.compile(r"RTP [0-9*]{5}-[0-9*]" + ports[-4:])
        assert shape.search(log) and "bind()" not in log, f"{server.name}: {ports} expected, no RTP bind retries"
