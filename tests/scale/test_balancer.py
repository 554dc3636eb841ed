"""Kamailio (deploy/kamailio/kamailio.cfg) in front of SIP workers, with real sipp peers:
sipp UAS processes stand in for `ivr serve` workers, sipp UAC processes are the callers."""

from __future__ import annotations

import re
import time
from pathlib import Path

import pytest
from sip_site import KAMAILIO_CFG, Callers, Kamailio, SippWorker, free_udp_ports, missing_tools, place_calls, wait_for

from ivr.dispatch import Worker

SIPP_DIR = Path(__file__).with_name("sipp")

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(
        bool(missing_tools()),
        reason=f"SIP tools missing: {', '.join(missing_tools())} (apt-get install kamailio sip-tester)",
    ),
]


def _active(kam: Kamailio, *workers: SippWorker) -> bool:
    flags = kam.destinations()
    return all(flags.get(w.worker.uri, "").startswith("A") for w in workers)


@pytest.fixture
def site(tmp_path: Path):
    """Two stand-in workers behind Kamailio; yields (kamailio, worker_a, worker_b, proxy)."""
    pa, pb, pk = free_udp_ports(3)
    a, b = SippWorker(tmp_path, pa), SippWorker(tmp_path, pb)
    try:
        with Kamailio(tmp_path, [a.worker, b.worker], pk) as kam:  # the shipped no-reply timeout
            wait_for(lambda: _active(kam, a, b), 10, what="both workers active in the dispatcher")
            yield kam, a, b, f"127.0.0.1:{pk}"
    finally:
        a.stop()
        b.stop()


def test_calls_are_spread_round_robin_over_the_workers(site, tmp_path: Path) -> None:
    kam, a, b, proxy = site
    run = place_calls(tmp_path, proxy, calls=6, rate=10)
    assert run.returncode == 0, (
        f"sipp callers failed: {(tmp_path / 'callers-errors.log').read_text(errors='replace')[-800:]}"
    )
    assert run.answered == run.completed == 6
    assert run.spread() == {a.worker.hostport: 3, b.worker.hostport: 3}


def test_a_killed_worker_is_skipped_then_taken_back(site, tmp_path: Path) -> None:
    kam, a, b, proxy = site
    callers = Callers(tmp_path, proxy, calls=16, rate=4, hold_ms=300, name="failover")
    wait_for(lambda: callers.elapsed_ms() >= 1200, 5, what="first calls placed")
    b.kill()
    killed_at = callers.elapsed_ms()
    # OPTIONS probing (or the first timed-out INVITE) takes the dead worker out of the rotation
    wait_for(lambda: kam.destinations()[b.worker.uri].startswith("I"), 10, what=f"{b.worker.uri} marked inactive")
    run = callers.wait()

    calls = sorted(run.calls.values(), key=lambda c: c.number)
    assert len(calls) == 16
    unanswered = [c.number for c in calls if c.worker is None]
    assert not unanswered, f"INVITEs never answered despite failover: calls {unanswered}"
    before = [c for c in calls if c.answered_ms is not None and c.answered_ms < killed_at]
    after = [c for c in calls if c.invite_ms is not None and c.invite_ms > killed_at]
    assert {c.worker for c in before} == {a.worker.hostport, b.worker.hostport}
    assert len(after) >= 8 and all(c.worker == a.worker.hostport for c in after), (
        "calls after the kill reached the dead worker"
    )
    assert all(c.ok for c in after), f"calls placed after the kill failed: {[c.number for c in after if not c.ok]}"
    # only a call that was up on the killed worker at that moment may lose its BYE
    lost = [c for c in calls if not c.ok]
    assert all(c.worker == b.worker.hostport and c.answered_ms < killed_at for c in lost), lost

    b.start()
    wait_for(lambda: _active(kam, b), 10, what=f"{b.worker.uri} active again after restart")
    again = place_calls(tmp_path, proxy, calls=4, rate=10, name="after-restart")
    assert again.completed == 4 and again.spread() == {a.worker.hostport: 2, b.worker.hostport: 2}


def failover_answer_ms(workdir: Path, no_reply_timeout_ms: int | None = None) -> tuple[int, int, str]:
    """Two workers, one frozen (SIGSTOP) before OPTIONS probing can notice (probes every 30 s);
    2 calls: round-robin sends one of them to the frozen worker.  Returns (INVITE→200 ms of that
    call, of the other call, the worker that answered both).  Also used for docs/scale.md numbers."""
    pa, pb, pk = free_udp_ports(3)
    a, b = SippWorker(workdir, pa), SippWorker(workdir, pb)
    try:
        with Kamailio(
            workdir, [a.worker, b.worker], pk, ping_interval=30, no_reply_timeout_ms=no_reply_timeout_ms
        ) as kam:
            wait_for(lambda: _active(kam, a, b), 10, what="both workers active")
            b.freeze()
            run = place_calls(workdir, f"127.0.0.1:{pk}", calls=2, rate=20, name="frozen")
            assert run.answered == run.completed == 2, f"a call was lost to the frozen worker: {run.calls}"
            assert run.spread() == {a.worker.hostport: 2}
            assert kam.destinations()[b.worker.uri].startswith("I"), "the frozen worker must leave the rotation"
            slow, fast = sorted((c.answered_ms - c.invite_ms for c in run.calls.values()), reverse=True)
            return slow, fast, a.worker.hostport
    finally:
        a.stop()
        b.stop()


def test_a_frozen_worker_fails_over_within_the_shipped_no_reply_timeout(tmp_path: Path) -> None:
    """A worker that hangs (SIGSTOP, not dead: OPTIONS has not noticed yet) gets an INVITE and says
    nothing: after NO_REPLY_TIMEOUT_MS (kamailio.cfg default) the caller is answered by the other worker."""
    shipped = int(re.search(r"#!define NO_REPLY_TIMEOUT_MS (\d+)", KAMAILIO_CFG.read_text()).group(1))
    slow, fast, _ = failover_answer_ms(tmp_path)
    assert fast < 300, f"the call to the live worker took {fast} ms"
    assert shipped - 100 <= slow <= shipped + 700, f"failover answer after {slow} ms, no-reply timeout {shipped} ms"


def test_regenerated_dispatcher_list_is_picked_up_by_reload(tmp_path: Path) -> None:
    pa, pb, pk = free_udp_ports(3)
    a, b = SippWorker(tmp_path, pa), SippWorker(tmp_path, pb)
    try:
        with Kamailio(tmp_path, [a.worker], pk) as kam:
            proxy = f"127.0.0.1:{pk}"
            wait_for(lambda: _active(kam, a), 10, what="worker a active")
            assert place_calls(tmp_path, proxy, calls=2, rate=10, name="one").spread() == {a.worker.hostport: 2}

            kam.set_workers([a.worker, b.worker])  # what `ivr deploy dispatcher-list --reload` does
            wait_for(lambda: _active(kam, a, b), 10, what="both workers active after reload")
            assert place_calls(tmp_path, proxy, calls=4, rate=10, name="two").spread() == {
                a.worker.hostport: 2,
                b.worker.hostport: 2,
            }
    finally:
        a.stop()
        b.stop()


def test_no_live_worker_gives_callers_a_clear_503(tmp_path: Path) -> None:
    dead, pk = free_udp_ports(2)
    with Kamailio(tmp_path, [Worker("127.0.0.1", dead)], pk) as kam:
        wait_for(
            lambda: kam.destinations()[f"sip:127.0.0.1:{dead}"].startswith("I"), 10, what="dead worker marked inactive"
        )
        t0 = time.monotonic()
        run = place_calls(tmp_path, f"127.0.0.1:{pk}", calls=1, rate=10, name="nobody")
        assert run.answered == 0 and run.returncode != 0
        assert time.monotonic() - t0 < 5, "caller waited for a timeout instead of an immediate 503"
        assert "503 No IVR worker available" in (tmp_path / "nobody-errors.log").read_text(errors="replace")


def test_transfer_refer_and_notify_are_loose_routed_through_the_balancer(tmp_path: Path) -> None:
    """The bot's blind transfer: REFER from the worker to the caller, NOTIFY back, then BYE — all
    in-dialog, so they must follow the Record-Route through Kamailio in both directions."""
    pw, pk = free_udp_ports(2)
    worker = SippWorker(tmp_path, pw, scenario=SIPP_DIR / "worker_transfers.xml")
    try:
        with Kamailio(tmp_path, [worker.worker], pk) as kam:
            wait_for(lambda: _active(kam, worker), 10, what="worker active")
            callers = Callers(
                tmp_path,
                f"127.0.0.1:{pk}",
                calls=2,
                rate=5,
                name="transferred",
                scenario=SIPP_DIR / "caller_transferred.xml",
            )
            assert callers.wait(timeout=20).returncode == 0, callers.errors()
    finally:
        worker.stop()
    log = callers.log.read_text().splitlines()
    assert log.count("refer 1 to sip:agent@127.0.0.1:5090") == 1 and "notified 2" in log and "completed 2" in log
