"""Camera secrets at rest: passwords in camera URLs and ONVIF settings are sealed (Fernet: AES-128-CBC +
HMAC-SHA256) before they reach the catalog, with a key that is not in the catalog — a file next to it
(`catalog.key_file`, created 0600 on first start) or `VIGIL_SECRET_KEY` (several nodes sharing a PostgreSQL
catalog need the same key). A stolen database or backup then holds no camera password."""

from __future__ import annotations

import os
from pathlib import Path
from urllib.parse import urlsplit

from cryptography.fernet import Fernet, InvalidToken

from vigil.errors import ConfigError

PREFIX = "vigil-sealed:1:"


class SecretBox:
    def __init__(self, key: bytes, where: str) -> None:
        self._fernet = Fernet(key)
        self.where = where

    @classmethod
    def load(cls, path: Path, environ: dict[str, str] | None = None) -> SecretBox:
        env = os.environ if environ is None else environ
        if env.get("VIGIL_SECRET_KEY"):
            try:
                return cls(env["VIGIL_SECRET_KEY"].encode(), "VIGIL_SECRET_KEY")
            except ValueError:
                raise ConfigError("VIGIL_SECRET_KEY is not a key: make one with `python -c \"from cryptography"
                                  ".fernet import Fernet; print(Fernet.generate_key().decode())\"`") from None
        if not path.exists():
            path.parent.mkdir(parents=True, exist_ok=True)
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(fd, "wb") as f:
                f.write(Fernet.generate_key())
        try:
            return cls(path.read_bytes().strip(), str(path))
        except ValueError:
            raise ConfigError(f"{path} is not a Vigil key file (a Fernet key): restore it from your backup; "
                              "without it the camera passwords in the catalog cannot be read") from None

    def seal(self, text: str) -> str:
        return PREFIX + self._fernet.encrypt(text.encode()).decode()

    def open(self, text: str) -> str:
        if not text.startswith(PREFIX):
            return text  # stored before sealing began, or never secret
        try:
            return self._fernet.decrypt(text[len(PREFIX):].encode()).decode()
        except InvalidToken:
            raise ConfigError(f"a camera secret in the catalog was sealed with another key than {self.where}: "
                              "restore the key file that belongs to this catalog (or set VIGIL_SECRET_KEY)") from None

    def seal_url(self, url: str | None) -> str | None:
        """A URL with a password is sealed whole; one without stays readable."""
        if url is None or urlsplit(url).password is None:
            return url
        return self.seal(url)
