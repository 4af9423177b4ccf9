"""The order is the authority: what it grants and charges, payments held for review

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-04 00:00:00
"""

from __future__ import annotations

from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | None = None
depends_on: str | None = None


def upgrade() -> None:
    # What an order grants (lots: unit, quantity, validity, cost) and what it charges (invoice
    # lines), fixed when it is placed. A payment never changes them: OrderPaidV1 carries these.
    # Orders placed before this migration grant their package's credits, as they always did,
    # for six months (the catalog's default validity) and show one line.
    op.execute(
        """
        ALTER TABLE orders ADD COLUMN grants jsonb, ADD COLUMN lines jsonb;
        UPDATE orders SET
            grants = jsonb_build_array(jsonb_build_object(
                'unit', 'credits', 'quantity', credits, 'source', 'purchase',
                'validity', 'P6M', 'expires_at', NULL, 'priority', 50,
                'cost_minor', amount_minor)),
            lines = jsonb_build_array(jsonb_build_object(
                'description', package_id || ' — ' || to_char(credits, 'FM999,999,999,999')
                    || ' credits',
                'quantity', 1, 'unit_amount_minor', amount_minor, 'amount_minor', amount_minor));
        ALTER TABLE orders ALTER COLUMN grants SET NOT NULL, ALTER COLUMN lines SET NOT NULL;

        ALTER TABLE orders DROP CONSTRAINT orders_status_check;
        ALTER TABLE orders ADD CONSTRAINT orders_status_check CHECK (status IN (
            'pending', 'paid', 'failed', 'cancelled', 'expired', 'refunded',
            'partially_refunded', 'needs_review'));
        """
    )
    # A payment paystream would not grant as it stands: no such order, another amount or
    # currency than the order's, facts that contradict the order (user, credits, package), a
    # second payment for a paid order, or more than was asked (granted, flagged). `blocking`:
    # the order waits for the operator (needs_review); a flag is only for the operator to see.
    # One row per provider payment (or per provider event when the provider names no payment).
    op.execute(
        """
        CREATE TABLE payment_reviews (
            id                  uuid        PRIMARY KEY,
            order_id            uuid        REFERENCES orders (id),
            user_id             text,
            provider            text        NOT NULL,
            provider_payment_id text,
            provider_event_id   text        NOT NULL,
            event_id            uuid        NOT NULL UNIQUE,
            amount_minor        bigint      NOT NULL CHECK (amount_minor >= 0),
            currency            text        NOT NULL,
            reasons             text[]      NOT NULL CHECK (cardinality(reasons) > 0),
            details             jsonb       NOT NULL DEFAULT '{}'::jsonb,
            blocking            boolean     NOT NULL,
            status              text        NOT NULL DEFAULT 'open'
                                CHECK (status IN ('open', 'accepted', 'refunded', 'dismissed')),
            decided_by          text,
            decided_at          timestamptz,
            decision_reason     text,
            refund_id           uuid,
            created_at          timestamptz NOT NULL DEFAULT now(),
            CONSTRAINT payment_reviews_decided
                CHECK ((status = 'open') = (decided_at IS NULL)
                       AND (status = 'open' OR (decided_by IS NOT NULL
                                                AND decision_reason IS NOT NULL)))
        );
        CREATE UNIQUE INDEX payment_reviews_payment
            ON payment_reviews (provider, provider_payment_id)
            WHERE provider_payment_id IS NOT NULL;
        CREATE INDEX payment_reviews_open ON payment_reviews (created_at DESC, id DESC)
            WHERE status = 'open';
        CREATE INDEX payment_reviews_created ON payment_reviews (created_at DESC, id DESC);
        CREATE INDEX payment_reviews_order ON payment_reviews (order_id);
        """
    )


def downgrade() -> None:
    op.execute(
        """
        DO $$ BEGIN
            IF EXISTS (SELECT 1 FROM orders WHERE status = 'needs_review') THEN
                RAISE EXCEPTION 'orders wait for review: decide them before downgrading';
            END IF;
        END $$;
        DROP TABLE payment_reviews;
        ALTER TABLE orders DROP CONSTRAINT orders_status_check;
        ALTER TABLE orders ADD CONSTRAINT orders_status_check CHECK (status IN (
            'pending', 'paid', 'failed', 'cancelled', 'expired', 'refunded',
            'partially_refunded'));
        ALTER TABLE orders DROP COLUMN grants, DROP COLUMN lines;
        """
    )
