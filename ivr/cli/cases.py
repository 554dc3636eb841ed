"""`ivr cases check PATH`: validate the case book a dialer exported, without serving calls."""

from __future__ import annotations

from pathlib import Path

import typer

cases_app = typer.Typer(
    help="The case book (`ivr serve --cases PATH`): which debtor each call is about.", no_args_is_help=True
)


def register(app: typer.Typer) -> None:
    app.add_typer(cases_app, name="cases")


@cases_app.command("check")
def check(path: Path = typer.Argument(..., help="CSV, JSON-lines file, or folder of *.json case files")) -> None:
    """Report every bad row (file, line, field, expected vs got); exit 0 if the book is good, else 1."""
    from ivr.casebook import read_cases

    cases, errors = read_cases(path)
    for line in errors:
        typer.echo(line, err=True)
    typer.echo(f"{path}: {len(cases)} cases, {len(errors)} errors")
    raise typer.Exit(1 if errors else 0)
