"""The SIP workers and their engine hosts run with a bounded number of glibc malloc arenas
(`sip_malloc_arena_max`, default 2; 0 = glibc's default): every call starts threads, and without a
bound each new thread's arena keeps its high-water mark (BENCHMARKS.md "Soak").  Checked on the real
processes as `ivr serve` spawns them (SipPool → worker → spawned engine host), in /proc/PID/environ,
which is what glibc reads at their start."""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest
from conftest import RTP_SPAN
from peers import engine_host_pid, free_port, free_rtp_range

from ivr.settings import load_settings
from ivr.transports.sip.pool import SipPool, worker_env

HERE = Path(__file__).resolve().parent


def environ(pid: int) -> dict[str, str]:
    raw = Path(f"/proc/{pid}/environ").read_bytes()
    return dict(item.decode(errors="replace").partition("=")[::2] for item in raw.split(b"\0") if item)


def engine_host_of(worker: int, timeout: float = 30) -> int:
    """The worker's engine host: its child started by multiprocessing's spawn."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if (pid := engine_host_pid(worker)) is not None:
            return pid
        time.sleep(0.2)
    raise AssertionError(f"no engine host under SIP worker {worker}")


@pytest.mark.parametrize(
    ("setting", "expected"),
    [(None, "2"), ("0", None), ("3", "3")],
    ids=["default", "zero-leaves-unset", "three"],
)
def test_worker_env_sets_the_arena_bound(data_dir, monkeypatch, setting, expected) -> None:
    monkeypatch.delenv("MALLOC_ARENA_MAX", raising=False)
    if setting is not None:
        monkeypatch.setenv("IVR_SIP_MALLOC_ARENA_MAX", setting)
    assert worker_env(load_settings()).get("MALLOC_ARENA_MAX") == expected


def test_zero_keeps_an_operators_own_value(data_dir, monkeypatch) -> None:
    monkeypatch.setenv("MALLOC_ARENA_MAX", "4")
    monkeypatch.setenv("IVR_SIP_MALLOC_ARENA_MAX", "0")
    assert worker_env(load_settings())["MALLOC_ARENA_MAX"] == "4"


def test_negative_setting_is_refused(data_dir, monkeypatch) -> None:
    monkeypatch.setenv("IVR_SIP_MALLOC_ARENA_MAX", "-1")
    with pytest.raises(ValueError, match="sip_malloc_arena_max"):
        load_settings()


@pytest.mark.parametrize(("setting", "expected"), [(None, "2"), ("0", None)], ids=["default", "zero-leaves-unset"])
def test_spawned_worker_and_engine_host_have_the_bound(data_dir, monkeypatch, setting, expected) -> None:
    monkeypatch.delenv("MALLOC_ARENA_MAX", raising=False)
    if setting is not None:
        monkeypatch.setenv("IVR_SIP_MALLOC_ARENA_MAX", setting)
    monkeypatch.setenv("PYTHONPATH", f"{HERE}{os.pathsep}{os.environ.get('PYTHONPATH', '')}")  # keys_engine
    monkeypatch.setenv("IVR_SIP_RTP_BASE", str(free_rtp_range(RTP_SPAN)))
    monkeypatch.setenv("IVR_SIP_RTP_SPAN", str(RTP_SPAN))
    pool = SipPool(load_settings(), "127.0.0.1", free_port(), 1, ["--engine", "keys_engine:keys_factory"])
    pool.start()
    try:
        worker = pool.workers[0].proc
        assert worker is not None
        host = engine_host_of(worker.pid)
        assert environ(worker.pid).get("MALLOC_ARENA_MAX") == expected
        assert environ(host).get("MALLOC_ARENA_MAX") == expected
    finally:
        pool.stop()


def test_worker_started_alone_bounds_its_engine_host(sip_worker, monkeypatch) -> None:
    """A worker started by systemd (ivr-worker@PORT), not by `ivr serve`: it still starts its engine
    host with the bound of its settings."""
    monkeypatch.delenv("MALLOC_ARENA_MAX", raising=False)
    w = sip_worker("--engine", "keys_engine:keys_factory", env={"IVR_SIP_MALLOC_ARENA_MAX": "3"})
    assert environ(engine_host_of(w.proc.pid)).get("MALLOC_ARENA_MAX") == "3"
