"""How paystream's Kafka clients encrypt and authenticate: one value, built from the settings
(`BaseServiceSettings.kafka_security()`), given to every client as aiokafka's options or as
FastStream's security object, so the services, the CLI and the devtools connect the same way."""

from __future__ import annotations

import ssl
from dataclasses import dataclass, field
from typing import Any, Final, Literal

from aiokafka.helpers import create_ssl_context
from faststream.security import (
    BaseSecurity,
    SASLPlaintext,
    SASLScram256,
    SASLScram512,
)

# SASL_PLAINTEXT is left out on purpose: SASL/PLAIN would send the password in clear, and even
# SCRAM leaves every event readable on the wire. Authentication comes with TLS or not at all.
SecurityProtocol = Literal["PLAINTEXT", "SSL", "SASL_SSL"]
SaslMechanism = Literal["SCRAM-SHA-512", "SCRAM-SHA-256", "PLAIN"]

_SASL: Final = {
    "SCRAM-SHA-512": SASLScram512,
    "SCRAM-SHA-256": SASLScram256,
    "PLAIN": SASLPlaintext,
}


@dataclass(frozen=True, slots=True)
class KafkaSecurity:
    """PLAINTEXT (the local stack), SSL (TLS, optionally a client certificate) or SASL_SSL (TLS
    plus a SASL user: each service its own, so the broker's ACLs can tell them apart)."""

    protocol: SecurityProtocol = "PLAINTEXT"
    # The CA that signed the brokers' certificates; None: the system's trusted CAs.
    ca_file: str | None = None
    # A client certificate (mutual TLS), when the brokers ask for one.
    cert_file: str | None = None
    key_file: str | None = None
    key_password: str | None = field(default=None, repr=False)
    sasl_mechanism: SaslMechanism = "SCRAM-SHA-512"
    username: str | None = None
    password: str | None = field(default=None, repr=False)

    def __post_init__(self) -> None:
        if self.protocol == "SASL_SSL" and not (self.username and self.password):
            raise ValueError("Kafka SASL_SSL needs a username and a password")
        if (self.cert_file is None) != (self.key_file is None):
            raise ValueError("a Kafka client certificate needs both its cert file and key file")

    @property
    def tls(self) -> bool:
        return self.protocol != "PLAINTEXT"

    def ssl_context(self) -> ssl.SSLContext | None:
        """A context that verifies the broker's certificate and host name (aiokafka's helper:
        `check_hostname` is always on), with the client certificate when one is set."""
        if not self.tls:
            return None
        context: ssl.SSLContext = create_ssl_context(
            cafile=self.ca_file,
            certfile=self.cert_file,
            keyfile=self.key_file,
            password=self.key_password,
        )
        return context

    def client_options(self) -> dict[str, Any]:
        """Keyword arguments for an aiokafka producer, consumer or admin client."""
        opts: dict[str, Any] = {"security_protocol": self.protocol}
        if self.tls:
            opts["ssl_context"] = self.ssl_context()
        if self.protocol == "SASL_SSL":
            opts["sasl_mechanism"] = self.sasl_mechanism
            opts["sasl_plain_username"] = self.username
            opts["sasl_plain_password"] = self.password
        return opts

    def broker_security(self) -> BaseSecurity | None:
        """The same, as the `security=` of a FastStream KafkaBroker (which gives it to the
        producer and every subscriber's consumer it makes)."""
        if self.protocol == "PLAINTEXT":
            return None
        context = self.ssl_context()
        if self.protocol == "SSL":
            return BaseSecurity(ssl_context=context, use_ssl=True)
        # __post_init__ made sure both are set.
        return _SASL[self.sasl_mechanism](
            self.username or "", self.password or "", ssl_context=context, use_ssl=True
        )


PLAINTEXT: Final = KafkaSecurity()
