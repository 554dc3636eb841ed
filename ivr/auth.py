"""Console users: argon2 password hashes, role checks, the session signing key and CSRF tokens.

Shared by the web console (`ivr.web`) and `ivr users`.  Roles are ordered: an admin can do all a
supervisor can, a supervisor all an agent can (`store.ROLES`).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import os
import re
import secrets
from functools import lru_cache
from pathlib import Path

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import delete, select

from ivr.settings import Settings
from ivr.store import ROLES, AuditEntry, ConsoleSession, Store, User, utcnow

_HASHER = PasswordHasher()  # library defaults (RFC 9106 low-memory profile) are the maintained choice
USERNAME_RE = re.compile(r"^[A-Za-z0-9_.\-]{2,64}$")
MIN_PASSWORD = 10
MAX_PASSWORD = 256
# Refused whatever their length: the passwords tried first by anyone guessing (and this project's examples).
COMMON_PASSWORDS = frozenset(
    {"password", "password1", "password123", "passw0rd", "1234567890", "12345678910", "qwertyuiop",
     "1q2w3e4r5t", "iloveyou", "admin12345", "administrator", "changeme", "change-me", "a-long-password",
     "woaini1314", "5201314520", "abcdefghij", "0123456789"}
)  # fmt: skip
MIN_SECRET_KEY = 32
# Values of IVR_SECRET_KEY that are examples, not secrets (deploy/ivr.env.example, docs).
PLACEHOLDER_KEYS = ("change-me", "changeme", "secret", "example", "placeholder", "your-", "xxx", "todo")
SESSION_MAX_AGE = 12 * 3600  # one working day (also the cookie's max age)


@lru_cache(maxsize=4)
def _dummy_hash(hasher: PasswordHasher) -> str:
    """Verified against when the username is unknown or disabled, so a login takes as long either
    way: made by the hasher in use (same parameters, same cost as a real user's hash)."""
    return hasher.hash(secrets.token_urlsafe(16))


class UserError(ValueError):
    """Bad user input (name, role, password); the message is one line naming the problem."""


def role_at_least(role: str, minimum: str) -> bool:
    return role in ROLES and ROLES.index(role) >= ROLES.index(minimum)


def hash_password(password: str) -> str:
    return _HASHER.hash(password)


def check_password(password: str, username: str = "") -> None:
    """The password policy: 10-256 characters, not the user name, not a well-known password, not one
    character repeated.  Raises UserError with one line saying which rule failed."""
    if len(password) < MIN_PASSWORD:
        raise UserError(f"password: expected at least {MIN_PASSWORD} characters, got {len(password)}")
    if len(password) > MAX_PASSWORD:
        raise UserError(f"password: expected at most {MAX_PASSWORD} characters, got {len(password)}")
    low = password.lower()
    if username and username.lower() in low:
        raise UserError("password: expected a password that does not contain the user name")
    if low in COMMON_PASSWORDS or len(set(password)) < 4:
        raise UserError("password: expected a password that is not a well-known one or one character repeated")


def validate_new_user(username: str, role: str, password: str) -> None:
    if not USERNAME_RE.match(username):
        raise UserError(f"username {username!r}: expected 2-64 letters, digits, '_', '.' or '-'")
    if role not in ROLES:
        raise UserError(f"role {role!r}: expected one of {', '.join(ROLES)}")
    check_password(password, username)


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
    """The active user when the password matches, else None.  Unknown and disabled users cost one
    verification against a hash of the same parameters, so the answer takes as long either way."""
    hasher = _HASHER
    user = get_active_user(store, username)
    try:
        hasher.verify(user.password_hash if user else _dummy_hash(hasher), password)
    except (VerificationError, InvalidHashError):
        return None
    if user is None:
        return None
    if hasher.check_needs_rehash(user.password_hash):
        with store.session() as s:
            s.get(User, user.id).password_hash = hasher.hash(password)  # type: ignore[union-attr]
    return user


def _user_row(s: object, username: str) -> User:
    user = s.scalar(select(User).where(User.username == username))  # type: ignore[attr-defined]
    if user is None:
        raise UserError(f"username {username!r}: no such user")
    return user


def set_password(store: Store, username: str, password: str, by: str = "cli") -> None:
    """New password (policy checked); every session of the user ends."""
    check_password(password, username)
    with store.session() as s:
        _user_row(s, username).password_hash = hash_password(password)
        s.execute(delete(ConsoleSession).where(ConsoleSession.username == username))
        s.add(AuditEntry(username=by, action="user_passwd", target_type="user", target_id=username))


def set_active(store: Store, username: str, active: bool, by: str = "cli") -> None:
    """Disable (every session ends) or enable a user."""
    with store.session() as s:
        _user_row(s, username).active = int(active)
        if not active:
            s.execute(delete(ConsoleSession).where(ConsoleSession.username == username))
        action = "user_enable" if active else "user_disable"
        s.add(AuditEntry(username=by, action=action, target_type="user", target_id=username))


def delete_user(store: Store, username: str, by: str = "cli") -> None:
    """Remove a user and every session; audit entries naming them stay."""
    with store.session() as s:
        s.delete(_user_row(s, username))
        s.execute(delete(ConsoleSession).where(ConsoleSession.username == username))
        s.add(AuditEntry(username=by, action="user_delete", target_type="user", target_id=username))


# ---------------------------------------------------------------- server-side sessions


def _sid_key(sid: str) -> str:
    return hashlib.sha256(sid.encode()).hexdigest()  # a database reader cannot replay a cookie


def open_session(store: Store, username: str) -> str:
    """A new server-side session for a login; returns the id the cookie carries."""
    sid = secrets.token_urlsafe(32)
    with store.session() as s:
        s.add(ConsoleSession(id=_sid_key(sid), username=username))
    return sid


def close_session(store: Store, sid: str | None) -> None:
    if sid:
        with store.session() as s:
            s.execute(delete(ConsoleSession).where(ConsoleSession.id == _sid_key(sid)))


def session_user(store: Store, sid: str | None) -> User | None:
    """The active user of a live session (not logged out, not revoked, not older than 12 h)."""
    if not sid or len(sid) > 128:
        return None
    oldest = utcnow() - dt.timedelta(seconds=SESSION_MAX_AGE)
    with store.session() as s:
        row = s.get(ConsoleSession, _sid_key(sid))
        if row is None or row.created_at < oldest:
            return None
        user = s.scalar(select(User).where(User.username == row.username))
        return user if user is not None and user.active else None


def new_csrf_token() -> str:
    return secrets.token_urlsafe(32)


def csrf_matches(expected: str | None, given: str | None) -> bool:
    return bool(expected) and bool(given) and secrets.compare_digest(str(expected), str(given))


class SecretKeyError(ValueError):
    """IVR_SECRET_KEY is a placeholder or too short; the message is one line."""


def check_secret_key(key: str) -> None:
    """Refuse example values and short keys: anyone who knows the key can forge an admin session."""
    low = key.strip().lower()
    if any(p in low for p in PLACEHOLDER_KEYS):
        raise SecretKeyError(
            "IVR_SECRET_KEY: expected a random secret (python3 -c 'import secrets; print(secrets.token_hex(32))'), "
            "got the placeholder of the example config"
        )
    if len(key.strip()) < MIN_SECRET_KEY or len(set(key)) < 8:
        raise SecretKeyError(
            f"IVR_SECRET_KEY: expected at least {MIN_SECRET_KEY} random characters, got {len(key.strip())}"
        )


def session_secret(settings: Settings) -> str:
    """`IVR_SECRET_KEY` (checked: no placeholder, >= 32 characters), else a random key generated once
    into the data directory (mode 0600), so sessions survive restarts and every worker of one install
    signs with the same key."""
    if settings.secret_key is not None:
        check_secret_key(settings.secret_key)
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
