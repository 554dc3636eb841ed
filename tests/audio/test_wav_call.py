"""Acceptance: scripted calls through the WAV transport (VAD → DTMF / no-match → dialog → prompts →
stereo recording), timing report consistent with the recording, and the real `ivr simulate` CLI."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import numpy as np
import pytest
from audio_helpers import REPO, TTS_ZH, loud_blocks
from test_audio_io import bad_files

from ivr.audio import read_wav, silence, write_wav
from ivr.codec import to_int16
from ivr.dtmf import tone
from ivr.transports.wavfile import DEMO_WAV, simulate, split_turns

IVR = REPO / ".venv" / "bin" / "ivr"
NOW_ISO = "2026-11-18T10:30:00"


def channels(path: Path) -> tuple[np.ndarray, np.ndarray, int]:
    import wave

    with wave.open(str(path)) as wf:
        assert wf.getnchannels() == 2 and wf.getsampwidth() == 2
        rate = wf.getframerate()
        x = to_int16(wf.readframes(wf.getnframes())).reshape(-1, 2)
    return x[:, 0], x[:, 1], rate


def keys(digits: str, rate: int = 16000) -> bytes:
    return b"".join(tone(d, 100, rate) + silence(100, rate) for d in digits)


@pytest.fixture
def script(tmp_path: Path) -> list[Path]:
    """One WAV per caller turn: real speech, keypad tones, silence."""
    parts = {
        "1_speech.wav": read_wav(TTS_ZH / "opening_confirm.wav").pcm,
        "2_key1.wav": silence(300, 16000) + keys("1"),
        "3_speech.wav": read_wav(TTS_ZH / "purpose_ack.wav").pcm,
        "4_key0.wav": silence(300, 16000) + keys("0"),
    }
    return [write_wav(tmp_path / name, pcm, 16000) for name, pcm in parts.items()]


def test_scripted_call_and_timing_match_the_recording(settings, store, tmp_path, script) -> None:
    import datetime as dt

    report = simulate(
        script,
        now=dt.datetime(2026, 11, 18, 10, 30),
        fast=True,
        out_dir=tmp_path / "rec",
        settings=settings,
        store=store,
    )
    turns = report["turns"]
    # no Mandarin model here: speech is heard (VAD) but not understood → no-match; keys work
    assert [(t["input"], t["intent"]) for t in turns] == [
        ("speech", None),
        ("dtmf", "confirm"),
        ("speech", None),
        ("dtmf", "human"),
    ]
    assert report["outcome"] == "escalated" and report["escalation"]["reason"] == "requested"
    assert all(t["bot"] for t in turns)

    caller, bot, rate = channels(Path(report["recording"]))
    assert rate == 16000 and Path(report["recording"]).parent == tmp_path / "rec"
    assert len(caller) / rate == pytest.approx(report["duration_s"], abs=0.03)
    for timing in report["timing"]:
        eos, first = timing["end_of_speech_s"], timing["first_audio_s"]
        i_eos, i_first = int(eos * rate), int(first * rate)
        # the bot is silent between the end of the caller's turn and the reported first audio ...
        assert not bot[i_eos + rate // 50 : i_first].any(), timing
        # ... and its audio starts right there (right channel)
        assert bot[i_first : i_first + rate // 10].any(), timing
        assert 0 <= timing["latency_ms"] <= 1000 + 150  # silence budget + 150 ms (≤ 1000 ms budgets)
        if timing["input"] == "speech":
            # the caller's speech (left channel) ends where reported
            window = caller[max(0, i_eos - 2 * rate) : i_eos + rate // 2]
            last_loud = max(loud_blocks(window.tobytes(), rate)) / 100 + max(0.0, eos - 2)
            assert last_loud == pytest.approx(eos, abs=0.1), timing
            assert timing["endpoint_s"] > eos and timing["asr_final_s"] >= timing["endpoint_s"]
    # turn records carry the same timings
    stored = [t.timing for t in store.call_turns(report["call_id"])]
    assert [s["end_of_speech_s"] for s in stored] == [t["end_of_speech_s"] for t in report["timing"]]
    assert [s["first_audio_s"] for s in stored] == [t["first_audio_s"] for t in report["timing"]]


def test_single_recording_is_split_into_turns() -> None:
    pcm = read_wav(DEMO_WAV).pcm
    turns = split_turns(pcm, 16000)
    assert len(turns) == 8
    assert not np.any(to_int16(turns[2])), "the 7 s pause is a turn of silence (no-input)"


def test_bundled_demo_is_reproducible() -> None:
    import make_demo

    assert read_wav(DEMO_WAV).pcm == make_demo.build()


@pytest.mark.slow
def test_cli_simulate_demo_json(data_dir) -> None:
    r = subprocess.run(
        [str(IVR), "simulate", "--fast", "--json", "--now", NOW_ISO], capture_output=True, text=True, timeout=300
    )
    assert r.returncode == 0, r.stderr
    report = json.loads(r.stdout)  # stdout is pure JSON (no TTS chatter)
    inputs = [t["input"] for t in report["turns"]]
    assert {"speech", "dtmf", "noinput"} <= set(inputs)
    assert report["outcome"] == "escalated" and Path(report["recording"]).is_file()
    answered = [t for t in report["timing"] if "first_audio_s" in t]  # keys of "3000#" get no reply each
    assert len(answered) == len(report["turns"]) and all(t["latency_ms"] <= 1150 for t in answered)


@pytest.mark.parametrize("kind", ["rate", "stereo", "8bit", "truncated", "not_wav"])
def test_cli_bad_audio_exits_2_with_one_line(tmp_path: Path, data_dir, kind: str) -> None:
    path, expected = bad_files(tmp_path)[kind]
    r = subprocess.run(
        [str(IVR), "simulate", str(path), "--fast", "--json"], capture_output=True, text=True, timeout=120
    )
    assert r.returncode == 2
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1 and str(path) in lines[0] and expected in lines[0], r.stderr
    assert r.stdout == ""
