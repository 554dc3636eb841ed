"""Telephony fixtures: a real SIP worker process (pjsua2) on a free port, logs kept per test."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))  # peers.py / tel_fakes.py for the tests and the worker processes

from peers import free_port, free_rtp_range  # noqa: E402

RTP_SPAN = 20  # per test worker: 10 RTP/RTCP pairs for its <= 4 calls


@dataclass
class Worker:
    port: int
    proc: subprocess.Popen
    log: Path

    @property
    def uri(self) -> str:
        return f"sip:bot@127.0.0.1:{self.port}"

    def text(self) -> str:
        return self.log.read_text(errors="replace")

    def stop(self) -> int:
        if self.proc.poll() is None:
            self.proc.terminate()
        return self.proc.wait(timeout=15)


def start_worker(tmp: Path, env_extra: dict[str, str], *args: str, port: int | None = None) -> Worker:
    port = port or free_port()
    if "--rtp-port" not in args:  # its own free range, as `ivr serve` gives each worker
        args = (*args, "--rtp-port", str(free_rtp_range(RTP_SPAN)), "--rtp-span", str(RTP_SPAN))
    ready = tmp / f"ready-{port}"
    log = tmp / f"worker-{port}.log"
    env = dict(os.environ, PYTHONPATH=f"{HERE}{os.pathsep}{os.environ.get('PYTHONPATH', '')}", **env_extra)
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "ivr.transports.sip.worker",
            "--listen",
            f"127.0.0.1:{port}",
            "--ready-file",
            str(ready),
            *args,
        ],
        env=env,
        stdout=log.open("w"),
        stderr=subprocess.STDOUT,
        stdin=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 60
    while not ready.exists():
        if proc.poll() is not None or time.monotonic() > deadline:
            proc.kill()
            raise AssertionError(f"SIP worker did not start:\n{log.read_text()[-3000:]}")
        time.sleep(0.05)
    return Worker(port, proc, log)


@pytest.fixture
def sip_worker(tmp_path: Path, data_dir: Path):
    """Factory: start_worker(*args, env=...) → Worker; every worker must exit cleanly (rc 0, no abort)."""
    workers: list[Worker] = []

    def make(*args: str, env: dict[str, str] | None = None, port: int | None = None) -> Worker:
        w = start_worker(tmp_path, env or {}, *args, port=port)
        workers.append(w)
        return w

    yield make
    for w in workers:
        rc = w.stop()
        text = w.text()
        assert rc == 0 and "Assertion" not in text and "Segmentation" not in text, (
            f"unclean worker exit {rc}:\n{text[-3000:]}"
        )


@pytest.fixture(scope="session")
def rendered_prompts(tmp_path_factory: pytest.TempPathFactory):
    """(rate, prompt_id) → (.npz of every variant, the prompt-audio cache it was rendered into),
    rendered once per session in a fresh process with its own data directory.  A render costs a
    process start, the understander and espeak-ng (7 s idle, 15-30 s on a loaded 2-core machine)
    and gives the same files every time (tests/audio/test_tts.py checks that), so the tests that
    need the same prompt share one render instead of each paying for it."""
    root = tmp_path_factory.mktemp("prompt-renders")
    done: dict[tuple[int, str], tuple[Path, Path]] = {}

    def render(rate: int, prompt_id: str) -> tuple[Path, Path]:
        if (rate, prompt_id) not in done:
            data = root / f"{rate}-{prompt_id or 'first'}"
            data.mkdir()
            out = data / "prompts.npz"
            env = dict(os.environ, IVR_DATA_DIR=str(data), IVR_DB_URL=f"sqlite:///{data / 'ivr.sqlite3'}")
            subprocess.run(
                [sys.executable, str(HERE / "render_prompts.py"), str(out), str(rate), prompt_id],
                check=True,
                env=env,
                capture_output=True,
                timeout=120,
            )
            done[rate, prompt_id] = (out, data / "cache")
        return done[rate, prompt_id]

    return render


@pytest.fixture
def prompt_variants(data_dir: Path, rendered_prompts):
    """Every rendering of the bot's first prompt (or of `prompt_id`) at a rate (the dialog picks a
    variant at random), rendered in a fresh process (once per session, see `rendered_prompts`) and
    copied into this test's prompt cache, which the bot then reads too."""
    import numpy as np

    cache: dict[tuple[int, str], list[tuple[str, np.ndarray]]] = {}

    def render(rate: int, prompt_id: str = "") -> list[tuple[str, np.ndarray]]:
        if (rate, prompt_id) not in cache:
            out, rendered = rendered_prompts(rate, prompt_id)
            for sub in ("prompts", "tts"):  # the audio files only (the model cache lives elsewhere)
                if (rendered / sub).is_dir():
                    shutil.copytree(rendered / sub, data_dir / "cache" / sub, dirs_exist_ok=True)
            with np.load(out) as z:
                cache[rate, prompt_id] = [(name, z[name]) for name in z.files]
        return cache[rate, prompt_id]

    return render
