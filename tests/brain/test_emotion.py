"""Lexical emotion cues from grammars/emotion.yaml."""

from __future__ import annotations

from pathlib import Path

import pytest

from ivr.emotion import combine, lexical, load_lexicon
from ivr.grammar import GrammarError


@pytest.mark.parametrize(
    "text, cue",
    [
        ("你们别再给我打电话了", "stop_calling"),
        ("再打 我 就 拉黑 你们", "stop_calling"),
        ("烦不烦啊", "annoyance"),
        ("凭什么听你们的", "anger"),
        ("傻逼", "abuse"),
        ("我要去银保监会投诉你们", "complaint"),
        ("真的撐不下去了", "distress"),
    ],
)
def test_cues(text: str, cue: str) -> None:
    score, cues = lexical(text)
    assert cue in cues
    assert (score > 0) == (cue != "distress")  # despair is a cue, not agitation


def test_intensifiers_raise_the_score() -> None:
    mild, _ = lexical("又打来了")
    strong, cues = lexical("又打来了，烦死了，有完没完")
    assert 0 < mild < strong <= 1.0
    assert cues == ("annoyance",)
    assert lexical("滚，他妈的")[0] == 1.0


@pytest.mark.parametrize("text", ["好的我知道了", "麻烦你再说一遍", "我是他妈妈", "我不会操作", ""])
def test_calm_answers_have_no_cues(text: str) -> None:
    assert lexical(text) == (0.0, ())


def test_combine_is_a_noisy_or() -> None:
    assert combine(0.0, 0.0) == 0.0
    assert combine(0.8, 0.0) == pytest.approx(0.8)
    assert combine(0.0, 0.7) == pytest.approx(0.7)
    assert combine(0.5, 0.5) == pytest.approx(0.75)  # two moderate signals reinforce
    assert combine(2.0, -1.0) == 1.0  # out-of-range inputs are clamped


def test_bad_lexicon_names_file_and_field(tmp_path: Path) -> None:
    bad = tmp_path / "emotion.yaml"
    bad.write_text("labels:\n  rage:\n    0.5: [气]\n", encoding="utf-8")
    with pytest.raises(GrammarError, match=r"emotion.yaml: field labels: unknown label\(s\) \['rage'\]"):
        load_lexicon(bad)
    bad.write_text("labels:\n  anger:\n    high: [气]\n", encoding="utf-8")
    with pytest.raises(GrammarError, match="field labels.anger: weight must be a number, got 'high'"):
        load_lexicon(bad)
