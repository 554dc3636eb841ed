"""Console users: argon2 password hashes, role checks, the session signing key and CSRF tokens.

Shared by the web console (`ivr.web`) and `ivr users`.  Roles are ordered: an admin can do all a
supervisor can, a supervisor all an agent can (`store.ROLES`).
"""

from __future__ import annotations

import os
import re
import secrets
from pathlib import Path

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import select

from ivr.settings import Settings
from ivr.store import ROLES, AuditEntry, Store, User

_HASHER = PasswordHasher()  # library defaults (RFC 9106 low-memory profile) are the maintained choice
USERNAME_RE = re.compile(r"^[A-Za-z0-9_.\-]{2,64}$")
MIN_PASSWORD = 8
# Verified against when the username is unknown, so a login takes as long either way.
_DUMMY_HASH = _HASHER.hash("not-a-real-password")


class UserError(ValueError):
    """Bad user input (name, role, password); the message is one line naming the problem."""


def role_at_least(role: str, minimum: str) -> bool:
    return role in ROLES and ROLES.index(role) >= ROLES.index(minimum)


def hash_password(password: str) -> str:
    return _HASHER.hash(password)


def validate_new_user(username: str, role: str, password: str) -> None:
    if not USERNAME_RE.match(username):
        raise UserError(f"username {username!r}: expected 2-64 letters, digits, '_', '.' or '-'")
    if role not in ROLES:
        raise UserError(f"role {role!r}: expected one of {', '.join(ROLES)}")
    if len(password) < MIN_PASSWORD:
        raise UserError(f"password: expected at least {MIN_PASSWORD} characters, got {len(password)}")


def add_user(store: Store, username: str, role: str, password: str, by: str = "cli") -> User:
    validate_new_user(username, role, password)
    with store.session() as s:
        if s.scalar(select(User.id).where(User.username == username)) is not None:
            raise UserError(f"username {username!r} already exists")
        user = User(username=username, role=role, password_hash=hash_password(password))
        s.add(user)
        s.add(AuditEntry(username=by, action="user_add", target_type="user", target_id=username, detail=role))
    return user


def list_users(store: Store) -> list[User]:
    with store.session() as s:
        return list(s.scalars(select(User).order_by(User.username)))


def get_active_user(store: Store, username: str) -> User | None:
    with store.session() as s:
        user = s.scalar(select(User).where(User.username == username))
        return user if user is not None and user.active else None


def authenticate(store: Store, username: str, password: str) -> User | None:
    """The active user when the password matches, else None (constant-ish time either way)."""
    user = get_active_user(store, username)
    try:
        _HASHER.verify(user.password_hash if user else _DUMMY_HASH, password)
    except (VerificationError, InvalidHashError):
        return None
    if user is None:
        return None
    if _HASHER.check_needs_rehash(user.password_hash):
        with store.session() as s:
            s.get(User, user.id).password_hash = hash_password(password)  # type: ignore[union-attr]
    return user


def new_csrf_token() -> str:
    return secrets.token_urlsafe(32)


def csrf_matches(expected: str | None, given: str | None) -> bool:
    return bool(expected) and bool(given) and secrets.compare_digest(str(expected), str(given))


def session_secret(settings: Settings) -> str:
    """`IVR_SECRET_KEY`, else a random key generated once into the data directory (mode 0600),
    so sessions survive restarts and every worker of one install signs with the same key."""
    if settings.secret_key:
        return settings.secret_key
    path = Path(settings.data_dir) / "secret_key"
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:  # another worker created it first: use theirs
            pass
        else:
            with os.fdopen(fd, "w") as f:
                f.write(secrets.token_urlsafe(48))
    return path.read_text().strip()
