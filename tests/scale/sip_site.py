"""Real SIP processes for the scale-out tests and bench/bench_scale.py: Kamailio with the
deploy/ config and a generated dispatcher list, sipp stand-in workers, sipp callers.

Everything runs on 127.0.0.1 as plain child processes in a work directory; nothing is mocked.
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ivr import dispatch

REPO = Path(__file__).resolve().parents[2]
KAMAILIO_CFG = REPO / "deploy" / "kamailio" / "kamailio.cfg"
UAS_XML = REPO / "deploy" / "sipp" / "uas.xml"
UAC_XML = REPO / "deploy" / "sipp" / "uac.xml"
IVR = Path(sys.executable).with_name("ivr")  # the CLI of the interpreter running the tests

_LOG_LINE = re.compile(r"^(invite|answered|completed) (\d+)(?: by (\S+))? at (\d+)$")


def wait_for(predicate: Callable[[], Any], timeout: float, interval: float = 0.1, what: str = "condition") -> Any:
    """Poll until predicate() is truthy; returns its value or raises naming what was awaited."""
    deadline = time.monotonic() + timeout
    while not (value := predicate()):
        if time.monotonic() > deadline:
            raise TimeoutError(f"timed out after {timeout:.0f}s waiting for {what}")
        time.sleep(interval)
    return value


def missing_tools() -> list[str]:
    return [t for t in ("kamailio", "kamcmd", "sipp") if shutil.which(t) is None]


def free_tcp_port() -> int:
    """A TCP port that is free right now on 127.0.0.1."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def free_udp_ports(n: int) -> list[int]:
    """n distinct free UDP ports (held open together so none is handed out twice)."""
    socks = [socket.socket(socket.AF_INET, socket.SOCK_DGRAM) for _ in range(n)]
    try:
        for s in socks:
            s.bind(("127.0.0.1", 0))
        return [s.getsockname()[1] for s in socks]
    finally:
        for s in socks:
            s.close()


def _stop(proc: subprocess.Popen, sig: int = signal.SIGTERM) -> None:
    if proc.poll() is None:
        proc.send_signal(sig)
        try:
            proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


class Kamailio:
    """kamailio -DD -E with deploy/kamailio/kamailio.cfg on 127.0.0.1:port."""

    def __init__(
        self,
        workdir: Path,
        workers: list[dispatch.Worker],
        port: int,
        ping_interval: int = 1,
        no_reply_timeout_ms: int | None = None,
        defines: tuple[str, ...] = (),
    ) -> None:
        """`defines`: more `-A` defines of kamailio.cfg (e.g. WITH_TLS and its TLS_* values)."""
        self.port = port
        self.list_file = workdir / "dispatcher.list"
        self.ctl = f"unix:{workdir / 'kamailio_ctl'}"
        self.log = workdir / "kamailio.log"
        dispatch.write(self.list_file, workers)
        cmd = [
            "kamailio",
            "-DD",
            "-E",
            "-f",
            str(KAMAILIO_CFG),
            "-m",
            "64",
            "-M",
            "8",
            "-A",
            f"LISTEN=udp:127.0.0.1:{port}",
            "-A",
            f'DISPATCHER_LIST="{self.list_file}"',
            "-A",
            f'CTL_SOCKET="{self.ctl}"',
            "-A",
            f"PING_INTERVAL={ping_interval}",
            "-A",
            "CHILDREN=2",
        ]
        if no_reply_timeout_ms is not None:  # else the shipped default of kamailio.cfg
            cmd += ["-A", f"NO_REPLY_TIMEOUT_MS={no_reply_timeout_ms}"]
        for define in defines:
            cmd += ["-A", define]
        self._log = open(self.log, "w")
        self.proc = subprocess.Popen(cmd, stdout=self._log, stderr=subprocess.STDOUT, cwd=workdir)
        deadline = time.monotonic() + 15
        while not self._ctl_ready():
            if self.proc.poll() is not None or time.monotonic() > deadline:
                self.stop()
                raise RuntimeError(f"kamailio did not start: {self.log.read_text(errors='replace')[-1500:]}")
            time.sleep(0.1)

    def _ctl_ready(self) -> bool:
        return subprocess.run(["kamcmd", "-s", self.ctl, "core.version"], capture_output=True).returncode == 0

    def destinations(self) -> dict[str, str]:
        """{worker uri: dispatcher flags}; 'A…' active, 'I…' inactive (P = being probed)."""
        out = subprocess.run(
            ["kamcmd", "-s", self.ctl, "dispatcher.list"], capture_output=True, text=True, check=True
        ).stdout
        return dict(re.findall(r"URI: (\S+)\s+FLAGS: (\S+)", out))

    def set_workers(self, workers: list[dispatch.Worker]) -> None:
        dispatch.write(self.list_file, workers)
        dispatch.reload(self.ctl)

    def stop(self) -> None:
        _stop(self.proc)
        self._log.close()

    def __enter__(self) -> Kamailio:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


class SippWorker:
    """A sipp UAS standing in for one `ivr serve` SIP worker (answers calls and OPTIONS)."""

    def __init__(self, workdir: Path, port: int, scenario: Path = UAS_XML) -> None:
        self.port, self.workdir, self.scenario = port, workdir, scenario
        self.worker = dispatch.Worker("127.0.0.1", port)
        self.proc: subprocess.Popen | None = None
        self.start()

    def start(self) -> None:
        self.proc = subprocess.Popen(
            [
                "sipp",
                "-sf",
                str(self.scenario),
                "-aa",
                "-i",
                "127.0.0.1",
                "-p",
                str(self.port),
                "-nostdin",
                "-trace_err",
                "-error_file",
                str(self.workdir / f"uas-{self.port}-errors.log"),
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            cwd=self.workdir,
        )

    def kill(self) -> None:
        """Die like a crashed worker: no goodbye, no replies."""
        if self.proc:
            _stop(self.proc, signal.SIGKILL)

    def freeze(self, frozen: bool = True) -> None:
        """Hang like a stuck worker (SIGSTOP): its socket stays open, nothing is answered."""
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGSTOP if frozen else signal.SIGCONT)

    def stop(self) -> None:
        if self.proc:
            self.freeze(False)
            _stop(self.proc)


class IvrServe:
    """A real `ivr serve` process (SIP workers and/or console) in its own process group, so that
    killing it takes its SIP worker children down too, like a crashed host."""

    def __init__(self, workdir: Path, name: str, args: list[str], env: dict[str, str], http_port: int) -> None:
        self.name, self.http = name, f"http://127.0.0.1:{http_port}"
        self.log = workdir / f"{name}.log"
        with open(self.log, "w") as log:
            self.proc = subprocess.Popen(
                [str(IVR), "serve", "--http", f"127.0.0.1:{http_port}", *args],
                env={**os.environ, **env},
                stdout=log,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                start_new_session=True,
            )

    def healthy(self) -> bool:
        import httpx

        if self.proc.poll() is not None:
            raise RuntimeError(
                f"ivr serve {self.name} exited {self.proc.returncode}: {self.log.read_text(errors='replace')[-1500:]}"
            )
        try:
            return httpx.get(f"{self.http}/healthz", timeout=2).status_code == 200
        except httpx.HTTPError:
            return False

    def _signal_group(self, sig: int) -> None:
        try:
            os.killpg(self.proc.pid, sig)
        except ProcessLookupError:
            pass

    def kill(self) -> None:
        """Crash: SIGKILL to the serve process and its SIP workers, no clean-up of any kind."""
        self._signal_group(signal.SIGKILL)
        self.proc.wait()

    def stop(self) -> None:
        if self.proc.poll() is None:
            self._signal_group(signal.SIGTERM)
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                pass
        self._signal_group(signal.SIGKILL)  # any worker left behind
        self.proc.wait()


@dataclass
class CallRecord:
    number: int
    invite_ms: int | None = None  # sipp clock at INVITE (ms since the caller started)
    worker: str | None = None  # host:port of the Contact that answered
    answered_ms: int | None = None
    completed_ms: int | None = None  # BYE acknowledged with 200

    @property
    def ok(self) -> bool:
        return self.worker is not None and self.completed_ms is not None


@dataclass
class CallerRun:
    """The outcome of one sipp caller run, per call."""

    returncode: int | None
    calls: dict[int, CallRecord] = field(default_factory=dict)

    @property
    def answered(self) -> int:
        return sum(c.worker is not None for c in self.calls.values())

    @property
    def completed(self) -> int:
        return sum(c.ok for c in self.calls.values())

    def spread(self) -> Counter[str]:
        return Counter(c.worker for c in self.calls.values() if c.worker)


class Callers:
    """`calls` sipp calls through the balancer at `rate` calls/s, each held `hold_ms`."""

    def __init__(
        self,
        workdir: Path,
        proxy: str,
        calls: int,
        rate: float,
        hold_ms: int = 200,
        concurrent: int | None = None,
        name: str = "callers",
        scenario: Path = UAC_XML,
        timeout_s: int = 60,
    ) -> None:
        self.log = workdir / f"{name}.log"
        self.log.unlink(missing_ok=True)
        local_port = free_udp_ports(1)[0]
        cmd = [
            "sipp",
            proxy,
            "-sf",
            str(scenario),
            "-s",
            "ivr",
            "-i",
            "127.0.0.1",
            "-p",
            str(local_port),
            "-m",
            str(calls),
            "-r",
            str(rate),
            "-d",
            str(hold_ms),
            "-nostdin",
            "-timeout",  # sipp's whole run: calls still up then are cut, so long runs must raise it
            f"{timeout_s}s",
            "-trace_logs",
            "-log_file",
            str(self.log),
            "-trace_err",
            "-error_file",
            str(self.log.with_name(f"{name}-errors.log")),
        ]
        if concurrent:
            cmd += ["-l", str(concurrent)]
        self.started = time.monotonic()
        self.proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, cwd=workdir)

    def errors(self) -> str:
        """The tail of sipp's error log (what went wrong, for assertion messages)."""
        path = self.log.with_name(self.log.stem + "-errors.log")
        return path.read_text(errors="replace")[-1500:] if path.exists() else f"(no {path.name})"

    def elapsed_ms(self) -> int:
        return int((time.monotonic() - self.started) * 1000)

    def wait(self, timeout: float = 90) -> CallerRun:
        try:
            rc = self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            _stop(self.proc)
            rc = None
        return CallerRun(rc, parse_caller_log(self.log))


def parse_caller_log(path: Path) -> dict[int, CallRecord]:
    calls: dict[int, CallRecord] = {}
    if not path.exists():
        return calls
    for line in path.read_text(errors="replace").splitlines():
        m = _LOG_LINE.match(line.strip())
        if not m:
            continue
        event, number, worker, tick = m.group(1), int(m.group(2)), m.group(3), int(m.group(4))
        rec = calls.setdefault(number, CallRecord(number))
        if event == "invite":
            rec.invite_ms = tick
        elif event == "answered":
            rec.worker, rec.answered_ms = worker, tick
        else:
            rec.completed_ms = tick
    return calls


def place_calls(
    workdir: Path, proxy: str, calls: int, rate: float, hold_ms: int = 200, name: str = "callers"
) -> CallerRun:
    return Callers(workdir, proxy, calls, rate, hold_ms, name=name).wait()


# ---- encrypted edge: a throwaway certificate and rtpengine (kamailio.cfg with -A WITH_TLS) ----

RTPENGINE_CONF = REPO / "deploy" / "rtpengine" / "rtpengine.conf"


def missing_edge_tools() -> list[str]:
    """What the TLS + SRTP edge needs besides kamailio: its TLS module, rtpengine, openssl."""
    missing = [t for t in ("kamailio", "kamcmd", "rtpengine", "openssl") if shutil.which(t) is None]
    if not any(Path(d, "tls.so").exists() for d in _kamailio_module_dirs()):
        missing.append("kamailio tls.so (kamailio-tls-modules)")
    return missing


def _kamailio_module_dirs() -> list[Path]:
    return [*Path("/usr/lib").glob("*/kamailio/modules"), Path("/usr/lib/kamailio/modules")]


def make_test_cert(workdir: Path, host: str = "127.0.0.1") -> tuple[Path, Path]:
    """A self-signed certificate for `host` (IP SAN) and its key, made now, valid one day.
    Never committed: the key only ever exists in the test's work directory."""
    cert, key = workdir / "edge.pem", workdir / "edge.key"
    subprocess.run(
        [
            "openssl",
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-days",
            "1",
            "-subj",
            f"/CN={host}",
            "-addext",
            f"subjectAltName=IP:{host}",
            "-keyout",
            str(key),
            "-out",
            str(cert),
        ],
        check=True,
        capture_output=True,
    )
    key.chmod(0o600)
    return cert, key


def _bencode(value: Any) -> bytes:
    if isinstance(value, bytes):
        return b"%d:%s" % (len(value), value)
    if isinstance(value, str):
        return _bencode(value.encode())
    if isinstance(value, int):
        return b"i%de" % value
    if isinstance(value, list):
        return b"l" + b"".join(map(_bencode, value)) + b"e"
    if isinstance(value, dict):
        return b"d" + b"".join(_bencode(k) + _bencode(v) for k, v in sorted(value.items())) + b"e"
    raise TypeError(f"cannot bencode {type(value).__name__}")


def _bdecode(data: bytes, i: int = 0) -> tuple[Any, int]:
    c = data[i : i + 1]
    if c == b"i":
        end = data.index(b"e", i)
        return int(data[i + 1 : end]), end + 1
    if c in (b"l", b"d"):
        items, i = [], i + 1
        while data[i : i + 1] != b"e":
            item, i = _bdecode(data, i)
            items.append(item)
        return (items if c == b"l" else dict(zip(items[::2], items[1::2], strict=True))), i + 1
    colon = data.index(b":", i)
    n = int(data[i:colon])
    return data[colon + 1 : colon + 1 + n].decode(errors="replace"), colon + 1 + n


class Rtpengine:
    """rtpengine (userspace forwarding) with deploy/rtpengine/rtpengine.conf, its control port and
    RTP range moved to free ports; `ng()` speaks its control protocol (bencode over UDP)."""

    def __init__(self, workdir: Path, port_min: int, port_max: int) -> None:
        self.ng_port = free_udp_ports(1)[0]
        self.log = workdir / "rtpengine.log"
        self._log = open(self.log, "w")
        self.proc = subprocess.Popen(
            [
                "rtpengine",
                f"--config-file={RTPENGINE_CONF}",
                "--foreground",
                "--log-stderr",
                f"--listen-ng=127.0.0.1:{self.ng_port}",
                f"--port-min={port_min}",
                f"--port-max={port_max}",
                f"--pidfile={workdir / 'rtpengine.pid'}",
            ],
            stdout=self._log,
            stderr=subprocess.STDOUT,
            cwd=workdir,
        )
        try:
            wait_for(self._pong, 15, interval=0.2, what="rtpengine answering ping")
        except TimeoutError:
            self.stop()
            raise RuntimeError(f"rtpengine did not start: {self.log.read_text(errors='replace')[-1500:]}") from None

    @property
    def sock(self) -> str:
        return f"udp:127.0.0.1:{self.ng_port}"

    def ng(self, command: str, **args: Any) -> dict[str, Any]:
        if self.proc.poll() is not None:
            raise RuntimeError(
                f"rtpengine exited {self.proc.returncode}: {self.log.read_text(errors='replace')[-800:]}"
            )
        cookie = os.urandom(4).hex().encode()
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
            s.settimeout(2)
            s.sendto(cookie + b" " + _bencode({"command": command, **args}), ("127.0.0.1", self.ng_port))
            data = s.recv(65535)
        assert data.startswith(cookie + b" "), data[:80]
        reply, _ = _bdecode(data, len(cookie) + 1)
        return reply

    def _pong(self) -> bool:
        try:
            return self.ng("ping").get("result") == "pong"
        except OSError:
            return False

    def stop(self) -> None:
        _stop(self.proc)
        self._log.close()
