"""Refunds received, credit notes (gap-free `CN-<year>-<6 digits>`), refunded totals on invoices.

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-01
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

SCHEMA = """
-- What was refunded of an invoice, kept with it in the transaction that issues the credit note;
-- the status follows from it (the CHECK says how), so the two can never disagree.
ALTER TABLE invoices ADD COLUMN refunded_minor bigint NOT NULL DEFAULT 0;
ALTER TABLE invoices DROP CONSTRAINT invoices_status_check;
ALTER TABLE invoices ADD CONSTRAINT invoices_status_check
    CHECK (status IN ('paid', 'partially_refunded', 'refunded'));
ALTER TABLE invoices ADD CONSTRAINT invoices_refunded_within_amount
    CHECK (refunded_minor BETWEEN 0 AND amount_minor);
ALTER TABLE invoices ADD CONSTRAINT invoices_status_follows_refunds CHECK (
    status = CASE
        WHEN refunded_minor = 0 THEN 'paid'
        WHEN refunded_minor < amount_minor THEN 'partially_refunded'
        ELSE 'refunded'
    END
);

-- Credit notes have their own gap-free series, numbered like invoices: one counter row per UTC
-- year of the refund, incremented by a batch's block in the transaction that inserts them.
CREATE TABLE credit_note_sequences (
    year        int PRIMARY KEY CHECK (year BETWEEN 1 AND 9999),
    last_number int NOT NULL CHECK (last_number > 0)
);

-- Every refund received, once per refund_key whatever number of events announce it:
-- `pending` while its order has no invoice (refund before payment in the stream, or another
-- deployment's order), `credited` once its credit note is issued, `rejected` when it never can
-- be (a pending refund whose invoice turned out to be in another currency, or over-refunded).
CREATE TABLE refunds (
    seq                 bigint      GENERATED ALWAYS AS IDENTITY UNIQUE,
    refund_key          text        PRIMARY KEY,
    event_id            uuid        NOT NULL,
    order_id            text        NOT NULL,
    user_id             text        NOT NULL,
    refund_id           text,
    provider            text        NOT NULL,
    provider_refund_id  text        NOT NULL,
    provider_payment_id text,
    amount_minor        bigint      NOT NULL CHECK (amount_minor > 0),
    currency            text        NOT NULL,
    reason              text,
    refunded_at         timestamptz NOT NULL,
    received_at         timestamptz NOT NULL DEFAULT clock_timestamp(),
    status              text        NOT NULL DEFAULT 'pending'
                                    CHECK (status IN ('pending', 'credited', 'rejected')),
    rejection           text,
    CONSTRAINT refunds_rejection_explained CHECK ((status = 'rejected') = (rejection IS NOT NULL))
);
-- What a batch that issues invoices asks for their orders: tiny, refunds rarely wait.
CREATE INDEX refunds_pending_order ON refunds (order_id) WHERE status = 'pending';

CREATE TABLE credit_notes (
    id                 uuid        PRIMARY KEY,
    number             text        NOT NULL UNIQUE,
    -- One credit note per refund.
    refund_key         text        NOT NULL UNIQUE REFERENCES refunds (refund_key),
    invoice_id         uuid        NOT NULL REFERENCES invoices (id),
    invoice_number     text        NOT NULL,
    order_id           text        NOT NULL,
    user_id            text        NOT NULL,
    amount_minor       bigint      NOT NULL CHECK (amount_minor > 0),
    currency           text        NOT NULL,
    -- The credits this refund concerns: its share of the invoice's credits, computed like the
    -- ledger's take-back (cumulative, rounded down, the last refund completes the whole).
    credits            bigint      NOT NULL CHECK (credits >= 0),
    reason             text,
    refund_id          text,
    provider           text        NOT NULL,
    provider_refund_id text        NOT NULL,
    refunded_at        timestamptz NOT NULL,
    issued_at          timestamptz NOT NULL,
    refund_event_id    uuid        NOT NULL
);
CREATE INDEX credit_notes_invoice ON credit_notes (invoice_id, issued_at, id);
CREATE INDEX credit_notes_order ON credit_notes (order_id);
CREATE INDEX credit_notes_user_issued ON credit_notes (user_id, issued_at DESC, id DESC);
CREATE INDEX credit_notes_issued ON credit_notes (issued_at DESC, id DESC);
"""

DOWNGRADE = """
DROP TABLE credit_notes;
DROP TABLE refunds;
DROP TABLE credit_note_sequences;
ALTER TABLE invoices DROP CONSTRAINT invoices_status_follows_refunds;
ALTER TABLE invoices DROP CONSTRAINT invoices_refunded_within_amount;
ALTER TABLE invoices DROP CONSTRAINT invoices_status_check;
ALTER TABLE invoices DROP COLUMN refunded_minor;
ALTER TABLE invoices ADD CONSTRAINT invoices_status_check CHECK (status IN ('paid'));
"""


def upgrade() -> None:
    op.execute(SCHEMA)


def downgrade() -> None:
    # Refuses (CHECK) while any invoice is refunded: refunded invoices are not silently "paid".
    op.execute(DOWNGRADE)
