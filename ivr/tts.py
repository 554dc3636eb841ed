"""Prompt audio: pre-rendered static pieces, studio recordings, run-time dynamic pieces.

Static pieces of every prompt (`PromptBook.static_segments()`) are rendered once by
`ivr prompts build` into WAVs at both call rates, so a call never synthesises them.  A studio
recording `audio_prompts/recordings/<segment key>.wav` (or `<prompt_id>.<variant>.wav` for a variant
without placeholders) replaces the synthetic voice.  Dynamic pieces (name, amount, date) are
synthesised at run time and cached by text.  Cache file names include a hash of text, voice and
speed, so editing a prompt or slowing it down never plays stale audio.

Voice: the locale's (ivr/locale.py), for Mandarin espeak-ng's `cmn`, called directly when the espeak-ng program is installed
(Debian), else through pyttsx3 (the same voice on Linux, the system voice elsewhere).  Why not
pyttsx3 first: its espeak driver is not deterministic — the same text rendered three times in one
process gave 168702/168242/167812-byte WAVs, and in other processes 199284/199870/199292 bytes (its
rate setting is not applied consistently), so a prompt's speed and timing depended on which
process rendered it.  The espeak-ng program gives byte-identical audio for the same text and
speed.  pyttsx3 only writes files through its event loop, so calls are serialised by a lock.
"""

from __future__ import annotations

import hashlib
import logging
import os
import shutil
import subprocess
import sys
import tempfile
import threading
from collections import OrderedDict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ivr import metrics
from ivr.audio import BadAudio, read_wav, write_wav
from ivr.codec import CALL_RATES, resample
from ivr.events import PromptSegment, Say
from ivr.locale import MANDARIN, Locale

log = logging.getLogger(__name__)

BASE_WPM = 170  # espeak speed at Say.rate == 1.0; Say.rate scales it
# Dynamic pieces (names, amounts, dates) kept in memory, least recently used dropped first.  Static
# pieces are a finite set (the prompt book) and stay; dynamic ones are a new set per case, so an
# unbounded memory grows with every debtor called (measured at 8 kHz: a name ~15 KB, an amount
# ~70 KB, a date ~50 KB, twice that at 16 kHz: 10,000 cases ≈ 1-2 GB in a long-lived engine host).
# A piece dropped here is read again from its disk cache (one small WAV read).
DYNAMIC_MEMORY_PIECES = 256


class TtsError(RuntimeError):
    """Neither pyttsx3 nor espeak-ng could render a text."""


class Synthesizer:
    """Text → 16-bit mono PCM at a call rate."""

    def __init__(self, voice: str = MANDARIN.voice) -> None:
        """`voice`: a pyttsx3 voice id; the espeak-ng program takes its last part (sit/cmn → cmn)."""
        self.voice = voice
        self._lock = threading.Lock()
        self._engine: Any = None  # pyttsx3.Engine: pyttsx3 ships no type hints
        self.backend = "espeak-ng" if shutil.which("espeak-ng") else "pyttsx3"

    def _pyttsx3(self, text: str, wpm: int, out: Path) -> None:
        import pyttsx3

        if self._engine is None:
            self._engine = pyttsx3.init("espeak")
            self._engine.setProperty("voice", self.voice)
            # The espeak driver print()s "Audio saved to ..." from its synthesis callback, which
            # would corrupt `ivr simulate --json` on stdout: silence that module's print only.
            driver_module = sys.modules.get("pyttsx3.drivers.espeak")
            if driver_module is not None:
                driver_module.print = lambda *args, **kwargs: None  # type: ignore[attr-defined]
        self._engine.setProperty("rate", wpm)
        self._engine.save_to_file(text, str(out))
        self._engine.runAndWait()

    def _espeak(self, text: str, wpm: int, out: Path) -> None:
        exe = shutil.which("espeak-ng")
        if exe is None:
            raise TtsError("espeak-ng not found on PATH (apt-get install espeak-ng)")
        voice = self.voice.split("/")[-1]
        proc = subprocess.run([exe, "-v", voice, "-s", str(wpm), "-w", str(out), text], capture_output=True, timeout=30)
        if proc.returncode != 0:
            raise TtsError(f"espeak-ng failed for {text!r}: {proc.stderr.decode(errors='replace').strip()}")

    def synth(self, text: str, rate: int, speed: float = 1.0) -> bytes:
        wpm = max(80, int(BASE_WPM * speed))  # espeak-ng's own speed unit: words per minute
        with self._lock, tempfile.TemporaryDirectory(prefix="ivr-tts-") as tmp:
            out = Path(tmp) / "out.wav"
            if self.backend == "pyttsx3":
                try:
                    self._pyttsx3(text, wpm, out)
                except Exception as e:  # any driver failure: the CLI gives the same voice
                    log.warning("pyttsx3 failed (%s); using espeak-ng directly", e)
                    self.backend = "espeak-ng"
            if not out.is_file() or out.stat().st_size <= 44:
                self._espeak(text, wpm, out)
            audio = read_wav(out, rates=None)
        return resample(audio.pcm, audio.rate, rate)


def _digest(*parts: object) -> str:
    return hashlib.sha1("|".join(map(str, parts)).encode()).hexdigest()[:12]


@dataclass
class BuildReport:
    rendered: int = 0
    cached: int = 0
    recorded: int = 0
    files: list[Path] = field(default_factory=list)


class PromptAudio:
    """Audio for a `Say` at a call rate, from recordings or the caches; process-wide, thread-safe."""

    def __init__(
        self, prompts_dir: Path, cache_dir: Path, synthesizer: Synthesizer | None = None, locale: Locale = MANDARIN
    ) -> None:
        """`locale`: the voice of the synthesised pieces (ivr/locale.py), unless `synthesizer` is given."""
        self.recordings = Path(prompts_dir) / "recordings"
        self.cache = Path(cache_dir)
        self.synth = synthesizer or Synthesizer(locale.voice)
        self._memory: dict[tuple[Path, int], bytes] = {}  # (file, call rate) → PCM: prompts repeat across calls
        self._dynamic: OrderedDict[tuple[Path, int], bytes] = OrderedDict()  # the same, LRU-bounded
        self._lock = threading.Lock()
        self._warned = False

    # -- file layout -------------------------------------------------------
    def static_path(self, seg: PromptSegment, rate: int, speed: float) -> Path:
        return self.cache / "prompts" / str(rate) / f"{seg.key}.{_digest(seg.text, self.synth.voice, speed)}.wav"

    def dynamic_path(self, text: str, rate: int, speed: float) -> Path:
        return self.cache / "tts" / str(rate) / f"{_digest(text, self.synth.voice, speed)}.wav"

    def recording_for(self, key: str) -> Path | None:
        path = self.recordings / f"{key}.wav"
        return path if path.is_file() else None

    # -- loading -----------------------------------------------------------
    def _load(self, path: Path, rate: int, dynamic: bool = False) -> bytes:
        key = (path, rate)  # one recording serves every rate: the rate is part of the key
        memory = self._dynamic if dynamic else self._memory
        with self._lock:
            cached = memory.get(key)
            if cached is not None and dynamic:
                self._dynamic.move_to_end(key)
        if cached is not None:
            metrics.PROMPT_PIECES.labels("memory").inc()
            return cached
        audio = read_wav(path, rates=None)  # studio recordings come at any rate
        cached = resample(audio.pcm, audio.rate, rate)
        with self._lock:
            memory[key] = cached
            while len(self._dynamic) > DYNAMIC_MEMORY_PIECES:
                self._dynamic.popitem(last=False)
        metrics.PROMPT_PIECES.labels("disk").inc()
        return cached

    def _render_to(self, path: Path, text: str, rate: int, speed: float, mid_call: bool = True) -> None:
        if mid_call:  # a cache miss the caller waits for (pre-rendering is not a lookup)
            metrics.PROMPT_PIECES.labels("synthesized").inc()
        pcm = self.synth.synth(text, rate, speed)
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(f".{os.getpid()}.{threading.get_ident()}.tmp")
        write_wav(tmp, pcm, rate)
        tmp.replace(path)  # atomic: a parallel call never reads half a file

    def segment(self, seg: PromptSegment, rate: int, speed: float = 1.0) -> bytes:
        """PCM at `rate`; the disk caches hold the call rates (8/16 kHz), other transport rates
        are derived once per process from the 16 kHz file and kept in memory."""
        if not seg.text.strip():
            return b""
        file_rate = rate if rate in CALL_RATES else 16000
        if not seg.dynamic:
            rec = self.recording_for(seg.key)
            if rec is not None:
                return self._load_recording(rec, rate)
            path = self.static_path(seg, file_rate, speed)
            if not path.is_file():
                self._warn_unbuilt(seg.key)
                self._render_to(path, seg.text, file_rate, speed)
            return self._load(path, rate)
        return self._load(self._dynamic_file(seg.text, file_rate, speed), rate, dynamic=True)

    def _dynamic_file(self, text: str, file_rate: int, speed: float, mid_call: bool = True) -> Path:
        """The cache file of a dynamic piece, synthesised first if it is not there yet."""
        path = self.dynamic_path(text, file_rate, speed)
        if not path.is_file():
            self._render_to(path, text, file_rate, speed, mid_call)
        return path

    def warm(self, pieces: Iterable[tuple[str, float]], rate: int) -> None:
        """Render dynamic pieces not cached yet (at the call's start, off the call's own thread).
        Failures only log: the turn would render the piece anyway."""
        file_rate = rate if rate in CALL_RATES else 16000
        for text, speed in pieces:
            if text.strip():
                try:
                    self._dynamic_file(text, file_rate, speed, mid_call=False)
                except Exception as e:  # noqa: BLE001
                    log.warning("could not pre-render prompt piece %r: %s", text, e)

    def _warn_unbuilt(self, key: str) -> None:
        if not self._warned:  # once per process: the fix is the same for every piece
            self._warned = True
            log.warning(
                "prompt audio not pre-rendered in %s: synthesising during the call (run `ivr prompts build`)",
                self.cache / "prompts",
            )
        log.debug("synthesising static prompt piece %s", key)

    def _load_recording(self, path: Path, rate: int) -> bytes:
        try:
            return self._load(path, rate)
        except BadAudio as e:  # a broken studio file must not break calls: fall back to TTS
            log.error("ignoring recording: %s", e)
            raise

    def audio(self, say: Say, rate: int) -> bytes:
        """The whole prompt as PCM at `rate`."""
        whole = self.recording_for(f"{say.prompt_id}.{say.variant}")
        if whole is not None and not any(s.dynamic for s in say.segments):
            try:
                return self._load_recording(whole, rate)
            except BadAudio:
                pass  # logged; the pieces below are synthesised instead
        segments = say.segments or (PromptSegment(say.text, f"dyn:{say.text}", dynamic=True),)
        out = []
        for seg in segments:
            try:
                out.append(self.segment(seg, rate, say.rate))
            except BadAudio:
                out.append(self.segment(PromptSegment(seg.text, f"dyn:{seg.text}", True), rate, say.rate))
        return b"".join(out)

    # -- pre-rendering -----------------------------------------------------
    def build(
        self,
        segments: Iterable[PromptSegment],
        speeds: dict[str, float] | None = None,
        rates: tuple[int, ...] = CALL_RATES,
        progress: Callable[[PromptSegment], None] | None = None,
    ) -> BuildReport:
        """Render every static piece not yet cached (at each call rate); recordings are skipped.
        `speeds`: prompt id → Say.rate for prompts delivered slower."""
        report = BuildReport()
        for seg in segments:
            speed = (speeds or {}).get(seg.key.rsplit(".", 2)[0], 1.0)
            if self.recording_for(seg.key) or not seg.text.strip():
                report.recorded += 1
            else:
                pcm16k: bytes | None = None
                for rate in rates:
                    path = self.static_path(seg, rate, speed)
                    report.files.append(path)
                    if path.is_file():
                        report.cached += 1
                        continue
                    path.parent.mkdir(parents=True, exist_ok=True)
                    # synthesise once, derive the other rate by resampling
                    pcm16k = pcm16k or self.synth.synth(seg.text, 16000, speed)
                    write_wav(path, resample(pcm16k, 16000, rate), rate)
                    report.rendered += 1
            if progress:
                progress(seg)
        return report
