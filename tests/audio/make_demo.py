"""Builds examples/caller_demo.wav: the caller side of the bundled demo call (`ivr simulate`).

Real Mandarin speech from ../shared/testdata, keypad tones and pauses.  Pauses of 1.5 s or more
separate caller turns; the 7 s pause is a turn where the caller says nothing (no-input path).
Run: .venv/bin/python tests/audio/make_demo.py
"""

from __future__ import annotations

from pathlib import Path

from ivr.audio import read_wav, silence, write_wav
from ivr.dtmf import tone

REPO = Path(__file__).resolve().parents[2]
SPEECH = REPO.parent / "shared" / "testdata" / "speech" / "tts_zh"
OUT = REPO / "examples" / "caller_demo.wav"
RATE = 16000
PAUSE = 2000  # ms between turns


def keys(digits: str) -> bytes:
    return b"".join(tone(d, 100, RATE) + silence(100, RATE) for d in digits)


def script() -> list[tuple[str, bytes]]:
    """(what the turn exercises, audio) in call order."""
    speech = lambda name: read_wav(SPEECH / f"{name}.wav").pcm  # noqa: E731
    return [
        ("speech 是的，我是本人 (no-match without the Mandarin model)", speech("opening_confirm")),
        ("key 1: confirm / ack", keys("1")),
        ("7 s of silence: no-input", silence(7000, RATE)),
        ("key 1", keys("1")),
        ("speech 我现在打零工，跑外卖", speech("income_part_time")),
        ("key 2", keys("2")),
        ("keys 3000#: an amount typed in", keys("3000#")),
        ("key 0: ask for a human (transfer)", keys("0")),
    ]


def build() -> bytes:
    return b"".join(audio + silence(PAUSE, RATE) for _what, audio in script())


if __name__ == "__main__":
    write_wav(OUT, build(), RATE)
    print(f"wrote {OUT}")
