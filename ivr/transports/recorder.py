"""Two-channel call recording (caller left, bot right) written as a WAV file while the call runs.

Media threads only append bytes (cheap); `flush()` interleaves and writes from a slower thread, so
the recording costs the real-time path almost nothing.  Both directions are clocked by the same
transport tick, so pairing them sample by sample keeps them aligned.

The file is created exclusively (open mode 'x'): an existing recording is never replaced or
truncated, whatever id a peer sends (FileExistsError instead).
"""

from __future__ import annotations

import threading
import wave
from pathlib import Path
from typing import BinaryIO

import numpy as np


class StereoRecorder:
    def __init__(self, path: Path, rate: int) -> None:
        self.path = path
        self.rate = rate
        path.parent.mkdir(parents=True, exist_ok=True)
        self._file: BinaryIO | None = open(path, "xb")  # noqa: SIM115 - closed in close()
        try:
            self._wav: wave.Wave_write | None = wave.open(self._file, "wb")
        except BaseException:
            self._file.close()
            raise
        self._wav.setnchannels(2)
        self._wav.setsampwidth(2)
        self._wav.setframerate(rate)
        self._left: list[bytes] = []
        self._right: list[bytes] = []
        self._pending = [b"", b""]  # the part of one channel the other has not caught up with
        self._lock = threading.Lock()  # guards the writer, not the appends (list.append is atomic)
        self.samples = 0

    def caller(self, pcm16: bytes) -> None:
        self._left.append(pcm16)

    def bot(self, pcm16: bytes) -> None:
        self._right.append(pcm16)

    def flush(self, final: bool = False) -> None:
        with self._lock:
            if self._wav is None:
                return
            left = self._pending[0] + _drain(self._left)
            right = self._pending[1] + _drain(self._right)
            n = max(len(left), len(right)) if final else min(len(left), len(right))
            n -= n % 2
            self._pending = [left[n:], right[n:]]
            if n:
                frames = np.zeros((n // 2, 2), dtype="<i2")
                lo = np.frombuffer(left[:n], dtype="<i2")
                ro = np.frombuffer(right[:n], dtype="<i2")
                frames[: len(lo), 0] = lo
                frames[: len(ro), 1] = ro
                self._wav.writeframes(frames.tobytes())
                self.samples += n // 2

    def close(self) -> Path:
        self.flush(final=True)
        with self._lock:
            wav, f = self._wav, self._file
            self._wav = self._file = None
            try:
                if wav is not None:
                    wav.close()  # patches the header: may fail on a full disk too
            finally:
                if f is not None:
                    f.close()
        return self.path

    def abandon(self) -> None:
        """Stop recording after a write error: drop what is buffered, close the file as it is."""
        with self._lock:
            self._left.clear()
            self._right.clear()
            self._pending = [b"", b""]
            wav, f = self._wav, self._file
            self._wav = self._file = None
        for closer in (wav, f):
            try:
                if closer is not None:
                    closer.close()
            except (OSError, ValueError):
                pass

    @property
    def seconds(self) -> float:
        return self.samples / self.rate


def _drain(chunks: list[bytes]) -> bytes:
    n = len(chunks)  # appends racing with us land after n and are kept for the next flush
    data = b"".join(chunks[:n])
    del chunks[:n]
    return data
