"""Subscriptions: one per user, the orders that pay or grant their periods, their history

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-06 00:00:00
"""

from __future__ import annotations

from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | None = None
depends_on: str | None = None


def upgrade() -> None:
    # A free allowance (a free plan's month, an annual plan's later months) is an order that
    # costs nothing, and an upgrade's difference can grant no whole unit (the last hour of a
    # month): only those may be 0.
    op.execute(
        """
        ALTER TABLE orders DROP CONSTRAINT orders_credits_check;
        ALTER TABLE orders ADD CONSTRAINT orders_credits_check
            CHECK (credits > 0 OR (credits = 0 AND kind = 'upgrade'));
        ALTER TABLE orders DROP CONSTRAINT orders_amount_minor_check;
        ALTER TABLE orders ADD CONSTRAINT orders_amount_minor_check
            CHECK (amount_minor > 0 OR (amount_minor = 0 AND kind IN ('allowance', 'upgrade')));
        """
    )
    # One row per user (UNIQUE user_id: at most one plan at a time), on the free plan until
    # they buy another. Times are checkout's clock (the sandbox clock in sandbox mode).
    # `next_check_at` is when the sweep must look at it next (a reminder, an allowance month,
    # the period's end, the end of a grace period).
    op.execute(
        """
        CREATE TABLE subscriptions (
            id                      uuid        PRIMARY KEY,
            user_id                 text        NOT NULL UNIQUE,
            plan_id                 text        NOT NULL,
            status                  text        NOT NULL CHECK (status IN ('active', 'past_due')),
            billing                 text        NOT NULL
                                    CHECK (billing IN ('free', 'stripe', 'manual')),
            currency                text,
            payment_method          text,
            anchor                  timestamptz NOT NULL,
            months                  int         NOT NULL CHECK (months IN (1, 12)),
            period_index            int         NOT NULL CHECK (period_index >= 0),
            allowance_month         int         NOT NULL CHECK (allowance_month >= 0),
            next_plan_id            text,
            renewal_order_id        uuid        REFERENCES orders (id),
            reminded_period         int,
            grace_ends_at           timestamptz,
            stripe_subscription_id  text        UNIQUE,
            stripe_customer_id      text,
            version                 int         NOT NULL DEFAULT 0,
            stripe_synced_version   int         NOT NULL DEFAULT 0,
            next_check_at           timestamptz NOT NULL,
            created_at              timestamptz NOT NULL,
            updated_at              timestamptz NOT NULL,
            CONSTRAINT subscriptions_past_due_grace
                CHECK (status = 'past_due' OR grace_ends_at IS NULL),
            CONSTRAINT subscriptions_paid_currency CHECK (billing = 'free' OR currency IS NOT NULL)
        );
        CREATE INDEX subscriptions_due ON subscriptions (next_check_at);
        CREATE INDEX subscriptions_stripe_unsynced ON subscriptions (id)
            WHERE billing = 'stripe' AND stripe_synced_version < version;
        """
    )
    # Which orders pay or grant which period of which subscription: a plan's first period, a
    # renewal, an upgrade's rest of the period, a free allowance month. `applied_at`: when the
    # subscription took it in. A Stripe invoice makes at most one renewal.
    op.execute(
        """
        CREATE TABLE subscription_orders (
            order_id            uuid        PRIMARY KEY REFERENCES orders (id),
            subscription_id     uuid        NOT NULL REFERENCES subscriptions (id),
            kind                text        NOT NULL
                                CHECK (kind IN ('subscription', 'renewal', 'upgrade', 'allowance')),
            plan_id             text        NOT NULL,
            from_plan_id        text,
            period_index        int         NOT NULL,
            period_start        timestamptz NOT NULL,
            period_end          timestamptz NOT NULL,
            allowance_month     int         NOT NULL,
            months              int         NOT NULL CHECK (months IN (1, 12)),
            stripe_invoice_id   text        UNIQUE,
            applied_at          timestamptz,
            -- A renewal paid before its period starts is announced (OrderPaidV1) when it
            -- starts, with what its payment was announced by.
            paid_event_id       text,
            paid_review         text,
            reviewed_by         text,
            created_at          timestamptz NOT NULL
        );
        CREATE INDEX subscription_orders_subscription
            ON subscription_orders (subscription_id, created_at DESC);
        """
    )
    # Every transition, as published (SubscriptionChangedV1), oldest first.
    op.execute(
        """
        CREATE TABLE subscription_changes (
            id              bigserial   PRIMARY KEY,
            subscription_id uuid        NOT NULL REFERENCES subscriptions (id),
            change          text        NOT NULL,
            old_plan_id     text,
            new_plan_id     text        NOT NULL,
            old_status      text,
            new_status      text        NOT NULL,
            order_id        uuid,
            changed_at      timestamptz NOT NULL
        );
        CREATE INDEX subscription_changes_subscription
            ON subscription_changes (subscription_id, id);
        """
    )


def downgrade() -> None:
    op.execute(
        """
        DROP TABLE subscription_changes;
        DROP TABLE subscription_orders;
        DROP TABLE subscriptions;
        ALTER TABLE orders DROP CONSTRAINT orders_credits_check;
        ALTER TABLE orders ADD CONSTRAINT orders_credits_check CHECK (credits > 0);
        ALTER TABLE orders DROP CONSTRAINT orders_amount_minor_check;
        ALTER TABLE orders ADD CONSTRAINT orders_amount_minor_check CHECK (amount_minor > 0);
        """
    )
