"""The Listener without a model or a store: a stub recogniser with CallRecognizer's small interface,
real caller speech (recorded Mandarin), real VAD and DTMF, and a real Player on the bot side.
Early endpointing, barge-in, keys held during a protected notice, no-input and inter-digit timeouts."""

from __future__ import annotations

from typing import Any

import pytest
from audio_helpers import TTS_ZH, speech_bounds

from ivr.audio import read_wav, silence
from ivr.codec import resample
from ivr.dtmf import tone
from ivr.events import Action, Dtmf, Hangup, Hypothesis, NoInput, Say, Speech, Transfer
from ivr.listener import INTER_DIGIT_MS, CallerTurn, Listener, ListenerHooks, MenuSource, PromptState, Recognizer
from ivr.player import ControlDue, Player
from ivr.vad import EndpointTiming

RATE = 8000
TICK = RATE * 2 // 50  # 20 ms
MENU = "opening"
PHRASES: dict[str, str | None] = {"是 的": "confirm", "是 的 我 是": "confirm"}
COMPLETE_MS = 300
BUDGET = EndpointTiming(end_silence_ms=1500, no_input_ms=6000, max_speech_ms=10000, complete_silence_ms=COMPLETE_MS)


def speech(name: str) -> bytes:
    return resample(read_wav(TTS_ZH / f"{name}.wav").pcm, 16000, RATE)


# ---------------------------------------------------------------- stand-ins (checked by mypy)


class Menus:
    """MenuSource: one menu with BUDGET and PHRASES."""

    def __init__(self, timing: EndpointTiming = BUDGET) -> None:
        self._timing = timing

    def timing(self, menu: str | None) -> EndpointTiming:
        return self._timing

    def phrases(self, menu: str | None) -> dict[str, str | None] | None:
        return PHRASES if menu == MENU else None


class StubRecognizer:
    """Recognizer: hears '是' at once and '是 的' once `whole_after_ms` of audio came in; only
    '是 的' is a whole phrase when `finishes` (else a longer phrase could still follow)."""

    def __init__(self, whole_after_ms: int, finishes: bool = True) -> None:
        self.whole_after_bytes = RATE * 2 * whole_after_ms // 1000
        self.finishes = finishes
        self.begun: list[Any] = []
        self._heard = 0
        self._said = ""

    def begin(self, phrases: Any) -> None:
        self.begun.append(phrases)
        self._heard, self._said = 0, ""

    def accept(self, pcm16: bytes) -> str | None:
        self._heard += len(pcm16)
        partial = "是 的" if self._heard >= self.whole_after_bytes else "是"
        if partial != self._said:
            self._said = partial
            return partial
        return None

    def is_complete(self, partial: str) -> bool:
        return self.finishes and partial == "是 的"

    def finish(self) -> Hypothesis:
        return Hypothesis(self._said, confidence=0.9, source="grammar")


class NoPrompt:
    """PromptState of a call whose bot is silent."""

    playing = False
    protected = False


class Coordinator:
    """ListenerHooks doing what CallEngine does: barge-in asks the Player, then listens for the
    menu; a key the session answers with nothing re-listens with the inter-digit timeout."""

    def __init__(self, player: Player | None = None) -> None:
        self.player = player
        self.listener: Listener | None = None
        self.turns: list[CallerTurn] = []
        self.partials: list[str] = []
        self.barge_in_signals = 0
        self.stopped_at: float | None = None

    def current_menu(self) -> str | None:
        return MENU

    def partial(self, text: str) -> None:
        self.partials.append(text)

    def barge_in(self) -> None:
        self.barge_in_signals += 1
        stopped = self.player.barge_in() if self.player is not None else None
        if stopped is not None and self.listener is not None:
            self.stopped_at = stopped
            self.listener.listen(MENU)

    def caller_turn(self, turn: CallerTurn) -> None:
        self.turns.append(turn)
        if isinstance(turn.input, Dtmf) and self.listener is not None:
            self.listener.listen(MENU, inter_digit=True)  # as after a key of a multi-digit entry


def new_listener(
    prompt: PromptState, hooks: Coordinator, recognizer: Recognizer | None = None, menus: MenuSource | None = None
) -> Listener:
    wired: ListenerHooks = hooks
    listener = Listener(RATE, menus or Menus(), prompt, wired, recognizer)
    hooks.listener = listener
    return listener


def run(listener: Listener, caller: bytes, player: Player | None = None) -> bytes:
    """Caller audio in and bot audio out, 20 ms at a time (a transport on a fast clock)."""
    bot = []
    for i in range(0, len(caller), TICK):
        listener.push(caller[i : i + TICK].ljust(TICK, b"\0"))
        if player is not None:
            bot.append(player.pull(TICK))
    return b"".join(bot)


def prompt_player(actions: list[Action]) -> Player:
    """A Player already holding `actions`, each Say as many ms of non-zero audio as its text says."""
    player = Player(RATE, lambda s: b"\x00\x10" * (RATE * int(s.text) // 1000), lambda: None)
    player.queue(actions, None, 0.0, 0.0)
    return player


def bot_stops_at(bot: bytes) -> float:
    """Where the bot audio ends (seconds)."""
    x = bot.rstrip(b"\0")
    return len(x) / 2 / RATE


# ---------------------------------------------------------------- early endpointing


@pytest.mark.parametrize("finishes", [True, False])
def test_a_finished_phrase_ends_the_turn_after_complete_silence_ms(finishes: bool) -> None:
    talk = speech("opening_confirm")
    start, end = speech_bounds(talk, RATE)
    hooks = Coordinator()
    rec = StubRecognizer(whole_after_ms=round((end - start) * 1000), finishes=finishes)
    listener = new_listener(NoPrompt(), hooks, rec)
    listener.listen(MENU)
    run(listener, silence(500, RATE) + talk + silence(2500, RATE))
    (turn,) = hooks.turns
    assert rec.begun == [PHRASES]  # the recogniser got the awaited menu's phrases
    assert hooks.partials == ["是", "是 的"]
    assert turn.input == Speech("是 的", asr_confidence=0.9)
    waited = turn.timing["endpoint_s"] - turn.timing["end_of_speech_s"]
    if finishes:  # a whole phrase: only the short silence
        assert turn.timing["early_endpoint"] is True
        assert waited == pytest.approx(COMPLETE_MS / 1000, abs=0.03)
    else:  # a longer phrase could follow: the menu's whole budget (90 % unvoiced of 1.5 s)
        assert "early_endpoint" not in turn.timing
        assert waited >= 0.9 * BUDGET.end_silence_ms / 1000 - 0.03
    assert turn.at == turn.timing["endpoint_s"] and listener.awaiting is None


def test_no_input_after_the_menus_timeout_and_after_a_key_the_shorter_inter_digit_one() -> None:
    hooks = Coordinator()
    listener = new_listener(NoPrompt(), hooks)
    listener.listen(MENU)
    run(listener, silence(7000, RATE))
    assert [type(t.input) for t in hooks.turns] == [NoInput]
    assert hooks.turns[0].timing["no_input_s"] == pytest.approx(BUDGET.no_input_ms / 1000, abs=0.03)
    listener.listen(MENU)
    run(listener, silence(1000, RATE) + tone("4", 100, RATE) + silence(4000, RATE))
    key, flush = hooks.turns[1:]
    assert key.input == Dtmf("4")
    assert isinstance(flush.input, NoInput)
    assert flush.timing["no_input_s"] - key.at == pytest.approx(INTER_DIGIT_MS / 1000, abs=0.05)


# ---------------------------------------------------------------- barge-in


def test_speech_after_the_protected_part_stops_the_prompt_and_the_transfer_is_kept() -> None:
    player = prompt_player([Say("notice", 0, "5000", protected_ms=1000), Transfer("requested")])
    hooks = Coordinator(player)
    listener = new_listener(player, hooks)
    talk = speech("human_request")
    onset = 2.0 + speech_bounds(talk, RATE)[0]
    bot = run(listener, silence(2000, RATE) + talk + silence(2000, RATE), player)
    # the bot stops once the speech is more than a filler: within the barge-in decision + 100 ms
    assert onset < bot_stops_at(bot) <= onset + 0.45 + 0.1
    assert hooks.stopped_at == pytest.approx(bot_stops_at(bot), abs=0.02)
    assert ControlDue(Transfer("requested")) in player.take_notices()[0]
    # ... and the interruption is the answer to the question (no model: a no-match)
    assert [t.input for t in hooks.turns] == [Speech("[unk]", asr_confidence=0.0)]


def test_speech_during_the_protected_part_does_not_stop_it_nor_make_a_turn() -> None:
    player = prompt_player([Say("notice", 0, "4000", protected_ms=3500)])
    hooks = Coordinator(player)
    listener = new_listener(player, hooks)
    talk = speech("human_request")
    bot = run(listener, silence(300, RATE) + talk + silence(5000, RATE), player)
    assert hooks.barge_in_signals > 0  # the listener heard more than a filler ...
    assert bot_stops_at(bot) == pytest.approx(4.02, abs=0.021)  # ... the Player played on, in full
    assert hooks.turns == []  # talk-over of a prompt that did not barge in is not an answer


def test_a_farewell_before_a_hangup_is_not_cut_by_talk_over() -> None:
    player = prompt_player([Say("farewell", 0, "4000"), Hangup("completed")])
    hooks = Coordinator(player)
    listener = new_listener(player, hooks)
    bot = run(listener, silence(500, RATE) + speech("angry_stop") + silence(4000, RATE), player)
    assert hooks.barge_in_signals > 0 and hooks.stopped_at is None
    assert bot_stops_at(bot) == pytest.approx(4.02, abs=0.021)
    assert player.take_notices()[0][-1] == ControlDue(Hangup("completed"))


# ---------------------------------------------------------------- keys during a protected notice


def test_a_key_during_the_protected_notice_is_held_until_it_ends_then_acted_on() -> None:
    player = prompt_player([Say("notice", 0, "4000", protected_ms=1500)])
    hooks = Coordinator(player)
    listener = new_listener(player, hooks)
    bot = run(listener, silence(300, RATE) + tone("1", 100, RATE) + silence(1000, RATE), player)
    assert hooks.turns == [] and player.playing  # 1.4 s: the notice still plays, the key waits
    bot += run(listener, silence(1000, RATE), player)
    (turn,) = hooks.turns
    assert turn.input == Dtmf("1")
    assert turn.timing["end_of_speech_s"] == pytest.approx(0.35, abs=0.06)  # when it was pressed
    # the notice was heard up to its end, then the key interrupted the rest of the prompt
    assert 1.5 <= bot_stops_at(bot) <= 1.5 + 0.06
