"""`ivr users add|list|passwd|disable|enable|delete`: console accounts (the first admin is created here,
later ones in the console).  Changing a password, disabling or deleting a user ends their sessions."""

from __future__ import annotations

import getpass
import sys
from collections.abc import Iterator
from contextlib import contextmanager

import typer

from ivr.cli.common import DbUrl, fail

users_app = typer.Typer(help="Console users (roles: agent, supervisor, admin).", no_args_is_help=True)


def _store(db_url: str | None):
    from ivr.settings import load_settings
    from ivr.store import Store

    return Store(load_settings(db_url=db_url).database_url)


@contextmanager
def _user_errors_exit() -> Iterator[None]:
    """A refused user change (bad name, role or password; unknown user) exits 2 with its one line."""
    from ivr.auth import UserError

    try:
        yield
    except UserError as e:
        raise fail(str(e)) from None


@users_app.command("add")
def add(
    username: str = typer.Argument(..., help="login name (letters, digits, _ . -)"),
    role: str = typer.Option("agent", "--role", help="agent | supervisor | admin"),
    password_stdin: bool = typer.Option(
        False, "--password-stdin", help="read the password from the first line of stdin"
    ),
    db_url: DbUrl = None,
) -> None:
    """Create a console user; the password is asked twice unless --password-stdin."""
    from ivr.auth import add_user, validate_new_user

    password = _read_password(password_stdin)
    with _user_errors_exit():
        validate_new_user(username, role, password)  # before touching the database
        add_user(_store(db_url), username, role, password)
    print(f"added {role} {username}")


def _read_password(password_stdin: bool) -> str:
    if password_stdin:
        return sys.stdin.readline().rstrip("\r\n")
    password = getpass.getpass("Password: ")
    if getpass.getpass("Repeat password: ") != password:
        raise fail("passwords do not match")
    return password


@users_app.command("passwd")
def passwd(
    username: str = typer.Argument(..., help="login name"),
    password_stdin: bool = typer.Option(
        False, "--password-stdin", help="read the new password from the first line of stdin"
    ),
    db_url: DbUrl = None,
) -> None:
    """Set a new password (policy: 10+ characters, not the name, not a well-known one); ends the user's sessions."""
    from ivr.auth import check_password, set_password

    password = _read_password(password_stdin)
    with _user_errors_exit():
        check_password(password, username)
        set_password(_store(db_url), username, password)
    print(f"password of {username} changed; their sessions ended")


def _set_active(username: str, active: bool, db_url: str | None) -> None:
    from ivr.auth import set_active

    with _user_errors_exit():
        set_active(_store(db_url), username, active)


@users_app.command("disable")
def disable(
    username: str = typer.Argument(..., help="login name"),
    db_url: DbUrl = None,
) -> None:
    """Disable a user: they cannot log in and their sessions end at once."""
    _set_active(username, False, db_url)
    print(f"disabled {username}; their sessions ended")


@users_app.command("enable")
def enable(
    username: str = typer.Argument(..., help="login name"),
    db_url: DbUrl = None,
) -> None:
    """Enable a disabled user again."""
    _set_active(username, True, db_url)
    print(f"enabled {username}")


@users_app.command("delete")
def delete(
    username: str = typer.Argument(..., help="login name"),
    db_url: DbUrl = None,
) -> None:
    """Delete a user (their audit entries stay); their sessions end at once."""
    from ivr.auth import delete_user

    with _user_errors_exit():
        delete_user(_store(db_url), username)
    print(f"deleted {username}")


@users_app.command("list")
def list_(
    db_url: DbUrl = None,
) -> None:
    """List console users: name, role, active, created (UTC)."""
    from ivr.auth import list_users

    for u in list_users(_store(db_url)):
        print(f"{u.username}\t{u.role}\t{'active' if u.active else 'disabled'}\t{u.created_at:%Y-%m-%d %H:%M}")


def register(app: typer.Typer) -> None:
    app.add_typer(users_app, name="users")
