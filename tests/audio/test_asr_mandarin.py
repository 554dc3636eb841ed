"""Mandarin audio through the menus' grammars (needs the Mandarin model: skipped with a message
otherwise; install it with `ivr models fetch zh-CN` or set IVR_VOSK_MODEL)."""

from __future__ import annotations

import datetime as dt

import pytest
from audio_helpers import TTS_ZH

from ivr.asr import decode
from ivr.audio import read_wav
from ivr.codec import resample, ulaw_decode, ulaw_encode
from ivr.grammar import load_grammars
from ivr.settings import REPO_ROOT
from ivr.understanding import Understander

pytestmark = pytest.mark.mandarin

EXPECTED = {  # tts_zh file → (menu it answers, intent)
    "opening_confirm": ("opening", "confirm"),
    "opening_deny": ("opening", "deny"),
    "opening_third_party": ("opening", "third_party"),
    "purpose_ack": ("purpose", "ack"),
    "purpose_dispute": ("purpose", "dispute"),
    "income_salary": ("income_source", "salary"),
    "income_part_time": ("income_source", "part_time"),
    "income_unstable": ("income_source", "unstable"),
    "income_none": ("income_source", "none"),
    "amount_3000": ("income_amount", "amount"),
    "expenses_rent_food": ("expenses", "expenses"),
    "unusual_medical": ("unusual_expense", "medical_emergency"),
    "plan_installment": ("plan", "installment"),
    "plan_extension": ("plan", "extension"),
    "promise_friday": ("promise", "date"),
    "human_request": ("opening", "human"),
    "angry_stop": ("purpose", "stop_calling"),
    "distress": ("plan", "distress"),
    "confused": ("opening", "confused"),
    "repeat": ("purpose", "repeat"),
}


@pytest.fixture(scope="module")
def zh_model(mandarin_model_path):
    from ivr.models import load_model

    return load_model(mandarin_model_path)


@pytest.mark.parametrize("rate", [16000, 8000])
def test_caller_answers_are_understood(zh_model, rate: int) -> None:
    grammars = load_grammars(REPO_ROOT / "grammars")
    und = Understander(grammars)
    wrong = []
    for name, (menu, intent) in EXPECTED.items():
        pcm = read_wav(TTS_ZH / f"{name}.wav").pcm
        if rate == 8000:  # telephone band: G.711 µ-law at 8 kHz
            pcm = ulaw_decode(ulaw_encode(resample(pcm, 16000, 8000)))
        hyp = decode(zh_model, pcm, rate, grammars.phrases(menu))
        got = und.understand(menu, hyp.text, dt.datetime(2026, 11, 18, 10, 30)).intent
        if got != intent:
            wrong.append(f"{name}: heard {hyp.text!r} ({hyp.source}) → {got}, expected {intent}")
    assert len(wrong) <= 3, "\n".join(wrong)  # small model, ~24 % CER: most answers, not all


def test_every_grammar_word_is_spelled_with_model_words(zh_model) -> None:
    from ivr.asr import compile_grammar

    grammars = load_grammars(REPO_ROOT / "grammars")
    for menu in grammars.menus:
        g = compile_grammar(zh_model, grammars.phrases(menu))
        assert g.phrases and not any(c.startswith("dropped") for c in g.changes), (menu, g.changes)
