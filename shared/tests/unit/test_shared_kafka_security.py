"""The Kafka security settings, turned into aiokafka's options and FastStream's security object
(what the clients do with them is tested on a real SASL_SSL broker: tests/infra)."""

from __future__ import annotations

import ssl

import pytest
from faststream.security import SASLPlaintext, SASLScram512

from paystream.shared.kafka_security import PLAINTEXT, KafkaSecurity
from paystream.shared.settings import BaseServiceSettings


def test_plaintext_by_default_and_nothing_else_is_set() -> None:
    settings = BaseServiceSettings()
    assert settings.kafka_security() == PLAINTEXT
    assert PLAINTEXT.client_options() == {"security_protocol": "PLAINTEXT"}
    assert PLAINTEXT.broker_security() is None


def test_sasl_ssl_gives_every_client_tls_and_the_services_user() -> None:
    settings = BaseServiceSettings(
        kafka_security_protocol="SASL_SSL",
        kafka_sasl_username="paystream-ledger",
        kafka_sasl_password="s3cret-of-ledger",  # type: ignore[arg-type]
    )
    security = settings.kafka_security()
    opts = security.client_options()
    assert opts["security_protocol"] == "SASL_SSL"
    assert opts["sasl_mechanism"] == "SCRAM-SHA-512"
    assert (opts["sasl_plain_username"], opts["sasl_plain_password"]) == (
        "paystream-ledger",
        "s3cret-of-ledger",
    )
    context = opts["ssl_context"]
    assert isinstance(context, ssl.SSLContext)
    assert context.check_hostname
    assert context.verify_mode == ssl.CERT_REQUIRED
    broker = security.broker_security()
    assert isinstance(broker, SASLScram512)
    assert broker.use_ssl
    # The password never shows in a log line or a traceback.
    assert "s3cret" not in repr(settings)
    assert "s3cret" not in repr(security)


def test_plain_is_allowed_where_the_brokers_offer_no_scram() -> None:
    security = KafkaSecurity(
        protocol="SASL_SSL", sasl_mechanism="PLAIN", username="u", password="p"
    )
    assert isinstance(security.broker_security(), SASLPlaintext)
    assert security.client_options()["sasl_mechanism"] == "PLAIN"


def test_ssl_without_sasl_has_no_user() -> None:
    opts = KafkaSecurity(protocol="SSL").client_options()
    assert opts["security_protocol"] == "SSL"
    assert "sasl_mechanism" not in opts


@pytest.mark.parametrize(
    ("given", "error"),
    [
        ({"kafka_security_protocol": "SASL_SSL"}, "username and a password"),
        (
            {"kafka_security_protocol": "SASL_SSL", "kafka_sasl_username": "u"},
            "username and a password",
        ),
        ({"kafka_security_protocol": "SASL_PLAINTEXT"}, "kafka_security_protocol"),
        ({"kafka_sasl_mechanism": "GSSAPI"}, "kafka_sasl_mechanism"),
        ({"kafka_ssl_cert_file": "/etc/cert.pem"}, "cert file and key file"),
    ],
)
def test_an_incomplete_or_unsafe_kafka_security_refuses_to_load(
    given: dict[str, str], error: str
) -> None:
    with pytest.raises(ValueError, match=error):
        BaseServiceSettings(**given)  # type: ignore[arg-type]
