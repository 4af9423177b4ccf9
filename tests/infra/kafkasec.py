"""A Kafka broker as production runs it: a SASL_SSL listener, SCRAM-SHA-512 users, ACLs.

Started from the jars deploy/local/infra.sh installed (KRaft, one node), in its own directory
under the test run dir and on free ports, so the plaintext broker the rest of the suite uses is
untouched. Its certificate is signed by a CA made at test time; its users are the brokers' admin
and every user of deploy/kafka/acls.toml; the StandardAuthorizer allows nothing without an ACL,
and the ACLs are exactly those of acls.toml, applied by the admin.
"""

from __future__ import annotations

import asyncio
import base64
import importlib.util
import os
import re
import secrets
import shutil
import subprocess
import sys
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType
from typing import Any

from aiokafka.errors import KafkaError
from confluent_kafka.admin import (
    AclBinding,
    AclOperation,
    AclPermissionType,
    AdminClient,
    ResourcePatternType,
    ResourceType,
)
from tlskit import key_pem, make_ca, pem, server_cert

from paystream.devtools.fakes import free_port
from paystream.shared.kafka import create_admin, ensure_topics
from paystream.shared.kafka_security import KafkaSecurity
from paystream.shared.topics import Topics

REPO = Path(__file__).resolve().parents[2]
ADMIN = "admin"
READY_TIMEOUT_S = 120.0


def load_acls() -> ModuleType:
    """deploy/kafka/acls.py, the operator's script, imported from its path."""
    path = REPO / "deploy" / "kafka" / "acls.py"
    spec = importlib.util.spec_from_file_location("paystream_kafka_acls", path)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # its dataclass looks its module up
    spec.loader.exec_module(module)
    return module


def _kafka_home() -> Path:
    version = re.search(r"^KAFKA_VERSION=(\S+)", (REPO / "deploy/local/infra.sh").read_text(), re.M)
    assert version is not None
    home = REPO / ".run" / "tools" / f"kafka-{version.group(1)}"
    assert (home / ".complete").exists(), f"{home} is not installed: run through `make test`"
    return home


def _cluster_id() -> str:
    """A random cluster id as Kafka's own `Uuid.randomUuid` makes one: never starting with "-",
    which StorageTool's argument parser would take for an option (one id in 64 did)."""
    while True:
        cluster_id = base64.urlsafe_b64encode(uuid.uuid4().bytes).rstrip(b"=").decode()
        if not cluster_id.startswith("-"):
            return cluster_id


def _java(home: Path) -> list[str]:
    return ["java", "-Xms128m", "-Xmx384m", "-XX:+UseG1GC", "-cp", str(home / "libs" / "*")]


@dataclass
class SecureKafka:
    home: Path
    bootstrap: str = ""
    ca_file: Path = field(init=False)
    other_ca_file: Path = field(init=False)
    passwords: dict[str, str] = field(default_factory=dict)
    process: subprocess.Popen[bytes] | None = None

    def __post_init__(self) -> None:
        self.ca_file = self.home / "ca.pem"
        self.other_ca_file = self.home / "other-ca.pem"

    def security(
        self, user: str, *, password: str | None = None, ca_file: Path | None = None
    ) -> KafkaSecurity:
        return KafkaSecurity(
            protocol="SASL_SSL",
            ca_file=str(ca_file or self.ca_file),
            username=user,
            password=password if password is not None else self.passwords[user],
        )

    def env(self, user: str) -> dict[str, str]:
        """The settings of a process that connects as `user`."""
        return {
            "PAYSTREAM_KAFKA_BOOTSTRAP": self.bootstrap,
            "PAYSTREAM_KAFKA_SECURITY_PROTOCOL": "SASL_SSL",
            "PAYSTREAM_KAFKA_SSL_CA_FILE": str(self.ca_file),
            "PAYSTREAM_KAFKA_SASL_MECHANISM": "SCRAM-SHA-512",
            "PAYSTREAM_KAFKA_SASL_USERNAME": user,
            "PAYSTREAM_KAFKA_SASL_PASSWORD": self.passwords[user],
        }

    # ---- lifecycle ---------------------------------------------------------------------------

    def start(self, acls: ModuleType) -> None:
        self.home.mkdir(parents=True)
        kafka = _kafka_home()
        ca_key, ca = make_ca("paystream test Kafka CA")
        key, cert = server_cert(ca_key, ca)
        self.ca_file.write_bytes(pem(ca))
        self.other_ca_file.write_bytes(pem(make_ca("someone else's CA")[1]))
        # Kafka's PEM key store: the private key (PKCS#8) and then the certificate chain.
        keystore = self.home / "broker.pem"
        keystore.write_bytes(key_pem(key) + pem(cert))
        keystore.chmod(0o600)

        users = [ADMIN, *acls.super_users(), *acls.service_users().values()]
        self.passwords = {u: secrets.token_urlsafe(16) for u in users}
        port, controller = free_port(), free_port()
        self.bootstrap = f"127.0.0.1:{port}"
        supers = ";".join(f"User:{u}" for u in [ADMIN, *acls.super_users()])
        config = self.home / "server.properties"
        config.write_text(
            f"""process.roles=broker,controller
node.id=1
controller.quorum.bootstrap.servers=127.0.0.1:{controller}
listeners=SASL_SSL://127.0.0.1:{port},CONTROLLER://127.0.0.1:{controller}
advertised.listeners=SASL_SSL://127.0.0.1:{port}
controller.listener.names=CONTROLLER
inter.broker.listener.name=SASL_SSL
listener.security.protocol.map=SASL_SSL:SASL_SSL,CONTROLLER:PLAINTEXT
sasl.enabled.mechanisms=SCRAM-SHA-512
sasl.mechanism.inter.broker.protocol=SCRAM-SHA-512
listener.name.sasl_ssl.scram-sha-512.sasl.jaas.config=\
org.apache.kafka.common.security.scram.ScramLoginModule required \
username="{ADMIN}" password="{self.passwords[ADMIN]}";
ssl.keystore.type=PEM
ssl.keystore.location={keystore}
ssl.truststore.type=PEM
ssl.truststore.location={self.ca_file}
authorizer.class.name=org.apache.kafka.metadata.authorizer.StandardAuthorizer
allow.everyone.if.no.acl.found=false
# The controller listener is plaintext on 127.0.0.1 in this one-node test, and its requests
# (the broker's own, to itself) arrive as ANONYMOUS; clients only reach the SASL_SSL listener.
super.users={supers};User:ANONYMOUS
log.dirs={self.home / "data"}
num.partitions=1
auto.create.topics.enable=false
offsets.topic.replication.factor=1
offsets.topic.num.partitions=3
transaction.state.log.replication.factor=1
transaction.state.log.min.isr=1
share.coordinator.state.topic.replication.factor=1
share.coordinator.state.topic.min.isr=1
group.initial.rebalance.delay.ms=0
num.network.threads=2
num.io.threads=2
"""
        )
        cluster_id = _cluster_id()
        scram = [
            arg
            for u, pw in self.passwords.items()
            for arg in ("--add-scram", f"SCRAM-SHA-512=[name={u},password={pw}]")
        ]
        formatted = subprocess.run(
            [
                *_java(kafka),
                "kafka.tools.StorageTool",
                "format",
                "--standalone",
                "--cluster-id",
                cluster_id,
                "--config",
                str(config),
                *scram,
            ],
            check=False,
            capture_output=True,
            text=True,
        )
        if formatted.returncode != 0:
            raise RuntimeError(
                f"kafka StorageTool format failed ({formatted.returncode}): "
                f"{formatted.stdout[-2000:]}{formatted.stderr[-2000:]}"
            )
        log = (self.home / "kafka.log").open("ab")
        self.process = subprocess.Popen(
            [*_java(kafka), "kafka.Kafka", str(config)],
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )

    async def ready(self, acls: ModuleType) -> None:
        """Wait for the broker, create the topics as the operator, then apply the ACLs."""
        deadline = time.monotonic() + READY_TIMEOUT_S
        while True:
            assert self.process is not None
            assert self.process.poll() is None, self.log()
            admin = create_admin(self.bootstrap, "test-admin", security=self.security(ADMIN))
            try:
                await admin.start()
                await admin.list_topics()
                break
            except (KafkaError, OSError):
                assert time.monotonic() < deadline, self.log()
                await asyncio.sleep(0.5)
            finally:
                await admin.close()
        operator = self.security(acls.super_users()[0])
        await ensure_topics(self.bootstrap, Topics().specs(), security=operator)
        await asyncio.to_thread(self._apply, acls.acls())

    def _apply(self, acl_list: list[Any]) -> None:
        # aiokafka has no ACL API: confluent-kafka (librdkafka) is the admin's client here.
        admin = AdminClient(
            {
                "bootstrap.servers": self.bootstrap,
                "security.protocol": "SASL_SSL",
                "ssl.ca.location": str(self.ca_file),
                "sasl.mechanism": "SCRAM-SHA-512",
                "sasl.username": ADMIN,
                "sasl.password": self.passwords[ADMIN],
            }
        )
        bindings = [
            AclBinding(
                ResourceType[a.resource.upper()],
                a.name,
                ResourcePatternType.LITERAL,
                a.principal,
                "*",
                AclOperation[a.operation.upper()],
                AclPermissionType.ALLOW,
            )
            for a in acl_list
        ]
        for future in admin.create_acls(bindings, request_timeout=30).values():
            future.result()

    def log(self) -> str:
        path = self.home / "kafka.log"
        return path.read_text(errors="replace")[-4000:] if path.exists() else "no log"

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(10)
        shutil.rmtree(self.home, ignore_errors=True)


def run_dir() -> Path:
    return Path(os.environ.get("PAYSTREAM_RUN_DIR", REPO / ".run" / "test"))
