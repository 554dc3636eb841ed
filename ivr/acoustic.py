"""Acoustic emotion cues: is the caller louder / higher-pitched than they were at the start?

People differ (a loud speaker is not an angry one), so each utterance is compared with the
caller's own first turns: RMS loudness (dBFS) of the voiced part and median pitch (F0 by
normalised autocorrelation, 60-400 Hz), plus clipping (shouting into the handset).  The 0..1 score
goes into `Speech.acoustic_emotion`; the dialog combines it with the lexical score.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ivr.codec import to_int16

FRAME_MS = 40
MIN_F0, MAX_F0 = 60.0, 400.0
VOICING = 0.35  # normalised autocorrelation peak needed to call a frame voiced
ACTIVE_DB = -45.0  # frames quieter than this are pauses, not speech
BASELINE_TURNS = 2  # the caller's first utterances set their normal level and pitch
LOUD_FULL_DB = 10.0  # +10 dB above baseline → full loudness cue
PITCH_DEADBAND = 0.1  # F0 within +10 % of the baseline is ordinary intonation
PITCH_FULL = 0.5  # +50 % F0 above baseline → full pitch cue
SHOUT_DBFS = -10.0  # absolute RMS level where shouting starts to count, baseline or not
CLIP_LEVEL = 32000


@dataclass(frozen=True)
class Features:
    dbfs: float
    f0: float | None  # Hz, None when no frame was voiced
    clipped: float  # share of samples at full scale


def features(pcm16: bytes, rate: int) -> Features:
    x = to_int16(pcm16).astype(np.float64)
    n = rate * FRAME_MS // 1000
    frames = x[: len(x) // n * n].reshape(-1, n) if len(x) >= n else np.zeros((0, n))
    rms = np.sqrt(np.mean(frames**2, axis=1)) if len(frames) else np.zeros(0)
    db = 20 * np.log10(np.maximum(rms, 1e-9) / 32768.0)
    active = frames[db > ACTIVE_DB]
    level = float(20 * np.log10(max(np.sqrt(np.mean(active**2)), 1e-9) / 32768.0)) if len(active) else -96.0
    return Features(
        dbfs=level, f0=_median_f0(active, rate), clipped=float(np.mean(np.abs(x) >= CLIP_LEVEL)) if len(x) else 0.0
    )


def _median_f0(frames: np.ndarray, rate: int) -> float | None:
    if len(frames) == 0:
        return None
    frames = frames - frames.mean(axis=1, keepdims=True)
    n = frames.shape[1]
    spec = np.fft.rfft(frames, 2 * n, axis=1)
    ac = np.fft.irfft(np.abs(spec) ** 2, axis=1)[:, :n]
    ac = ac / np.maximum(ac[:, :1], 1e-9)
    lo, hi = int(rate / MAX_F0), min(n - 1, int(rate / MIN_F0))
    lags = np.argmax(ac[:, lo:hi], axis=1) + lo
    peaks = ac[np.arange(len(ac)), lags]
    voiced = peaks > VOICING
    return float(np.median(rate / lags[voiced])) if voiced.any() else None


class AcousticTracker:
    """One per call: remembers the caller's baseline and scores each utterance 0..1."""

    def __init__(self) -> None:
        self._baseline: list[Features] = []

    def score(self, pcm16: bytes, rate: int) -> float:
        f = features(pcm16, rate)
        if f.dbfs <= ACTIVE_DB:
            return 0.0
        base = self._baseline
        shout = float(np.clip((f.dbfs - SHOUT_DBFS) / 6.0, 0.0, 1.0))  # full at -4 dBFS RMS
        loud = pitch = 0.0
        if base:
            base_db = float(np.mean([b.dbfs for b in base]))
            loud = float(np.clip((f.dbfs - base_db) / LOUD_FULL_DB, 0.0, 1.0))
            f0s = [b.f0 for b in base if b.f0]
            if f.f0 and f0s:
                rise = f.f0 / float(np.mean(f0s)) - 1.0 - PITCH_DEADBAND
                pitch = float(np.clip(rise / (PITCH_FULL - PITCH_DEADBAND), 0.0, 1.0))
        clip = min(0.3, f.clipped * 30)  # 1 % of samples clipped → +0.3
        if len(base) < BASELINE_TURNS:
            base.append(f)
        # loudness is the stronger cue; pitch alone (questions, surprise) counts less
        return float(min(1.0, max(loud, 0.7 * pitch, shout) + clip))
