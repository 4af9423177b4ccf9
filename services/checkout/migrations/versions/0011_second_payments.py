"""Second payments for an already paid order, and the payment a refund returns

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-04 19:00:00
"""

from __future__ import annotations

from alembic import op

revision: str = "0011"
down_revision: str | None = "0010"
branch_labels: str | None = None
depends_on: str | None = None


def upgrade() -> None:
    op.execute(
        """
        -- A payment the provider took for an order that already had one (a second Checkout
        -- Session or PaymentIntent paid for the same order). The order keeps its first
        -- payment; this one is kept here, with what the configured policy did with it.
        CREATE TABLE second_payments (
            id                  uuid        PRIMARY KEY,
            order_id            uuid        NOT NULL REFERENCES orders (id),
            user_id             text        NOT NULL,
            provider            text        NOT NULL,
            provider_payment_id text        NOT NULL,
            provider_session_id text,
            provider_event_id   text        NOT NULL,
            amount_minor        bigint      NOT NULL,
            currency            text        NOT NULL,
            paid_at             timestamptz NOT NULL,
            -- refund: checkout refunds it in full; credit: a new order of the same content was
            -- paid by it (credited_order_id); review: only held for an operator.
            action              text        NOT NULL
                                CHECK (action IN ('refund', 'credit', 'review')),
            action_reason       text,
            refund_id           uuid        REFERENCES refunds (id),
            credited_order_id   uuid        REFERENCES orders (id),
            created_at          timestamptz NOT NULL,
            -- One row per payment: a replayed notification finds it and does nothing again.
            CONSTRAINT second_payments_provider_payment UNIQUE (provider, provider_payment_id)
        );
        CREATE INDEX second_payments_order ON second_payments (order_id);

        -- The payment a refund returns, when it is not the order's own (first) payment: NULL
        -- for every refund of the order's payment, as before.
        ALTER TABLE refunds ADD COLUMN provider_payment_id text;
        -- What the refunder worker asks the provider about: refunds of second payments that
        -- the provider has not acknowledged yet.
        CREATE INDEX refunds_second_payment_unasked ON refunds (created_at)
            WHERE provider_payment_id IS NOT NULL AND status = 'pending'
              AND provider_refund_id IS NULL;
        """
    )


def downgrade() -> None:
    op.execute(
        """
        DROP INDEX refunds_second_payment_unasked;
        ALTER TABLE refunds DROP COLUMN provider_payment_id;
        DROP TABLE second_payments;
        """
    )
