"""Invoices, the per-year invoice number counter, and the consumer inbox.

Revision ID: 0001
Revises:
Create Date: 2026-01-01
"""

from collections.abc import Sequence

from alembic import op

from paystream.shared.db import INBOX_DDL

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.execute(INBOX_DDL)
    # One counter row per year, incremented in the transaction that inserts the invoice: a
    # rolled-back transaction undoes its increment, so numbers are gap-free (a PostgreSQL
    # SEQUENCE is not transactional and would leave holes).
    op.execute(
        """
        CREATE TABLE invoice_sequences (
            year        int PRIMARY KEY CHECK (year BETWEEN 1 AND 9999),
            last_number int NOT NULL CHECK (last_number > 0)
        );
        """
    )
    op.execute(
        """
        CREATE TABLE invoices (
            id                  uuid        PRIMARY KEY,
            number              text        NOT NULL UNIQUE,
            -- Stripe sends several events for one payment: one invoice per order, whatever
            -- the event that reports it.
            order_id            text        NOT NULL UNIQUE,
            user_id             text        NOT NULL,
            package_id          text,
            description         text        NOT NULL,
            credits             bigint      NOT NULL CHECK (credits >= 0),
            amount_minor        bigint      NOT NULL CHECK (amount_minor >= 0),
            currency            text        NOT NULL,
            provider            text        NOT NULL,
            provider_payment_id text,
            status              text        NOT NULL CHECK (status IN ('paid')),
            paid_at             timestamptz NOT NULL,
            issued_at           timestamptz NOT NULL,
            payment_event_id    uuid        NOT NULL
        );
        """
    )
    op.execute("CREATE INDEX invoices_user_issued ON invoices (user_id, issued_at DESC, id DESC);")
    op.execute("CREATE INDEX invoices_issued ON invoices (issued_at DESC, id DESC);")


def downgrade() -> None:
    op.execute("DROP TABLE invoices;")
    op.execute("DROP TABLE invoice_sequences;")
    op.execute("DROP TABLE inbox;")
