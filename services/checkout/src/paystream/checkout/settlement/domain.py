"""Matching a provider's settled lines against what paystream booked (pure): every line is
matched, differs in amount, or is missing in paystream; every payment or refund paystream booked
on the provider's day that no line names is missing at the provider."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Literal

from paystream.checkout.providers import SettlementLine
from paystream.shared.money import Money


class SettlementOutcome(StrEnum):
    MATCHED = "matched"
    AMOUNT_DIFFERS = "amount_differs"
    MISSING_IN_PAYSTREAM = "missing_in_paystream"
    MISSING_AT_PROVIDER = "missing_at_provider"


@dataclass(frozen=True, slots=True)
class Booked:
    """A payment (a paid order) or a refund as paystream recorded it."""

    kind: Literal["payment", "refund"]
    # Every reference the provider may name it by (out_trade_no, PaymentIntent, refund number).
    references: tuple[str, ...]
    order_id: str
    refund_id: str | None
    amount: Money
    at: datetime | None


@dataclass(frozen=True, slots=True)
class ReportLine:
    provider: str
    kind: Literal["payment", "refund"]
    reference: str
    outcome: SettlementOutcome
    provider_amount: Money | None
    booked_amount: Money | None
    fee: Money | None
    order_id: str | None
    refund_id: str | None
    provider_id: str | None
    at: datetime | None


def match(
    provider: str,
    lines: Sequence[SettlementLine],
    booked: Mapping[tuple[str, str], Booked],
    booked_on_day: Iterable[Booked],
) -> list[ReportLine]:
    """`booked` finds a record by (kind, reference); `booked_on_day` is what paystream recorded
    on the provider's day. A record is matched at most once: a second line naming it is money
    the provider moved twice, missing in paystream."""
    seen: set[tuple[str, str | None]] = set()
    out: list[ReportLine] = []
    for line in lines:
        b = booked.get((line.kind, line.reference))
        key = (b.order_id, b.refund_id) if b is not None else None
        if b is None or key in seen:
            outcome = SettlementOutcome.MISSING_IN_PAYSTREAM
            b = None
        else:
            seen.add((b.order_id, b.refund_id))
            outcome = (
                SettlementOutcome.MATCHED
                if b.amount == line.amount
                else SettlementOutcome.AMOUNT_DIFFERS
            )
        out.append(
            ReportLine(
                provider,
                line.kind,
                line.reference,
                outcome,
                line.amount,
                b.amount if b else None,
                line.fee,
                b.order_id if b else None,
                b.refund_id if b else None,
                line.provider_id,
                line.at,
            )
        )
    for b in booked_on_day:
        if (b.order_id, b.refund_id) in seen:
            continue
        seen.add((b.order_id, b.refund_id))
        out.append(
            ReportLine(
                provider,
                b.kind,
                b.references[0],
                SettlementOutcome.MISSING_AT_PROVIDER,
                None,
                b.amount,
                None,
                b.order_id,
                b.refund_id,
                None,
                b.at,
            )
        )
    return out
