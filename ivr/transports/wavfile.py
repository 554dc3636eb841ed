"""WAV-file transport: a developer's phone call, the caller side read from WAV files.

The caller audio goes through the same `CallEngine` as a live call, 20 ms at a time, with the bot
audio pulled in lock-step, so VAD, barge-in and latencies behave as on the phone.  `fast=True`
runs on a `FastClock` (no waiting), but the engine still releases each reply only after the real
time it took to produce, so reported latencies stay honest.

Turn-taking: the caller answers when the bot is listening (its prompt has ended).  Several WAVs
are one turn each.  A single WAV is a whole caller side: it is cut into turns at long pauses
(≥ TURN_GAP_MS), and pauses ≥ SILENT_TURN_MS become turns of their own in which the caller says
nothing (so a demo recording can exercise the no-input path).

The result is the session's report (the `ivr simulate --json` fields, docs/dialog.md) plus per-turn timing (seconds from call start) and the
path of a stereo recording: caller left, bot right.
"""

from __future__ import annotations

import datetime as dt
import logging
from pathlib import Path
from typing import Any

import numpy as np

from ivr.audio import BadAudio, bytes_per_ms, interleave, read_wav, silence, write_wav
from ivr.codec import resample, to_int16
from ivr.engine import CallEngine, FastClock, RealClock
from ivr.wiring import wiring_for

log = logging.getLogger(__name__)

REPO = Path(__file__).resolve().parents[2]
DEMO_WAV = REPO / "examples" / "caller_demo.wav"
TICK_MS = 20
REACTION_MS = 400  # the caller starts answering this long after the prompt ends
TURN_GAP_MS = 1500  # a pause this long inside a single WAV separates two caller turns
SILENT_TURN_MS = 5000  # a pause this long is itself a turn: the caller stays silent
SPEECH_DBFS = -45.0  # 20 ms frames louder than this count as caller sound when splitting
MAX_CALL_S = 600.0


def split_turns(pcm: bytes, rate: int) -> list[bytes]:
    """Cut one caller recording into turns at long pauses; long pauses become silent turns."""
    n = bytes_per_ms(rate) * TICK_MS
    frames = [pcm[i : i + n] for i in range(0, len(pcm) - n + 1, n)]
    if not frames:
        return []
    x = to_int16(b"".join(frames)).astype(np.float64).reshape(len(frames), -1)
    loud = 20 * np.log10(np.maximum(np.sqrt(np.mean(x * x, axis=1)), 1e-9) / 32768.0) > SPEECH_DBFS
    turns: list[bytes] = []
    cur: list[bytes] = []
    gap: list[bytes] = []
    for frame, is_loud in zip(frames, loud):
        if is_loud:
            if gap and len(gap) * TICK_MS >= TURN_GAP_MS and any(cur):
                turns.append(b"".join(cur))
                if len(gap) * TICK_MS >= SILENT_TURN_MS:
                    turns.append(b"".join(gap))
                cur, gap = [], []
            cur += gap + [frame]
            gap = []
        else:
            gap.append(frame)
    if cur:
        turns.append(b"".join(cur + gap[: TURN_GAP_MS // TICK_MS]))
    return turns


def _load(wavs: list[Path]) -> tuple[list[bytes], int]:
    audios = [read_wav(Path(w)) for w in wavs]  # BadAudio names the file and the problem
    rate = audios[0].rate
    pcms = [resample(a.pcm, a.rate, rate) for a in audios]
    if len(pcms) == 1:
        pcms = split_turns(pcms[0], rate)
        if not pcms:
            raise BadAudio(f"{wavs[0]}: no caller sound found (all frames below {SPEECH_DBFS} dBFS)")
    return pcms, rate


def simulate(
    wavs: list[Path],
    case: Any = None,
    now: dt.datetime | None = None,
    fast: bool = True,
    out_dir: Path | None = None,
    settings: Any = None,
    *,
    store: Any = None,
    seed: int | None = 0,
) -> dict[str, Any]:
    """Run one call with the caller side from `wavs` (none: the bundled demo).  Raises BadAudio."""
    from ivr.settings import load_settings
    from ivr.store import Store

    settings = settings or load_settings()
    turns, rate = _load(list(wavs) or [DEMO_WAV])
    wiring = wiring_for(settings)
    own_store = store is None
    store = store or Store(settings.database_url)
    clock = FastClock() if fast else RealClock()
    transferred: list[Any] = []
    engine = wiring.call(store, rate, transport="wav", case=case, now=now, seed=seed, on_transfer=transferred.append)
    try:
        caller, bot = _run(engine, turns, rate, clock, fast, transferred)
        if transferred:  # no agent to ring here: the hand-off counts as accepted
            engine.transfer_result(True, "simulated: no agent leg in a WAV call")
    finally:
        engine.hangup()
        engine.join(10)
    out_dir = Path(out_dir) if out_dir else settings.recordings_dir
    rec_path = write_wav(out_dir / f"{engine.session.call_id}.wav", interleave(caller, bot), rate, channels=2)
    engine.session.set_recording(str(rec_path))
    report = engine.session.report()
    report["timing"] = engine.turns
    report["recording"] = str(rec_path)
    report["duration_s"] = round(len(caller) / (2 * rate), 3)
    report["asr"] = "vosk" if wiring.resources.model is not None else None
    if own_store:
        store.engine.dispose()
    return report


def _run(
    engine: CallEngine, turns: list[bytes], rate: int, clock: Any, fast: bool, transferred: list[Any]
) -> tuple[bytes, bytes]:
    """Lock-step media loop: push 20 ms of caller audio, pull 20 ms of bot audio."""
    n = bytes_per_ms(rate) * TICK_MS
    caller: list[bytes] = []
    bot: list[bytes] = []
    pending = list(turns)
    current: bytes | None = None
    pos = 0
    listening_ticks = 0
    gap = silence(TICK_MS, rate)
    t_next = clock.now()
    while not engine.finished.is_set() and not transferred and len(caller) * TICK_MS / 1000 < MAX_CALL_S:
        listening_ticks = listening_ticks + 1 if engine.listening else 0
        if current is None and listening_ticks * TICK_MS >= REACTION_MS:
            if not pending:
                break  # script done and the bot waits for an answer: the caller hangs up
            current, pos = pending.pop(0), 0
        if current is not None:
            frame = current[pos : pos + n].ljust(n, b"\0")
            pos += n
            if pos >= len(current):
                current = None
        else:
            frame = gap
        engine.push_audio(frame)
        if fast:
            engine.wait_idle()
        caller.append(frame)
        bot.append(engine.pull_audio(n))
        if fast:
            engine.wait_idle()  # let the worker see what was played (prompt end, transfer)
        t_next += TICK_MS / 1000
        clock.sleep(t_next - clock.now())
    return b"".join(caller), b"".join(bot)
