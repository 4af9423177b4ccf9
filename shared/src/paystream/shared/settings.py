"""Settings common to every service, read from `PAYSTREAM_*` environment variables."""

from __future__ import annotations

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

from paystream.shared.topics import TOPIC_PREFIX_PATTERN, Topics


class BaseServiceSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="PAYSTREAM_", extra="ignore")

    # The name in logs, metrics labels, traces and Kafka client ids.
    service_name: str = "paystream"
    # Where the HTTP API listens (0.0.0.0 in a container) and on which port.
    http_host: str = "127.0.0.1"
    http_port: int = 8000

    # Kafka bootstrap servers, comma-separated host:port.
    kafka_bootstrap: str = "127.0.0.1:19092"
    # The PostgreSQL server; each service uses its own database on it.
    pg_host: str = "127.0.0.1"
    pg_port: int = 15432
    pg_user: str = "postgres"
    pg_password: SecretStr = SecretStr("postgres")
    # The size of each service's connection pool.
    pg_pool_min: int = 2
    pg_pool_max: int = 10

    # HS256 key of the bearer tokens (`sub` = user id, `role: admin`): set it in production.
    jwt_secret: SecretStr = SecretStr("paystream-dev-jwt-secret-change-me-in-production")
    # Log level of the JSON logs on stdout (DEBUG, INFO, WARNING, ERROR).
    log_level: str = "INFO"
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

    def pg_dsn(self, database: str) -> str:
        pw = self.pg_password.get_secret_value()
        return f"postgresql://{self.pg_user}:{pw}@{self.pg_host}:{self.pg_port}/{database}"

    @property
    def topics(self) -> Topics:
        return Topics(self.topic_prefix)
