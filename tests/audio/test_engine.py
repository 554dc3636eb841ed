"""The call engine around a real CallSession (real dialog, prompts, SQLite): threading contract,
barge-in, protected prompt parts, DTMF in-band and out-of-band, timings, transfer/hangup."""

from __future__ import annotations

import datetime as dt
import threading
import time
from pathlib import Path

import pytest
from audio_helpers import TTS_ZH, espeak, loud_blocks

from ivr.audio import read_wav, silence
from ivr.codec import resample, to_int16
from ivr.dtmf import tone
from ivr.engine import CallEngine
from ivr.events import Transfer
from ivr.wiring import EngineResources, Wiring

NOW = dt.datetime(2026, 11, 18, 10, 30)  # the fixed call time of tests/conftest.py
RATE = 8000
TICK = RATE * 2 // 50  # 20 ms


@pytest.fixture
def wiring(settings) -> Wiring:
    return Wiring(settings, EngineResources.load(settings, with_asr=False))  # no Mandarin model here: DTMF + no-match


def make_engine(store, wiring: Wiring, rate=RATE, **callbacks) -> CallEngine:
    return wiring.call(store, rate, transport="test", now=NOW, seed=0, **callbacks)


def lockstep(engine: CallEngine, caller: bytes, rate: int = RATE) -> bytes:
    """Push caller audio 20 ms at a time and pull as much bot audio, like a transport (fast clock)."""
    n = rate * 2 // 50
    bot = []
    for i in range(0, len(caller), n):
        engine.push_audio(caller[i : i + n].ljust(n, b"\0"))
        engine.wait_idle()
        bot.append(engine.pull_audio(n))
        engine.wait_idle()
        if engine.finished.is_set():
            break
    return b"".join(bot)


def speech(name: str, rate: int = RATE) -> bytes:
    return resample(read_wav(TTS_ZH / f"{name}.wav").pcm, 16000, rate)


def bot_silent_from(bot: bytes, rate: int, start_s: float) -> float:
    """First moment after start_s from which the bot channel stays digital silence for 300 ms."""
    x = to_int16(bot)
    i = int(start_s * rate)
    win = int(0.3 * rate)
    while i + win <= len(x):
        if not x[i : i + win].any():
            return i / rate
        i += rate // 100
    return float("inf")


def test_media_calls_never_block(store, wiring) -> None:
    """push/pull return at once even while the worker is stuck (e.g. a slow database)."""
    eng = make_engine(store, wiring)
    eng.wait_idle()
    gate = threading.Event()
    orig = eng.session.handle
    eng.session.handle = lambda *a, **k: (gate.wait(5), orig(*a, **k))[1]
    eng.dtmf("1")
    time.sleep(0.05)
    t0 = time.perf_counter()
    for _ in range(50):
        eng.push_audio(silence(20, RATE))
        assert len(eng.pull_audio(TICK)) == TICK
    assert time.perf_counter() - t0 < 0.05
    gate.set()
    eng.hangup()
    eng.join(5)
    assert eng.outcome == "hangup"


def test_first_prompt_plays_and_idle_is_silence(store, wiring) -> None:
    eng = make_engine(store, wiring)
    bot = lockstep(eng, silence(3000, RATE))
    assert len(bot) == 3000 * RATE * 2 // 1000
    assert len(loud_blocks(bot, RATE)) > 100  # the greeting is being spoken
    eng.hangup()
    eng.join(5)
    assert eng.pull_audio(TICK) == bytes(TICK)  # after the call: silence, never an error


def test_protected_part_is_not_interrupted_but_later_speech_barges_in(store, wiring) -> None:
    eng = make_engine(store, wiring)
    protected = 6.0  # opening.ask_identity protected_ms
    talk = speech("human_request")
    caller = silence(1000, RATE) + talk + silence(9000 - 1000 - len(talk) // 16, RATE) + talk + silence(4000, RATE)
    bot = lockstep(eng, caller)
    onset2 = 9.0
    # speech at 1 s (inside the protected 6 s) did not stop the prompt
    assert bot_silent_from(bot, RATE, 0.5) > protected
    # speech at 9 s did: the bot stops within the barge-in decision time + 100 ms
    stopped = bot_silent_from(bot, RATE, onset2 - 0.5)
    first_voiced = onset2 + (loud_blocks(talk, RATE)[0] / 100)
    assert first_voiced < stopped <= first_voiced + 0.45 + 0.1
    # ... and the interrupting utterance was understood normally (no model: a no-match turn)
    report = eng.session.report()
    assert report["turns"][0]["input"] == "speech" and report["turns"][0]["caller"] == "[unk]"
    assert "barge_in_s" in eng.turns[0] or eng.turns[0]["end_of_speech_s"] > onset2
    eng.hangup()


def test_farewell_before_hangup_is_not_cut_by_talk_over(store, wiring) -> None:
    # Key 2 (wrong person) → a farewell with the callback number, then the bot hangs up. Talking over
    # it must not cut it short: nothing follows that the interruption could answer.
    def voiced_blocks_after_key(caller: bytes) -> int:
        eng = make_engine(store, wiring)
        bot = lockstep(eng, caller)
        eng.hangup()
        x = to_int16(bot)[int(eng.turns[0]["first_audio_s"] * RATE) :]  # from the farewell's first sample
        block = RATE // 100
        return sum(1 for i in range(0, len(x) - block, block) if x[i : i + block].any())

    key = silence(7000, RATE) + tone("2", 100, RATE)
    quiet = voiced_blocks_after_key(key + silence(20000, RATE))
    talk = speech("angry_stop")
    talked_over = voiced_blocks_after_key(
        key + silence(1500, RATE) + talk + silence(20000 - 1500 - len(talk) // 2 * 1000 // RATE, RATE)
    )
    assert quiet > 200  # the farewell is at least 2 s of speech
    assert abs(talked_over - quiet) <= 5


def test_filler_does_not_barge_in(store, wiring, tmp_path: Path) -> None:
    eng = make_engine(store, wiring)
    filler = resample(espeak("嗯", "cmn", tmp_path / "en.wav", amplitude=40), 16000, RATE)
    bot = lockstep(eng, silence(8000, RATE) + filler + silence(3000, RATE))
    assert bot_silent_from(bot, RATE, 7.5) > 11.0  # still talking after the 嗯
    assert eng.turns == []  # and the 嗯 was not taken as an answer
    eng.hangup()


def test_inband_and_out_of_band_dtmf_and_turn_timing(store, wiring) -> None:
    from ivr.metrics import REGISTRY

    latencies = REGISTRY.get_sample_value("ivr_turn_latency_seconds_count") or 0.0
    eng = make_engine(store, wiring)
    # in-band "1" after the protected part interrupts the greeting and confirms identity
    caller = silence(7000, RATE) + tone("1", 100, RATE) + silence(3000, RATE)
    lockstep(eng, caller)
    t = eng.turns[0]
    assert t["input"] == "dtmf" and t["end_of_speech_s"] == pytest.approx(7.05, abs=0.06)
    assert t["first_audio_s"] >= t["end_of_speech_s"] and t["latency_ms"] < 1500
    assert REGISTRY.get_sample_value("ivr_turn_latency_seconds_count") == latencies + 1  # the same turn, in /metrics
    assert eng.session.report()["turns"][0]["intent"] == "confirm"
    assert eng.session.dialog.menu == "purpose"
    # out-of-band key (RFC 2833 / SIP INFO) reaches the dialog the same way
    eng.dtmf("0")
    transfers: list[Transfer] = []
    eng.on_transfer = transfers.append
    lockstep(eng, silence(8000, RATE))
    assert transfers and transfers[0].reason == "requested" and transfers[0].escalation_id
    eng.hangup()
    eng.join(5)
    assert eng.outcome == "escalated"


def test_no_input_after_the_prompt_ends(store, wiring) -> None:
    eng = make_engine(store, wiring)
    lockstep(eng, silence(7000, RATE))
    eng.dtmf("1")  # after the protected part: confirm, then the purpose question is asked
    bot = lockstep(eng, silence(60000, RATE))
    turns = eng.session.report()["turns"]
    assert [t["input"] for t in turns[:2]] == ["dtmf", "noinput"]
    # the no-input timer started when the question ended, not when it started
    q_end = 7.0 + bot_silent_from(bot, RATE, eng.turns[0]["first_audio_s"] - 7.0)
    assert eng.turns[1]["no_input_s"] == pytest.approx(q_end + 6.0, abs=0.35)  # purpose: 6000 ms
    eng.hangup()


def test_transport_rate_48k_is_converted(store, wiring) -> None:
    eng = make_engine(store, wiring, rate=48000)
    bot = lockstep(eng, silence(2000, 48000), rate=48000)
    assert len(bot) == 2 * 48000 * 2 and len(loud_blocks(bot, 48000)) > 50
    eng.hangup()


def test_two_calls_in_parallel_are_independent(store, wiring) -> None:
    engines = [make_engine(store, wiring) for _ in range(2)]
    keys = ["1", "2"]
    threads = [
        threading.Thread(target=lockstep, args=(e, silence(8000, RATE) + tone(k, 100, RATE) + silence(2000, RATE)))
        for e, k in zip(engines, keys)
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    intents = [e.session.report()["turns"][0]["intent"] for e in engines]
    assert intents == ["confirm", "deny"]
    for e in engines:
        e.hangup()


def test_key_during_the_protected_notice_acts_when_the_notice_ends(store, wiring) -> None:
    eng = make_engine(store, wiring)
    bot = lockstep(eng, silence(2000, RATE) + tone("1", 100, RATE) + silence(10000, RATE))
    # the notice was not cut: the bot talked on past the key, up to the end of the protected 6 s ...
    assert bot_silent_from(bot, RATE, 1.0) >= 6.0
    # ... and then the key was acted on, not lost
    turn = eng.session.report()["turns"][0]
    assert turn["input"] == "dtmf" and turn["intent"] == "confirm"
    assert eng.turns[0]["end_of_speech_s"] == pytest.approx(2.05, abs=0.06)
    eng.hangup()


def test_case_pieces_are_rendered_while_the_opening_plays(store, settings) -> None:
    """The reply that first says the debtor's amount must not wait for TTS: the case's pieces are
    synthesised on a side thread as the call starts (a fresh cache: nothing was there before)."""
    from ivr.case import Case

    res = EngineResources.load(settings, with_asr=False)
    case = Case(name="欧阳明", amount=4321)
    eng = Wiring(settings, res).call(store, RATE, transport="test", case=case, now=NOW, seed=0)
    pieces = eng.session.dialog.dynamic_pieces()
    assert ("欧阳明", 1.0) in pieces and ("四千三百二十一元", 1.0) in pieces
    deadline = time.monotonic() + 20
    while not all(res.prompt_audio.dynamic_path(t, RATE, s).is_file() for t, s in pieces):
        assert time.monotonic() < deadline, "case pieces not pre-rendered"
        time.sleep(0.05)
    tts_dir = res.prompt_audio.dynamic_path("x", RATE, 1.0).parent
    before = {f: f.stat().st_mtime_ns for f in tts_dir.iterdir()}
    lockstep(eng, silence(7000, RATE) + tone("1", 100, RATE) + silence(4000, RATE))  # confirm → amount said
    assert "四千三百二十一元" in eng.session.report()["turns"][0]["bot"]
    assert {f: f.stat().st_mtime_ns for f in tts_dir.iterdir()} == before  # nothing case-specific rendered mid-turn
    eng.hangup()
