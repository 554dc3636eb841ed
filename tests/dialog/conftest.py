"""Dialog-area fixtures: the real grammars, prompts, understander and a real SQLite store."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from pathlib import Path

import pytest

from ivr.case import Case
from ivr.cli.records import parse_lines
from ivr.dialog import Dialog
from ivr.events import Action, Say
from ivr.grammar import Grammars, load_grammars
from ivr.prompts import PromptBook
from ivr.session import CallSession

REPO = Path(__file__).resolve().parents[2]
NOW = dt.datetime(2026, 11, 18, 10, 30)  # a Wednesday, as in tests/conftest.py


@pytest.fixture(scope="session")
def grammars() -> Grammars:
    return load_grammars(REPO / "grammars")


@pytest.fixture(scope="session")
def book() -> PromptBook:
    return PromptBook.load(REPO / "audio_prompts")


@pytest.fixture(scope="session")
def understander(grammars: Grammars):
    from ivr.understanding import Understander

    return Understander(grammars)


@pytest.fixture
def new_dialog(grammars, book, understander) -> Callable[..., Dialog]:
    def make(case: Case | None = None, now: dt.datetime = NOW, seed: int | None = 0) -> Dialog:
        return Dialog(case or Case(), grammars, book, now, understander=understander, seed=seed)

    return make


class Call:
    """A CallSession driven by script lines, keeping every action the caller heard."""

    def __init__(self, session: CallSession) -> None:
        self.session = session
        self.heard: list[Action] = list(session.start())

    def say(self, *lines: str) -> list[Action]:
        out: list[Action] = []
        for inp in parse_lines(list(lines)):
            out += self.session.handle(inp)
        self.heard += out
        return out

    @property
    def bot_texts(self) -> list[str]:
        return [a.text for a in self.heard if isinstance(a, Say)]


@pytest.fixture
def call(store, new_dialog) -> Callable[..., Call]:
    def make(case: Case | None = None, seed: int | None = 0, now: dt.datetime = NOW) -> Call:
        return Call(CallSession(store, new_dialog(case, now=now, seed=seed), transport="text"))

    return make


# words that name the default test case's debt (3500 元): none may reach a third party
DEBT_WORDS = ("欠", "逾期", "还款", "三千五", "3500", "贷")


def no_debt(c: Call) -> None:
    for text in c.bot_texts:
        assert not any(w in text for w in DEBT_WORDS), text


def simulate_json(tmp_path: Path, *lines: str) -> dict:
    """The installed `ivr simulate --text SCRIPT --json` in its own data dir (a real process)."""
    import json
    import os
    import subprocess

    script = tmp_path / "call.txt"
    script.write_text("".join(f"{line}\n" for line in lines), encoding="utf-8")
    env = {
        "IVR_DATA_DIR": str(tmp_path),
        "IVR_DB_URL": f"sqlite:///{tmp_path / 'ivr.sqlite3'}",
        "PYTHONPATH": str(REPO),
    }
    p = subprocess.run(
        [str(REPO / ".venv" / "bin" / "ivr"), "simulate", "--text", str(script), "--now", "2026-11-18T10:30", "--json"],
        capture_output=True,
        text=True,
        env={**os.environ, **env},
        timeout=120,
    )
    assert p.returncode == 0, p.stderr
    return dict(json.loads(p.stdout))


def to_plan(c: Call, job: str = "在物流公司上班", income: str = "五千多") -> None:
    """A cooperative confirmed caller answered up to the plan question."""
    c.say("是我", "知道", job, income, "房租和吃饭", "没了", "没有")
    assert c.session.dialog.menu == "plan"
