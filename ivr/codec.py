"""Sample-format conversions: G.711 µ-law/A-law and sample-rate conversion.

G.711 uses the stdlib `audioop` (C, exact ITU tables) on Python < 3.13 and the drop-in `audioop-lts`
package on >= 3.13; its deprecation warning is silenced here only.  Resampling uses soxr (the SoX
resampler: band-limited, fast, streaming-capable) instead of a hand-written filter.
"""

from __future__ import annotations

import warnings

import numpy as np
import soxr

with warnings.catch_warnings():
    warnings.simplefilter("ignore", DeprecationWarning)
    import audioop  # noqa: E402  (audioop-lts provides the same module on Python >= 3.13)

CALL_RATES = (8000, 16000)


def ulaw_decode(data: bytes) -> bytes:
    return audioop.ulaw2lin(data, 2)


def ulaw_encode(pcm16: bytes) -> bytes:
    return audioop.lin2ulaw(pcm16, 2)


def alaw_decode(data: bytes) -> bytes:
    return audioop.alaw2lin(data, 2)


def alaw_encode(pcm16: bytes) -> bytes:
    return audioop.lin2alaw(pcm16, 2)


def to_int16(pcm16: bytes) -> np.ndarray:
    return np.frombuffer(pcm16[: len(pcm16) // 2 * 2], dtype=np.int16)


def resample(pcm16: bytes, src_rate: int, dst_rate: int) -> bytes:
    """Whole-buffer conversion (prompts, files)."""
    if src_rate == dst_rate or not pcm16:
        return pcm16
    out = soxr.resample(to_int16(pcm16), src_rate, dst_rate, quality="HQ")
    return np.asarray(out, dtype=np.int16).tobytes()


class StreamResampler:
    """Chunk-by-chunk conversion for live audio: keeps filter state between chunks so frame
    boundaries make no clicks.  Identity when the rates match."""

    def __init__(self, src_rate: int, dst_rate: int) -> None:
        self.src_rate, self.dst_rate = src_rate, dst_rate
        self._stream = (
            soxr.ResampleStream(src_rate, dst_rate, 1, dtype="int16", quality="HQ") if src_rate != dst_rate else None
        )

    def process(self, pcm16: bytes, last: bool = False) -> bytes:
        if self._stream is None:
            return pcm16
        return self._stream.resample_chunk(to_int16(pcm16), last=last).tobytes()
