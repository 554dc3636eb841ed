"""Render every variant of the bot's first prompt (or of PROMPT_ID) into an .npz, in a fresh interpreter.

The telephony tests compare what callers heard with these renderings; a fresh process makes the
templates independent of whatever prompt audio earlier tests cached in the test process's memory.
Usage: python render_prompts.py OUT.npz RATE [PROMPT_ID]   (settings from the IVR_* environment, like the bot)
"""

from __future__ import annotations

import datetime as dt
import sys
from pathlib import Path

import numpy as np

from ivr.case import Case
from ivr.dialog import Dialog
from ivr.events import Say
from ivr.flow import load_flow
from ivr.grammar import cached_grammars
from ivr.prompts import PromptBook
from ivr.settings import load_settings
from ivr.tts import PromptAudio
from ivr.understanding import Understander


def main(out: str, rate: int, prompt_id: str | None = None) -> None:
    s = load_settings()
    grammars = cached_grammars(str(s.grammars_dir))
    book = PromptBook.load(s.prompts_dir)
    flow = load_flow(Path(grammars.directory) / "flow.yaml", book)
    understander = Understander(grammars)
    firsts: dict[str, Say] = {}
    for seed in range(40):
        dialog = Dialog(Case(), grammars, book, now=dt.datetime.now(), seed=seed, understander=understander, flow=flow)
        say = dialog.start()[0]
        if prompt_id:  # a prompt outside the flow, as the session says it (e.g. transfer.failed)
            say = next(a for a in dialog.say(prompt_id) if isinstance(a, Say))
        firsts.setdefault(f"{say.prompt_id}.{say.variant}", say)
    audio = PromptAudio(Path(s.prompts_dir), s.cache_dir)
    np.savez(out, **{name: np.frombuffer(audio.audio(say, rate), dtype="<i2") for name, say in firsts.items()})


if __name__ == "__main__":
    main(sys.argv[1], int(sys.argv[2]), sys.argv[3] if len(sys.argv) > 3 else None)
