"""Fuzz/property suite (issue 13): hostile and broken input to every parser a peer or an operator
feeds — WAV files, case books, SIP INVITE headers, AudioSocket framing, WebSocket events.

Prints how long the suite took (the acceptance budget is 2 minutes for all of tests/fuzz).
"""

from __future__ import annotations

import sys
import time
from collections import defaultdict
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent
TELEPHONY = HERE.parent / "telephony"
if str(TELEPHONY) not in sys.path:
    sys.path.insert(0, str(TELEPHONY))  # peers.py / tel_fakes.py / the real-server helpers

from .budget import BUDGET_S, PROFILE  # noqa: E402

_spent: dict[str, float] = defaultdict(float)
_t0: list[float] = []


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    if not _t0:
        _t0.append(time.monotonic())
    _spent[report.nodeid.split("::")[0]] += report.duration


def pytest_terminal_summary(terminalreporter, exitstatus: int, config: pytest.Config) -> None:
    if not _spent:
        return
    total = sum(_spent.values())
    tr = terminalreporter
    tr.section(f"fuzz suite timing (hypothesis profile {PROFILE!r})")
    for name, s in sorted(_spent.items()):
        tr.write_line(f"{s:7.1f} s  {name}")
    verdict = "within" if total <= BUDGET_S else "OVER"
    tr.write_line(f"{total:7.1f} s  total (setup + call + teardown), {verdict} the {BUDGET_S:.0f} s budget")
