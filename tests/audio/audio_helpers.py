"""Helpers for the audio tests (a uniquely named module: test folders are not packages)."""

from __future__ import annotations

import subprocess
from pathlib import Path
from typing import Any

import numpy as np

from ivr.audio import read_wav
from ivr.codec import resample, to_int16
from ivr.engine import SessionPort
from ivr.events import Action, CallerInput, PromptSegment, Say

REPO = Path(__file__).resolve().parents[2]
TTS_ZH = REPO.parent / "shared" / "testdata" / "speech" / "tts_zh"
AISHELL = TTS_ZH.parent / "aishell_S0150"


def espeak(text: str, voice: str, out: Path, amplitude: int = 100) -> bytes:
    """16 kHz 16-bit mono PCM of `text` spoken by espeak-ng."""
    subprocess.run(["espeak-ng", "-v", voice, "-a", str(amplitude), "-w", str(out), text], check=True)
    audio = read_wav(out, rates=None)
    return resample(audio.pcm, audio.rate, 16000)


def loud_blocks(pcm: bytes, rate: int, threshold_dbfs: float = -40.0, block_ms: int = 10) -> np.ndarray:
    """Indices of `block_ms` blocks louder than the threshold."""
    x = to_int16(pcm).astype(float)
    n = rate * block_ms // 1000
    blocks = x[: len(x) // n * n].reshape(-1, n)
    return np.nonzero(20 * np.log10(np.sqrt(np.mean(blocks**2, axis=1)) / 32768 + 1e-12) > threshold_dbfs)[0]


def speech_bounds(pcm: bytes, rate: int) -> tuple[float, float]:
    """First/last 10 ms block louder than -40 dBFS: where the sound really is (seconds)."""
    loud = loud_blocks(pcm, rate)
    return loud[0] / 100, (loud[-1] + 1) / 100


class RecordingSession:
    """Stand-in for CallSession (an ivr.engine.SessionPort) in this wiring test: asks one question
    at menu 'ko', records input."""

    def __init__(self) -> None:
        self.menu: str | None = "ko"
        self.inputs: list[tuple[CallerInput, dict[str, Any]]] = []
        self.timings: dict[int, dict[str, Any]] = {}

    @property
    def turn_count(self) -> int:
        return len(self.inputs)

    def start(self) -> list[Action]:
        return [Say("q", 0, "네", (PromptSegment("네", "dyn:네", True),), menu="ko")]

    def handle(self, inp: CallerInput, timing: dict[str, Any] | None = None) -> list[Action]:
        self.inputs.append((inp, dict(timing or {})))
        return []

    def transfer_result(self, ok: bool, detail: str = "") -> list[Action]:
        return []

    def end(self, outcome: str | None = None) -> None:
        pass

    def update_timing(self, turn: int, timing: dict[str, Any]) -> None:
        self.timings.setdefault(turn, {}).update(timing)

    def dynamic_pieces(self) -> set[tuple[str, float]]:
        return set()


_: SessionPort = RecordingSession()  # mypy: the stand-in keeps up with the protocol


def korean_turn(model, speech_pcm: bytes, tmp_path: Path, cache_dir: Path, menu_yaml: str, on_partial=None) -> tuple:
    """One caller turn through the real CallEngine with the real Korean model: a grammars folder
    with `menu_yaml` as menu 'ko' (plus a global 'repeat'), 2.5 s of silence, the speech, 1.5 s of
    silence, pushed and pulled 20 ms at a time.  Returns (Speech, its timing record)."""
    from ivr.audio import silence
    from ivr.engine import CallEngine
    from ivr.events import Speech
    from ivr.grammar import load_grammars
    from ivr.tts import PromptAudio
    from ivr.wiring import EngineResources

    g = tmp_path / "grammars"
    g.mkdir()
    (g / "global.yaml").write_text("intents:\n  repeat: {phrases: ['다시']}\n", encoding="utf-8")
    (g / "ko.yaml").write_text(menu_yaml, encoding="utf-8")
    res = EngineResources(load_grammars(g), PromptAudio(tmp_path, cache_dir), model)
    session = RecordingSession()
    eng = CallEngine(session, res, 16000, on_partial=on_partial)
    caller = silence(2500, 16000) + speech_pcm + silence(1500, 16000)
    for i in range(0, len(caller), 640):
        eng.push_audio(caller[i : i + 640])
        eng.wait_idle()
        eng.pull_audio(640)
    eng.hangup()
    eng.join(5)
    (turn,) = [(i, t) for i, t in session.inputs if isinstance(i, Speech)]
    return turn
