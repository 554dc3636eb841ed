"""Acoustic emotion cues relative to the caller's baseline; the microphone command without a device."""

from __future__ import annotations

import subprocess

import numpy as np
import pytest
from audio_helpers import REPO, TTS_ZH

from ivr.acoustic import AcousticTracker, features
from ivr.audio import read_wav
from ivr.codec import to_int16


def gain(pcm: bytes, db: float) -> bytes:
    return np.clip(to_int16(pcm).astype(float) * 10 ** (db / 20), -32768, 32767).astype(np.int16).tobytes()


def test_pitch_and_level_features() -> None:
    t = np.arange(16000) / 16000
    hum = (6000 * np.sign(np.sin(2 * np.pi * 180 * t))).astype(np.int16).tobytes()
    f = features(hum, 16000)
    assert f.f0 == pytest.approx(180, rel=0.03)
    assert f.dbfs == pytest.approx(20 * np.log10(6000 / 32768), abs=0.5)
    assert features(bytes(32000), 16000).f0 is None


def test_raised_voice_scores_high_calm_voice_low() -> None:
    calm = [read_wav(TTS_ZH / f"{n}.wav").pcm for n in ("opening_confirm", "purpose_ack", "income_salary")]
    tracker = AcousticTracker()
    baseline = [tracker.score(p, 16000) for p in calm[:2]]
    assert max(baseline) < 0.2
    assert tracker.score(calm[2], 16000) < 0.2  # same voice, same level
    angry = read_wav(TTS_ZH / "angry_stop.wav").pcm
    assert tracker.score(gain(angry, 9), 16000) > 0.7  # +9 dB over this caller's own baseline
    assert tracker.score(gain(angry, 20), 16000) == 1.0  # clipped shouting


def test_loud_speaker_is_not_angry_by_default() -> None:
    """A caller who always speaks loudly is compared with themselves, not with other callers."""
    tracker = AcousticTracker()
    loud = [gain(read_wav(TTS_ZH / f"{n}.wav").pcm, 6) for n in ("opening_confirm", "purpose_ack", "income_salary")]
    scores = [tracker.score(p, 16000) for p in loud]
    assert scores[2] < 0.3


def test_mic_without_audio_device_is_a_clear_error(data_dir) -> None:
    from ivr.transports.mic import NoAudioDevice, find_devices

    try:
        find_devices()
    except NoAudioDevice:
        pass
    else:
        pytest.skip("this machine has audio devices")
    r = subprocess.run([str(REPO / ".venv" / "bin" / "ivr"), "mic"], capture_output=True, text=True, timeout=60)
    assert r.returncode == 2
    assert r.stderr.strip() == (
        "ivr: error: no microphone and speaker found (sounddevice lists 0 audio devices); "
        "use `ivr simulate CALLER.wav` on a machine without audio hardware"
    )
