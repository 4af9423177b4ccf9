"""paystream's Kafka ACLs (deploy/kafka/acls.toml) as kafka-acls.sh commands.

    python deploy/kafka/acls.py --bootstrap-server kafka:9093 --command-config admin.properties \\
        [--prefix staging.]

prints one kafka-acls.sh command per user and kind of access, and the brokers' `super.users`
line; run them with the Kafka distribution's tools as the cluster's admin. Standard library only,
so it runs anywhere; tests/infra/test_kafka_security.py applies the same `acls()` to a real
broker.
"""

from __future__ import annotations

import argparse
import shlex
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

DATA = Path(__file__).with_name("acls.toml")


@dataclass(frozen=True, slots=True)
class Acl:
    """ALLOW `operation` on a literal `resource` (`topic` or `group`) named `name`."""

    user: str
    resource: str
    name: str
    operation: str

    @property
    def principal(self) -> str:
        return f"User:{self.user}"


def load(path: Path = DATA) -> dict[str, Any]:
    with path.open("rb") as f:
        return tomllib.load(f)


def service_users(data: dict[str, Any] | None = None) -> dict[str, str]:
    """Service (or app) name -> its Kafka user."""
    data = data or load()
    return {name: u["user"] for name, u in data["users"].items()}


def super_users(data: dict[str, Any] | None = None) -> list[str]:
    return list((data or load())["super_users"])


def _topics(user: dict[str, Any], key: str, known: list[str], prefix: str) -> list[str]:
    names = list(user.get(key, []))
    for t in names:
        if t not in known:
            raise ValueError(f"{user['user']}: {key} names an unknown topic {t!r}")
    return [prefix + t for t in names]


def acls(prefix: str = "", data: dict[str, Any] | None = None) -> list[Acl]:
    """Every ACL, with the topics behind `prefix` (PAYSTREAM_TOPIC_PREFIX)."""
    data = data or load()
    known: list[str] = data["topics"]
    out: list[Acl] = []
    for u in data["users"].values():
        name = u["user"]
        out += [Acl(name, "topic", prefix + t, "Describe") for t in known]
        out += [Acl(name, "topic", t, "Write") for t in _topics(u, "write", known, prefix)]
        out += [Acl(name, "topic", t, "Read") for t in _topics(u, "read", known, prefix)]
        out += [Acl(name, "group", g, "Read") for g in u.get("groups", [])]
        out += [Acl(name, "group", g, "Describe") for g in u.get("describe_groups", [])]
    return out


def commands(acl_list: list[Acl], bootstrap: str, command_config: str) -> list[list[str]]:
    """kafka-acls.sh argument lists, one per user, resource kind and operation."""
    grouped: dict[tuple[str, str, str], list[str]] = {}
    for a in acl_list:
        grouped.setdefault((a.principal, a.resource, a.operation), []).append(a.name)
    return [
        [
            "kafka-acls.sh",
            "--bootstrap-server",
            bootstrap,
            "--command-config",
            command_config,
            "--add",
            "--allow-principal",
            principal,
            "--operation",
            operation,
            *[arg for name in names for arg in (f"--{resource}", name)],
        ]
        for (principal, resource, operation), names in grouped.items()
    ]


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--bootstrap-server", default="BROKER:9093")
    ap.add_argument("--command-config", default="admin.properties")
    ap.add_argument("--prefix", default="", help="the deployment's PAYSTREAM_TOPIC_PREFIX")
    args = ap.parse_args(argv)
    supers = ";".join(f"User:{u}" for u in super_users())
    print(f"# brokers' server.properties: super.users=User:<the brokers' admin>;{supers}")
    for cmd in commands(acls(args.prefix), args.bootstrap_server, args.command_config):
        print(shlex.join(cmd))


if __name__ == "__main__":
    main()
