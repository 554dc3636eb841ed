"""Real SIP peers for the tests: baresip (a caller that speaks a WAV and records what it hears) and
sipp (scripted UAC/UAS with RTP from pcaps).  Both are Debian packages installed by setup.sh."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
import wave
from pathlib import Path

import httpx
import numpy as np

SIPP_PCAPS = Path("/usr/share/sip-tester")
TESTDATA_SPEECH = Path(__file__).resolve().parents[3] / "shared" / "testdata" / "speech"
BARESIP_MODULES = Path("/usr/lib/baresip/modules")


def free_port(kind: int = socket.SOCK_DGRAM) -> int:
    """A free TCP port (kind=SOCK_STREAM), or a free even UDP port whose TCP twin is free too
    (SIP binds both; RTP wants even ports)."""
    for _ in range(100):
        with socket.socket(socket.AF_INET, kind) as s:
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
        if kind == socket.SOCK_STREAM:
            return port
        if port % 2 == 0 and port < 60000:
            try:
                with socket.socket() as t, socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as u:
                    t.bind(("127.0.0.1", port))
                    u.bind(("127.0.0.1", port))
                return port
            except OSError:
                continue
    raise RuntimeError("no free port pair")


def free_rtp_range(span: int = 20) -> int:
    """First port of `span` consecutive UDP ports free right now, below the ephemeral range (so
    sipp/baresip sockets do not land in it): a SIP worker's own RTP range (--rtp-port/--rtp-span)."""
    import random

    for _ in range(200):
        base = random.randrange(20000, 32000 - span, 2)
        socks = [socket.socket(socket.AF_INET, socket.SOCK_DGRAM) for _ in range(span)]
        try:
            for i, s in enumerate(socks):
                s.bind(("127.0.0.1", base + i))
            return base
        except OSError:
            continue
        finally:
            for s in socks:
                s.close()
    raise RuntimeError(f"no {span} consecutive free UDP ports in 20000-32000")


def padded_wav(src: Path, dst: Path, lead_s: float, tail_s: float, rate: int = 8000) -> Path:
    """Resample to `rate` mono and pad with silence: baresip hangs up when its source file ends."""
    import soxr

    with wave.open(str(src)) as w:
        pcm = np.frombuffer(w.readframes(w.getnframes()), dtype="<i2")
        src_rate = w.getframerate()
    if src_rate != rate:
        pcm = soxr.resample(pcm.astype(np.float32), src_rate, rate).clip(-32768, 32767).astype("<i2")
    sil = lambda s: np.zeros(int(rate * s), dtype="<i2")  # noqa: E731
    write_wav(dst, np.concatenate([sil(lead_s), pcm, sil(tail_s)]), rate)
    return dst


def write_wav(path: Path, pcm: np.ndarray, rate: int, channels: int = 1) -> None:
    with wave.open(str(path), "wb") as w:
        w.setnchannels(channels)
        w.setsampwidth(2)
        w.setframerate(rate)
        w.writeframes(pcm.astype("<i2").tobytes())


def read_wav(path: Path) -> tuple[np.ndarray, int, int]:
    with wave.open(str(path)) as w:
        data = np.frombuffer(w.readframes(w.getnframes()), dtype="<i2")
        return data.reshape(-1, w.getnchannels()), w.getframerate(), w.getnchannels()


def baresip_call(
    workdir: Path,
    target: str,
    speak: Path,
    seconds: int,
    keys: list[tuple[float, str]] = (),
    codecs: tuple[str, ...] = ("g711", "g722"),
    account_params: str = "",
    extra_config: tuple[str, ...] = (),
    modules: tuple[str, ...] = (),
) -> Path:
    """Call `target`, send `speak`, press `keys` ([(seconds after start, digit)], RFC 2833 via the
    `cons` UDP console), return the WAV of what baresip heard (dump-*-dec.wav).
    `modules` are loaded before the accounts (e.g. `srtp` for `account_params=";mediaenc=srtp-mand"`),
    `extra_config` lines are added to the config (e.g. `sip_cafile ...`)."""
    conf = workdir / "baresip"
    conf.mkdir(parents=True, exist_ok=True)
    port = free_port()
    cons_port = free_port()
    (conf / "config").write_text(
        "\n".join(
            [
                f"module_path {BARESIP_MODULES}",
                "module menu.so",
                *(f"module {m}.so" for m in modules),
                "module account.so",
                *(f"module {c}.so" for c in codecs),
                "module aufile.so",
                "module sndfile.so",
                "module alsa.so",
                "module cons.so",
                f"cons_listen 127.0.0.1:{cons_port}",
                f"sip_listen 127.0.0.1:{port}",
                "net_interface 127.0.0.1",
                f"audio_source aufile,{speak}",
                "audio_player alsa,null",
                "audio_alert alsa,null",
                f"snd_path {workdir}",
                "rtp_timeout 0",
                *extra_config,
                "",
            ]
        )
    )
    (conf / "accounts").write_text(f"<sip:caller@127.0.0.1>;regint=0{account_params}\n")
    cmd = ["baresip", "-f", str(conf), "-e", f"/dial {target}", "-t", str(seconds)]
    # A phone has its CPU to itself; on a shared test machine baresip's player clock and jitter
    # buffer stall and stretch what it records.  Real-time priority when allowed (root), else as is.
    if shutil.which("chrt") and subprocess.run(["chrt", "-r", "5", "true"], capture_output=True).returncode == 0:
        cmd = ["chrt", "-r", "5", *cmd]
    proc = subprocess.Popen(
        cmd,
        cwd=workdir,
        stdin=subprocess.DEVNULL,
        stdout=(workdir / "baresip.log").open("w"),
        stderr=subprocess.STDOUT,
    )
    t0 = time.monotonic()
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        for at, digit in sorted(keys):
            time.sleep(max(0.0, t0 + at - time.monotonic()))
            s.sendto(digit.encode(), ("127.0.0.1", cons_port))
    proc.wait(timeout=seconds + 15)
    heard = sorted(workdir.glob("dump-*-dec.wav"))
    assert heard, f"baresip recorded nothing; see {workdir / 'baresip.log'}"
    return heard[-1]


def sipp(workdir: Path, args: list[str], timeout: float = 60, wait: bool = True) -> subprocess.Popen:
    """Run sipp in `workdir` (its pcap paths are relative to the working directory)."""
    pcap = workdir / "pcap"
    if not pcap.exists():
        pcap.symlink_to(SIPP_PCAPS)
    log = (workdir / f"sipp-{len(list(workdir.glob('sipp-*.log')))}.log").open("w")
    proc = subprocess.Popen(["sipp", "-nostdin", *args], cwd=workdir, stdout=log, stderr=subprocess.STDOUT)
    if wait:
        proc.wait(timeout=timeout)
    return proc


def serve(tmp_path: Path, sip: int, http: int, *extra: str, ready_s: float = 240) -> subprocess.Popen:
    """`python server.py` (ivr serve) with one SIP worker on 127.0.0.1, once `/healthz` says 200.
    The generous wait covers a cold start on a loaded 2-core machine (models, SIP worker spawn)."""
    repo = Path(__file__).resolve().parents[2]
    log = tmp_path / "serve.log"
    cmd = [sys.executable, "server.py", "--sip", f"127.0.0.1:{sip}", "--http", f"127.0.0.1:{http}"]
    proc = subprocess.Popen(
        [*cmd, "--sip-workers", "1", *extra],
        cwd=repo,
        env=dict(os.environ),
        stdout=log.open("w"),
        stderr=subprocess.STDOUT,
    )
    deadline = time.monotonic() + ready_s
    while time.monotonic() < deadline:
        assert proc.poll() is None, log.read_text()[-3000:]
        try:
            if httpx.get(f"http://127.0.0.1:{http}/healthz", timeout=2).status_code == 200:
                return proc
        except httpx.HTTPError:
            pass
        time.sleep(0.1)
    proc.kill()
    raise AssertionError(f"ivr serve not ready:\n{log.read_text()[-3000:]}")


# ---------------------------------------------------------------- media authentication (issue 13)
MEDIA_TOKEN = "test-media-token-0123456789abcdef"  # what IVR_MEDIA_TOKEN holds in the media tests
MEDIA_AUTH = {"Authorization": f"Bearer {MEDIA_TOKEN}"}  # what jambonz / mod_audio_stream send


def media_guard(**kw):
    """The guard the media tests serve with: the shared token, nothing trusted without it."""
    from ivr.transports.guard import MediaGuard

    return MediaGuard(token=MEDIA_TOKEN, **kw)


def engine_host_pid(worker: int) -> int | None:
    """The SIP worker's engine host (its child started by multiprocessing's spawn), or None yet."""
    for d in Path("/proc").iterdir():
        if not d.name.isdigit():
            continue
        try:
            ppid = int((d / "stat").read_text().rsplit(")", 1)[1].split()[1])
            if ppid == worker and b"spawn_main" in (d / "cmdline").read_bytes():
                return int(d.name)
        except (OSError, ValueError, IndexError):
            continue
    return None
