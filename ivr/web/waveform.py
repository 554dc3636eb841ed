"""Waveform peaks of a call recording, computed server-side so the page draws them instantly."""

from __future__ import annotations

import wave
from pathlib import Path

import numpy as np


class RecordingError(ValueError):
    """The recording file is missing or not a PCM WAV; message names the file and the problem."""


def wav_info(path: str | Path) -> tuple[int, int, int, int]:
    """(sample rate, channels, sample width, frames) of a PCM WAV, or RecordingError."""
    try:
        with wave.open(str(path), "rb") as w:
            return w.getframerate(), w.getnchannels(), w.getsampwidth(), w.getnframes()
    except FileNotFoundError:
        raise RecordingError(f"recording {path}: file not found") from None
    except (wave.Error, EOFError) as e:
        raise RecordingError(f"recording {path}: not a PCM WAV file ({e})") from None
    except RuntimeError:  # the stdlib's chunk reader: a chunk declared longer than the RIFF chunk around it
        raise RecordingError(
            f"recording {path}: not a PCM WAV file (a chunk is larger than the RIFF chunk that holds it)"
        ) from None


def peaks(path: str | Path, buckets: int = 800) -> dict:
    """Per-bucket max absolute amplitude (0..1) over the whole recording, first channel."""
    rate, channels, width, frames = wav_info(path)
    if width not in (1, 2, 4):
        raise RecordingError(f"recording {path}: sample width {width} bytes, expected 1, 2 or 4")
    with wave.open(str(path), "rb") as w:
        raw = w.readframes(frames)
    dtype = {1: np.uint8, 2: np.int16, 4: np.int32}[width]
    samples = np.frombuffer(raw, dtype=dtype)[::channels].astype(np.float32)
    if width == 1:
        samples -= 128.0  # 8-bit WAV is unsigned
    full_scale = float(2 ** (8 * width - 1))
    n = len(samples)
    buckets = max(1, min(buckets, n)) if n else 0
    if buckets:
        edges = np.linspace(0, n, buckets + 1, dtype=np.int64)
        values = np.maximum.reduceat(np.abs(samples), edges[:-1]) / full_scale
    else:
        values = np.zeros(0)
    return {
        "sample_rate": rate,
        "duration_s": round(n / rate, 3) if rate else 0.0,
        "peaks": [round(float(v), 4) for v in np.clip(values, 0, 1)],
    }
