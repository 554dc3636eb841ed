"""Issue 13, finding 9: names and caller text containing rich markup (`[/]`, `[bold]`) are printed
as text by `ivr calls`, `ivr escalations` and `ivr simulate`; on main they crashed the command
(`rich.errors.MarkupError: closing tag '[/]' ... has nothing to close`)."""

from __future__ import annotations

import json

from typer.testing import CliRunner

from ivr.cli import records

MARKUP = "[/]王[bold]五[/bold]"


def _runner_app():
    import typer

    app = typer.Typer()
    records.register(app)
    return app


def test_calls_and_escalations_print_markup_as_text(store):
    from ivr.web.sampledata import make_call

    call_id, _ = make_call(store, "distress")
    store.update_call(call_id, debtor_name=MARKUP)
    with store.session() as s:
        from ivr.store import Escalation

        for e in s.query(Escalation):
            e.narrative = f"客户说 {MARKUP} [/]"
    app = _runner_app()
    r = CliRunner(env={"COLUMNS": "400"}).invoke(app, ["calls"])
    assert r.exit_code == 0, r.output
    assert MARKUP in r.output
    r = CliRunner(env={"COLUMNS": "400"}).invoke(app, ["escalations"])
    assert r.exit_code == 0, r.output
    assert "[/]" in r.output


def test_simulate_prints_markup_in_names_and_caller_words(tmp_path, data_dir):
    case = tmp_path / "case.json"
    case.write_text(
        json.dumps({"case_id": "C-[/]", "name": MARKUP, "amount": 4800, "days_overdue": 45, "company": "[/]公司"}),
        encoding="utf-8",
    )
    script = tmp_path / "call.txt"
    script.write_text("是[/]我\n我不想活了 [/] [red]\n", encoding="utf-8")
    r = CliRunner().invoke(_runner_app(), ["simulate", "--text", str(script), "--case", str(case)])
    assert r.exit_code == 0, r.output
    assert "escalation: distress" in r.output
    assert "[/]" in r.output
