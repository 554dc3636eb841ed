"""The grammar files: every SPEC menu and intent, the announced DTMF keys, per-menu timing."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from ivr.grammar import GrammarError, Grammars, load_grammars

from .conftest import GRAMMARS_DIR

SPEC_INTENTS = {
    "opening": {"confirm", "deny", "third_party", "ask_who", "busy"},
    "purpose": {"ack", "dispute", "already_paid"},
    "income_source": {"salary", "part_time", "unstable", "none"},
    "income_amount": {"amount", "unknown"},
    "unusual_expense": {"accident", "medical_emergency", "investment_loss", "job_loss", "none"},
    "plan": {"full", "installment", "extension", "partial", "cannot"},
    "promise": {"date"},
    "closing": set(),
}
# SPEC §1 globals; slower, question and reduction since SPEC v2 (issue 12).  `callback` is heard by the
# dialog (busy/third party answers and ivr/callback_time.py), not as a grammar intent.
GLOBAL = {
    "human",
    "repeat",
    "confused",
    "complaint",
    "stop_calling",
    "distress",
    "abuse",
    "slower",
    "question",
    "reduction",
}
KEYS = {
    "global": {"0": "human", "*": "repeat"},
    "opening": {"1": "confirm", "2": "deny", "3": "third_party", "9": "busy"},
    "purpose": {"1": "ack", "2": "dispute", "3": "already_paid"},
    "income_source": {"1": "salary", "2": "part_time", "3": "unstable", "4": "none"},
    "expenses": {
        "1": "rent",
        "2": "utilities",
        "3": "food",
        "4": "education",
        "5": "medical",
        "6": "entertainment",
        "7": "social",
        "8": "family",
        "9": "other_debt",
        "#": "unknown",
    },
    "unusual_expense": {
        "1": "accident",
        "2": "medical_emergency",
        "3": "investment_loss",
        "4": "job_loss",
        "5": "none",
    },
    "plan": {"1": "full", "2": "installment", "3": "extension", "4": "partial", "5": "cannot"},
}


def test_every_spec_menu_and_intent(grammars: Grammars) -> None:
    assert set(grammars.menus) == set(SPEC_INTENTS) | {"expenses", "verify"}  # verify: SPEC v2 second factor
    for menu, intents in SPEC_INTENTS.items():
        assert intents <= set(grammars.menu(menu).intents), menu
    assert set(grammars.global_intents.intents) == GLOBAL


def test_dtmf_keys_are_the_announced_ones(grammars: Grammars) -> None:
    for menu, keys in KEYS.items():
        spec = grammars.global_intents if menu == "global" else grammars.menu(menu)
        assert spec.dtmf_map() == keys, menu
    assert grammars.menu("income_amount").dtmf_mode == "digits"
    assert grammars.menu("promise").dtmf_mode == "digits"


def test_timing_short_for_yes_no_long_for_numbers(grammars: Grammars) -> None:
    for menu in ("opening", "purpose"):
        assert 500 <= grammars.menu(menu).timing.end_silence_ms <= 600
    for menu in ("income_amount", "expenses", "promise"):
        assert 900 <= grammars.menu(menu).timing.end_silence_ms <= 1100


def test_phrases_are_space_separated_words_and_feed_the_asr_grammar(grammars: Grammars) -> None:
    for spec in [grammars.global_intents, *grammars.menus.values()]:
        for name, intent in spec.intents.items():
            long_unspaced = [p for p in intent.phrases if " " not in p and len(p) > 4 and not p.isascii()]
            assert not long_unspaced, f"{spec.menu}.{name}: write phrases as words: {long_unspaced}"
    words = grammars.phrases("promise")
    assert "明天" in words and "月底" in words and "转 人工" in words


def test_a_new_synonym_is_data_only(tmp_path: Path) -> None:
    from ivr.understanding import Understander

    d = tmp_path / "grammars"
    shutil.copytree(GRAMMARS_DIR, d)
    before = Understander(load_grammars(d)).understand("income_source", "我是做外贸跟单的")
    assert before.intent != "salary"
    path = d / "income_source.yaml"
    path.write_text(
        path.read_text(encoding="utf-8").replace("    keywords: [工资,", "    keywords: [外贸 跟单, 工资,"),
        encoding="utf-8",
    )
    assert Understander(load_grammars(d)).understand("income_source", "我是做外贸跟单的").intent == "salary"
    assert Understander(load_grammars(d)).understand("plan", "你们真磨叽").cues == ()
    emotion = d / "emotion.yaml"
    emotion.write_text(emotion.read_text(encoding="utf-8").replace("0.35: [", "0.35: [磨叽, "), encoding="utf-8")
    u = Understander(load_grammars(d)).understand("plan", "你们真磨叽")
    assert u.cues == ("annoyance",) and u.emotion > 0


def test_broken_grammar_names_file_and_field(tmp_path: Path) -> None:
    d = tmp_path / "grammars"
    shutil.copytree(GRAMMARS_DIR, d)
    path = d / "plan.yaml"
    path.write_text(path.read_text(encoding="utf-8").replace('dtmf: ["5"]', 'dtmf: ["A"]'), encoding="utf-8")
    with pytest.raises(GrammarError, match=r"plan.yaml: field intents.cannot.dtmf: .*0-9 \* #, got \['A'\]"):
        load_grammars(d)
