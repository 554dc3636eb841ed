"""Each SIP worker keeps to its own RTP port range (settings sip_rtp_base / sip_rtp_span, worker
flags --rtp-port / --rtp-span): two workers with calls at once never try each other's ports, the
caller is told a port inside the range, and bad ranges are refused with one line."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time
from pathlib import Path

import pytest
from helpers import wait_call_ends
from peers import free_port, free_rtp_range, sipp

from ivr.transports.sip.pool import rtp_ranges, worker_ports

SCENARIO = Path(__file__).parent / "scenarios" / "uac_short.xml"
SPAN = 20
CALLS = 12


def udp_ports_of(pid: int) -> set[int]:
    """Local UDP ports of the sockets process `pid` holds (its fds matched against /proc/net/udp)."""
    inodes = set()
    for fd in Path(f"/proc/{pid}/fd").iterdir():
        try:
            if m := re.match(r"socket:\[(\d+)\]", os.readlink(fd)):
                inodes.add(m.group(1))
        except OSError:
            continue
    ports = set()
    for line in Path("/proc/net/udp").read_text().splitlines()[1:]:
        f = line.split()
        if f[9] in inodes:
            ports.add(int(f[1].rsplit(":", 1)[1], 16))
    return ports


def test_two_workers_use_only_their_own_rtp_ranges(tmp_path, sip_worker):
    base = free_rtp_range(2 * SPAN)
    ranges = [range(base, base + SPAN), range(base + SPAN, base + 2 * SPAN)]
    workers = [
        sip_worker("--engine", "tel_fakes:tone_factory", "--rtp-port", str(r.start), "--rtp-span", str(SPAN))
        for r in ranges
    ]
    callers = []
    # 12 calls per worker, 3 at a time: more calls than the range has RTP/RTCP pairs (10), so the
    # ports must wrap inside the range instead of running on into the next worker's
    for i, w in enumerate(workers):
        trace = tmp_path / f"uac-{i}.msg"
        callers.append(
            (
                trace,
                sipp(
                    tmp_path,
                    [
                        "-sf",
                        str(SCENARIO),
                        "-d",
                        "1200",
                        "-m",
                        str(CALLS),
                        "-l",
                        "3",
                        "-r",
                        "10",
                        "-i",
                        "127.0.0.1",
                        "-mp",
                        str(free_port()),
                        "-timeout",
                        "20s",
                        "-trace_msg",
                        "-message_file",
                        str(trace),
                        f"127.0.0.1:{w.port}",
                    ],
                    wait=False,
                ),
            )
        )

    held: list[set[int]] = [set(), set()]  # every UDP port each worker held while the calls ran
    most = [0, 0]
    while any(proc.poll() is None for _, proc in callers):
        for i, w in enumerate(workers):
            now = udp_ports_of(w.proc.pid) - {w.port}
            held[i] |= now
            most[i] = max(most[i], len(now))
        time.sleep(0.1)
    for trace, proc in callers:
        assert proc.wait(timeout=30) == 0, f"calls failed:\n{trace.read_text()[-2000:]}"
    for w, r, ports, top, (trace, _) in zip(workers, ranges, held, most, callers):
        assert top >= 4, f"worker {w.port}: expected RTP+RTCP sockets of simultaneous calls, at most {top} seen"
        assert all(p in r for p in ports), (
            f"worker {w.port} holds UDP ports {sorted(ports)} outside its range {r.start}-{r.stop - 1}"
        )
        # what the caller was told: the m= port of every 200 OK answer
        answers = [
            m for m in re.split(r"\n-{10,}", trace.read_text()) if "message received" in m and "SIP/2.0 200" in m
        ]
        answered = [int(p) for m in answers for p in re.findall(r"m=audio (\d+)", m)]
        assert len(answered) == CALLS and all(p in r for p in answered), (w.port, answered, r)
        assert len(wait_call_ends(w, CALLS)) == CALLS
        assert "already in use" not in w.text() and "bind()" not in w.text(), "RTP port collision retried"


def test_bad_rtp_ranges_are_refused_with_one_line():
    assert [(r.start, r.stop) for r in rtp_ranges(10000, 100, worker_ports(5070, 3))] == [
        (10000, 10100),
        (10100, 10200),
        (10200, 10300),
    ]
    for base, span, sip, expected in [
        (10000, 7, 5070, "sip_rtp_span: expected an even number of ports >= 8"),
        (10001, 100, 5070, "sip_rtp_base: expected an even port >= 1024"),
        (65000, 400, 5070, "ports up to 66599, beyond 65535"),
        (
            5000,
            100,
            5070,
            "RTP ports 5000-5399 (sip_rtp_base, sip_rtp_span 100 x 4 worker(s)) overlap the SIP port(s) 5070",
        ),
    ]:
        with pytest.raises(ValueError, match=re.escape(expected)):
            rtp_ranges(base, span, worker_ports(sip, 4))
    # the same check stops `ivr serve` before anything starts: exit 2, one line
    done = subprocess.run(
        [str(Path(sys.executable).with_name("ivr")), "serve", "--sip", "127.0.0.1:5070", "--sip-workers", "4"],
        env={**os.environ, "IVR_SIP_RTP_BASE": "5000"},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 2 and done.stderr.strip().count("\n") == 0, done.stderr
    assert "overlap the SIP port(s) 5070, 5072, 5074, 5076" in done.stderr
    # and a standalone worker (systemd ivr-worker@PORT) whose port is not a worker port of `sip`
    done = subprocess.run(
        [sys.executable, "-m", "ivr.transports.sip.worker", "--listen", "127.0.0.1:5071"],
        env={**os.environ, "IVR_SIP": "127.0.0.1:5070"},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 2 and "SIP port 5071 is not one of the worker ports 5070, 5072" in done.stderr, (
        done.stderr
    )
