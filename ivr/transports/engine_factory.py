"""Builds the real call engine for a live call: case lookup → Dialog → CallSession → CallEngine.

Loaded once per process (grammars, prompt audio, Vosk model are shared by all calls); each call
gets its own dialog, session and engine.  Transports only see `EngineFactory`.  Which case a call
is about is decided here, from what the transport put in the `CallContext` (ivr/casebook.py); a
call no case matches starts at the flow's `unknown_case` menu, which names no person or debt.
"""

from __future__ import annotations

import datetime as dt
import logging
from pathlib import Path
from typing import Any

from ivr.case import Case
from ivr.casebook import CaseSource, OneCase
from ivr.transports.media_call import CallContext, EngineFactory

log = logging.getLogger("ivr.transports")


UNKNOWN_CASE_MENU = "unknown_case"


def unknown_case_flow(flow: Any) -> Any:
    """The flow of a call no case matches: the same menus, started at `unknown_case`."""
    return flow.model_copy(update={"start": UNKNOWN_CASE_MENU})


def real_engine_factory(
    settings: Any, store: Any = None, case: Case | None = None, resources: Any = None, cases: CaseSource | None = None
) -> EngineFactory:
    """`cases`: where calls are looked up (a live case book); else `case` (or the demo case) for every call."""
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
    source = cases or OneCase(case or Case())
    # Built once here, not per call: the first build imports the NLU stack (~2 s of pure Python),
    # which would otherwise run on the SIP thread while other calls' media is flowing.
    understander = Understander(res.grammars)
    flow = load_flow(Path(res.grammars.directory) / "flow.yaml", prompts)
    if UNKNOWN_CASE_MENU not in flow.menus and not isinstance(source, OneCase):
        raise ValueError(
            f"{res.grammars.directory}/flow.yaml: field menus.{UNKNOWN_CASE_MENU}: missing; expected the menu "
            "for calls no case matches (see docs/telephony.md)"
        )
    unknown_flow = unknown_case_flow(flow)
    log.info(
        "engine: grammars %s, prompts %s, ASR %s",
        settings.grammars_dir,
        settings.prompts_dir,
        "on" if res.model is not None else "off (no model: DTMF and no-match paths only)",
    )

    def make(ctx: CallContext) -> CallEngine:
        found = source.lookup(ctx.case_ref, ctx.called_number, ctx.caller_number)
        if found.case is None:
            log.warning(
                "call %s: no case for reference %r (dialed %r, caller %r): unknown-case path, nothing about any "
                "debt is said",
                ctx.call_id,
                ctx.case_ref,
                ctx.called_number,
                ctx.caller_number,
            )
        elif found.how != "single":
            log.info("call %s: case %s (matched by %s)", ctx.call_id, found.case.case_id, found.how)
        dialog = Dialog(
            found.case or source.placeholder(),
            res.grammars,
            prompts,
            now=dt.datetime.now(),
            understander=understander,
            flow=flow if found.case else unknown_flow,
        )
        session = CallSession(
            store,
            dialog,
            call_id=ctx.call_id,
            transport=ctx.transport,
            caller_number=ctx.caller_number,
            worker=ctx.worker,
            case_ref=ctx.case_ref,
            case_known=found.case is not None,
        )
        # the escalation summary links the recording, which MediaCall writes to this path
        session.recording = str(Path(settings.recordings_dir) / f"{ctx.call_id}.wav")
        return CallEngine(session, res, ctx.rate, on_transfer=ctx.on_transfer, on_hangup=ctx.on_hangup)

    return make
