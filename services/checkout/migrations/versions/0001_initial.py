"""orders, their status history, inbox and outbox

Revision ID: 0001
Revises:
Create Date: 2025-01-01 00:00:00
"""

from __future__ import annotations

from alembic import op

from paystream.shared.db import INBOX_DDL, OUTBOX_DDL

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | None = None
depends_on: str | None = None


def upgrade() -> None:
    op.execute(
        """
        CREATE TABLE orders (
            id                  uuid        PRIMARY KEY,
            user_id             text        NOT NULL,
            package_id          text        NOT NULL,
            credits             integer     NOT NULL CHECK (credits > 0),
            amount_minor        bigint      NOT NULL CHECK (amount_minor > 0),
            currency            text        NOT NULL,
            payment_method      text        NOT NULL,
            status              text        NOT NULL CHECK (status IN (
                                    'pending', 'paid', 'failed', 'cancelled', 'expired',
                                    'refunded', 'partially_refunded')),
            return_url          text,
            idempotency_key     text,
            request_fingerprint text,
            provider_session_id text,
            payment_url         text,
            provider_payment_id text,
            paid_amount_minor   bigint,
            paid_currency       text,
            amount_mismatch     boolean     NOT NULL DEFAULT false,
            failure_reason      text,
            expires_at          timestamptz NOT NULL,
            paid_at             timestamptz,
            created_at          timestamptz NOT NULL DEFAULT now(),
            updated_at          timestamptz NOT NULL DEFAULT now(),
            -- One order per (user, Idempotency-Key): concurrent retries race on this key.
            CONSTRAINT orders_user_idempotency_key UNIQUE (user_id, idempotency_key),
            CHECK ((paid_amount_minor IS NULL) = (paid_currency IS NULL))
        )
        """
    )
    op.execute(
        "CREATE UNIQUE INDEX orders_provider_session_id ON orders (provider_session_id)"
        " WHERE provider_session_id IS NOT NULL"
    )
    # Keyset pagination, newest first: per user, and across users for operators.
    op.execute("CREATE INDEX orders_user_created ON orders (user_id, created_at DESC, id DESC)")
    op.execute("CREATE INDEX orders_created ON orders (created_at DESC, id DESC)")
    op.execute("CREATE INDEX orders_pending_expiry ON orders (expires_at) WHERE status = 'pending'")
    # Audit trail of every status change; the outbox rows are deleted once published.
    op.execute(
        """
        CREATE TABLE order_status_changes (
            id          bigserial   PRIMARY KEY,
            order_id    uuid        NOT NULL REFERENCES orders (id),
            old_status  text,
            new_status  text        NOT NULL,
            reason      text        NOT NULL,
            changed_at  timestamptz NOT NULL DEFAULT now()
        )
        """
    )
    op.execute("CREATE INDEX order_status_changes_order ON order_status_changes (order_id, id)")
    op.execute(INBOX_DDL)
    op.execute(OUTBOX_DDL)


def downgrade() -> None:
    op.execute("DROP TABLE outbox")
    op.execute("DROP TABLE inbox")
    op.execute("DROP TABLE order_status_changes")
    op.execute("DROP TABLE orders")
