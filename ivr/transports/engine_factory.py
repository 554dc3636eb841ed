"""Builds the real call engine for a live call: case → Dialog → CallSession → CallEngine.

Loaded once per process (grammars, prompt audio, Vosk model are shared by all calls); each call
gets its own dialog, session and engine.  Transports only see `EngineFactory`.
"""

from __future__ import annotations

import datetime as dt
import logging
from pathlib import Path
from typing import Any

from ivr.case import Case
from ivr.transports.media_call import CallContext, EngineFactory

log = logging.getLogger("ivr.transports")


def real_engine_factory(
    settings: Any, store: Any = None, case: Case | None = None, resources: Any = None
) -> EngineFactory:
    from ivr.dialog import Dialog
    from ivr.engine import CallEngine, EngineResources
    from ivr.flow import load_flow
    from ivr.prompts import PromptBook
    from ivr.session import CallSession
    from ivr.store import Store
    from ivr.understanding import Understander

    res = resources or EngineResources.load(settings)
    store = store or Store(settings.database_url)
    prompts = PromptBook.load(settings.prompts_dir)
    case = case or Case()
    # Built once here, not per call: the first build imports the NLU stack (~2 s of pure Python),
    # which would otherwise run on the SIP thread while other calls' media is flowing.
    understander = Understander(res.grammars)
    flow = load_flow(Path(res.grammars.directory) / "flow.yaml", prompts)
    log.info("engine: grammars %s, prompts %s, ASR %s", settings.grammars_dir, settings.prompts_dir,
             "on" if res.model is not None else "off (no model: DTMF and no-match paths only)")

    def make(ctx: CallContext) -> CallEngine:
        dialog = Dialog(case, res.grammars, prompts, now=dt.datetime.now(), understander=understander, flow=flow)
        session = CallSession(
            store, dialog, call_id=ctx.call_id, transport=ctx.transport, caller_number=ctx.caller_number, worker=ctx.worker
        )
        # the escalation summary links the recording, which MediaCall writes to this path
        session.recording = str(Path(settings.recordings_dir) / f"{ctx.call_id}.wav")
        return CallEngine(session, res, ctx.rate, on_transfer=ctx.on_transfer, on_hangup=ctx.on_hangup)

    return make
