"""`ivr users add|list`: console accounts (the first admin is created here, later ones in the console)."""

from __future__ import annotations

import getpass
import sys
from typing import Optional

import typer

from ivr.cli.common import fail

users_app = typer.Typer(help="Console users (roles: agent, supervisor, admin).", no_args_is_help=True)


def _store(db_url: str | None):
    from ivr.settings import load_settings
    from ivr.store import Store

    return Store(load_settings(db_url=db_url).database_url)


@users_app.command("add")
def add(
    username: str = typer.Argument(..., help="login name (letters, digits, _ . -)"),
    role: str = typer.Option("agent", "--role", help="agent | supervisor | admin"),
    password_stdin: bool = typer.Option(
        False, "--password-stdin", help="read the password from the first line of stdin"
    ),
    db_url: Optional[str] = typer.Option(None, "--db-url", help="database URL (default: IVR_DB_URL / data dir)"),
) -> None:
    """Create a console user; the password is asked twice unless --password-stdin."""
    from ivr.auth import UserError, add_user, validate_new_user

    if password_stdin:
        password = sys.stdin.readline().rstrip("\r\n")
    else:
        password = getpass.getpass("Password: ")
        if getpass.getpass("Repeat password: ") != password:
            raise fail("passwords do not match")
    try:
        validate_new_user(username, role, password)  # before touching the database
        add_user(_store(db_url), username, role, password)
    except UserError as e:
        raise fail(str(e)) from None
    print(f"added {role} {username}")


@users_app.command("list")
def list_(
    db_url: Optional[str] = typer.Option(None, "--db-url", help="database URL (default: IVR_DB_URL / data dir)"),
) -> None:
    """List console users: name, role, active, created (UTC)."""
    from ivr.auth import list_users

    for u in list_users(_store(db_url)):
        print(f"{u.username}\t{u.role}\t{'active' if u.active else 'disabled'}\t{u.created_at:%Y-%m-%d %H:%M}")


def register(app: typer.Typer) -> None:
    app.add_typer(users_app, name="users")
