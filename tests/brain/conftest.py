"""Brain-area fixtures: the real grammars of the repo and one Understander over them."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from ivr.grammar import Grammars, load_grammars
from ivr.textnorm import normalize
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
    """Every phrase/keyword of every grammar, normalised: test phrasings must not be among them."""
    specs = [grammars.global_intents, *grammars.menus.values()]
    return {normalize(p, fillers=False).text for spec in specs for i in spec.intents.values() for p in [*i.phrases, *i.keywords]}
