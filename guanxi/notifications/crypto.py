"""Encryption of secrets at rest (robot webhook URLs and signing secrets).

Fernet (AES-128-CBC with HMAC-SHA256, from ``cryptography``). The key is
``settings.GUANXI_FIELD_ENCRYPTION_KEY`` (a urlsafe-base64 32-byte Fernet key); when it is
empty a key is derived from SECRET_KEY with HKDF, so a laptop needs no setup. Keys listed in
``GUANXI_FIELD_ENCRYPTION_OLD_KEYS`` still decrypt (MultiFernet), which is how a key is rotated:
see docs/operations.md and ``guanxi notifications_reencrypt``.
"""

from __future__ import annotations

import base64
from functools import lru_cache

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

HKDF_SALT = b"guanxi-field-encryption"
HKDF_INFO = b"fernet-key-v1"


class DecryptionError(Exception):
    """A stored value cannot be decrypted with any configured key."""


def key_derive(secret_key: str) -> str:
    """A Fernet key derived from ``secret_key`` (HKDF-SHA256)."""
    derived = HKDF(algorithm=hashes.SHA256(), length=32, salt=HKDF_SALT, info=HKDF_INFO).derive(
        secret_key.encode()
    )
    return base64.urlsafe_b64encode(derived).decode()


def _configured_keys() -> tuple[str, ...]:
    current = getattr(settings, "GUANXI_FIELD_ENCRYPTION_KEY", "") or key_derive(
        settings.SECRET_KEY
    )
    old = tuple(getattr(settings, "GUANXI_FIELD_ENCRYPTION_OLD_KEYS", ()) or ())
    return (current, *old)


@lru_cache(maxsize=4)
def _fernet_for(keys: tuple[str, ...]) -> MultiFernet:
    try:
        return MultiFernet([Fernet(key) for key in keys])
    except (ValueError, TypeError) as error:
        raise ImproperlyConfigured(
            "GUANXI_FIELD_ENCRYPTION_KEY / _OLD_KEYS must be Fernet keys (32 bytes, "
            "urlsafe base64): generate one with "
            '`python -c "from cryptography.fernet import Fernet; print(Fernet.generate_key())"`'
        ) from error


def _fernet() -> MultiFernet:
    # Keyed by the settings' values, so override_settings in tests and a reload take effect.
    return _fernet_for(_configured_keys())


def encrypt(value: str) -> str:
    if value == "":
        return ""
    return _fernet().encrypt(value.encode()).decode()


def decrypt(token: str) -> str:
    if token == "":
        return ""
    try:
        return _fernet().decrypt(token.encode()).decode()
    except InvalidToken as error:
        raise DecryptionError("stored value does not decrypt with the configured keys") from error


def reencrypt(token: str) -> str:
    """``token`` encrypted again with the current key (MultiFernet.rotate)."""
    if token == "":
        return ""
    try:
        return _fernet().rotate(token.encode()).decode()
    except InvalidToken as error:
        raise DecryptionError("stored value does not decrypt with the configured keys") from error
