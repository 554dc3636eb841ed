"""The texts of the shared synthetic caller recordings (testdata/speech/tts_zh/texts.tsv): what the
audio pipeline feeds the understander when ASR is perfect must already be understood right."""

from __future__ import annotations

import pytest

from ivr.understanding import Understander

from .conftest import NOW, REPO

TEXTS = REPO.parent / "shared" / "testdata" / "speech" / "tts_zh" / "texts.tsv"
EXPECTED = {  # recording id → (menu, intent, slots)
    "opening_confirm": ("opening", "confirm", {}),
    "opening_deny": ("opening", "deny", {}),
    "opening_third_party": ("opening", "third_party", {}),
    "purpose_ack": ("purpose", "ack", {}),
    "purpose_dispute": ("purpose", "dispute", {}),
    "income_salary": ("income_source", "salary", {}),
    "income_part_time": ("income_source", "part_time", {}),
    "income_unstable": ("income_source", "unstable", {}),
    "income_none": ("income_source", "none", {}),
    "amount_3000": ("income_amount", "amount", {"amount": 3000}),
    "expenses_rent_food": ("expenses", "expenses", {"categories": ["rent", "utilities", "food"]}),
    "unusual_medical": ("unusual_expense", "medical_emergency", {}),
    "plan_installment": ("plan", "installment", {"months": 6}),
    "plan_extension": ("plan", "extension", {"months": 1}),
    "promise_friday": ("promise", "date", {"date": "2026-11-27"}),
    "human_request": ("opening", "human", {}),
    "angry_stop": ("purpose", "stop_calling", {}),
    "distress": ("plan", "distress", {}),
    "confused": ("income_source", "confused", {}),
    "repeat": ("expenses", "repeat", {}),
}


def _texts() -> dict[str, str]:
    if not TEXTS.exists():
        pytest.skip(f"{TEXTS} not found (shared test data)")
    return {row.split("\t")[0]: row.split("\t")[1] for row in TEXTS.read_text(encoding="utf-8").splitlines() if row}


def test_every_recording_text_is_understood(nlu: Understander) -> None:
    texts = _texts()
    assert set(texts) == set(EXPECTED)
    for rec, (menu, intent, slots) in EXPECTED.items():
        u = nlu.understand(menu, texts[rec], NOW)
        assert (u.intent, u.slots) == (intent, slots), (rec, texts[rec], u)
