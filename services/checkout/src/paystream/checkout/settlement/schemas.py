"""HTTP bodies of the settlement API."""

from __future__ import annotations

import datetime as dt
from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field

from paystream.checkout.settlement.domain import ReportLine, SettlementOutcome
from paystream.checkout.settlement.service import ProviderDay


class SettlementIn(BaseModel):
    model_config = ConfigDict(
        extra="forbid", json_schema_extra={"examples": [{"date": "2026-12-01"}]}
    )

    # No provider keeps settlement data from before 2000 (WeChat Pay: three months), and dates
    # near year 1 would not survive the conversion to UTC.
    date: dt.date = Field(
        ge=dt.date(2000, 1, 1),
        description="The provider's day (Beijing time for Alipay / WeChat Pay, UTC for Stripe).",
    )
    providers: list[str] | None = Field(
        default=None,
        max_length=8,
        description="Only these providers (each must be configured); default: every one.",
    )


class SettlementLineOut(BaseModel):
    provider: str
    kind: str = Field(description="payment | refund")
    reference: str = Field(description="the merchant's number the provider keyed it by")
    outcome: SettlementOutcome
    currency: str
    provider_amount_minor: int | None = Field(description="null: missing at the provider")
    booked_amount_minor: int | None = Field(description="null: missing in paystream")
    fee_minor: int | None = Field(description="the provider's fee on it (negative: given back)")
    order_id: str | None
    refund_id: str | None
    provider_id: str | None
    at: datetime | None

    @classmethod
    def of(cls, x: ReportLine) -> SettlementLineOut:
        some = x.provider_amount or x.booked_amount
        assert some is not None
        return cls(
            provider=x.provider,
            kind=x.kind,
            reference=x.reference,
            outcome=x.outcome,
            currency=some.currency,
            provider_amount_minor=None if x.provider_amount is None else x.provider_amount.minor,
            booked_amount_minor=None if x.booked_amount is None else x.booked_amount.minor,
            fee_minor=None if x.fee is None else x.fee.minor,
            order_id=x.order_id,
            refund_id=x.refund_id,
            provider_id=x.provider_id,
            at=x.at,
        )


class ProviderSummary(BaseModel):
    provider: str
    start: datetime
    end: datetime
    counts: dict[str, int] = Field(description="lines by outcome")
    fees_minor: dict[str, int] = Field(description="the provider's fees by currency")
    differences: int


class SettlementReport(BaseModel):
    date: dt.date
    ok: bool = Field(description="true: every line matched")
    providers: list[ProviderSummary]
    lines: list[SettlementLineOut]

    @classmethod
    def of(cls, day: dt.date, days: list[ProviderDay]) -> SettlementReport:
        summaries = []
        for d in days:
            fees: dict[str, int] = {}
            for x in d.lines:
                if x.fee is not None:
                    fees[x.fee.currency] = fees.get(x.fee.currency, 0) + x.fee.minor
            summaries.append(
                ProviderSummary(
                    provider=d.provider,
                    start=d.start,
                    end=d.end,
                    counts={
                        o.value: sum(x.outcome is o for x in d.lines) for o in SettlementOutcome
                    },
                    fees_minor=fees,
                    differences=d.differences,
                )
            )
        return cls(
            date=day,
            ok=all(d.differences == 0 for d in days),
            providers=summaries,
            lines=[SettlementLineOut.of(x) for d in days for x in d.lines],
        )
