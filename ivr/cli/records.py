"""`ivr simulate`, `ivr calls`, `ivr escalations`: run a scripted call and read the stored records."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Any, Optional

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table
from rich.text import Text

from ivr.asr import UNK
from ivr.cli.common import fail
from ivr.events import CallerHangup, CallerInput, Dtmf, NoInput, Speech, Transfer, is_dtmf_key


class ScriptError(ValueError):
    pass


def parse_script(path: Path) -> list[CallerInput]:
    """Read a caller script file (see `parse_lines`)."""
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except OSError as e:
        raise ScriptError(f"{path}: cannot read script ({e.strerror})") from None
    except UnicodeDecodeError:
        raise ScriptError(f"{path}: not UTF-8 text") from None
    return parse_lines(lines, str(path))


def parse_lines(lines: list[str], source: str = "<script>") -> list[CallerInput]:
    """One caller utterance per line; `#dtmf 1` / `#dtmf 3000#` key presses, `#silence` no input,
    `#hangup` the caller hangs up; blank lines and `# comments` are ignored."""
    out: list[CallerInput] = []
    for n, raw in enumerate(lines, 1):
        line = raw.strip()
        if not line or line.startswith("# ") or line == "#":
            continue
        if not line.startswith("#"):
            out.append(Speech(line))
            continue
        directive, _, arg = line[1:].partition(" ")
        arg = arg.strip()
        if directive == "dtmf":
            bad = [k for k in arg if not is_dtmf_key(k)]
            if not arg or bad:
                raise ScriptError(f"{source}:{n}: #dtmf needs keys from 0-9 * #, got {arg!r}")
            out.extend(Dtmf(k) for k in arg)
        elif directive == "silence" and not arg:
            out.append(NoInput())
        elif directive == "hangup" and not arg:
            out.append(CallerHangup())
        else:
            raise ScriptError(f"{source}:{n}: unknown directive {line!r}; expected #dtmf KEYS, #silence or #hangup")
    return out


def _parse_now(now: str | None) -> dt.datetime:
    if now is None:
        return dt.datetime.now().replace(microsecond=0)
    try:
        return dt.datetime.fromisoformat(now)
    except ValueError:
        raise ScriptError(f"--now: expected an ISO date-time like 2026-11-18T10:30, got {now!r}") from None


def run_text_call(
    inputs: list[CallerInput], case: Any, now: dt.datetime, store: Any, seed: int | None = 0, settings: Any = None
) -> dict:
    """Drive one CallSession with scripted input; the caller hangs up if the script runs out.
    Built by the same wiring as every live call (ivr/wiring.py)."""
    from ivr.settings import load_settings
    from ivr.wiring import wiring_for

    session = wiring_for(settings or load_settings()).session(store, transport="text", case=case, now=now, seed=seed)
    session.start()
    for inp in [*inputs, CallerHangup()]:
        actions = session.handle(inp)
        if any(isinstance(a, Transfer) for a in actions):
            session.mark_transfer("none", "text simulation: no agent leg")
        if session.dialog.finished:
            break
    session.end()
    return session.report()


UNHEARD = "(语音，未识别)"  # someone spoke, the recogniser found no word (Vosk's [unk])


def caller_label(turn: dict) -> str:
    """What the readable transcript shows for the caller; the JSON keeps the ASR text as is."""
    said = turn["caller"]
    if said is None:
        return "(silence)"
    if turn.get("input") == "speech" and not [w for w in said.split() if w != UNK]:
        return UNHEARD
    return said


def _print_transcript(report: dict, console: Console) -> None:
    if report.get("opening"):
        console.print(f"[bold cyan]  0 bot[/]     {escape(report['opening'])}")
    for t in report["turns"]:
        caller = escape(caller_label(t))  # "[unk]" would otherwise be eaten as rich markup
        heard = t["intent"] or "no match"
        if t.get("slots"):
            heard += " " + json.dumps(t["slots"], ensure_ascii=False)
        console.print(
            f"[bold]{t.get('turn', ''):>3} caller[/]  [yellow]{caller}[/]  [dim]{escape(str(t['menu']))} → {escape(heard)}[/]"
        )
        if t["bot"]:
            console.print(f"[bold cyan]    bot[/]     {escape(t['bot'])}")
    esc = report.get("escalation")
    style = {"completed": "green", "escalated": "red"}.get(report["outcome"], "yellow")
    console.print(f"\n[bold {style}]outcome: {report['outcome']}[/]")
    if esc:
        console.print(f"[bold red]escalation: {escape(str(esc['reason']))}[/]  {escape(str(esc['narrative']))}")
    if report.get("promise"):
        p = report["promise"]
        console.print(f"[bold green]promise: {escape(str(p['date']))}  {escape(str(p['amount']))} 元[/]")


def _store():
    from ivr.settings import load_settings
    from ivr.store import Store

    return Store(load_settings().database_url)


def simulate(
    wavs: Optional[list[Path]] = typer.Argument(None, help="caller WAV files, one per turn (default: bundled example)"),
    text: Optional[Path] = typer.Option(None, "--text", help="script: one caller line per line, #dtmf KEYS, #silence"),
    case: Optional[Path] = typer.Option(None, "--case", help="case JSON (default: a demo case)"),
    now: Optional[str] = typer.Option(None, "--now", help="call date-time, ISO (dates are resolved against it)"),
    json_out: bool = typer.Option(False, "--json", help="print the call report as JSON (docs/dialog.md)"),
    fast: bool = typer.Option(False, "--fast", help="WAV: do not pace audio in real time"),
    out: Optional[Path] = typer.Option(None, "--out", help="WAV: directory for the bot audio / recording"),
    seed: int = typer.Option(0, "--seed", help="prompt variant choice (same seed, same wording)"),
) -> None:
    """Run one simulated call from a text script or caller WAV files."""
    from ivr.case import Case, CaseError

    try:
        the_case = Case.load(case) if case else Case()
        when = _parse_now(now)
        if text is not None:
            if wavs:
                raise ScriptError("give either --text FILE or WAV files, not both")
            report = run_text_call(parse_script(text), the_case, when, _store(), seed=seed)
        else:
            from ivr.settings import load_settings

            try:
                from ivr.transports.wavfile import simulate as wav_simulate
            except ImportError as e:
                raise ScriptError(f"WAV simulation is not available ({e}); use --text FILE") from None

            report = wav_simulate(list(wavs or []), the_case, when, fast, out, load_settings())
    except (ScriptError, CaseError) as e:
        raise fail(str(e)) from None
    if json_out:
        print(json.dumps(report, ensure_ascii=False, indent=2))
    else:
        _print_transcript(report, Console(soft_wrap=True))


def calls(
    limit: int = typer.Option(20, "--limit", min=1, help="most recent N calls"),
    json_out: bool = typer.Option(False, "--json"),
) -> None:
    """List stored calls, newest first."""
    rows = [
        {
            "id": c.id,
            "started_at": c.started_at.isoformat(timespec="seconds"),
            "transport": c.transport,
            "debtor": c.debtor_name,
            "identity": c.identity,
            "status": c.status,
            "outcome": c.outcome,
            "ended_reason": c.ended_reason,  # worker_restart / stale: closed by Store.close_stale_calls
            "last_menu": c.last_menu,
            "turns": c.turn_count,
            "promise_date": c.promise_date,
            "promise_amount": c.promise_amount,
        }
        for c in _store().list_calls(limit=limit)
    ]
    _print_rows(
        rows,
        json_out,
        "calls",
        ["id", "started_at", "transport", "debtor", "identity", "outcome", "last_menu", "turns", "promise_date"],
    )


def escalations(
    status: Optional[str] = typer.Option(None, "--status", help="waiting | claimed | resolved"),
    limit: int = typer.Option(50, "--limit", min=1),
    json_out: bool = typer.Option(False, "--json"),
) -> None:
    """List escalations, highest priority first."""
    if status is not None and status not in ("waiting", "claimed", "resolved"):
        raise fail(f"--status: expected waiting, claimed or resolved, got {status!r}")
    rows = [
        {
            "id": e.id,
            "call_id": e.call_id,
            "created_at": e.created_at.isoformat(timespec="seconds"),
            "reason": e.reason,
            "priority": e.priority,
            "status": e.status,
            "transfer_status": e.transfer_status,
            "trigger_turn": e.trigger_turn,
            "narrative": e.narrative,
        }
        for e in _store().list_escalations(status=status, limit=limit)
    ]
    _print_rows(
        rows,
        json_out,
        "escalations",
        ["id", "priority", "reason", "status", "transfer_status", "created_at", "narrative"],
    )


def _print_rows(rows: list[dict], json_out: bool, title: str, columns: list[str]) -> None:
    if json_out:
        print(json.dumps(rows, ensure_ascii=False, indent=2))
        return
    table = Table(title=f"{title} ({len(rows)})")
    for col in columns:
        table.add_column(col, overflow="fold")
    for r in rows:
        # Text, not str: a stored name or narrative is data, never rich markup ("[/]" would raise)
        table.add_row(
            *(Text("" if r[c] is None else str(r[c])[:12] if c.endswith("id") else str(r[c])) for c in columns)
        )
    Console().print(table)


def register(app: typer.Typer) -> None:
    app.command("simulate")(simulate)
    app.command("calls")(calls)
    app.command("escalations")(escalations)
