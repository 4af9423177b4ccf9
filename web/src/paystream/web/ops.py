"""Dead letters and consumer lag, read from Kafka itself: no service owns them, and Kafka is
their system of record. The reading is the operator command's (`paystream lag`, `paystream dlq
list`), reused as it is, so the dashboard and the CLI always agree."""

from __future__ import annotations

from typing import Any

from paystream.cli.dlq import list_dlq
from paystream.cli.errors import CliError
from paystream.cli.lag import lag
from paystream.cli.settings import OperatorSettings
from paystream.shared.topics import LEDGER_EVENTS, ORDERS_EVENTS, PAYMENTS_EVENTS, Topics, dlq
from paystream.web.settings import WebSettings

DLQ_SHOWN = 10


def _operator(s: WebSettings) -> OperatorSettings:
    return OperatorSettings(**s.kafka_settings(), topic_prefix=s.topic_prefix)


async def kafka_health(s: WebSettings) -> dict[str, Any]:
    """`{"groups": [...lag per group...], "dead_letters": [...per DLQ topic...], "errors": []}`.
    A part Kafka cannot answer is reported in `errors`, the rest is still shown."""
    op = _operator(s)
    out: dict[str, Any] = {"groups": [], "dead_letters": [], "errors": []}
    for group in s.web_consumer_groups:
        try:
            result = await lag(op, [group], None)
            out["groups"].extend(result["groups"])
        except CliError as exc:
            out["errors"].append(f"lag of {group}: {exc}")
    topics = Topics(s.topic_prefix)
    for logical in (PAYMENTS_EVENTS, ORDERS_EVENTS, LEDGER_EVENTS):
        name = topics.name(dlq(logical))
        try:
            result = await list_dlq(op, name, show_all=False)
        except CliError as exc:
            out["errors"].append(f"{name}: {exc}")
            continue
        records = result["records"]
        out["dead_letters"].append(
            {
                "topic": name,
                "pending": result["pending"],
                "total": result["total"],
                "latest": records[-DLQ_SHOWN:][::-1],
            }
        )
    return out
