"""VAD endpointing on real Mandarin speech: start/end times, pre-roll, silence budget, timeouts,
and which sounds may barge in."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from audio_helpers import TTS_ZH, espeak, speech_bounds

from ivr.audio import read_wav, silence
from ivr.vad import Endpointer, EndpointTiming, NoInputTimeout, SpeechStarted, Utterance


def utterances(events) -> list[Utterance]:
    return [e for e in events if isinstance(e, Utterance)]


@pytest.mark.parametrize("name", ["opening_confirm", "human_request", "plan_installment", "income_salary"])
def test_endpoints_match_the_speech(name: str) -> None:
    a = read_wav(TTS_ZH / f"{name}.wav")
    lead = 1000
    pcm = silence(lead, 16000) + a.pcm + silence(2000, 16000)
    start, end = speech_bounds(pcm, 16000)
    ep = Endpointer(16000, timing=EndpointTiming(end_silence_ms=700))
    (utt,) = utterances(ep.feed(pcm))
    assert utt.start <= start - 0.05, "pre-roll: the first syllable must be inside the utterance"
    assert abs(utt.speech_end - end) <= 0.1
    assert utt.detected_at == pytest.approx(utt.speech_end + 0.7, abs=0.12)
    # the returned audio starts exactly at utt.start
    offset = int(utt.start * 16000) * 2
    assert utt.pcm[:3200] == pcm[offset : offset + 3200]


def test_silence_budget_decides_whether_a_pause_ends_the_turn() -> None:
    """是的，我是本人 twice, 1.4 s apart: the comma pause (~0.35 s) splits only under a tight budget."""
    a = read_wav(TTS_ZH / "opening_confirm.wav").pcm
    pcm = silence(500, 16000) + a + silence(600, 16000) + a + silence(2500, 16000)
    counts = {
        ms: len(utterances(Endpointer(16000, timing=EndpointTiming(end_silence_ms=ms)).feed(pcm)))
        for ms in (400, 700, 2000)
    }
    assert counts == {400: 4, 700: 2, 2000: 1}


def test_max_speech_cuts_long_talk() -> None:
    a = read_wav(TTS_ZH / "angry_stop.wav").pcm
    ep = Endpointer(16000, timing=EndpointTiming(end_silence_ms=2000, max_speech_ms=1500))
    utts = utterances(ep.feed(silence(300, 16000) + a))
    assert utts and utts[0].cut and utts[0].detected_at - utts[0].start == pytest.approx(1.5, abs=0.05)


def test_no_input_timeout_and_silence_is_not_speech() -> None:
    ep = Endpointer(8000)
    ep.arm(EndpointTiming(no_input_ms=2000))
    rng = np.random.default_rng(0)
    hiss = (rng.normal(0, 30, 8000 * 3)).astype(np.int16).tobytes()  # quiet line noise (-60 dBFS)
    events = ep.feed(hiss)
    assert [type(e) for e in events] == [NoInputTimeout]
    assert events[0].at == pytest.approx(2.0, abs=0.03)
    assert ep.feed(silence(3000, 8000)) == []  # fires once per arm


@pytest.mark.parametrize("frame_ms", [10, 20, 30])
def test_frame_sizes(frame_ms: int) -> None:
    a = read_wav(TTS_ZH / "repeat.wav").pcm
    ep = Endpointer(16000, frame_ms=frame_ms)
    events = ep.feed(silence(500, 16000) + a + silence(1500, 16000))
    assert [type(e) for e in events] == [SpeechStarted, Utterance]


def test_filler_does_not_barge_in_but_speech_does(tmp_path: Path) -> None:
    filler = silence(300, 16000) + espeak("嗯", "cmn", tmp_path / "en.wav", amplitude=40)
    ep = Endpointer(16000)
    ready, events = [], []
    for i in range(0, len(filler), 320):
        events += ep.feed(filler[i : i + 320])
        ready.append(ep.barge_in_ready())
    assert any(isinstance(e, SpeechStarted) for e in events), "the filler is heard as speech"
    assert not any(ready), "but it is too short and soft to interrupt a prompt"
    ep = Endpointer(16000)
    speech = silence(300, 16000) + read_wav(TTS_ZH / "human_request.wav").pcm
    first = None
    for i in range(0, len(speech), 320):
        ep.feed(speech[i : i + 320])
        if ep.barge_in_ready():
            first = (i + 320) / 32000
            break
    start, _ = speech_bounds(speech, 16000)
    assert first is not None and first - start <= 0.45
