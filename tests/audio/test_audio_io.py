"""WAV validation (BadAudio one-liners), G.711 and resampling."""

from __future__ import annotations

import struct
import wave
from pathlib import Path

import numpy as np
import pytest

from ivr.audio import BadAudio, interleave, read_wav, rms_dbfs, write_wav
from ivr.codec import StreamResampler, alaw_decode, alaw_encode, resample, to_int16, ulaw_decode, ulaw_encode


def sine(freq: float, ms: int, rate: int, amp: float = 8000) -> bytes:
    t = np.arange(rate * ms // 1000) / rate
    return (amp * np.sin(2 * np.pi * freq * t)).astype(np.int16).tobytes()


def write_raw_wav(path: Path, rate: int, channels: int, width: int, frames: bytes) -> Path:
    with wave.open(str(path), "wb") as wf:
        wf.setnchannels(channels)
        wf.setsampwidth(width)
        wf.setframerate(rate)
        wf.writeframes(frames)
    return path


def bad_files(d: Path) -> dict[str, tuple[Path, str]]:
    """kind → (file, text the error line must contain)."""
    ok = sine(440, 200, 16000)
    trunc = write_raw_wav(d / "trunc.wav", 16000, 1, 2, ok)
    trunc.write_bytes(trunc.read_bytes()[:-1000])
    (d / "text.wav").write_text("this is not audio\n")
    mulaw = d / "mulaw.wav"
    data = ulaw_encode(ok)
    fmt = struct.pack("<HHIIHH", 7, 1, 8000, 8000, 1, 8)
    mulaw.write_bytes(
        b"RIFF"
        + struct.pack("<I", 4 + 8 + 16 + 8 + len(data))
        + b"WAVE"
        + b"fmt "
        + struct.pack("<I", 16)
        + fmt
        + b"data"
        + struct.pack("<I", len(data))
        + data
    )
    return {
        "rate": (
            write_raw_wav(d / "r44.wav", 44100, 1, 2, ok),
            "sample rate: expected 8000 Hz or 16000 Hz, got 44100 Hz",
        ),
        "stereo": (write_raw_wav(d / "st.wav", 16000, 2, 2, ok), "channels: expected 1 (mono), got 2"),
        "8bit": (write_raw_wav(d / "b8.wav", 16000, 1, 1, bytes(1600)), "sample width: expected 16-bit, got 8-bit"),
        "truncated": (trunc, "truncated: header declares 3200 samples, file holds 2700"),
        "not_wav": (d / "text.wav", "not a WAV file"),
        "mulaw": (mulaw, "WAV encoding: expected 16-bit PCM"),
        "missing": (d / "nope.wav", "file not found"),
    }


@pytest.mark.parametrize("kind", ["rate", "stereo", "8bit", "truncated", "not_wav", "mulaw", "missing"])
def test_bad_wav_is_one_clear_line(tmp_path: Path, kind: str) -> None:
    path, expected = bad_files(tmp_path)[kind]
    with pytest.raises(BadAudio) as e:
        read_wav(path)
    msg = str(e.value)
    assert msg.startswith(str(path)) and expected in msg and "\n" not in msg


def test_good_wav_roundtrip(tmp_path: Path) -> None:
    pcm = sine(300, 500, 8000)
    audio = read_wav(write_wav(tmp_path / "a.wav", pcm, 8000))
    assert audio.pcm == pcm and audio.rate == 8000 and audio.seconds == pytest.approx(0.5)


@pytest.mark.parametrize("encode,decode", [(ulaw_encode, ulaw_decode), (alaw_encode, alaw_decode)])
def test_g711_roundtrip_is_close(encode, decode) -> None:
    pcm = sine(1000, 100, 8000)
    coded = encode(pcm)
    assert len(coded) == len(pcm) // 2  # 8 bits per sample on the wire
    err = to_int16(decode(coded)).astype(float) - to_int16(pcm).astype(float)
    assert np.sqrt(np.mean(err**2)) < 0.03 * 8000 / np.sqrt(2)  # G.711 SNR is ~38 dB


def _peak_hz(pcm: bytes, rate: int) -> float:
    x = to_int16(pcm).astype(float)
    return float(np.argmax(np.abs(np.fft.rfft(x))) * rate / len(x))


def test_resample_keeps_pitch_and_duration() -> None:
    pcm = sine(440, 1000, 8000)
    up = resample(pcm, 8000, 16000)
    assert len(up) == 2 * len(pcm)
    assert _peak_hz(up, 16000) == pytest.approx(440, abs=2)
    # streaming in 20 ms chunks gives the same length and no clicks at chunk borders
    rs = StreamResampler(8000, 16000)
    chunks = b"".join(rs.process(pcm[i : i + 320]) for i in range(0, len(pcm), 320)) + rs.process(b"", last=True)
    assert abs(len(chunks) - len(up)) <= 4
    d = np.diff(to_int16(chunks).astype(float)[200:-200])
    assert np.max(np.abs(d)) < 8000 * 2 * np.pi * 440 / 16000 * 1.2


def test_interleave_and_level() -> None:
    left, right = sine(200, 100, 8000), b"\x00\x00" * 400
    st = to_int16(interleave(left, right)).reshape(-1, 2)
    assert (st[:, 1] == 0).all() and (st[:, 0] == to_int16(left)).all()
    assert rms_dbfs(sine(200, 100, 8000, amp=32767)) == pytest.approx(-3.0, abs=0.1)
    assert rms_dbfs(b"\x00\x00" * 100) == -96.0
