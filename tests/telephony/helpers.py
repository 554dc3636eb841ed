"""Assertion helpers shared by the telephony tests."""

from __future__ import annotations

import json
import re
import time
from pathlib import Path

import numpy as np


def _xcorr(x: np.ndarray, t: np.ndarray) -> np.ndarray:
    """Normalised cross-correlation of template `t` at every offset of `x` (FFT; both float64)."""
    n = len(t)
    t = (t - t.mean()) / (np.linalg.norm(t - t.mean()) or 1.0)
    size = 1 << int(np.ceil(np.log2(len(x) + n)))
    corr = np.fft.irfft(np.fft.rfft(x, size) * np.conj(np.fft.rfft(t, size)), size)[: len(x) - n + 1]
    c1 = np.concatenate([[0.0], np.cumsum(x)])
    c2 = np.concatenate([[0.0], np.cumsum(x * x)])
    s1, s2 = c1[n:] - c1[:-n], c2[n:] - c2[:-n]
    return corr / np.sqrt(np.maximum(s2 - s1 * s1 / n, 1e-9))


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
        score = float(np.max(_xcorr(x, t)))
        if score > best[1]:
            best = (name, score)
    return best


def prompt_score(
    heard: np.ndarray, prompt: np.ndarray, rate: int, chunk_s: float = 0.25, span_s: tuple[float, float] = (1.0, 7.0)
) -> float:
    """How much of the prompt the caller heard *in order*: the share of 0.25 s pieces of the prompt
    found (correlation >= 0.6) along one chain of delays that only drifts slowly.

    A phone path on a loaded machine drops or stretches frames now and then (jitter buffers adapt),
    which ruins long-window correlation and shifts the delay; chance matches of short pieces of
    *other* speech land at scattered delays and form no chain, so this stays discriminative."""
    x = heard.astype(np.float64)
    step = int(chunk_s * rate)
    hits: list[int] = []
    total = 0
    for i in range(int(span_s[0] * rate), min(len(prompt), int(span_s[1] * rate)) - step, step):
        t = prompt[i : i + step].astype(np.float64)
        if len(x) < len(t) or np.std(t) < 50:  # skip pauses in the prompt
            continue
        total += 1
        c = _xcorr(x, t)
        k = int(np.argmax(c))
        if c[k] >= 0.6:
            hits.append(k - i)  # delay of this piece in what was heard
    # longest chain of pieces whose delay moves by -60..+300 ms from one found piece to the next
    chain = [1] * len(hits)
    for j in range(len(hits)):
        for i in range(j):
            if -0.06 * rate <= hits[j] - hits[i] <= 0.3 * rate:
                chain[j] = max(chain[j], chain[i] + 1)
    return max(chain, default=0) / total if total else 0.0


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


def sip_messages(trace: Path) -> list[tuple[float, str, str, str]]:
    """(time, 'sent'|'received', first line, Call-ID) of every message in a sipp -trace_msg file."""
    import datetime as dt

    out = []
    for stamp, direction, first, rest in re.findall(
        r"-{10,} (\S+ \S+)\n\S+ message (sent|received) [^\n]*:\s*\n+(.*)\n((?:.+\n)*)", trace.read_text()
    ):
        call_id = re.search(r"^Call-ID:\s*(\S+)", rest, re.M | re.I)
        out.append(
            (
                dt.datetime.fromisoformat(stamp).timestamp(),
                direction,
                first.strip(),
                call_id.group(1) if call_id else "",
            )
        )
    return out


def reply_delays(trace: Path) -> dict[str, list[float]]:
    """Seconds from each INVITE sent to its first 100 / 180 / 200 received, per status, over all calls."""
    sent: dict[str, float] = {}
    delays: dict[str, list[float]] = {"100": [], "180": [], "200": []}
    seen: set[tuple[str, str]] = set()
    for t, direction, line, call_id in sip_messages(trace):
        if direction == "sent" and line.startswith("INVITE"):
            sent.setdefault(call_id, t)
        elif direction == "received" and call_id in sent and line[8:11] in delays and (call_id, line[8:11]) not in seen:
            seen.add((call_id, line[8:11]))
            delays[line[8:11]].append(t - sent[call_id])
    return delays
