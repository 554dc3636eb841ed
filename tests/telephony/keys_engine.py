"""The product's call engine for crash tests that must restart it many times (tests/telephony/test_crash_loop.py).

Everything is the real thing — Wiring, Dialog, CallSession (row stored before the call is answered,
escalation committed before the transfer), CallEngine, the store, prompt audio — except the
understander: these calls only press keys and run without a Vosk model, so speech is never
understood and only `understand_dtmf` is asked, for single keys (the global keys and each menu's
key map, as `Understander.understand_dtmf` reads them from the grammars).  What is skipped is
importing the NLU stack, building the speech indexes and loading the classifier (~15 s of CPU per
engine start on the loaded 2-core test machine, 3.6 s with this): with it a test's time budget
would allow only a handful of restarts.
"""

from __future__ import annotations

import datetime as dt

from ivr.events import Understanding
from ivr.grammar import Grammars
from ivr.settings import Settings
from ivr.transports.media_call import EngineFactory


class KeysUnderstander:
    """`Understander` for key presses only (no speech reaches it without an ASR model)."""

    def __init__(self, grammars: Grammars) -> None:
        self.grammars = grammars
        self._global_keys = grammars.global_intents.dtmf_map()

    def understand_dtmf(self, menu: str, keys: str, now: dt.datetime | None = None) -> Understanding:
        spec = self.grammars.menu(menu)
        keys = (keys or "").strip()
        if keys in self._global_keys:
            return Understanding(menu=menu, intent=self._global_keys[keys], text=keys, confidence=1.0, is_global=True)
        intent = spec.dtmf_map().get(keys)
        return Understanding(menu=menu, intent=intent, text=keys, confidence=1.0 if intent else 0.0)

    def understand(self, menu: str, text: str, now: dt.datetime | None = None) -> Understanding:
        self.grammars.menu(menu)
        return Understanding(menu=menu, intent=None, text=text)


def keys_factory(settings: Settings) -> EngineFactory:
    from ivr import wiring
    from ivr.casebook import case_source
    from ivr.grammar import cached_grammars
    from ivr.locale import MANDARIN

    grammars = cached_grammars(str(settings.grammars_dir))
    with wiring._understanders_lock:  # what `shared_understander` hands every Wiring of this process
        wiring._understanders[(str(grammars.directory), MANDARIN.name)] = KeysUnderstander(grammars)  # type: ignore[assignment]
    return wiring.engine_factory(settings, cases=case_source(None, None))
