"""The Player alone (no engine, no store, no TTS): release times, first-audio notices, barge-in
truncation, protected notices, farewells before a hang-up, controls after their audio."""

from __future__ import annotations

from typing import Any

import pytest

from ivr.engine import FastClock
from ivr.events import Action, Hangup, Say, Transfer
from ivr.player import ControlDue, FirstAudio, PlaybackNotice, Player, PromptPlayed

RATE = 8000
TICK = RATE * 2 // 50  # 20 ms
SAMPLE = b"\x00\x10"  # a non-zero sample: bot audio is easy to tell from silence


def say(prompt_id: str, ms: int, protected_ms: int = 0) -> Say:
    return Say(prompt_id, 0, f"{ms}", protected_ms=protected_ms)


def render(s: Say) -> bytes:
    """A prompt's audio: as many milliseconds of non-zero samples as its text says."""
    return SAMPLE * (RATE * int(s.text) // 1000)


class Wakes:
    """Counts the player's `on_notice` calls (the engine posts PlaybackReached on each)."""

    def __init__(self) -> None:
        self.count = 0

    def __call__(self) -> None:
        self.count += 1


def new_player() -> tuple[Player, Wakes]:
    wakes = Wakes()
    return Player(RATE, render, wakes), wakes


def play(player: Player, seconds: float, clock: FastClock | None = None) -> bytes:
    """Pull `seconds` of bot audio 20 ms at a time, as a transport's media clock would."""
    out = []
    for _ in range(round(seconds * 50)):
        out.append(player.pull(TICK))
        if clock is not None:
            clock.sleep(0.02)
    return b"".join(out)


def audible_ms(bot: bytes) -> list[int]:
    """The 10 ms blocks (by index) that hold bot audio."""
    block = RATE * 2 // 100
    return [i // block for i in range(0, len(bot), block) if any(bot[i : i + block])]


def test_reply_is_held_until_its_release_time_on_a_fast_clock() -> None:
    player, _ = new_player()
    clock = FastClock()
    actions: list[Action] = [say("q", 500)]
    # the caller's endpoint at 1.0 s and 0.2 s of processing: not before 1.2 s of media time
    assert player.queue(actions, None, at=1.0, spent=0.2)
    bot = play(player, 3.0, clock)
    blocks = audible_ms(bot)
    assert clock.now() == pytest.approx(3.0)
    assert 1.2 <= blocks[0] / 100 <= 1.2 + 0.02 + 0.01  # first pull at or after the release time
    assert len(blocks) == 50  # then the whole 500 ms, unbroken
    assert blocks[-1] - blocks[0] == 49


def test_nothing_queued_is_reported() -> None:
    player, _ = new_player()
    assert not player.queue([], None, 0.0, 0.0)
    assert player.pull(TICK) == bytes(TICK) and not player.playing


def test_first_audio_notice_sets_the_turn_time_and_wakes_the_worker() -> None:
    player, wakes = new_player()
    turn: dict[str, Any] = {"turn": 1, "end_of_speech_s": 0.5}
    player.queue([say("a", 300), say("b", 300)], turn, at=0.7, spent=0.0)
    play(player, 0.9)
    notices, idle = player.take_notices()
    assert notices == [FirstAudio(turn)] and not idle and wakes.count >= 1
    assert turn["first_audio_s"] == pytest.approx(0.72, abs=0.001)  # first pull at/after 0.7 s
    play(player, 1.0)
    notices, idle = player.take_notices()
    # one first-audio notice per turn (not per prompt), then each prompt's end
    assert [type(n) for n in notices] == [PromptPlayed, PromptPlayed] and idle
    assert player.take_notices() == ([], True)


def test_controls_come_due_only_after_the_audio_before_them() -> None:
    player, _ = new_player()
    player.queue([say("bye", 400), Hangup("completed")], None, 0.0, 0.0)
    play(player, 0.2)
    assert ControlDue(Hangup("completed")) not in player.take_notices()[0]
    play(player, 0.4)
    notices, idle = player.take_notices()
    assert notices[-1] == ControlDue(Hangup("completed")) and idle


def test_barge_in_spares_the_protected_part_then_stops_the_prompt_and_keeps_the_transfer() -> None:
    player, _ = new_player()
    player.queue([say("notice", 3000, protected_ms=1000), Transfer("requested")], None, 0.0, 0.0)
    play(player, 0.5)
    assert player.protected and player.barge_in() is None  # the recording notice plays on
    play(player, 0.7)  # 1.2 s: past the protected part
    assert not player.protected
    assert player.barge_in() == pytest.approx(1.2)
    assert not player.playing
    assert not any(play(player, 1.0))  # the rest of the prompt is gone ...
    notices: list[PlaybackNotice] = player.take_notices()[0]
    assert ControlDue(Transfer("requested")) in notices  # ... the transfer still happens
    assert not any(isinstance(n, PromptPlayed) for n in notices)  # and the prompt was not "played"


def test_a_farewell_before_a_hangup_is_not_cut() -> None:
    player, _ = new_player()
    player.queue([say("farewell", 1500), Hangup("completed")], None, 0.0, 0.0)
    bot = play(player, 0.5)
    assert not player.protected and player.barge_in() is None
    bot += play(player, 1.5)
    assert len(audible_ms(bot)) == 150  # heard in full
    assert player.take_notices()[0][-2:] == [PromptPlayed(say("farewell", 1500)), ControlDue(Hangup("completed"))]


def test_pull_is_always_the_size_asked_for() -> None:
    player, _ = new_player()
    player.queue([say("q", 30)], None, 0.0, 0.0)
    assert [len(player.pull(n)) for n in (7 * 2, TICK, 3 * TICK, TICK)] == [14, TICK, 3 * TICK, TICK]
    player.clear()
    assert player.pull(TICK) == bytes(TICK)
