"""Audio-area fixtures: real Korean speech from espeak-ng, the real Korean Vosk model."""

from __future__ import annotations

from pathlib import Path

import pytest
from audio_helpers import espeak


@pytest.fixture(scope="session")
def korean_speech(tmp_path_factory: pytest.TempPathFactory):
    """word → 16 kHz PCM of it said in Korean (espeak-ng -v ko), cached for the session."""
    d = tmp_path_factory.mktemp("ko")
    cache: dict[str, bytes] = {}

    def say(word: str) -> bytes:
        if word not in cache:
            cache[word] = espeak(word, "ko", d / f"{len(cache)}.wav")
        return cache[word]

    return say


@pytest.fixture(scope="session")
def korean_model(korean_model_path: Path):
    from ivr.models import load_model

    return load_model(korean_model_path)
