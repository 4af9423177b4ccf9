"""Settings common to every service, read from `PAYSTREAM_*` environment variables."""

from __future__ import annotations

from typing import Any, Final, Literal, Self
from urllib.parse import urlencode

from pydantic import Field, SecretStr, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from paystream.shared.kafka_security import KafkaSecurity, SaslMechanism, SecurityProtocol
from paystream.shared.topics import TOPIC_PREFIX_PATTERN, Topics

DEV_JWT_SECRET: Final = "paystream-dev-jwt-secret-change-me-in-production"
MIN_SECRET_LENGTH: Final = 32


def _weak(value: str, *defaults: str) -> bool:
    return value in defaults or len(value) < MIN_SECRET_LENGTH


def weak_secret(value: str, *defaults: str) -> bool:
    """A development default, or too short to resist guessing (services' own secrets)."""
    return _weak(value, *defaults)


class BaseServiceSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="PAYSTREAM_", extra="ignore")

    # The name in logs, metrics labels, traces and Kafka client ids.
    service_name: str = "paystream"
    # Where the HTTP API listens (0.0.0.0 in a container) and on which port.
    http_host: str = "127.0.0.1"
    http_port: int = 8000
    # When set, the operational endpoints (/metrics, /docs, /openapi.json and the detailed
    # /readyz) are served on this port only, on the same host, and the public port answers 404
    # for them (a service facing the internet, such as webhook-ingest, shows its internals to
    # nobody). Unset: everything on http_port, as in the local stack.
    ops_port: int | None = Field(default=None, ge=1, le=65_535)

    # Kafka bootstrap servers, comma-separated host:port.
    kafka_bootstrap: str = "127.0.0.1:19092"
    # How every Kafka client of this process connects (`paystream.shared.kafka_security`):
    # PLAINTEXT (the local stack), SSL (TLS) or SASL_SSL (TLS and a SASL user). In production:
    # SASL_SSL, each service with its own user, so the brokers' ACLs (deploy/kafka/acls.toml)
    # let only webhook-ingest and checkout produce payments, and only checkout orders.
    kafka_security_protocol: SecurityProtocol = "PLAINTEXT"
    # The CA file (PEM) that signed the brokers' certificates; unset: the system's CAs.
    kafka_ssl_ca_file: str | None = Field(default=None, min_length=1)
    # A client certificate and its key (PEM), for brokers that require mutual TLS.
    kafka_ssl_cert_file: str | None = Field(default=None, min_length=1)
    kafka_ssl_key_file: str | None = Field(default=None, min_length=1)
    kafka_ssl_key_password: SecretStr | None = None
    # The SASL mechanism (SCRAM-SHA-512 preferred; PLAIN only where the brokers offer no SCRAM)
    # and this service's user and password.
    kafka_sasl_mechanism: SaslMechanism = "SCRAM-SHA-512"
    kafka_sasl_username: str | None = Field(default=None, min_length=1)
    kafka_sasl_password: SecretStr | None = None
    # The PostgreSQL server; each service uses its own database on it.
    pg_host: str = "127.0.0.1"
    pg_port: int = 15432
    pg_user: str = "postgres"
    pg_password: SecretStr = SecretStr("postgres")
    # TLS to PostgreSQL, as libpq's sslmode (disable, allow, prefer, require, verify-ca,
    # verify-full); unset: the drivers' default (prefer: TLS when the server offers it, else
    # plaintext). In production: verify-full, with pg_ssl_root_cert the CA file that signed the
    # server's certificate (both asyncpg and the migrations' psycopg read them from the DSN).
    pg_ssl_mode: (
        Literal["disable", "allow", "prefer", "require", "verify-ca", "verify-full"] | None
    ) = None
    pg_ssl_root_cert: str | None = Field(default=None, min_length=1)
    # The size of each service's connection pool.
    pg_pool_min: int = 2
    pg_pool_max: int = 10

    # HS256 key of the bearer tokens (`sub` = user id, `role: admin`): set it in production.
    jwt_secret: SecretStr = SecretStr(DEV_JWT_SECRET)
    # The product's identity provider: RS256 / ES256 tokens verified with the keys of this JWKS
    # URL (cached jwt_jwks_cache_s, fetched again on an unknown kid). When it is set outside
    # sandbox mode, HS256 tokens of jwt_secret are no longer accepted.
    jwt_jwks_url: str | None = Field(default=None, max_length=2048)
    jwt_jwks_cache_s: int = Field(default=300, ge=0, le=86_400)
    # At most one fetch for an unknown kid this often (tokens with made-up kids cannot flood it).
    jwt_jwks_refetch_cooldown_s: int = Field(default=30, ge=0, le=3600)
    # Checked when set (a token of another issuer or for another audience is refused).
    jwt_issuer: str | None = None
    jwt_audience: str | None = None
    # The claim naming the caller's role, and the value that makes an operator.
    jwt_role_claim: str = Field(default="role", min_length=1)
    jwt_admin_value: str = Field(default="admin", min_length=1)
    # Log level of the JSON logs on stdout (DEBUG, INFO, WARNING, ERROR).
    log_level: str = "INFO"
    # Every JSON route's body cap, enforced before the body is read (`paystream.shared.guard`).
    http_max_body_bytes: int = Field(default=64 * 1024, ge=1024, le=16 * 1024 * 1024)
    # Sandbox mode (make run, the tests, demos): the service's clock can be moved forward over
    # HTTP (`paystream.shared.clock`). Never set in production.
    sandbox: bool = False
    # OTLP/HTTP endpoint, e.g. http://127.0.0.1:4318/v1/traces; no export when unset.
    otel_exporter_endpoint: str | None = None

    # Every topic's name behind this prefix (empty in production): a test, a benchmark or a
    # staging replay gets its own topics without any other setting.
    topic_prefix: str = Field(default="", pattern=TOPIC_PREFIX_PATTERN)

    # Kafka consumers: the most events applied in one transaction, and how often an event
    # that fails (not a database or broker outage, which is waited out) is retried before it
    # goes to its dead-letter topic.
    consumer_batch_max: int = Field(default=500, ge=1)
    consumer_max_retries: int = Field(default=5, ge=0)
    # A large batch is applied in this many lanes at once, split by record key (a user's events
    # stay in one lane, in order), each in its own transaction on its own pool connection: the
    # consumer prepares one lane while PostgreSQL writes another. 1: one transaction per batch.
    consumer_lanes: int = Field(default=1, ge=1, le=8)
    # How a consumer's fetch waits at the broker: until this many bytes are there for it, or
    # this many milliseconds passed. At a steady trickle of events (a payment every few ms) the
    # broker otherwise answers each fetch with the one or two records that just arrived, and
    # every consumer runs a batch, a transaction and an offset commit for them: on `make bench`'s
    # 2-core machine at 500 payments/s that overhead kept both cores busy and queued every hop
    # (consumer fetch 1 byte / 50 ms: e2e p50 91-95 ms; 64 KiB / 20 ms: 50-54 ms). A quiet
    # topic's event waits at most the time; a backlog fills the bytes at once.
    consumer_fetch_min_bytes: int = Field(default=65_536, ge=1, le=52_428_800)
    consumer_fetch_wait_ms: int = Field(default=20, ge=0, le=500)

    def accepts_hs256(self) -> bool:
        return self.jwt_jwks_url is None or self.sandbox

    def development_secrets(self) -> list[str]:
        """The settings holding a public development default or a secret too short to be one;
        a service refuses to start outside sandbox mode while any is left (`refuse_to_start`).
        Services add their own (the Stripe key, webhook secrets)."""
        found = []
        if self.accepts_hs256() and _weak(self.jwt_secret.get_secret_value(), DEV_JWT_SECRET):
            found.append("PAYSTREAM_JWT_SECRET")
        return found

    def refuse_development_secrets(self) -> None:
        if self.sandbox:
            return
        weak = self.development_secrets()
        if weak:
            raise SystemExit(
                f"refusing to start outside sandbox mode: {', '.join(weak)} "
                f"{'is' if len(weak) == 1 else 'are'} a development default or shorter than "
                f"{MIN_SECRET_LENGTH} characters (anyone could sign with it). Set real secrets, "
                "or PAYSTREAM_SANDBOX=true for a development stack."
            )

    @model_validator(mode="after")
    def _kafka_security_is_whole(self) -> Self:
        self.kafka_security()  # a SASL_SSL without a user fails here, at start, not at connect
        return self

    def kafka_security(self) -> KafkaSecurity:
        key_pw, pw = self.kafka_ssl_key_password, self.kafka_sasl_password
        return KafkaSecurity(
            protocol=self.kafka_security_protocol,
            ca_file=self.kafka_ssl_ca_file,
            cert_file=self.kafka_ssl_cert_file,
            key_file=self.kafka_ssl_key_file,
            key_password=key_pw.get_secret_value() if key_pw else None,
            sasl_mechanism=self.kafka_sasl_mechanism,
            username=self.kafka_sasl_username,
            password=pw.get_secret_value() if pw else None,
        )

    def kafka_settings(self) -> dict[str, Any]:
        """The Kafka connection settings (bootstrap and security), to build another settings
        class that reaches the same brokers the same way (the web app's operator reads)."""
        names = [n for n in BaseServiceSettings.model_fields if n.startswith("kafka_")]
        return {n: getattr(self, n) for n in names}

    def pg_dsn(self, database: str) -> str:
        pw = self.pg_password.get_secret_value()
        dsn = f"postgresql://{self.pg_user}:{pw}@{self.pg_host}:{self.pg_port}/{database}"
        tls = {"sslmode": self.pg_ssl_mode, "sslrootcert": self.pg_ssl_root_cert}
        query = urlencode({k: v for k, v in tls.items() if v is not None})
        return f"{dsn}?{query}" if query else dsn

    @property
    def topics(self) -> Topics:
        return Topics(self.topic_prefix)
