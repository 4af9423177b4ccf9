"""Refunds a provider reported that checkout could not match to an order or measure

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-04 15:30:00
"""

from __future__ import annotations

from alembic import op

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | None = None
depends_on: str | None = None


def upgrade() -> None:
    # Money went back at the provider and paystream cannot say which order (or how much) it was
    # for: a refund made in a dashboard whose payment reference matches no order, or one known
    # only by the payment's cumulative refunded total. Kept for an operator, never only logged;
    # `resolved_at` is set when the refund is later applied after all.
    op.execute(
        """
        CREATE TABLE unmatched_refunds (
            id                   uuid        PRIMARY KEY,
            provider             text        NOT NULL,
            provider_refund_id   text        NOT NULL,
            provider_payment_id  text,
            -- As the report names them (the order may not exist here, hence no foreign key).
            order_ref            text,
            user_id              text,
            amount_minor         bigint      CHECK (amount_minor > 0),
            refunded_total_minor bigint      CHECK (refunded_total_minor > 0),
            currency             text        NOT NULL,
            reason               text        NOT NULL,
            refunded_at          timestamptz NOT NULL,
            created_at           timestamptz NOT NULL DEFAULT now(),
            resolved_at          timestamptz,
            CONSTRAINT unmatched_refunds_provider_refund UNIQUE (provider, provider_refund_id)
        );
        CREATE INDEX unmatched_refunds_open ON unmatched_refunds (created_at DESC, id DESC)
            WHERE resolved_at IS NULL;
        -- Dashboard refunds are matched to their order by the provider's payment reference.
        CREATE INDEX orders_provider_payment_id ON orders (provider, provider_payment_id)
            WHERE provider_payment_id IS NOT NULL;
        """
    )


def downgrade() -> None:
    op.execute("DROP INDEX orders_provider_payment_id")
    op.execute("DROP TABLE unmatched_refunds")
