"""A payment provider's settings, typed and built one way, from `PAYSTREAM_<PROVIDER>_*`.

None of a provider's required variables set means the provider is not configured (its routes and
methods are not offered); some set and others not is a mistake, refused at start with the names
of the missing variables. Keys are parsed when the settings are read, so a bad key stops the
service from starting instead of failing the first payment.
"""

from __future__ import annotations

from typing import Annotated, Any, ClassVar, Self

from cryptography.hazmat.primitives.asymmetric.rsa import RSAPrivateKey, RSAPublicKey
from pydantic import PlainValidator, SecretStr, ValidationError, WithJsonSchema
from pydantic_settings import BaseSettings, SettingsConfigDict

from paystream.shared.providers.keys import load_private_key, load_public_key, read_setting


def _public_key(value: object) -> RSAPublicKey:
    if isinstance(value, RSAPublicKey):
        return value
    if not isinstance(value, str):
        raise ValueError("a public key is PEM text, base64 DER or @<path>")
    return load_public_key(value)


def _private_key(value: object) -> RSAPrivateKey:
    if isinstance(value, RSAPrivateKey):
        return value
    if not isinstance(value, str):
        raise ValueError("a private key is PEM text, base64 DER or @<path>")
    return load_private_key(value)


def _secret(value: object) -> SecretStr:
    raw = value.get_secret_value() if isinstance(value, SecretStr) else value
    if not isinstance(raw, str):
        raise ValueError("a secret is a string or @<path>")
    return SecretStr(read_setting(raw))


_STRING: Any = WithJsonSchema({"type": "string"})
# An RSA key given as PEM text, Alipay's bare base64 DER, or `@<path>` (see providers.keys).
PublicKey = Annotated[RSAPublicKey, PlainValidator(_public_key), _STRING]
PrivateKey = Annotated[RSAPrivateKey, PlainValidator(_private_key), _STRING]
# A secret given as is or as `@<path>`; never shown by repr.
Secret = Annotated[SecretStr, PlainValidator(_secret), _STRING]


class ProviderSettings(BaseSettings):
    """Base of every provider's settings; a subclass sets `env_prefix` and `display_name`.

    Fields without a default are the provider's required variables (see the module docstring).
    """

    model_config = SettingsConfigDict(
        extra="ignore", frozen=True, env_ignore_empty=True, str_strip_whitespace=True
    )
    display_name: ClassVar[str]

    @classmethod
    def load(cls, **values: Any) -> Self | None:
        """The settings from the environment (`values` win over it); None when the provider is
        not configured at all; ValueError when it is partly configured or a value is invalid."""
        try:
            return cls(**values)
        except ValidationError as exc:
            missing = [str(e["loc"][0]) for e in exc.errors() if e["type"] == "missing"]
            required = [name for name, f in cls.model_fields.items() if f.is_required()]
            if missing and set(missing) == set(required):
                return None
            if missing:
                names = ", ".join(cls.env_name(m) for m in missing)
                raise ValueError(
                    f"{cls.display_name} is partly configured; missing {names}"
                ) from None
            raise

    @classmethod
    def env_name(cls, field: str) -> str:
        return f"{cls.model_config.get('env_prefix', '')}{field}".upper()
