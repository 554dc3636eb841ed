"""Scripted calls written blind from SPEC.md (tests/dialog/data/blind_calls/*.txt, one caller line per
line) through the real `ivr simulate --text --json` command: outcome, escalation reason and promise
date must be the ones in the sidecar *.json — what a supervisor would see for that call.

Every script runs through the command in-process (typer's runner: the real command code, real
SQLite file; a process start costs ~5 s here), and one through the installed `ivr` executable."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from .conftest import REPO

CALLS = REPO / "tests" / "dialog" / "data" / "blind_calls"
SCRIPTS = sorted(CALLS.glob("*.txt"))
IVR = Path(sys.executable).with_name("ivr")
NOW = "2026-11-18T10:30"  # a Wednesday: the sidecar dates are resolved against it


def _outcome(stdout: str) -> dict:
    out = json.loads(stdout)
    return {
        "outcome": out["outcome"],
        "reason": (out["escalation"] or {}).get("reason"),
        "promise_date": (out["promise"] or {}).get("date"),
        "turns": " | ".join(f"{t['menu']}: {t['caller']} → {t['intent']}" for t in out["turns"]),
    }


def _expected(script: Path) -> dict:
    return json.loads(script.with_suffix(".json").read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def simulate(tmp_path_factory: pytest.TempPathFactory):
    from ivr.cli import _register, app

    data = tmp_path_factory.mktemp("blind_calls")
    env = {"IVR_DATA_DIR": str(data), "IVR_DB_URL": f"sqlite:///{data / 'ivr.sqlite3'}"}
    _register()
    runner = CliRunner()

    def _run(script: Path) -> dict:
        r = runner.invoke(app, ["simulate", "--text", str(script), "--now", NOW, "--json"], env=env)
        assert r.exit_code == 0, r.output
        return _outcome(r.stdout)

    return _run


@pytest.mark.parametrize("script", SCRIPTS, ids=lambda p: p.stem)
def test_blind_call_outcome(script: Path, simulate) -> None:
    got = simulate(script)
    turns = got.pop("turns")
    assert got == _expected(script), f"{script.name}: {turns}"


def test_blind_call_through_the_installed_command(tmp_path: Path) -> None:
    script = CALLS / "happy_dongbei.txt"
    env = {**os.environ, "IVR_DATA_DIR": str(tmp_path), "IVR_DB_URL": f"sqlite:///{tmp_path / 'ivr.sqlite3'}"}
    p = subprocess.run(
        [str(IVR), "simulate", "--text", str(script), "--now", NOW, "--json"],
        capture_output=True,
        text=True,
        env=env,
        cwd=REPO,
        timeout=60,
    )
    assert p.returncode == 0, p.stderr
    got = _outcome(p.stdout)
    turns = got.pop("turns")
    assert got == _expected(script), turns


def test_there_are_a_dozen_blind_calls() -> None:
    assert len(SCRIPTS) >= 12 and all(s.with_suffix(".json").exists() for s in SCRIPTS)
