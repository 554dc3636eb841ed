"""Assertion helpers shared by the telephony tests."""

from __future__ import annotations

import json
import re

import numpy as np


def best_match(heard: np.ndarray, templates: list[tuple[str, np.ndarray]], seconds: float, rate: int) -> tuple[str, float]:
    """Highest normalised cross-correlation of the first `seconds` of each template inside `heard`."""
    best = ("", 0.0)
    x = heard.astype(np.float64)
    for name, tpl in templates:
        t = tpl[: int(seconds * rate)].astype(np.float64)
        if len(t) == 0 or len(x) < len(t):
            continue
        t = (t - t.mean()) / (np.linalg.norm(t - t.mean()) or 1.0)
        n = 1 << int(np.ceil(np.log2(len(x) + len(t))))
        corr = np.fft.irfft(np.fft.rfft(x, n) * np.conj(np.fft.rfft(t, n)), n)[: len(x) - len(t) + 1]
        # energy of each window of x, for normalisation
        c2 = np.concatenate([[0.0], np.cumsum(x * x)])
        win = np.sqrt(np.maximum(c2[len(t):] - c2[: len(x) - len(t) + 1], 1e-9))
        c1 = np.concatenate([[0.0], np.cumsum(x)])
        mean = (c1[len(t):] - c1[: len(x) - len(t) + 1]) / len(t)
        win = np.sqrt(np.maximum(win**2 - len(t) * mean**2, 1e-9))
        score = float(np.max(corr / win))
        if score > best[1]:
            best = (name, score)
    return best


def call_ends(log_text: str) -> list[dict]:
    """The per-call summary lines a transport logs when a call ends."""
    return [json.loads(m) for m in re.findall(r"call-end (\{.*\})", log_text)]


def lost_frames(stats: dict) -> int:
    return max(0, stats["frames_expected"] - stats["frames_in"])
