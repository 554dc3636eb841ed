"""Assertion helpers shared by the telephony tests."""

from __future__ import annotations

import json
import re
import time
from pathlib import Path

import numpy as np


def best_match(
    heard: np.ndarray, templates: list[tuple[str, np.ndarray]], seconds: float, rate: int, start_s: float = 1.0
) -> tuple[str, float]:
    """Highest normalised cross-correlation of `seconds` of each template (from 1 s in: the first
    packets of a call may be lost while the caller's audio starts) inside `heard`."""
    best = ("", 0.0)
    x = heard.astype(np.float64)
    for name, tpl in templates:
        a = int(start_s * rate)
        t = tpl[a : a + int(seconds * rate)].astype(np.float64)
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


def prompt_score(heard: np.ndarray, prompt: np.ndarray, rate: int, chunk_s: float = 0.5, span_s: tuple[float, float] = (1.0, 6.0)) -> float:
    """Median, over 0.5 s pieces of the prompt, of each piece's best correlation in `heard`.

    Robust to what a real phone path does to a stream on a loaded machine (late packets, jitter
    buffer drops/stretches shift alignment), yet other prompts or noise score far lower."""
    step = int(chunk_s * rate)
    scores = [
        best_match(heard, [("p", prompt)], chunk_s, rate, start_s=i / rate)[1]
        for i in range(int(span_s[0] * rate), min(len(prompt), int(span_s[1] * rate)) - step, step)
    ]
    return float(np.median(scores)) if scores else 0.0


def call_ends(log_text: str) -> list[dict]:
    """The per-call summary lines a transport logs when a call ends."""
    return [json.loads(m) for m in re.findall(r"call-end (\{.*\})", log_text)]


def wait_call_ends(worker, n: int, timeout: float = 10.0) -> list[dict]:
    """The worker's call-end lines once there are `n` (calls finish their records just after BYE)."""
    deadline = time.monotonic() + timeout
    while len(ends := call_ends(worker.text())) < n and time.monotonic() < deadline:
        time.sleep(0.1)
    return ends


def lost_frames(stats: dict) -> int:
    return max(0, stats["frames_expected"] - stats["frames_in"])


def children(pid: int) -> list[int]:
    """Child process ids of `pid` (from /proc: no procps needed)."""
    kids = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            if int(stat.read_text().rsplit(")", 1)[1].split()[1]) == pid:
                kids.append(int(stat.parent.name))
        except (OSError, IndexError, ValueError):
            continue
    return kids
