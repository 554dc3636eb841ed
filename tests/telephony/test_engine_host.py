"""The engine host answers "opened" (→ the SIP worker's 200 OK) only once the call row is stored:
a worker killed right after answering must not lose an answered call (issue 6 acceptance)."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from ivr.events import Action, CallerInput
from ivr.transports.media_call import CallContext
from ivr.transports.sip.engine_host import RemoteEngines

STORE_DELAY_S = 1.0


class SlowStoreSession:
    """A session (an ivr.engine.SessionPort) whose start() (the call row insert) takes
    STORE_DELAY_S, e.g. a busy database."""

    menu: str | None = None
    turn_count = 0

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def start(self) -> list[Action]:
        time.sleep(STORE_DELAY_S)
        self.marker.write_text(str(time.time()))
        return []

    def handle(self, inp: CallerInput, timing: dict[str, Any] | None = None) -> list[Action]:
        return []

    def transfer_result(self, ok: bool, detail: str = "") -> list[Action]:
        return []

    def end(self, outcome: str | None = None) -> None:
        pass

    def update_timing(self, turn: int, timing: dict[str, Any]) -> None:
        pass

    def dynamic_pieces(self) -> set[tuple[str, float]]:
        return set()


def slow_store_factory(settings):  # loaded in the engine host by module:function
    from ivr.engine import CallEngine
    from ivr.grammar import cached_grammars
    from ivr.tts import PromptAudio
    from ivr.wiring import EngineResources

    res = EngineResources(
        cached_grammars(str(settings.grammars_dir)), PromptAudio(settings.prompts_dir, settings.cache_dir)
    )

    def make(ctx: CallContext) -> CallEngine:
        return CallEngine(SlowStoreSession(settings.data_dir / f"{ctx.call_id}.stored"), res, ctx.rate)

    return make


def test_call_is_answered_only_after_its_row_is_stored(settings, monkeypatch) -> None:
    monkeypatch.setenv("IVR_DATA_DIR", str(settings.data_dir))
    monkeypatch.syspath_prepend(str(Path(__file__).parent))  # the spawned host imports this module
    engines = RemoteEngines(f"{Path(__file__).stem}:slow_store_factory")
    try:
        engines.wait_ready(60)
        ctx = CallContext(transport="sip", rate=16000)
        t0 = time.time()
        assert engines(ctx).started.wait(15), "engine never reported ready"
        answered_at = time.time()
        marker = settings.data_dir / f"{ctx.call_id}.stored"
        assert marker.exists(), "answered before the call row was stored"
        assert float(marker.read_text()) <= answered_at and answered_at - t0 >= STORE_DELAY_S
    finally:
        engines.close()
