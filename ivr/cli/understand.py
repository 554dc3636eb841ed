"""`ivr understand`: one caller answer at one menu → intent, slots, confidence (docs/understanding.md)."""

from __future__ import annotations

import datetime as dt
import json
from typing import Optional

import typer

from ivr.cli.common import fail


def _parse_now(value: str | None) -> dt.datetime | None:
    if value is None:
        return None
    try:
        return dt.datetime.fromisoformat(value)
    except ValueError:
        raise fail(f"--now: expected an ISO date/time like 2026-11-18T10:30, got {value!r}") from None


def understand_cmd(
    menu: str = typer.Option(..., "--menu", "-m", help="menu id (grammars/flow.yaml), e.g. opening, plan, promise"),
    text: Optional[str] = typer.Option(None, "--text", "-t", help="what the caller said (ASR-style spaces are fine)"),
    dtmf: Optional[str] = typer.Option(None, "--dtmf", help="keys pressed instead of speech, e.g. 1 or 3000#"),
    now: Optional[str] = typer.Option(None, "--now", help="call time for relative dates (ISO, default: now)"),
    as_json: bool = typer.Option(False, "--json", help="print one JSON object"),
) -> None:
    """Understand one answer at MENU: intent, slots, confidence (and lexical emotion cues)."""
    from ivr.grammar import GrammarError
    from ivr.understanding import default_understander

    if (text is None) == (dtmf is None):
        raise fail("give exactly one of --text or --dtmf")
    when = _parse_now(now)
    try:
        nlu = default_understander()
        u = nlu.understand(menu, text, when) if text is not None else nlu.understand_dtmf(menu, dtmf or "", when)
    except GrammarError as e:
        raise fail(str(e)) from None

    if as_json:
        out = u.as_json() | {"emotion": u.emotion, "cues": list(u.cues), "global": u.is_global, "text": u.text}
        print(json.dumps(out, ensure_ascii=False))
        return
    from rich.console import Console

    color = "green" if u.intent and u.confidence >= 0.7 else "yellow" if u.intent else "red"
    slots = " ".join(f"{k}={v}" for k, v in u.slots.items())
    extra = f"  emotion {u.emotion:.2f} {','.join(u.cues)}" if u.cues else ""
    scope = " (global)" if u.is_global else ""
    Console(highlight=False).print(
        f"[bold]{menu}[/]: [{color}]{u.intent or 'no match'}{scope}[/] {slots}  conf {u.confidence:.2f}{extra}"
    )


def register(app: typer.Typer) -> None:
    app.command("understand")(understand_cmd)
