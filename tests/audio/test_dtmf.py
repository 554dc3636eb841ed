"""In-band DTMF detection (Q.24 rules) on generated tones, noise and real speech."""

from __future__ import annotations

import numpy as np
import pytest
from audio_helpers import AISHELL, TTS_ZH

from ivr.audio import read_wav, silence
from ivr.codec import resample, to_int16, ulaw_decode, ulaw_encode
from ivr.dtmf import DIGITS, DtmfDetector, tone


@pytest.mark.parametrize("rate", [8000, 16000])
def test_every_key_once_per_press(rate: int) -> None:
    audio = b"".join(tone(k, 60, rate) + silence(60, rate) for k in DIGITS)
    assert DtmfDetector(rate).feed(audio) == list(DIGITS)
    # a long press is one key, two presses are two keys
    assert DtmfDetector(rate).feed(tone("5", 600, rate)) == ["5"]
    assert DtmfDetector(rate).feed(tone("5", 80, rate) + silence(50, rate) + tone("5", 80, rate)) == ["5", "5"]


def test_fed_in_odd_chunks_same_result() -> None:
    audio = b"".join(tone(k, 70, 8000) + silence(70, 8000) for k in "3000#")
    det = DtmfDetector(8000)
    keys = [k for i in range(0, len(audio), 58) for k in det.feed(audio[i : i + 58])]
    assert keys == list("3000#")


@pytest.mark.parametrize("ms,found", [(20, False), (30, False), (45, True)])
def test_minimum_duration(ms: int, found: bool) -> None:
    assert (DtmfDetector(8000).feed(tone("8", ms, 8000) + silence(100, 8000)) == ["8"]) is found


@pytest.mark.parametrize("twist,found", [(0, True), (6, True), (10, False), (-3, True), (-6, False)])
def test_twist_limits(twist: float, found: bool) -> None:
    assert bool(DtmfDetector(8000).feed(tone("1", 80, 8000, twist_db=twist))) is found


def test_through_g711_and_noise() -> None:
    """A key sent over a µ-law phone line with background noise at 20 dB SNR is still heard."""
    rng = np.random.default_rng(1)
    x = to_int16(tone("9", 80, 8000, level_dbfs=-12)).astype(float)
    noisy = (x + rng.normal(0, np.sqrt(np.mean(x**2)) / 10, len(x))).astype(np.int16).tobytes()
    assert DtmfDetector(8000).feed(ulaw_decode(ulaw_encode(noisy))) == ["9"]
    assert DtmfDetector(8000).feed(tone("9", 80, 8000, level_dbfs=-50)) == []  # too quiet


def test_speech_never_fires() -> None:
    files = sorted(AISHELL.glob("*.wav")) + sorted(TTS_ZH.glob("*.wav"))
    assert len(files) >= 60
    for f in files:
        a = read_wav(f)
        assert DtmfDetector(16000).feed(a.pcm) == [], f.name
        assert DtmfDetector(8000).feed(resample(a.pcm, 16000, 8000)) == [], f.name
