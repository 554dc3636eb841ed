"""PCM audio values and WAV files: 16-bit mono at the call rates (8 kHz / 16 kHz).

Reading validates everything a caller recording can get wrong and raises `BadAudio` with one line
naming the file, the problem and expected vs got, so `ivr simulate` can exit 2 with that line.
"""

from __future__ import annotations

import wave
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ivr.codec import CALL_RATES, to_int16

SAMPLE_WIDTH = 2  # bytes: 16-bit signed little-endian everywhere inside the engine


class BadAudio(ValueError):
    """An audio file or buffer is not 16-bit mono PCM at a supported rate."""


@dataclass(frozen=True)
class Audio:
    pcm: bytes  # 16-bit mono little-endian
    rate: int

    @property
    def seconds(self) -> float:
        return len(self.pcm) / SAMPLE_WIDTH / self.rate


def bytes_per_ms(rate: int) -> int:
    return rate * SAMPLE_WIDTH // 1000


def silence(ms: int, rate: int) -> bytes:
    return bytes(bytes_per_ms(rate) * ms)


def read_wav(path: Path, rates: tuple[int, ...] | None = CALL_RATES) -> Audio:
    """A 16-bit mono WAV at one of `rates` (None: any rate); anything else → BadAudio (one line)."""
    path = Path(path)
    try:
        with wave.open(str(path), "rb") as wf:
            channels, width, rate, frames = wf.getnchannels(), wf.getsampwidth(), wf.getframerate(), wf.getnframes()
            data = wf.readframes(frames)
    except FileNotFoundError:
        raise BadAudio(f"{path}: file not found") from None
    except IsADirectoryError:
        raise BadAudio(f"{path}: is a directory, expected a WAV file") from None
    except wave.Error as e:
        msg = str(e)
        if "unknown format" in msg:
            raise BadAudio(f"{path}: WAV encoding: expected 16-bit PCM (format 1), got {msg}") from None
        raise BadAudio(f"{path}: not a WAV file ({msg})") from None
    except RuntimeError:  # the stdlib's chunk reader: a chunk declared longer than the RIFF chunk around it
        raise BadAudio(f"{path}: not a WAV file (a chunk is larger than the RIFF chunk that holds it)") from None
    except EOFError:
        raise BadAudio(f"{path}: truncated WAV header") from None
    if channels != 1:
        raise BadAudio(f"{path}: channels: expected 1 (mono), got {channels}")
    if width != SAMPLE_WIDTH:
        raise BadAudio(f"{path}: sample width: expected 16-bit, got {width * 8}-bit")
    if rates is not None and rate not in rates:
        want = " or ".join(f"{r} Hz" for r in rates)
        raise BadAudio(f"{path}: sample rate: expected {want}, got {rate} Hz")
    if len(data) < frames * width:
        raise BadAudio(f"{path}: truncated: header declares {frames} samples, file holds {len(data) // width}")
    if not data:
        raise BadAudio(f"{path}: no audio samples")
    return Audio(data, rate)


def write_wav(path: Path, pcm: bytes, rate: int, channels: int = 1) -> Path:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with wave.open(str(path), "wb") as wf:
        wf.setnchannels(channels)
        wf.setsampwidth(SAMPLE_WIDTH)
        wf.setframerate(rate)
        wf.writeframes(pcm)
    return path


def interleave(left: bytes, right: bytes) -> bytes:
    """Stereo PCM from two mono tracks (the shorter one padded with silence)."""
    a, b = to_int16(left), to_int16(right)
    n = max(len(a), len(b))
    out = np.zeros((n, 2), dtype=np.int16)
    out[: len(a), 0] = a
    out[: len(b), 1] = b
    return out.tobytes()


def rms_dbfs(pcm16: bytes) -> float:
    """Loudness of a buffer in dB relative to full scale (-96 for digital silence)."""
    x = to_int16(pcm16).astype(np.float64)
    if x.size == 0:
        return -96.0
    rms = float(np.sqrt(np.mean(x * x)))
    return max(-96.0, 20 * np.log10(max(rms, 1e-9) / 32768.0))
