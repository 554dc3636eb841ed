"""Issue 13 "Crashes and disks": kill -9 of a SIP worker, its engine host or `ivr serve` at random
moments of real sipp calls, then restart what died; nothing answered or escalated may be lost.

The loop is seeded (IVR_CRASH_SEED, default below): the same seed kills the same kind of process at
the same moment of the same calls, so a failure can be replayed.  The engine is the product's own
(Wiring, Dialog, CallSession, CallEngine, store, recordings) with a keys-only understander
(keys_engine.py), so ~20 restarts fit in the test's time on 2 shared cores.
"""

from __future__ import annotations

import os
import random
import re
import signal
import socket
import sqlite3
import subprocess
import sys
import time
import wave
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest
from peers import SIPP_PCAPS, engine_host_pid, free_port

# ~20 process restarts take 8-13 min on 2 loaded cores: run on demand (IVR_CRASH_LOOP=1), like a
# soak, not in every CI run.
pytestmark = [
    pytest.mark.slow,
    pytest.mark.timeout(1800),  # the suite's 300 s default stopped it part-way (measured 2026-12-01)
    pytest.mark.skipif(not os.environ.get("IVR_CRASH_LOOP"), reason="kill -9 loop: set IVR_CRASH_LOOP=1 to run it"),
]

REPO = Path(__file__).resolve().parents[2]
HERE = Path(__file__).resolve().parent
SCENARIO = (HERE / "scenarios" / "uac_crash.xml").read_text()
SEED = int(os.environ.get("IVR_CRASH_SEED", "1313"))
KILLS = 20  # kills in the loop (one more: the final kill of `ivr serve` before the last restart)
WORKERS = 2
# what a kill hits: `ivr serve` less often, since its restart costs every worker's (the loop's time)
TARGETS = ("worker", "worker", "engine-host", "engine-host", "serve")
KEYS = ("0", "0", "0", "1", "2", "9")  # 0: ask for an agent (escalation + REFER); 1 confirm, 2 deny, 9 busy

# `ivr serve` with the keys-only engine in its SIP workers' engine hosts (`ivr serve` itself has no
# engine flag: the pool's worker arguments get one); everything else is the command as shipped.
LAUNCH = """
import sys
import ivr.transports.sip.pool as pool
from ivr.cli import main

_init = pool.SipPool.__init__


def init(self, settings, host, base_port, n, extra_args=None):
    _init(self, settings, host, base_port, n, [*(extra_args or []), "--engine", "keys_engine:keys_factory"])


pool.SipPool.__init__ = init
sys.argv[1:1] = ["serve"]
main()
"""


@dataclass
class Serve:
    tmp: Path
    sip: int
    http: int
    env: dict[str, str]
    proc: subprocess.Popen | None = None
    starts: int = 0
    logs: list[Path] = field(default_factory=list)
    dead: set[int] = field(default_factory=set)  # worker pids killed (or whose engine host was)

    @property
    def ports(self) -> list[int]:
        return [self.sip + 2 * i for i in range(WORKERS)]

    def start(self) -> None:
        self.starts += 1
        log = self.tmp / f"serve-{self.starts}.log"
        self.logs.append(log)
        cmd = [sys.executable, "-c", LAUNCH, "--sip", f"127.0.0.1:{self.sip}", "--http", f"127.0.0.1:{self.http}"]
        cmd += ["--sip-workers", str(WORKERS), "--no-media", "--agent-uri", "sip:agent@127.0.0.1:5999"]
        self.proc = subprocess.Popen(
            cmd, cwd=REPO, env=self.env, stdout=log.open("w"), stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL
        )

    def wait_ready(self, timeout: float = 120) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            assert self.proc is not None and self.proc.poll() is None, self.text()[-3000:]
            try:
                if httpx.get(f"http://127.0.0.1:{self.http}/healthz", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            time.sleep(0.1)
        for port in self.ports:
            wait_sip(port, deadline, self)

    def live_ports(self) -> list[int]:
        """Ports whose current worker is not one we killed and answers SIP."""
        return [p for p in self.ports if (pid := self.worker_pid(p)) not in self.dead and pid and sip_options(p, 0.3)]

    def text(self) -> str:
        return self.logs[-1].read_text(errors="replace") if self.logs else ""

    def worker_pid(self, port: int) -> int | None:
        pids = re.findall(rf"sip: worker pid (\d+) on 127\.0\.0\.1:{port}\b", self.text())
        return int(pids[-1]) if pids else None


def sip_options(port: int, timeout: float = 0.5) -> bool:
    """True if something answers a SIP OPTIONS on 127.0.0.1:port (the worker is up and serving)."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.bind(("127.0.0.1", 0))
        s.settimeout(timeout)
        me = s.getsockname()[1]
        tag = random.getrandbits(32)
        msg = (
            f"OPTIONS sip:bot@127.0.0.1:{port} SIP/2.0\r\n"
            f"Via: SIP/2.0/UDP 127.0.0.1:{me};branch=z9hG4bK{tag}\r\n"
            f"From: <sip:probe@127.0.0.1:{me}>;tag={tag}\r\nTo: <sip:bot@127.0.0.1:{port}>\r\n"
            f"Call-ID: probe-{tag}@127.0.0.1\r\nCSeq: 1 OPTIONS\r\nMax-Forwards: 70\r\nContent-Length: 0\r\n\r\n"
        )
        s.sendto(msg.encode(), ("127.0.0.1", port))
        try:
            return s.recv(4096).startswith(b"SIP/2.0 ")
        except OSError:
            return False


def wait_sip(port: int, deadline: float, serve: Serve, new: bool = False) -> None:
    """Until the worker on `port` answers SIP (`new`: a worker started after the last kill)."""
    while (new and serve.worker_pid(port) in serve.dead) or not sip_options(port):
        assert time.monotonic() < deadline, f"SIP worker {port} not back:\n{serve.text()[-3000:]}"
        time.sleep(0.2)


def restart_serve(serve: Serve) -> None:
    """After `ivr serve` died: its workers stop by themselves (SIGTERM on their parent's death);
    wait for them to be gone, as a service manager does for the whole group, before starting anew."""
    assert serve.proc is not None
    serve.proc.wait(10)
    old = [pid for port in serve.ports if (pid := serve.worker_pid(port))]
    deadline = time.monotonic() + 30
    while any(Path(f"/proc/{pid}").exists() and b"ivr.transports.sip.worker" in _cmdline(pid) for pid in old):
        assert time.monotonic() < deadline, f"workers {old} outlived `ivr serve`"
        time.sleep(0.1)


def _cmdline(pid: int) -> bytes:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return b""


def place_call(tmp: Path, n: int, port: int, key: str) -> tuple[subprocess.Popen, Path]:
    scenario = tmp / f"call-{n}.xml"
    scenario.write_text(SCENARIO.replace("{KEY}", key).replace("{WAIT_MS}", "20000" if key == "0" else "2500"))
    log = tmp / f"call-{n}.log"
    cmd = ["sipp", "-nostdin", "-sf", str(scenario), "-m", "1", "-i", "127.0.0.1", "-p", str(free_port())]
    cmd += ["-mp", str(free_port()), "-trace_logs", "-log_file", str(log), "-timeout", "40s", f"127.0.0.1:{port}"]
    out = (tmp / f"sipp-{n}.out").open("w")
    return subprocess.Popen(cmd, cwd=tmp, stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL), log


def wav_ok(path: Path) -> bool:
    """The WAV header describes the audio the file holds, give or take the last write a kill cut
    short (the header is patched after each write, every 0.5 s: < 1 s of 16 kHz stereo)."""
    try:
        with wave.open(str(path)) as w:
            described = w.getnframes() * w.getnchannels() * w.getsampwidth()
    except (wave.Error, EOFError, OSError):
        return False
    return 0 <= path.stat().st_size - 44 - described < 64000


def test_kill_9_at_random_moments_loses_no_answered_call_or_escalation(tmp_path, data_dir):
    rng = random.Random(SEED)
    (tmp_path / "pcap").symlink_to(SIPP_PCAPS)
    env = dict(
        os.environ,
        PYTHONPATH=os.pathsep.join([str(REPO), str(HERE), os.environ.get("PYTHONPATH", "")]),
        IVR_MEDIA_TOKEN="test-media-token-0123456789abcdef",
    )
    serve = Serve(tmp_path, free_port(), free_port(socket.SOCK_STREAM), env)
    t0 = time.monotonic()
    serve.start()
    serve.wait_ready()
    calls: list[tuple[subprocess.Popen, Path]] = []
    kills: list[tuple[str, float]] = []
    try:
        # one escalation undisturbed first: under the loop's kill rate (a worker of 2 hit every ~15 s)
        # a call rarely lives the ~12 s from answer to REFER (6 s protected notice, the hand-off
        # prompt): measured 0 REFERs in 2 loops of 30 calls at load average 10-12
        calls.append(place_call(tmp_path, 0, serve.ports[0], "0"))
        calls[0][0].wait(60)
        for _ in range(KILLS):
            # a killed worker (or engine host) is restarted by `ivr serve` while the rounds go on at
            # the workers that are up, as a balancer would; only a dead `ivr serve` stops the loop
            live = serve.live_ports()
            while not live:
                time.sleep(0.2)
                live = serve.live_ports()
            started = time.monotonic()
            for _ in range(rng.randint(1, 2)):  # the calls of this round, staggered
                calls.append(place_call(tmp_path, len(calls), rng.choice(live), rng.choice(KEYS)))
                time.sleep(rng.uniform(0.0, 0.8))
            what, at, port = rng.choice(TARGETS), rng.uniform(0.0, 12.0), rng.choice(live)
            time.sleep(max(0.0, started + at - time.monotonic()))
            worker = serve.worker_pid(port)
            pid = {"serve": serve.proc.pid, "worker": worker, "engine-host": worker and engine_host_pid(worker)}[what]
            assert pid, f"no {what} process for port {port}"
            os.kill(pid, signal.SIGKILL)
            kills.append((what, round(at, 2)))
            if what == "serve":  # restart what died (as systemd would), once its workers are gone
                restart_serve(serve)
                serve.start()
                serve.wait_ready()
            else:
                serve.dead.add(worker)  # type: ignore[arg-type]
        for port in serve.ports:  # every worker back before the end
            wait_sip(port, time.monotonic() + 120, serve, new=True)
        loop_s = time.monotonic() - t0
        for proc, _ in calls:  # every sipp wait is bounded (scenario timeouts, -timeout 40s)
            proc.wait(60)
        # the final restart: whatever the last round left active must be closed by it
        serve.proc.kill()
        restart_serve(serve)
        serve.start()
        serve.wait_ready()
    finally:
        if serve.proc is not None and serve.proc.poll() is None:
            serve.proc.terminate()
            serve.proc.wait(30)
        for proc, _ in calls:
            if proc.poll() is None:
                proc.kill()
    answered, referred = set(), set()
    for _, log in calls:
        text = log.read_text() if log.exists() else ""
        answered |= set(re.findall(r"answered (\S+)", text))
        referred |= set(re.findall(r"refer (\S+)", text))
    print(f"seed {SEED}: {len(calls)} calls, {len(answered)} answered, {len(referred)} REFERs, kills {kills}")
    print(f"loop {loop_s:.0f} s, total {time.monotonic() - t0:.0f} s")
    assert len(kills) == KILLS and {w for w, _ in kills} == {"worker", "engine-host", "serve"}
    assert len(answered) >= KILLS and referred, "the loop must answer calls and transfer some"

    db = data_dir / "ivr.sqlite3"
    con = sqlite3.connect(db)
    try:
        assert con.execute("PRAGMA integrity_check").fetchall() == [("ok",)]
        rows = {
            r[0]: r
            for r in con.execute(
                "SELECT peer_ref, id, status, started_at, ended_at, duration_s, recording_path, ended_reason "
                "FROM calls WHERE transport = 'sip'"
            )
        }
        escalations = {
            r[0]: r[1:]
            for r in con.execute(
                "SELECT c.peer_ref, e.id, e.transfer_status FROM escalations e JOIN calls c ON c.id = e.call_id"
            )
        }
    finally:
        con.close()
    missing = sorted(answered - rows.keys())
    assert not missing, f"answered calls without a row: {missing}"
    lost = sorted(referred - escalations.keys())
    assert not lost, f"REFERs whose escalation was not stored: {lost}"
    assert all(escalations[c][1] in ("requested", "accepted") for c in referred), escalations
    active = [r for r in rows.values() if r[2] != "ended"]
    assert not active, f"calls left active after the final restart: {active}"
    for peer, (_, call_id, _, started_at, ended_at, duration, recording, reason) in rows.items():
        assert ended_at and ended_at >= started_at and duration is not None and duration >= 0, (peer, ended_at)
        assert recording and Path(recording).exists(), f"call {call_id} ({reason}): recording {recording} not kept"
        assert wav_ok(Path(recording)), f"call {call_id} ({reason}): {recording} header does not match its audio"
    restarted = [r for r in rows.values() if r[7] == "worker_restart"]
    assert restarted, "no call was cut by a kill: the loop tested nothing"
