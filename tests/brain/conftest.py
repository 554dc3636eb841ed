"""Brain-area fixtures: the real grammars of the repo and one Understander over them."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from ivr.grammar import Grammars, load_grammars
from ivr.textnorm import clean
from ivr.understanding import Understander

REPO = Path(__file__).resolve().parents[2]
GRAMMARS_DIR = REPO / "grammars"
NOW = dt.datetime(2026, 11, 18, 10, 30)  # a Wednesday, as in tests/conftest.py


@pytest.fixture(scope="session")
def grammars() -> Grammars:
    return load_grammars(GRAMMARS_DIR)


@pytest.fixture(scope="session")
def nlu(grammars: Grammars) -> Understander:
    return Understander(grammars)


@pytest.fixture(scope="session")
def grammar_texts(grammars: Grammars) -> set[str]:
    """Every phrase/keyword of every grammar as written (spaces/punctuation aside, simplified): test
    phrasings must not be among them.  Compared before normalisation, so that two different answers
    that normalise alike (没有特别的 / 没什么特别的) are not taken for a copy."""
    specs = [grammars.global_intents, *grammars.menus.values()]
    return {clean(p) for spec in specs for i in spec.intents.values() for p in [*i.phrases, *i.keywords]}
