"""Saved payment methods (Stripe customers and their cards) and auto-recharge

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-04 15:00:00
"""

from __future__ import annotations

from alembic import op

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | None = None
depends_on: str | None = None


def upgrade() -> None:
    op.execute(
        """
        -- One Stripe Customer per user, created when first needed.
        CREATE TABLE stripe_customers (
            user_id     text        PRIMARY KEY,
            customer_id text        NOT NULL UNIQUE,
            created_at  timestamptz NOT NULL
        );
        -- A user's saved methods as Stripe shows them: display fields only, never a number.
        CREATE TABLE saved_payment_methods (
            id          text        PRIMARY KEY,
            user_id     text        NOT NULL,
            customer_id text        NOT NULL,
            type        text        NOT NULL,
            brand       text,
            last4       text,
            exp_month   integer,
            exp_year    integer,
            is_default  boolean     NOT NULL DEFAULT false,
            attached_at timestamptz NOT NULL,
            updated_at  timestamptz NOT NULL
        );
        CREATE INDEX saved_payment_methods_user ON saved_payment_methods (user_id, attached_at);
        CREATE UNIQUE INDEX saved_payment_methods_one_default ON saved_payment_methods (user_id)
            WHERE is_default;

        CREATE TABLE auto_recharge_settings (
            user_id           text        NOT NULL,
            unit              text        NOT NULL,
            enabled           boolean     NOT NULL,
            status            text        NOT NULL CHECK (status IN (
                                  'active', 'requires_action', 'disabled')),
            threshold         bigint      NOT NULL CHECK (threshold >= 0),
            package_id        text,
            product_id        text,
            quantity          integer     CHECK (quantity > 0),
            amount_minor      bigint      CHECK (amount_minor > 0),
            currency          text        NOT NULL,
            payment_method_id text,
            monthly_cap_minor bigint      NOT NULL CHECK (monthly_cap_minor > 0),
            daily_count_cap   integer     NOT NULL CHECK (daily_count_cap > 0),
            consent_text      text        NOT NULL,
            consent_at        timestamptz NOT NULL,
            last_error        text,
            action_url        text,
            created_at        timestamptz NOT NULL,
            updated_at        timestamptz NOT NULL,
            PRIMARY KEY (user_id, unit),
            CHECK (num_nonnulls(package_id, product_id) = 1),
            CHECK (product_id IS NULL OR num_nonnulls(quantity, amount_minor) = 1)
        );

        -- One row per threshold crossing (or manual trigger): its key is the Idempotency-Key
        -- sent to Stripe, so however many times the crossing is delivered, one charge.
        CREATE TABLE auto_recharge_attempts (
            id                  uuid        PRIMARY KEY,
            user_id             text        NOT NULL,
            unit                text        NOT NULL,
            crossing_key        text        NOT NULL,
            trigger             text        NOT NULL CHECK (trigger IN ('balance_low', 'manual')),
            status              text        NOT NULL CHECK (status IN (
                                    'pending', 'retrying', 'processing', 'requires_action',
                                    'succeeded', 'failed', 'skipped')),
            order_id            uuid        REFERENCES orders (id),
            amount_minor        bigint      NOT NULL CHECK (amount_minor > 0),
            currency            text        NOT NULL,
            payment_method_id   text,
            provider_payment_id text,
            tries               integer     NOT NULL DEFAULT 0,
            next_try_at         timestamptz,
            error_code          text,
            error               text,
            created_at          timestamptz NOT NULL,
            updated_at          timestamptz NOT NULL,
            CONSTRAINT auto_recharge_attempts_crossing UNIQUE (user_id, unit, crossing_key)
        );
        -- At most one recharge in flight per user and unit.
        CREATE UNIQUE INDEX auto_recharge_attempts_in_flight ON auto_recharge_attempts
            (user_id, unit)
            WHERE status IN ('pending', 'retrying', 'processing', 'requires_action');
        -- The caps: what was charged (or is being charged) per user and unit since a time.
        CREATE INDEX auto_recharge_attempts_user_created ON auto_recharge_attempts
            (user_id, unit, created_at);
        CREATE INDEX auto_recharge_attempts_retry ON auto_recharge_attempts (next_try_at)
            WHERE status = 'retrying';
        """
    )


def downgrade() -> None:
    op.execute(
        """
        DROP TABLE auto_recharge_attempts;
        DROP TABLE auto_recharge_settings;
        DROP TABLE saved_payment_methods;
        DROP TABLE stripe_customers;
        """
    )
