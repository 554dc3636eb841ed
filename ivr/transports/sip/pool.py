"""Runs and supervises the SIP worker processes of `ivr serve`.

Why processes: the pjsua2 wheel holds at most 4 calls per process, and pure-Python work in the
process that runs the PJSIP media clock starves it (lost frames).  Each worker is its own process
on its own port — base, base+2, base+4, ... (the odd port is left for a balancer's or RTCP's
use) — and a dead worker is restarted.  A SIP balancer (Kamailio `dispatcher`) spreads calls.

RTP: worker i gets its own port range `sip_rtp_base + i * sip_rtp_span` (span ports, RTP and RTCP
pairs), so workers never try each other's ports and a firewall rule can name the ranges.
"""

from __future__ import annotations

import ctypes
import json
import logging
import os
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

log = logging.getLogger("ivr.sip")

RESTART_BACKOFF_S = 2.0
PR_SET_PDEATHSIG = 1
CALLS_PER_WORKER = 4  # hard cap of the pjsua2-python wheel (5th INVITE → 486)
# RTP + RTCP per call; pjsua hands out pairs in turn and wraps inside the range, so a range of
# exactly 8 would reuse a pair the moment a call ends: keep the default roomy (settings)
MIN_RTP_SPAN = 2 * CALLS_PER_WORKER


def worker_ports(base: int, n: int) -> list[int]:
    return [base + 2 * i for i in range(n)]


def rtp_ranges(rtp_base: int, span: int, sip_ports: list[int]) -> list[range]:
    """The RTP port range of each worker (one per SIP port, in order); ValueError names the bad setting."""
    if span < MIN_RTP_SPAN or span % 2:
        raise ValueError(
            f"sip_rtp_span: expected an even number of ports >= {MIN_RTP_SPAN} "
            f"(RTP+RTCP for {CALLS_PER_WORKER} calls), got {span}"
        )
    if rtp_base % 2 or not 1024 <= rtp_base:
        raise ValueError(f"sip_rtp_base: expected an even port >= 1024 (RTP ports are even), got {rtp_base}")
    ranges = [range(rtp_base + i * span, rtp_base + (i + 1) * span) for i in range(len(sip_ports))]
    last = ranges[-1].stop - 1 if ranges else rtp_base
    if last > 65535:
        raise ValueError(
            f"sip_rtp_base {rtp_base} + {len(sip_ports)} worker(s) x sip_rtp_span {span}: "
            f"ports up to {last}, beyond 65535"
        )
    if clash := [p for p in sip_ports if rtp_base <= p <= last]:
        raise ValueError(
            f"RTP ports {rtp_base}-{last} (sip_rtp_base, sip_rtp_span {span} x {len(sip_ports)} "
            f"worker(s)) overlap the SIP port(s) {', '.join(map(str, clash))}: move one of them"
        )
    return ranges


def worker_rtp_range(settings: Any, sip_port: int) -> range:
    """The RTP range of a worker started on its own (systemd `ivr-worker@PORT`): its index is
    counted from the SIP port of `settings.sip` (base, base+2, ...), as `ivr serve` numbers them."""
    base = int(str(settings.sip).rpartition(":")[2] or 5070)
    index, odd = divmod(sip_port - base, 2)
    if index < 0 or odd:
        raise ValueError(
            f"SIP port {sip_port} is not one of the worker ports {base}, {base + 2}, ... of "
            f"sip={settings.sip!r}: set IVR_SIP to the first worker's address or pass --rtp-port"
        )
    return rtp_ranges(settings.sip_rtp_base, settings.sip_rtp_span, worker_ports(base, index + 1))[-1]


def worker_env(settings: Any) -> dict[str, str]:
    """The parent's effective settings (flags included) as IVR_* variables for the workers, and
    their malloc arena bound (`limit_malloc_arenas`)."""
    env = dict(os.environ)
    for name in ("data_dir", "db_url", "vosk_model", "agent_uri", "grammars_dir", "prompts_dir"):
        value = getattr(settings, name, None)
        if value is not None:
            env[f"IVR_{name.upper()}"] = str(value)
    env["IVR_SIP_ALLOW"] = json.dumps(list(settings.sip_allow))
    env["IVR_SIP_MALLOC_ARENA_MAX"] = str(settings.sip_malloc_arena_max)
    env["IVR_SIP_MALLOC_TRIM_IDLE_S"] = str(settings.sip_malloc_trim_idle_s)
    limit_malloc_arenas(env, settings.sip_malloc_arena_max)
    return env


def limit_malloc_arenas(env: Any, arena_max: int) -> None:
    """Bound glibc's malloc arenas of the processes started with `env` (a dict or os.environ) to
    `arena_max`; 0 leaves `env` as it is (glibc's default: 8 per core, one per new thread until then)."""
    # The environment, not mallopt(M_ARENA_MAX) at start: glibc reads it before any thread exists, it
    # reaches spawned children (the engine host) unchanged, and it is visible in /proc/PID/environ.
    if arena_max > 0:
        env["MALLOC_ARENA_MAX"] = str(arena_max)


def _die_with_parent() -> None:
    """In the child before exec: SIGTERM it if `ivr serve` dies, so no worker outlives its parent
    holding a SIP port (Linux prctl PR_SET_PDEATHSIG)."""
    try:
        ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGTERM)
    except (OSError, AttributeError):
        pass


@dataclass
class _Worker:
    host: str
    port: int
    ready_file: Path
    rtp: range
    proc: subprocess.Popen | None = None
    started: float = 0.0


class SipPool:
    def __init__(self, settings: Any, host: str, base_port: int, n: int, extra_args: list[str] | None = None) -> None:
        self.settings = settings
        self.extra_args = extra_args or []
        ports = worker_ports(base_port, n)
        rtp = rtp_ranges(settings.sip_rtp_base, settings.sip_rtp_span, ports)  # ValueError before anything starts
        self._dir = Path(tempfile.mkdtemp(prefix="ivr-sip-"))
        self.workers = [_Worker(host, p, self._dir / f"{p}.ready", r) for p, r in zip(ports, rtp)]
        self._env = worker_env(settings)

    def start(self) -> None:
        for w in self.workers:
            self._spawn(w)

    def _spawn(self, w: _Worker) -> None:
        w.ready_file.unlink(missing_ok=True)
        cmd = [
            sys.executable,
            "-m",
            "ivr.transports.sip.worker",
            "--listen",
            f"{w.host}:{w.port}",
            "--ready-file",
            str(w.ready_file),
            "--rtp-port",
            str(w.rtp.start),
            "--rtp-span",
            str(len(w.rtp)),
            *self.extra_args,
        ]
        w.proc = subprocess.Popen(cmd, env=self._env, stdin=subprocess.DEVNULL, preexec_fn=_die_with_parent)
        w.started = time.monotonic()
        log.info("sip: worker pid %d on %s:%d, RTP %d-%d", w.proc.pid, w.host, w.port, w.rtp.start, w.rtp.stop - 1)

    @property
    def ready(self) -> bool:
        return all(w.ready_file.exists() and w.proc is not None and w.proc.poll() is None for w in self.workers)

    def supervise(self) -> None:
        """Restart workers that died (called periodically by the server)."""
        for w in self.workers:
            if w.proc is not None and w.proc.poll() is not None and time.monotonic() - w.started > RESTART_BACKOFF_S:
                log.error("sip: worker on port %d exited with %s; restarting", w.port, w.proc.returncode)
                self._spawn(w)

    def stop(self, timeout: float = 10.0) -> None:
        for w in self.workers:
            if w.proc is not None and w.proc.poll() is None:
                w.proc.terminate()
        deadline = time.monotonic() + timeout
        for w in self.workers:
            if w.proc is None:
                continue
            try:
                w.proc.wait(max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                log.error("sip: worker on port %d did not stop; killing it", w.port)
                w.proc.kill()
                w.proc.wait()
