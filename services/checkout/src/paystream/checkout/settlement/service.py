"""The daily settlement: fetch each provider's settled lines for a day (no transaction open),
match them against paid orders and refunds, store the run and publish its figures as metrics.
`POST /v1/admin/settlements` and the scheduled run (tasks.py) both call `settle`."""

from __future__ import annotations

from collections import Counter as Tally
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

import asyncpg
import structlog
from prometheus_client import Counter, Gauge

from paystream.checkout.providers import ProviderError, SettlementSource
from paystream.checkout.providers.registry import ProviderRegistry
from paystream.checkout.settlement import repository as repo
from paystream.checkout.settlement.domain import ReportLine, SettlementOutcome, match
from paystream.shared.db import transaction
from paystream.shared.errors import Unprocessable, UpstreamError
from paystream.shared.events import utcnow

log = structlog.get_logger(__name__)

LINES = Gauge(
    "paystream_settlement_lines",
    "Lines of a provider's last settled day, by outcome (matched, amount_differs, "
    "missing_in_paystream, missing_at_provider).",
    ["provider", "outcome"],
)
FEES = Gauge(
    "paystream_settlement_fees_minor",
    "The provider's fees on its last settled day, in minor units of the currency.",
    ["provider", "currency"],
)
LAST_DAY = Gauge(
    "paystream_settlement_last_day_timestamp_seconds",
    "The last day settled (its start in the provider's time zone), as a Unix time.",
    ["provider"],
)
RUNS = Counter(
    "paystream_settlement_runs_total",
    "Settlement runs by result (ok, differences, unavailable).",
    ["provider", "result"],
)


class DateInFuture(Unprocessable):
    code = "date_in_future"


class ProviderNotConfigured(Unprocessable):
    code = "provider_not_configured"


class SettlementUnavailable(UpstreamError):
    code = "provider_unavailable"


@dataclass(slots=True)
class ProviderDay:
    provider: str
    start: datetime
    end: datetime
    lines: list[ReportLine] = field(default_factory=list)

    @property
    def differences(self) -> int:
        return sum(x.outcome is not SettlementOutcome.MATCHED for x in self.lines)


def sources(providers: ProviderRegistry, names: Sequence[str] | None) -> list[SettlementSource]:
    """The providers to settle: those named (each must be configured and publish settlement
    data), or every configured one that does."""
    out: list[SettlementSource] = []
    if not names:
        for n in providers.names:
            p = providers.by_name(n)
            if isinstance(p, SettlementSource):
                out.append(p)
        return out
    for n in names:
        p = providers.by_name(n)
        if not isinstance(p, SettlementSource):
            raise ProviderNotConfigured(
                f"provider {n!r} is not configured here or publishes no settlement data",
                details={"configured": [x.name for x in sources(providers, None)]},
            )
        out.append(p)
    return out


def day_window(source: SettlementSource, day: date, now: datetime) -> tuple[datetime, datetime]:
    start = datetime(day.year, day.month, day.day, tzinfo=source.settlement_tz)
    if start > now:
        raise DateInFuture(
            f"{day.isoformat()} has not begun for {source.name} "
            f"(its day starts {start.isoformat()})"
        )
    return start, start + timedelta(days=1)


async def settle(
    pool: asyncpg.Pool, srcs: Sequence[SettlementSource], day: date
) -> list[ProviderDay]:
    now = utcnow()
    windows = [(s, *day_window(s, day, now)) for s in srcs]  # refuse before fetching anything
    out = []
    for source, start, end in windows:
        try:
            lines = await source.settlement(day)
        except ProviderError as exc:
            RUNS.labels(source.name, "unavailable").inc()
            raise SettlementUnavailable(
                f"{source.name} settlement data for {day.isoformat()} unavailable: {exc}"
            ) from exc
        result = ProviderDay(source.name, start, end)
        async with transaction(pool) as conn:
            booked = await repo.booked_by_reference(
                conn,
                source.name,
                [x.reference for x in lines if x.kind == "payment"],
                [x.reference for x in lines if x.kind == "refund"],
            )
            on_day = await repo.booked_between(conn, source.name, start, end)
            result.lines = match(source.name, lines, booked, on_day)
            await repo.save_run(
                conn, source.name, day, result.lines, now=now, differences=result.differences
            )
        _publish(result)
        out.append(result)
    return out


def _publish(result: ProviderDay) -> None:
    counts = Tally(x.outcome for x in result.lines)
    for outcome in SettlementOutcome:
        LINES.labels(result.provider, outcome.value).set(counts.get(outcome, 0))
    fees: Tally[str] = Tally()
    for x in result.lines:
        if x.fee is not None:
            fees[x.fee.currency] += x.fee.minor
    for currency, minor in fees.items():
        FEES.labels(result.provider, currency).set(minor)
    LAST_DAY.labels(result.provider).set(result.start.timestamp())
    RUNS.labels(result.provider, "differences" if result.differences else "ok").inc()
    log.info(
        "settlement_run",
        provider=result.provider,
        day=result.start.date().isoformat(),
        **{o.value: counts.get(o, 0) for o in SettlementOutcome},
    )
