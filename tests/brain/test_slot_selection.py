"""Slot parsers run for the slots a menu declares (grammars/<menu>.yaml `slots`), not because an
intent happens to be called `amount` or `date`: a new menu gets amounts or dates by declaring them."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from ivr.grammar import load_grammars
from ivr.understanding import Understander

from .conftest import GRAMMARS_DIR, NOW

MENU = """\
menu: {name}
description: test menu
{slots}
intents:
  {answer}:
    phrases: [大概, 左右]
  later:
    phrases: [以后 再 说, 再 说 吧]
"""


@pytest.fixture
def nlu_with(tmp_path: Path):
    def make(**menus: tuple[str, str]) -> Understander:
        directory = tmp_path / "grammars"
        shutil.copytree(GRAMMARS_DIR, directory)
        for name, (answer, slots) in menus.items():
            text = MENU.format(name=name, answer=answer, slots=slots)
            (directory / f"{name}.yaml").write_text(text, encoding="utf-8")
        return Understander(load_grammars(directory))

    return make


def test_a_declared_slot_named_like_an_intent_is_the_answer(nlu_with):
    nlu = nlu_with(
        deposit=("amount", "slots: [amount]"),
        pay_day=("date", "slots: [date, amount]"),
        undeclared=("amount", ""),
    )
    u = nlu.understand("deposit", "先存两千五", NOW)
    assert (u.intent, u.slots) == ("amount", {"amount": 2500})
    u = nlu.understand("pay_day", "下周五还三千", NOW)
    assert (u.intent, u.slots) == ("date", {"date": "2026-11-27", "amount": 3000})
    # an intent called `amount` without the slot declared: no amount parser, no slot
    u = nlu.understand("undeclared", "先存两千五", NOW)
    assert u.slots == {}


def test_declared_extra_slots_are_read_whatever_the_intent(nlu_with):
    nlu = nlu_with(top_up=("topped", "slots: [amount]"), months_only=("topped", "slots: [months]"))
    u = nlu.understand("top_up", "大概两千吧", NOW)
    assert (u.intent, u.slots) == ("topped", {"amount": 2000})
    u = nlu.understand("months_only", "大概两千 分三个月", NOW)
    assert (u.intent, u.slots) == ("topped", {"months": 3})
