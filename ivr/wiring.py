"""Builds every call, for every transport, from what one process loads once.

    settings ─▶ Wiring (per process): grammars, prompt texts (PromptBook), flow, Understander
                                      + EngineResources (prompt audio, Vosk model; on first audio call)
    Wiring.session(...)  → Dialog + CallSession             (`ivr simulate --text`)
    Wiring.call(...)     → the same session in a CallEngine  (WAV, mic)
    Wiring.factory(...)  → case lookup per CallContext → call  (SIP engine host, AudioSocket, WebSocket)

So a simulated call and a live one cannot differ: the same flow object, the same Understander, the
same case lookup (a call no case matches starts at the flow's `unknown_case` menu, which names no
person or debt; docs/telephony.md "Which case is this call").  `load_factory` is what SIP worker
and engine-host processes call; this module never imports pjsua2, so neither the engine host nor a
console-only host (`ivr serve --no-sip`) loads it.
"""

from __future__ import annotations

import datetime as dt
import importlib
import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Required, TypedDict, Unpack

from ivr.case import Case
from ivr.casebook import CaseSource, OneCase
from ivr.locale import MANDARIN, Locale

if TYPE_CHECKING:
    from ivr.dialog import Dialog
    from ivr.engine import CallEngine
    from ivr.events import Transfer
    from ivr.flow import Flow
    from ivr.grammar import Grammars
    from ivr.prompts import PromptBook
    from ivr.session import CallSession
    from ivr.settings import Settings
    from ivr.transports.media_call import CallContext, EngineFactory
    from ivr.tts import PromptAudio
    from ivr.understanding import Understander
    from ivr.vad import EndpointTiming

log = logging.getLogger("ivr.wiring")

UNKNOWN_CASE_MENU = "unknown_case"


def parse_hostport(text: str, default_port: int) -> tuple[str, int]:
    """'HOST:PORT' / 'HOST' / ':PORT' → (host, port); one clear error on bad input."""
    host, _, port = text.rpartition(":") if ":" in text else (text, "", "")
    try:
        return host or "127.0.0.1", int(port) if port else default_port
    except ValueError:
        raise ValueError(f"bad address {text!r}: expected HOST:PORT with a numeric port") from None


def unknown_case_flow(flow: Flow) -> Flow:
    """The flow of a call no case matches: the same menus, started at `unknown_case`."""
    return flow.model_copy(update={"start": UNKNOWN_CASE_MENU})


# ---------------------------------------------------------------- what the call engine shares


@dataclass
class EngineResources:
    """What every call engine shares: grammars, prompt audio caches, the loaded Vosk model (or None)."""

    grammars: Grammars
    prompt_audio: PromptAudio
    model: Any = None  # vosk.Model; None → every utterance is a no-match (no ASR)
    _timings: dict[str, EndpointTiming] = field(default_factory=dict)

    @classmethod
    def load(cls, settings: Settings, locale: Locale = MANDARIN, with_asr: bool = True) -> EngineResources:
        from ivr.grammar import cached_grammars
        from ivr.models import find_model, load_model
        from ivr.tts import PromptAudio

        lang = locale.name  # the model folder models/<lang> (ivr/models.py)
        model_path = find_model(lang, settings) if with_asr else None
        if with_asr and model_path is None:
            log.warning("no Vosk model for %s: speech will be treated as not understood (DTMF still works)", lang)
        res = cls(
            grammars=cached_grammars(str(settings.grammars_dir)),
            prompt_audio=PromptAudio(Path(settings.prompts_dir), settings.cache_dir, locale=locale),
            model=load_model(model_path) if model_path else None,
        )
        if res.model is not None:  # vocabulary check of every menu now (logged), not mid-call
            from ivr.asr import compile_grammar

            for menu in res.grammars.menus:
                compile_grammar(res.model, res.grammars.phrase_intents(menu))
        return res

    def timing(self, menu: str | None) -> EndpointTiming:
        from ivr.grammar import GrammarError
        from ivr.vad import EndpointTiming

        key = menu or ""
        if key not in self._timings:
            try:
                t = self.grammars.menu(menu).timing if menu else None
            except GrammarError:
                t = None
            self._timings[key] = (
                EndpointTiming(t.end_silence_ms, t.no_input_ms, t.max_speech_ms, t.complete_silence_ms)
                if t
                else EndpointTiming()
            )
        return self._timings[key]

    def phrases(self, menu: str | None) -> dict[str, str | None] | None:
        """The menu's recogniser phrases with their intents (ivr/asr.py: finished answers)."""
        from ivr.grammar import GrammarError

        if not menu:
            return None
        try:
            return self.grammars.phrase_intents(menu)
        except GrammarError:
            return None


# ---------------------------------------------------------------- the one place calls are built

_understanders: dict[tuple[str, str], Understander] = {}
_understanders_lock = threading.Lock()


def shared_understander(grammars: Grammars, locale: Locale = MANDARIN) -> Understander:
    """One Understander per grammars folder, locale and process: the first build imports the NLU
    stack (~2 s of pure Python), which must not run per call (on a SIP thread, while media flows)."""
    with _understanders_lock:
        key = (str(grammars.directory), locale.name)
        if key not in _understanders:
            from ivr.understanding import Understander

            _understanders[key] = Understander(grammars, locale=locale)
        return _understanders[key]


class CallFacts(TypedDict, total=False):
    """What one call is about, as `Wiring.session` and `Wiring.call` take it (keyword arguments)."""

    transport: Required[str]  # text, wav, mic, sip, audiosocket, websocket
    case: Case | None  # None: the demo case
    now: dt.datetime | None  # the call's clock (tests, simulations); None: now
    seed: int | None  # prompt-variant choice (reproducible simulations)
    call_id: str | None
    caller_number: str | None
    worker: str | None
    case_ref: str | None
    peer_ref: str | None  # the peer's id of the call (a reference; the call id is always ours)
    case_known: bool  # False: no case matched, the call starts at `unknown_case`


class Wiring:
    """Everything calls share in this process, and the builder of every call from it."""

    def __init__(self, settings: Settings, resources: EngineResources | None = None, locale: Locale = MANDARIN) -> None:
        """`locale`: the callers' language (ivr/locale.py), used by every call built here: its
        understander, dialog (amounts, dates said back) and prompt audio (voice, Vosk model)."""
        from ivr.flow import load_flow
        from ivr.grammar import cached_grammars
        from ivr.prompts import PromptBook

        self.settings = settings
        self.locale = locale
        self.grammars: Grammars = resources.grammars if resources else cached_grammars(str(settings.grammars_dir))
        self.prompts: PromptBook = PromptBook.load(settings.prompts_dir)
        self.flow: Flow = load_flow(Path(self.grammars.directory) / "flow.yaml", self.prompts)
        from ivr.content import ContentBook

        self.content = ContentBook.load(settings.prompts_dir)  # company answers and policy (checked at start)
        self.unknown_flow: Flow = unknown_case_flow(self.flow)
        self.understander = shared_understander(self.grammars, locale)
        self._resources = resources
        self._lock = threading.Lock()

    @property
    def resources(self) -> EngineResources:
        """Prompt audio and the Vosk model: loaded on the first call that has audio (not for text)."""
        with self._lock:
            if self._resources is None:
                self._resources = EngineResources.load(self.settings, self.locale)
            return self._resources

    def dialog(
        self, case: Case | None = None, now: dt.datetime | None = None, *, seed: int | None = None, known: bool = True
    ) -> Dialog:
        """The dialog of one call about `case`; `known=False`: no case matched, start at `unknown_case`."""
        from ivr.dialog import Dialog

        return Dialog(
            case or Case(),
            self.grammars,
            self.prompts,
            now or dt.datetime.now(),
            understander=self.understander,
            seed=seed,
            flow=self.flow if known else self.unknown_flow,
            locale=self.locale,
            content=self.content,
        )

    def session(self, store: Any, **facts: Unpack[CallFacts]) -> CallSession:
        """One call's durable record on its dialog (what `ivr simulate --text` drives directly)."""
        from ivr.session import CallSession

        known = facts.get("case_known", True)
        return CallSession(
            store,
            self.dialog(facts.get("case"), facts.get("now"), seed=facts.get("seed"), known=known),
            call_id=facts.get("call_id"),
            transport=facts["transport"],
            caller_number=facts.get("caller_number"),
            worker=facts.get("worker"),
            case_ref=facts.get("case_ref"),
            peer_ref=facts.get("peer_ref"),
            case_known=known,
        )

    def call(
        self,
        store: Any,
        rate: int,
        *,
        recording: Path | None = None,
        on_transfer: Callable[[Transfer], None] | None = None,
        on_hangup: Callable[[str], None] | None = None,
        on_partial: Callable[[str], None] | None = None,
        **facts: Unpack[CallFacts],
    ) -> CallEngine:
        """A call engine on that session, at the transport's sample rate (WAV, mic, every live call)."""
        from ivr.engine import CallEngine

        session = self.session(store, **facts)
        if recording is not None:  # linked from the escalation summary before the call has ended
            session.recording = str(recording)
        return CallEngine(
            session, self.resources, rate, on_transfer=on_transfer, on_hangup=on_hangup, on_partial=on_partial
        )

    def factory(self, store: Any, cases: CaseSource) -> EngineFactory:
        """The EngineFactory of the live transports: each call is looked up in `cases`."""
        if UNKNOWN_CASE_MENU not in self.flow.menus and not isinstance(cases, OneCase):
            raise ValueError(
                f"{self.grammars.directory}/flow.yaml: field menus.{UNKNOWN_CASE_MENU}: missing; expected the menu "
                "for calls no case matches (see docs/telephony.md)"
            )
        # everything a call needs is loaded now, at start-up: never while the first call rings
        import ivr.engine  # noqa: F401
        import ivr.session  # noqa: F401

        res = self.resources
        log.info(
            "engine: grammars %s, prompts %s, ASR %s",
            self.settings.grammars_dir,
            self.settings.prompts_dir,
            "on" if res.model is not None else "off (no model: DTMF and no-match paths only)",
        )

        def make(ctx: CallContext) -> CallEngine:
            found = cases.lookup(ctx.case_ref, ctx.called_number, ctx.caller_number)
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
            return self.call(
                store,
                ctx.rate,
                transport=ctx.transport,
                case=found.case or cases.placeholder(),
                call_id=ctx.call_id,
                caller_number=ctx.caller_number,
                worker=ctx.worker,
                case_ref=ctx.case_ref,
                peer_ref=ctx.peer_ref,
                case_known=found.case is not None,
                # MediaCall records the call to this path
                recording=Path(self.settings.recordings_dir) / f"{ctx.call_id}.wav",
                on_transfer=ctx.on_transfer,
                on_hangup=ctx.on_hangup,
            )

        return make


_wirings: dict[tuple[str, ...], Wiring] = {}
_wirings_lock = threading.Lock()


def wiring_for(settings: Settings) -> Wiring:
    """This process's Wiring for these settings (loaded once; the model on the first audio call)."""
    key = tuple(
        str(v)
        for v in (
            settings.grammars_dir,
            settings.prompts_dir,
            settings.cache_dir,
            settings.models_dir,
            settings.vosk_model,
        )
    )
    with _wirings_lock:
        if key not in _wirings:
            _wirings[key] = Wiring(settings)
        return _wirings[key]


def engine_factory(
    settings: Settings, store: Any = None, case: Case | None = None, cases: CaseSource | None = None
) -> EngineFactory:
    """The real call engine for live calls: looked up in `cases` (a live case book), else `case`
    (or the demo case) for every call."""
    from ivr.store import Store

    return wiring_for(settings).factory(store or Store(settings.database_url), cases or OneCase(case or Case()))


def load_factory(
    spec: str | None, settings: Settings, case_file: str | None = None, cases_path: str | None = None
) -> EngineFactory:
    """What a SIP worker or engine host serves calls with: `module:function` returning an
    EngineFactory given settings (test stand-ins); default: the real call engine (calls looked up
    in the case book `cases_path`, else the case in `case_file`, else the demo case)."""
    if not spec:
        from ivr.casebook import case_source

        return engine_factory(settings, cases=case_source(case_file, cases_path))
    module, _, name = spec.partition(":")
    return getattr(importlib.import_module(module), name)(settings)
