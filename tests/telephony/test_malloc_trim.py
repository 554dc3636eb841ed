"""The engine host gives freed heap back to the OS (glibc malloc_trim(0)) once no call has been open
for `sip_malloc_trim_idle_s`, and never while a call is open; 0 = never.  Checked on a real spawned
engine host (RemoteEngines, the product's engine with keys_engine's understander) by its log lines."""

from __future__ import annotations

import re
import time
from pathlib import Path

import pytest

from ivr.transports.media_call import CallContext
from ivr.transports.sip import engine_host
from ivr.transports.sip.engine_host import IdleTrim, RemoteEngines, glibc_malloc_trim

HERE = Path(__file__).resolve().parent
TRIM = re.compile(r"malloc_trim #(\d+) after ([\d.]+) s without a call \((\d+) calls so far\)")
FRAME = 320  # 20 ms at 8 kHz


class Log:
    """The spawned engine host's stderr (inherited: pytest's fd capture), read incrementally."""

    def __init__(self, capfd: pytest.CaptureFixture[str]) -> None:
        self.capfd, self.text = capfd, ""

    def trims(self) -> list[tuple[int, float, int]]:
        self.text += self.capfd.readouterr().err
        return [(int(n), float(idle), int(calls)) for n, idle, calls in TRIM.findall(self.text)]

    def wait_trims(self, n: int, timeout: float) -> list[tuple[int, float, int]]:
        deadline = time.monotonic() + timeout
        while len(found := self.trims()) < n and time.monotonic() < deadline:
            time.sleep(0.1)
        assert len(found) >= n, f"{len(found)} trim(s), expected {n}:\n{self.text[-3000:]}"
        return found


def hold_call(engines: RemoteEngines, seconds: float) -> None:
    """One call with media both ways every 20 ms for `seconds`, then hung up."""
    engine = engines(CallContext(transport="sip", rate=8000))
    assert engine.started.wait(30), "engine never reported ready"
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        engine.push_audio(bytes(FRAME))
        engine.pull_audio(FRAME)
        time.sleep(0.02)
    engine.hangup()


@pytest.fixture
def host(data_dir, monkeypatch):
    monkeypatch.syspath_prepend(str(HERE))  # the spawned host imports keys_engine
    started: list[RemoteEngines] = []

    def start(idle_s: str) -> RemoteEngines:
        monkeypatch.setenv("IVR_SIP_MALLOC_TRIM_IDLE_S", idle_s)  # the spawned host reads its settings
        engines = RemoteEngines("keys_engine:keys_factory")
        started.append(engines)
        engines.wait_ready(180)
        return engines

    yield start
    for engines in started:
        engines.close()


def test_trims_once_idle_after_calls_never_during_one(host, capfd) -> None:
    log = Log(capfd)
    engines = host("1")
    # the start-up's garbage first (model, grammars): no call yet
    assert log.wait_trims(1, 30)[0][2] == 0
    # a call three times longer than the idle time: no trim while it is open
    hold_call(engines, 3.0)
    assert len(log.trims()) == 1, f"trimmed while a call was open:\n{log.text[-3000:]}"
    # once it has ended: one trim, after >= 1 s without a call, counting that call
    n, idle, calls = log.wait_trims(2, 30)[1]
    assert (n, calls) == (2, 1) and idle >= 1.0
    # nothing new: no further trim
    time.sleep(2.5)
    assert len(log.trims()) == 2


def test_zero_never_trims(host, capfd) -> None:
    log = Log(capfd)
    engines = host("0")
    hold_call(engines, 0.5)
    time.sleep(4)  # > the default idle time and far more than an immediate trim would need
    assert log.trims() == [] and "malloc_trim when idle: off" in log.text, log.text[-3000:]


def test_only_where_glibc_has_malloc_trim(monkeypatch) -> None:
    assert glibc_malloc_trim() is not None  # this machine: glibc
    monkeypatch.setattr(engine_host.ctypes, "CDLL", lambda _name: object())  # a libc without it (musl)
    assert glibc_malloc_trim() is None
    assert IdleTrim(3.0).describe() == "malloc_trim when idle: unavailable (not glibc)"
    assert IdleTrim(3.0).wait_s(0) is None


def test_negative_setting_is_refused(data_dir, monkeypatch) -> None:
    from ivr.settings import load_settings

    monkeypatch.setenv("IVR_SIP_MALLOC_TRIM_IDLE_S", "-1")
    with pytest.raises(ValueError, match="sip_malloc_trim_idle_s"):
        load_settings()
