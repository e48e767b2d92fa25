"""Secrets at rest: MultiFernet over the keys in FIELD_ENCRYPTION_KEYS (newest first).

Several keys allow rotation: new values are encrypted under the first key, any listed key
decrypts, and `manage.py rotate_secrets` re-encrypts stored values under the newest key.
"""

from __future__ import annotations

import base64
import hashlib
from functools import lru_cache

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured


@lru_cache(maxsize=4)
def _fernet(keys: tuple[str, ...]) -> MultiFernet:
    if not keys:
        raise ImproperlyConfigured("FIELD_ENCRYPTION_KEYS is empty: set at least one Fernet key.")
    return MultiFernet([Fernet(k.encode()) for k in keys])


def keys() -> tuple[str, ...]:
    configured = tuple(k for k in settings.FIELD_ENCRYPTION_KEYS if k)
    if configured:
        return configured
    if settings.DEBUG:
        # Development only: a key derived from the development SECRET_KEY.
        return (base64.urlsafe_b64encode(hashlib.sha256(settings.SECRET_KEY.encode()).digest()).decode(),)
    return ()


def encrypt(plaintext: str) -> str:
    if not plaintext:
        return ""
    return _fernet(keys()).encrypt(plaintext.encode()).decode()


def decrypt(token: str) -> str:
    if not token:
        return ""
    try:
        return _fernet(keys()).decrypt(token.encode()).decode()
    except InvalidToken as exc:
        raise ImproperlyConfigured("A stored secret cannot be decrypted with FIELD_ENCRYPTION_KEYS.") from exc


def rotate(token: str) -> str:
    """The same secret encrypted under the newest key."""
    if not token:
        return ""
    return _fernet(keys()).rotate(token.encode()).decode()


def is_current(token: str) -> bool:
    """True when `token` is already encrypted under the newest key."""
    if not token:
        return True
    try:
        Fernet(keys()[0].encode()).decrypt(token.encode())
    except InvalidToken:
        return False
    return True


# --- Registry of encrypted columns ------------------------------------------------------------
# Every model field holding a token from `encrypt` registers here (in its app's ready()), so
# `manage.py rotate_secrets` re-encrypts all of them under the newest key.

_ENCRYPTED_FIELDS: list[tuple[str, str]] = []


def register_encrypted_field(model_label: str, field_name: str) -> None:
    """Declare `app_label.Model`.`field_name` as holding Fernet tokens."""
    entry = (model_label, field_name)
    if entry not in _ENCRYPTED_FIELDS:
        _ENCRYPTED_FIELDS.append(entry)


def encrypted_fields() -> list[tuple[str, str]]:
    return list(_ENCRYPTED_FIELDS)
