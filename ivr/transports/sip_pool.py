"""Runs and supervises the SIP worker processes of `ivr serve`.

Why processes: the pjsua2 wheel holds at most 4 calls per process, and pure-Python work in the
process that runs the PJSIP media clock starves it (lost frames).  Each worker is its own process
on its own port — base, base+2, base+4, ... (the odd port is left for a balancer's or RTCP's
use) — and a dead worker is restarted.  A SIP balancer (Kamailio `dispatcher`) spreads calls.
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


def worker_ports(base: int, n: int) -> list[int]:
    return [base + 2 * i for i in range(n)]


def worker_env(settings: Any) -> dict[str, str]:
    """The parent's effective settings (flags included) as IVR_* variables for the workers."""
    env = dict(os.environ)
    for name in ("data_dir", "db_url", "vosk_model", "agent_uri", "grammars_dir", "prompts_dir"):
        value = getattr(settings, name, None)
        if value is not None:
            env[f"IVR_{name.upper()}"] = str(value)
    env["IVR_SIP_ALLOW"] = json.dumps(list(settings.sip_allow))
    return env


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
    proc: subprocess.Popen | None = None
    started: float = 0.0


class SipPool:
    def __init__(self, settings: Any, host: str, base_port: int, n: int, extra_args: list[str] | None = None) -> None:
        self.settings = settings
        self.extra_args = extra_args or []
        self._dir = Path(tempfile.mkdtemp(prefix="ivr-sip-"))
        self.workers = [_Worker(host, p, self._dir / f"{p}.ready") for p in worker_ports(base_port, n)]
        self._env = worker_env(settings)

    def start(self) -> None:
        for w in self.workers:
            self._spawn(w)

    def _spawn(self, w: _Worker) -> None:
        w.ready_file.unlink(missing_ok=True)
        cmd = [sys.executable, "-m", "ivr.transports.sip_worker", "--listen", f"{w.host}:{w.port}",
               "--ready-file", str(w.ready_file), *self.extra_args]
        w.proc = subprocess.Popen(cmd, env=self._env, stdin=subprocess.DEVNULL, preexec_fn=_die_with_parent)
        w.started = time.monotonic()
        log.info("sip: worker pid %d on %s:%d", w.proc.pid, w.host, w.port)

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
