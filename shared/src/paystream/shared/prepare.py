"""What a deployment prepares before the services start: the topics with their configuration,
and one database's migrations. The Kubernetes chart's Jobs run it (the services also do both at
start, idempotently; the Jobs make a rollout not depend on which replica starts first).

    python -m paystream.shared.prepare topics
    python -m paystream.shared.prepare migrate --database paystream_ledger \
        --migrations /app/services/ledger/migrations

Settings are the services' `PAYSTREAM_*` variables (bootstrap, PostgreSQL, topic prefix).
"""

from __future__ import annotations

import argparse
import asyncio
from pathlib import Path

from paystream.shared.kafka import ensure_topics
from paystream.shared.migrations import upgrade_sync
from paystream.shared.settings import BaseServiceSettings


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(prog="python -m paystream.shared.prepare", description=__doc__)
    sub = ap.add_subparsers(dest="what", required=True)
    sub.add_parser("topics", help="create missing topics (partitions, retention)")
    mig = sub.add_parser("migrate", help="upgrade one service database to the newest schema")
    mig.add_argument("--database", required=True)
    mig.add_argument("--migrations", type=Path, required=True)
    args = ap.parse_args(argv)
    settings = BaseServiceSettings()
    if args.what == "topics":
        created = asyncio.run(
            ensure_topics(
                settings.kafka_bootstrap,
                settings.topics.specs(),
                security=settings.kafka_security(),
            )
        )
        print(f"topics created: {', '.join(created) or 'none (all existed)'}")
    else:
        upgrade_sync(args.migrations, settings.pg_dsn(args.database))
        print(f"{args.database}: migrated to head")


if __name__ == "__main__":
    main()
