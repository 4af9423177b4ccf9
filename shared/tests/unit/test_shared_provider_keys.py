"""The one loader of provider keys and secrets: PEM, Alipay's bare base64 DER, or `@<path>`."""

from __future__ import annotations

from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric import rsa

from paystream.shared.providers.keys import (
    load_private_key,
    load_public_key,
    private_key_pem,
    public_key_pem,
    read_setting,
)


@pytest.fixture(scope="module")
def key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def _bare(pem: str) -> str:
    return "".join(line for line in pem.splitlines() if not line.startswith("-----"))


def test_keys_load_from_pem_bare_base64_and_file(key: rsa.RSAPrivateKey, tmp_path: Path) -> None:
    pem, pub = private_key_pem(key), public_key_pem(key)
    for value in (pem, _bare(pem), pem.encode()):
        assert load_private_key(value).private_numbers() == key.private_numbers()
    for value in (pub, _bare(pub), pub.encode()):
        assert load_public_key(value).public_numbers() == key.public_key().public_numbers()
    path = tmp_path / "key.pem"
    path.write_text(pem)
    assert load_private_key(f"@{path}").private_numbers() == key.private_numbers()
    (tmp_path / "pub.pem").write_text(pub)
    assert load_public_key(f" @{tmp_path / 'pub.pem'}\n").public_numbers() == (
        key.public_key().public_numbers()
    )


def test_what_is_not_a_key_is_refused(key: rsa.RSAPrivateKey) -> None:
    for value in ("", "not a key!", "QUJD"):
        with pytest.raises(ValueError):  # noqa: PT011 (cryptography's messages vary by version)
            load_public_key(value)
    with pytest.raises(ValueError, match="public key"):
        load_public_key(private_key_pem(key))
    with pytest.raises(ValueError, match="private key"):
        load_private_key(public_key_pem(key))


def test_a_setting_is_its_value_or_the_file_it_names(tmp_path: Path) -> None:
    (tmp_path / "secret").write_text("0123456789abcdef0123456789ABCDEF\n")
    assert read_setting(f"@{tmp_path / 'secret'}") == "0123456789abcdef0123456789ABCDEF"
    assert read_setting("  inline ") == "inline"
