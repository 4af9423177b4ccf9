"""Provider keys and secrets as operators give them: one loader for every setting that holds one.

A value is the key itself (PEM text, or the bare base64 DER that Alipay's console and key tool
show), or `@<path>` to a file holding it, so a secret can stay out of the environment.
"""

from __future__ import annotations

import base64
import binascii
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.rsa import RSAPrivateKey, RSAPublicKey


def read_setting(value: str) -> str:
    """The value itself, or the text of the file `@<path>` names (surrounding blanks removed)."""
    value = value.strip()
    if value.startswith("@"):
        return Path(value[1:]).read_text(encoding="utf-8").strip()
    return value


def _der(text: str) -> bytes:
    try:
        return base64.b64decode("".join(text.split()), validate=True)
    except (binascii.Error, ValueError):
        raise ValueError("a key must be PEM text, base64 DER or @<path>") from None


def load_private_key(value: str | bytes) -> RSAPrivateKey:
    """An RSA private key from PEM (PKCS#8 or PKCS#1), bare base64 DER, or `@<path>`."""
    text = read_setting(value.decode() if isinstance(value, bytes) else value)
    key: object
    if text.startswith("-----BEGIN"):
        key = serialization.load_pem_private_key(text.encode(), password=None)
    else:
        key = serialization.load_der_private_key(_der(text), password=None)
    if not isinstance(key, RSAPrivateKey):
        raise ValueError("the key must be an RSA private key")
    return key


def load_public_key(value: str | bytes) -> RSAPublicKey:
    """An RSA public key from PEM (SubjectPublicKeyInfo), bare base64 DER, or `@<path>`."""
    text = read_setting(value.decode() if isinstance(value, bytes) else value)
    key: object
    if text.startswith("-----BEGIN"):
        key = serialization.load_pem_public_key(text.encode())
    else:
        key = serialization.load_der_public_key(_der(text))
    if not isinstance(key, RSAPublicKey):
        raise ValueError("the key must be an RSA public key")
    return key


def public_key_pem(key: RSAPrivateKey | RSAPublicKey) -> str:
    pub = key.public_key() if isinstance(key, RSAPrivateKey) else key
    return pub.public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    ).decode()


def private_key_pem(key: RSAPrivateKey) -> str:
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode()
