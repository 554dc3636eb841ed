"""`ivr understand` through the real installed command (SPEC.md §3)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from .conftest import REPO

IVR = Path(sys.executable).with_name("ivr")


def run(*args: str) -> subprocess.CompletedProcess[str]:
    assert IVR.exists(), f"{IVR} missing: run scripts/setup.sh"
    return subprocess.run([str(IVR), "understand", *args], capture_output=True, text=True, timeout=60, cwd=REPO)


def test_json_output_with_slots_and_fixed_now() -> None:
    r = run("--menu", "promise", "--text", "下 个 月 十 号 先 还 两 千", "--now", "2026-11-18T10:30", "--json")
    assert r.returncode == 0, r.stderr
    out = json.loads(r.stdout)
    assert {k: out[k] for k in ("menu", "intent", "slots")} == {
        "menu": "promise",
        "intent": "date",
        "slots": {"date": "2026-12-10", "amount": 2000},
    }
    assert 0.5 <= out["confidence"] <= 1.0


def test_readable_line_without_json() -> None:
    r = run("--menu", "income_amount", "--text", "一个月五六千")
    assert r.returncode == 0, r.stderr
    assert "amount" in r.stdout and "5500" in r.stdout and "{" not in r.stdout


@pytest.mark.parametrize(
    "args, message",
    [
        (("--menu", "billing", "--text", "是我"), "unknown menu 'billing'; expected one of: closing,"),
        (("--menu", "promise", "--text", "明天", "--now", "tomorrow"), "--now: expected an ISO date/time"),
    ],
)
def test_bad_input_exits_2_with_one_line(args: tuple[str, ...], message: str) -> None:
    r = run(*args, "--json")
    assert r.returncode == 2
    assert r.stdout == ""
    assert r.stderr.count("\n") == 1 and message in r.stderr
