"""Early endpointing (VoiceXML's completetimeout): when the streaming partial result is already a
whole grammar phrase that no other phrase continues, a short silence ends the turn instead of the
menu's full end-of-speech budget.  Logic on the Endpointer alone; behaviour with the real Vosk
model inside the real engine."""

from __future__ import annotations

import pytest
from audio_helpers import REPO, TTS_ZH, korean_turn, read_wav, speech_bounds

from ivr.asr import CompiledGrammar
from ivr.audio import silence
from ivr.grammar import GrammarError, load_grammars
from ivr.vad import Endpointer, EndpointTiming, Utterance

BUDGET_MS, COMPLETE_MS = 900, 250


def test_only_phrases_nothing_continues_are_complete() -> None:
    g = CompiledGrammar(("是", "是 的", "是 我", "对", "不 是", "[unk]"), ())
    assert g.complete == {"是 的", "是 我", "对", "不 是"}  # "是" could still become 是的/是我


def test_a_phrase_is_finished_when_every_continuation_means_the_same() -> None:
    """是我 → 是我本人 changes nothing (confirm); 是 → 是谁 (ask_who) does."""
    phrases = {
        "是": "confirm",
        "是 我": "confirm",
        "是 我 本人": "confirm",
        "是 谁": "ask_who",
        "不 是": "deny",
        "不 是 我": "deny",
        "三": None,
        "三 千": None,
    }
    g = CompiledGrammar(tuple(phrases), (), tuple(phrases.values()))
    assert g.complete == {"是 我", "是 我 本人", "是 谁", "不 是", "不 是 我", "三 千"}


def test_shipped_opening_grammar_finishes_the_common_answers() -> None:
    from ivr.asr import Vocabulary
    from ivr.grammar import cached_grammars

    class EveryWordKnown:  # the Mandarin model is absent here: assume its vocabulary has every word
        def vosk_model_find_word(self, word: str) -> int:
            return 1

    g = cached_grammars(str(REPO / "grammars"))
    complete = Vocabulary(EveryWordKnown()).compile(g.phrase_intents("opening")).complete
    assert {"是 我", "对", "嗯", "好", "不是", "我 就是"} <= complete
    assert "是" not in complete  # 是谁 (ask_who) may follow


SPEECH = silence(500, 16000) + read_wav(TTS_ZH / "opening_confirm.wav").pcm  # 是的，我是本人
SPEECH_END = speech_bounds(SPEECH, 16000)[1]


def _endpoint(verdicts: dict[float, bool], timing: EndpointTiming) -> Utterance:
    """Real Mandarin speech through the Endpointer; the recogniser's verdicts (is the partial a
    whole phrase?) arrive at the given media times."""
    pcm = SPEECH + silence(2000, 16000)
    ep = Endpointer(16000, timing=timing)
    pending = sorted(verdicts.items())
    for i in range(0, len(pcm), 640):
        while pending and ep.in_speech and ep.now >= pending[0][0]:
            ep.phrase_complete(pending.pop(0)[1])
        for ev in ep.feed(pcm[i : i + 640]):
            if isinstance(ev, Utterance):
                return ev
    raise AssertionError("no utterance")


TIMING = EndpointTiming(end_silence_ms=BUDGET_MS, complete_silence_ms=COMPLETE_MS)


def test_complete_phrase_needs_only_the_short_silence() -> None:
    full = _endpoint({}, TIMING)
    early = _endpoint({SPEECH_END: True}, TIMING)  # the partial became a whole phrase as the caller stopped
    assert not full.early and full.detected_at - full.speech_end == pytest.approx(BUDGET_MS / 1000, abs=0.1)
    assert early.early and early.detected_at - early.speech_end == pytest.approx(COMPLETE_MS / 1000, abs=0.05)
    assert early.speech_end == pytest.approx(full.speech_end, abs=0.03)  # same speech, earlier decision


def test_a_withdrawn_verdict_waits_the_budget_again() -> None:
    """The caller went on after a whole phrase (是的 → 是的，我是本人): the next partial is no
    longer a phrase, so the comma pause and the end get the full budget."""
    utt = _endpoint({0.9: True, 1.2: False}, TIMING)
    assert not utt.early and utt.speech_end == pytest.approx(SPEECH_END, abs=0.05)
    assert utt.detected_at - utt.speech_end == pytest.approx(BUDGET_MS / 1000, abs=0.1)


def test_menus_without_complete_silence_always_wait_the_budget() -> None:
    utt = _endpoint({SPEECH_END: True}, EndpointTiming(end_silence_ms=BUDGET_MS))
    assert not utt.early and utt.detected_at - utt.speech_end == pytest.approx(BUDGET_MS / 1000, abs=0.1)


def test_complete_silence_longer_than_the_budget_is_a_grammar_error(tmp_path) -> None:
    (tmp_path / "global.yaml").write_text("intents: {}\n", encoding="utf-8")
    (tmp_path / "m.yaml").write_text(
        "intents:\n  a: {phrases: [好]}\ntiming: {end_silence_ms: 500, complete_silence_ms: 800}\n", encoding="utf-8"
    )
    with pytest.raises(GrammarError, match=r"m\.yaml.*complete_silence_ms.*got 800"):
        load_grammars(tmp_path)


def test_shipped_short_answer_menus_end_early_and_slot_menus_do_not() -> None:
    from ivr.grammar import cached_grammars

    g = cached_grammars(str(REPO / "grammars"))
    for menu in ("opening", "purpose", "closing"):
        t = g.menu(menu).timing
        assert t.complete_silence_ms is not None and t.complete_silence_ms <= t.end_silence_ms - 200
    for menu in ("income_amount", "promise", "plan", "expenses"):  # numbers and lists run on: 三千…五百
        assert g.menu(menu).timing.complete_silence_ms is None


# ---------------------------------------------------------------- real model, real engine


def _turn(korean_model, korean_speech, tmp_path, settings, word: str, timing: str) -> dict:
    speech, t = korean_turn(
        korean_model,
        korean_speech(word),
        tmp_path,
        settings.cache_dir,
        "intents:\n  agree: {phrases: ['네']}\n  thanks: {phrases: ['네 감사합니다']}\n"
        f"  hello: {{phrases: ['안녕하세요']}}\ntiming: {timing}\n",
    )
    return {**t, "text": speech.text}


EARLY = f"{{end_silence_ms: {BUDGET_MS}, complete_silence_ms: {COMPLETE_MS}}}"


def test_engine_ends_a_whole_phrase_early(korean_model, korean_speech, tmp_path, settings) -> None:
    t = _turn(korean_model, korean_speech, tmp_path, settings, "안녕하세요", EARLY)
    assert t["text"] == "안녕하세요" and t.get("early_endpoint") is True
    # the partial lags the audio by up to one decode chunk (100 ms): 250 ms + ≤ 150 ms, far below 900
    assert COMPLETE_MS / 1000 - 0.03 <= t["endpoint_s"] - t["end_of_speech_s"] <= COMPLETE_MS / 1000 + 0.15


def test_engine_waits_when_a_longer_phrase_could_follow(korean_model, korean_speech, tmp_path, settings) -> None:
    """네 (agree) is a phrase, but 네 감사합니다 (thanks) continues it into another intent: the
    caller may not be done."""
    t = _turn(korean_model, korean_speech, tmp_path, settings, "네", EARLY)
    assert t["text"] == "네"
    # Not ended at 250 ms.  (This model, whose grammars have no [unk], lets the partial drift to
    # 네 감사합니다 during the trailing silence, which then ends the turn ~700 ms after the speech —
    # still within the budget, and the final result is 네.)
    assert t["endpoint_s"] - t["end_of_speech_s"] >= COMPLETE_MS / 1000 + 0.3


def test_engine_without_complete_silence_waits_the_budget(korean_model, korean_speech, tmp_path, settings) -> None:
    t = _turn(korean_model, korean_speech, tmp_path, settings, "안녕하세요", f"{{end_silence_ms: {BUDGET_MS}}}")
    assert t["text"] == "안녕하세요" and "early_endpoint" not in t
    assert t["endpoint_s"] - t["end_of_speech_s"] == pytest.approx(BUDGET_MS / 1000, abs=0.1)
