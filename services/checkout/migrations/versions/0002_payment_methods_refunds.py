"""what every payment method shows the payer, and refunds

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-22 00:00:00
"""

from __future__ import annotations

from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | None = None
depends_on: str | None = None


def upgrade() -> None:
    # What the frontend shows for each method: a Stripe client_secret, an Alipay / WeChat Pay QR
    # string, a USDT deposit address and exact amount. Kept on the order so a replayed request
    # (Idempotency-Key) and GET /v1/orders/{id} answer with the same instructions.
    op.execute(
        """
        ALTER TABLE orders
            ADD COLUMN provider              text,
            ADD COLUMN client_secret         text,
            ADD COLUMN qr_code               text,
            ADD COLUMN deposit_address       text,
            ADD COLUMN deposit_amount_minor  bigint,
            ADD COLUMN deposit_currency      text,
            ADD COLUMN payment_method_types  text[] NOT NULL DEFAULT '{}',
            ADD COLUMN refunded_minor        bigint NOT NULL DEFAULT 0 CHECK (refunded_minor >= 0),
            ADD CONSTRAINT orders_deposit_amount_has_currency
                CHECK ((deposit_amount_minor IS NULL) = (deposit_currency IS NULL))
        """
    )
    op.execute(
        """
        CREATE TABLE refunds (
            id                  uuid        PRIMARY KEY,
            order_id            uuid        NOT NULL REFERENCES orders (id),
            user_id             text        NOT NULL,
            amount_minor        bigint      NOT NULL CHECK (amount_minor > 0),
            currency            text        NOT NULL,
            reason              text        NOT NULL,
            -- pending: asked (or about to ask) the provider; manual: an operator pays it out by
            -- hand (USDT); succeeded / failed: final. pending and manual hold the amount, so
            -- two concurrent refunds can never return more than was paid.
            status              text        NOT NULL CHECK (status IN (
                                    'pending', 'manual', 'succeeded', 'failed')),
            provider            text        NOT NULL,
            provider_refund_id  text,
            -- Who asked (the admin's subject) and their Idempotency-Key; null for a refund made
            -- in the provider's dashboard and learned from its webhook.
            requested_by        text,
            idempotency_key     text,
            request_fingerprint text,
            failure_reason      text,
            payout_reference    text,
            created_at          timestamptz NOT NULL DEFAULT now(),
            updated_at          timestamptz NOT NULL DEFAULT now(),
            succeeded_at        timestamptz,
            CONSTRAINT refunds_requester_idempotency_key UNIQUE (requested_by, idempotency_key)
        )
        """
    )
    op.execute(
        "CREATE UNIQUE INDEX refunds_provider_refund_id ON refunds (provider, provider_refund_id)"
        " WHERE provider_refund_id IS NOT NULL"
    )
    op.execute("CREATE INDEX refunds_order ON refunds (order_id, created_at)")
    op.execute("CREATE INDEX refunds_created ON refunds (created_at DESC, id DESC)")


def downgrade() -> None:
    op.execute("DROP TABLE refunds")
    op.execute(
        """
        ALTER TABLE orders
            DROP CONSTRAINT orders_deposit_amount_has_currency,
            DROP COLUMN refunded_minor,
            DROP COLUMN payment_method_types,
            DROP COLUMN deposit_currency,
            DROP COLUMN deposit_amount_minor,
            DROP COLUMN deposit_address,
            DROP COLUMN qr_code,
            DROP COLUMN client_secret,
            DROP COLUMN provider
        """
    )
