"""Case files: defaults, and errors that name the file and field (expected vs got)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from ivr.case import Case, CaseError

from .conftest import REPO


def test_defaults_and_example_case():
    assert (Case().name, Case().amount, Case().days_overdue) == ("张伟", 3500, 30)
    example = Case.load(REPO / "examples" / "case.json")
    assert example.name == "李娜" and example.amount == 4800


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ('{"amount": "3500"}', "field amount: Input should be a valid integer (got '3500')"),
        ('{"amount": -5}', "field amount: Input should be greater than 0"),
        ('{"nmae": "王"}', "field nmae: unknown field; expected one of case_id, name"),
        ("[1, 2]", "expected a JSON object, got list"),
        ('{"name": "王",', "not valid JSON (line 1"),
    ],
)
def test_bad_case_file_names_file_and_field(tmp_path: Path, content: str, message: str):
    path = tmp_path / "case.json"
    path.write_text(content, encoding="utf-8")
    with pytest.raises(CaseError) as e:
        Case.load(path)
    assert str(e.value).startswith(f"{path}: ") and message in str(e.value)
    assert "\n" not in str(e.value)


def test_missing_case_file(tmp_path: Path):
    with pytest.raises(CaseError, match=r"nope.json: cannot read case file \(No such file"):
        Case.load(tmp_path / "nope.json")


def test_round_trip():
    case = Case(name="王芳", amount=1200)
    assert Case.from_dict(json.loads(json.dumps(case.as_dict()))) == case
