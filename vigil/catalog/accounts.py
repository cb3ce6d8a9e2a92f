"""Users, browser sessions and API tokens in the catalog. Secrets are stored only as hashes."""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from typing import Any

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import delete, select
from sqlalchemy.exc import IntegrityError

from vigil.catalog.models import CredentialModel, UserModel
from vigil.catalog.store import Catalog
from vigil.clock import now_ms
from vigil.errors import ConfigError, NotFoundError

ROLES = ("admin", "operator", "viewer")
_hasher = PasswordHasher()
# Verifying against this when the user does not exist keeps the answer time the same either way.
_DUMMY_HASH = _hasher.hash("vigil-no-such-user")


@dataclass(frozen=True)
class User:
    username: str
    role: str
    cameras: list[str] | None = None
    must_change_password: bool = False
    disabled: bool = False


def _user(row: UserModel) -> User:
    return User(row.username, row.role, row.cameras, bool(row.must_change_password), bool(row.disabled))


RTSP_REALM = "Vigil"


def rtsp_ha1(username: str, password: str) -> str:
    """Digest's HA1 (RFC 2617). It is a password equivalent for RTSP only; the API never accepts it."""
    return hashlib.md5(f"{username}:{RTSP_REALM}:{password}".encode(), usedforsecurity=False).hexdigest()


def _digest(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def check_password_rules(password: str) -> None:
    if len(password) < 8:
        raise ConfigError("the password must have at least 8 characters")


def add_user(catalog: Catalog, username: str, password: str, role: str = "admin", must_change: bool = False,
             cameras: list[str] | None = None) -> User:
    if role not in ROLES:
        raise ConfigError(f"role {role!r} is not one of {', '.join(ROLES)}")
    if not username or len(username) > 64:
        raise ConfigError("the user name must have 1 to 64 characters")
    check_password_rules(password)
    with catalog.session() as s, s.begin():
        if s.get(UserModel, username) is not None:
            raise ConfigError(f"user {username!r} exists already; use `vigil users passwd {username}`")
        s.add(UserModel(username=username, password_hash=_hasher.hash(password), role=role, created_ms=now_ms(),
                        rtsp_ha1=rtsp_ha1(username, password), must_change_password=must_change,
                        cameras=cameras))
    return User(username, role, cameras, must_change)


def _keep_an_admin(s: Any, username: str) -> None:
    others = s.scalars(select(UserModel.username).where(UserModel.role == "admin", UserModel.username != username,
                                                        UserModel.disabled.is_(False)).limit(1)).first()
    if others is None:
        raise ConfigError(f"{username!r} is the last enabled admin: make another admin first, or nobody could "
                          "manage Vigil")


def _end_credentials(s: Any, username: str) -> None:
    s.execute(delete(CredentialModel).where(CredentialModel.username == username))


def set_user(catalog: Catalog, username: str, role: str | None = None, cameras: list[str] | None = None,
             all_cameras: bool = False, disabled: bool | None = None) -> User:
    """Changes a user's role, camera set (`all_cameras`: no limit) or whether the account is disabled. Their
    sessions continue with the new rights from their next request (open streams within a second); disabling
    ends every session and token at once."""
    if role is not None and role not in ROLES:
        raise ConfigError(f"role {role!r} is not one of {', '.join(ROLES)}")
    with catalog.session() as s, s.begin():
        row = s.get(UserModel, username)
        if row is None:
            raise NotFoundError(f"no user {username!r}; `vigil users list` shows them")
        if row.role == "admin" and ((role is not None and role != "admin") or disabled):
            _keep_an_admin(s, username)
        if role is not None:
            row.role = role
        if all_cameras:
            row.cameras = None
        elif cameras is not None:
            row.cameras = sorted(set(cameras))
        if disabled is not None:
            row.disabled = disabled
            if disabled:
                _end_credentials(s, username)
        return _user(row)


def delete_user(catalog: Catalog, username: str) -> None:
    """Removes an account, its sessions and tokens. Its audit rows stay (they name it)."""
    with catalog.session() as s, s.begin():
        row = s.get(UserModel, username)
        if row is None:
            raise NotFoundError(f"no user {username!r}; `vigil users list` shows them")
        if row.role == "admin":
            _keep_an_admin(s, username)
        _end_credentials(s, username)
        s.delete(row)


def set_password(catalog: Catalog, username: str, password: str) -> None:
    check_password_rules(password)
    with catalog.session() as s, s.begin():
        row = s.get(UserModel, username)
        if row is None:
            raise NotFoundError(f"no user {username!r}; `vigil users list` shows them")
        if _same(row.password_hash, password):
            raise ConfigError("the new password must differ from the old one")
        row.password_hash = _hasher.hash(password)
        row.rtsp_ha1 = rtsp_ha1(username, password)
        row.must_change_password = False
        # A new password ends every session (but not the API tokens scripts use).
        s.execute(delete(CredentialModel).where(CredentialModel.username == username,
                                                CredentialModel.kind == "session"))


def _same(stored: str, password: str) -> bool:
    try:
        return bool(_hasher.verify(stored, password))
    except (VerificationError, InvalidHashError):
        return False


def list_users(catalog: Catalog) -> list[User]:
    with catalog.session() as s:
        return [_user(u) for u in s.scalars(select(UserModel).order_by(UserModel.username))]


def has_users(catalog: Catalog) -> bool:
    with catalog.session() as s:
        return s.scalars(select(UserModel.username).limit(1)).first() is not None


def ensure_admin(catalog: Catalog, password: str | None = None) -> str | None:
    """On first start create `admin`; return the generated password (to print once), or None."""
    if has_users(catalog):
        return None
    generated = password is None
    pw = password or secrets.token_urlsafe(12)
    # A generated password was printed on a console: it must be replaced at the first login.
    try:
        add_user(catalog, "admin", pw, "admin", must_change=generated)
    except (ConfigError, IntegrityError):  # another node of a cluster, starting at the same time, was first
        return None
    return pw if generated else None


def verify(catalog: Catalog, username: str, password: str) -> User | None:
    with catalog.session() as s, s.begin():
        row = s.get(UserModel, username)
        stored = row.password_hash if row is not None else _DUMMY_HASH
        try:
            _hasher.verify(stored, password)
        except (VerificationError, InvalidHashError):
            return None
        if row is None or row.disabled:
            return None
        if row.rtsp_ha1 is None:  # an account from before RTSP out: its Digest secret, now that we can make it
            row.rtsp_ha1 = rtsp_ha1(username, password)
        return _user(row)


def rtsp_user(catalog: Catalog, username: str) -> tuple[str, User] | None:
    """The user's Digest HA1 and the user, for RTSP out; None when unknown or never logged in since RTSP out."""
    with catalog.session() as s:
        row = s.get(UserModel, username)
        if row is None or row.rtsp_ha1 is None or row.disabled:
            return None
        return row.rtsp_ha1, _user(row)


def issue(catalog: Catalog, username: str, kind: str, name: str = "", ttl_ms: int | None = None) -> str:
    secret = ("vgl_" if kind == "token" else "") + secrets.token_urlsafe(32)
    with catalog.session() as s, s.begin():
        s.add(CredentialModel(
            token_hash=_digest(secret), username=username, kind=kind, name=name, created_ms=now_ms(),
            expires_ms=now_ms() + ttl_ms if ttl_ms else None,
        ))
    return secret


def resolve(catalog: Catalog, secret: str, kind: str) -> User | None:
    with catalog.session() as s:
        cred = s.get(CredentialModel, _digest(secret))
        if cred is None or cred.kind != kind or (cred.expires_ms is not None and cred.expires_ms < now_ms()):
            return None
        user = s.get(UserModel, cred.username)
        return _user(user) if user is not None and not user.disabled else None


def revoke(catalog: Catalog, secret: str, hashed: bool = False) -> None:
    with catalog.session() as s, s.begin():
        s.execute(delete(CredentialModel).where(CredentialModel.token_hash == (secret if hashed else _digest(secret))))


@dataclass(frozen=True)
class Credential:
    id: str  # the start of the secret's hash: enough to name it, useless to log in
    token_hash: str
    username: str
    kind: str
    name: str
    created_ms: int
    expires_ms: int | None

    def is_secret(self, secret: str | None) -> bool:
        return secret is not None and _digest(secret) == self.token_hash

    def public(self) -> dict[str, object]:
        """Everything but the hash."""
        return {"id": self.id, "username": self.username, "kind": self.kind, "name": self.name,
                "created_ms": self.created_ms, "expires_ms": self.expires_ms}


def sessions(catalog: Catalog, username: str | None) -> list[Credential]:
    """Live sessions and tokens, newest first; expired sessions are deleted on the way."""
    now = now_ms()
    with catalog.session() as s, s.begin():
        s.execute(delete(CredentialModel).where(CredentialModel.expires_ms.is_not(None),
                                                CredentialModel.expires_ms < now))
        q = select(CredentialModel).order_by(CredentialModel.created_ms.desc())
        if username is not None:
            q = q.where(CredentialModel.username == username)
        return [Credential(c.token_hash[:16], c.token_hash, c.username, c.kind, c.name, c.created_ms, c.expires_ms)
                for c in s.scalars(q)]
