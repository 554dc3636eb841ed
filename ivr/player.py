"""Prompt playback for one call: the outbox between the engine's worker and the media thread.

    worker: queue(actions) ─▶ [outbox: prompt audio, Transfer, Hangup] ─▶ pull(n) on the media thread
                     ◀── notices (prompt played, first audio of a turn, control due) ──┘

The worker renders a reply and queues it with its release time `not_before` (media seconds: the
caller's endpoint plus the real processing time), so a WAV fed faster than real time reports the
latencies a live call would.  The media thread only copies bytes out (O(1), under a lock held for
microseconds) and leaves notices for the worker, which it wakes through `on_notice`.

Barge-in truncates the prompt playing now — never its protected first part (the recording notice)
and never a farewell that precedes a Hangup — and keeps the controls, so a pending transfer still
happens.
"""

from __future__ import annotations

import collections
import logging
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from ivr.audio import bytes_per_ms
from ivr.events import Action, Hangup, Say, Transfer

log = logging.getLogger(__name__)

# ---------------------------------------------------------------- outbox items


@dataclass
class _Playback:
    pcm: bytes
    say: Say
    turn: dict[str, Any] | None  # timing record of the turn this prompt answers
    not_before: float  # media seconds: earliest release (endpoint + real processing time)
    pos: int = 0  # bytes already played


@dataclass
class _Control:
    action: Transfer | Hangup
    not_before: float


# ---------------------------------------------------------------- notices (media thread → worker)


@dataclass(frozen=True)
class PromptPlayed:
    """The last byte of this prompt went out."""

    say: Say


@dataclass(frozen=True)
class FirstAudio:
    """The first byte of the reply to a turn went out; `turn["first_audio_s"]` is now set."""

    turn: dict[str, Any]


@dataclass(frozen=True)
class ControlDue:
    """The audio queued before this Transfer/Hangup has been played: act on it now."""

    action: Transfer | Hangup


PlaybackNotice = PromptPlayed | FirstAudio | ControlDue


class Player:
    """One call's bot side.  `rate` is the transport's sample rate (16-bit mono); `render` turns a
    Say into PCM at that rate; `on_notice` is called (from `pull`) when notices are waiting."""

    def __init__(self, rate: int, render: Callable[[Say], bytes], on_notice: Callable[[], None]) -> None:
        self.rate = rate
        self._render = render
        self._on_notice = on_notice
        self._bpm = bytes_per_ms(rate)
        self._lock = threading.Lock()
        self._outbox: collections.deque[_Playback | _Control] = collections.deque()
        self._bot_bytes = 0  # bytes pulled so far (bot media clock)
        self._notices: collections.deque[PlaybackNotice] = collections.deque()

    # ---------------------------------------------------------------- worker side
    def queue(self, actions: Iterable[Action], turn: dict[str, Any] | None, at: float, spent: float) -> bool:
        """Render and queue a reply to the input that ended at media second `at` (`turn`: its
        timing record, None for the greeting or a transfer result).  Released no earlier than
        `at` + `spent` (processing so far) + the rendering time.  Returns whether anything was queued."""
        t0 = time.perf_counter()
        items: list[_Playback | _Control] = []
        for action in actions:
            if isinstance(action, Say):
                items.append(_Playback(self._render(action), action, turn, 0.0))
            else:
                items.append(_Control(action, 0.0))
        not_before = at + spent + (time.perf_counter() - t0)
        for item in items:
            item.not_before = not_before
        with self._lock:
            self._outbox.extend(items)
        return bool(items)

    def take_notices(self) -> tuple[list[PlaybackNotice], bool]:
        """The notices left by `pull` since the last call, and whether the outbox is now empty."""
        with self._lock:
            notices = list(self._notices)
            self._notices.clear()
            return notices, not self._outbox

    @property
    def playing(self) -> bool:
        """Prompt audio is queued or playing."""
        with self._lock:
            return any(isinstance(i, _Playback) for i in self._outbox)

    @property
    def protected(self) -> bool:
        """The prompt playing now is still in its mandatory first part (recording notice)."""
        with self._lock:
            head = self._outbox[0] if self._outbox else None
            return isinstance(head, _Playback) and head.pos < head.say.protected_ms * self._bpm

    def barge_in(self) -> float | None:
        """The caller interrupts: drop the rest of the reply playing now (not its protected part,
        not a farewell).  Returns the media second the bot stopped, None if it plays on."""
        with self._lock:
            if not self._outbox or not isinstance(self._outbox[0], _Playback):
                return None
            head = self._outbox[0]
            if head.pos < head.say.protected_ms * self._bpm:
                return None  # mandatory part (recording notice): keep talking
            if any(isinstance(i, _Control) and isinstance(i.action, Hangup) for i in self._outbox):
                return None  # a farewell (callback number, apology): no question follows, so it is heard in full
            # Drop the rest of this reply's audio; keep controls (a pending transfer still happens).
            kept = [i for i in self._outbox if isinstance(i, _Control)]
            self._outbox.clear()
            self._outbox.extend(kept)
            stopped_at = self._bot_bytes / (self._bpm * 1000)
        log.info("barge-in at %.2fs: prompt %s stopped", stopped_at, head.say.prompt_id)
        return stopped_at

    def clear(self) -> None:
        with self._lock:
            self._outbox.clear()

    # ---------------------------------------------------------------- media thread
    def pull(self, n_bytes: int) -> bytes:
        """Exactly `n_bytes` of bot audio (silence when idle or when the reply is not due yet)."""
        out = bytearray()
        with self._lock:
            start = self._bot_bytes
            while len(out) < n_bytes and self._outbox:
                item = self._outbox[0]
                now = (start + len(out)) / (self._bpm * 1000)
                if item.not_before > now:
                    break  # reply not due yet (fast simulation: processing time not elapsed)
                if isinstance(item, _Control):
                    self._outbox.popleft()
                    self._notices.append(ControlDue(item.action))
                    continue
                if item.pos == 0 and item.turn is not None and "first_audio_s" not in item.turn:
                    item.turn["first_audio_s"] = round(now, 3)
                    self._notices.append(FirstAudio(item.turn))
                take = item.pcm[item.pos : item.pos + n_bytes - len(out)]
                out += take
                item.pos += len(take)
                if item.pos >= len(item.pcm):
                    self._outbox.popleft()
                    self._notices.append(PromptPlayed(item.say))
            self._bot_bytes += n_bytes
            notify = bool(self._notices)
        if notify:
            self._on_notice()
        return bytes(out.ljust(n_bytes, b"\0"))
