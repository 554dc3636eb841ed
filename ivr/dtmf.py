"""In-band DTMF: detection of keypad tones in caller audio, and tone generation for tests.

Detection follows the ITU-T Q.24 acceptance rules: a key needs both tones present for >= ~40 ms,
the row/column levels within the twist limits (normal 8 dB, reverse 4 dB), each tone clearly above
its neighbours, and the two tones carrying most of the signal energy (so speech and music, which
spread energy over many frequencies, do not fire).  Tone power is the Goertzel single-bin DFT at
each of the 8 DTMF frequencies, evaluated for all 8 at once with a precomputed numpy kernel
(same numbers as the Goertzel recursion, without a per-sample Python loop on the media path).
"""

from __future__ import annotations

import numpy as np

from ivr.codec import to_int16
from ivr.events import DTMF_DIGITS as DIGITS

ROWS = (697.0, 770.0, 852.0, 941.0)
COLS = (1209.0, 1336.0, 1477.0, 1633.0)
KEYPAD = ("123A", "456B", "789C", "*0#D")

WINDOW_MS = 20  # analysis window (frequency resolution ~50 Hz separates the rows)
HOP_MS = 10
MIN_HITS = 3  # consecutive hops with the same key: 20 ms window + 2 hops ≈ 40 ms of tone
GAP_HOPS = 2  # hops without the key before the same key may fire again (Q.24 inter-digit pause)
MIN_LEVEL_DBFS = -40.0  # each tone at least this loud
NORMAL_TWIST_DB = 8.0  # column tone weaker than row tone by at most this
REVERSE_TWIST_DB = 4.0  # row tone weaker than column tone by at most this
NEIGHBOUR_DB = 8.0  # strongest tone of a group beats the others of that group by this
TONE_SHARE = 0.75  # fraction of the window energy in the two tones (speech rejection)


def _position(digit: str) -> tuple[int, int]:
    for r, row in enumerate(KEYPAD):
        if digit in row:
            return r, row.index(digit)
    raise ValueError(f"DTMF digit: expected one of {DIGITS}, got {digit!r}")


def tone(digit: str, ms: int, rate: int, level_dbfs: float = -10.0, twist_db: float = 0.0) -> bytes:
    """A keypad tone: two sines, each at `level_dbfs` peak (column `twist_db` quieter)."""
    r, c = _position(digit)
    t = np.arange(int(rate * ms / 1000)) / rate
    amp = 32767 * 10 ** (level_dbfs / 20)
    x = amp * np.sin(2 * np.pi * ROWS[r] * t) + amp * 10 ** (-twist_db / 20) * np.sin(2 * np.pi * COLS[c] * t)
    return np.clip(x, -32768, 32767).astype(np.int16).tobytes()


def _db(p: np.ndarray | float) -> np.ndarray:
    return 10 * np.log10(np.maximum(p, 1e-12))


class DtmfDetector:
    """Streaming detector: feed any-size chunks, get keys back once each (on the press)."""

    def __init__(self, rate: int) -> None:
        self.rate = rate
        self.win = rate * WINDOW_MS // 1000
        self.hop = rate * HOP_MS // 1000
        n = np.arange(self.win)
        freqs = np.array(ROWS + COLS)
        self._kernel = np.exp(-2j * np.pi * np.outer(freqs, n) / rate)  # 8 × win
        self._min_power = 32768.0**2 / 2 * 10 ** (MIN_LEVEL_DBFS / 10)  # a tone at MIN_LEVEL_DBFS
        self._buf = np.zeros(0, dtype=np.float64)
        self._candidate: str | None = None
        self._hits = 0
        self._misses = GAP_HOPS
        self._reported: str | None = None

    def _classify(self, x: np.ndarray) -> str | None:
        energy = float(np.dot(x, x))
        # Cauchy-Schwarz: no component's power (2|X|²/N²) exceeds twice the window's mean power, so
        # a quiet window (most of a call) cannot hold a tone loud enough: skip the 8 correlations.
        if 2 * energy / self.win < self._min_power:
            return None
        # power of a sine of amplitude A over N samples: |X|² = (A·N/2)² → mean power A²/2 = 2|X|²/N²
        power = 2 * np.abs(self._kernel @ x) ** 2 / self.win**2
        rows, cols = power[:4], power[4:]
        r, c = int(np.argmax(rows)), int(np.argmax(cols))
        pr, pc = rows[r], cols[c]
        full_scale = 32768.0**2 / 2
        if _db(pr / full_scale) < MIN_LEVEL_DBFS or _db(pc / full_scale) < MIN_LEVEL_DBFS:
            return None
        twist = float(_db(pr) - _db(pc))
        if twist > NORMAL_TWIST_DB or -twist > REVERSE_TWIST_DB:
            return None
        if any(_db(pr) - _db(p) < NEIGHBOUR_DB for i, p in enumerate(rows) if i != r):
            return None
        if any(_db(pc) - _db(p) < NEIGHBOUR_DB for i, p in enumerate(cols) if i != c):
            return None
        if (pr + pc) * self.win < TONE_SHARE * energy:
            return None
        key = KEYPAD[r][c]
        return key if key in DIGITS else None

    @property
    def active(self) -> bool:
        """A key tone is sounding right now (reported or not yet long enough)."""
        return self._candidate is not None

    def feed(self, pcm16: bytes) -> list[str]:
        self._buf = np.concatenate([self._buf, to_int16(pcm16).astype(np.float64)])
        keys: list[str] = []
        while len(self._buf) >= self.win:
            key = self._classify(self._buf[: self.win])
            self._buf = self._buf[self.hop :]
            if key is not None and key == self._candidate:
                self._hits += 1
            else:
                self._candidate, self._hits = key, 1 if key else 0
            if key is None:
                self._misses += 1
                if self._misses >= GAP_HOPS:
                    self._reported = None
                continue
            self._misses = 0
            if self._hits >= MIN_HITS and self._reported != key:
                self._reported = key
                keys.append(key)
        return keys
