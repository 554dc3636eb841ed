"""What every `ivr` subcommand module shares (kept apart from `ivr/cli/__init__.py`, which imports
those modules: no import cycle)."""

from __future__ import annotations

import sys
from typing import Annotated, Optional

import typer

# `--db-url` of the commands that open the store themselves (users, retention)
DbUrl = Annotated[Optional[str], typer.Option("--db-url", help="database URL (default: IVR_DB_URL / data dir)")]


def fail(message: str, code: int = 2) -> typer.Exit:
    """Print one clear line on stderr and return the Exit to raise (README: bad input exits 2 with
    one line naming the file, the field, what was expected and what was found)."""
    print(f"ivr: error: {message}", file=sys.stderr)
    return typer.Exit(code)
