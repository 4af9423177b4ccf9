"""Invoices from the order's facts: its lines, and what the order cost beside what was paid

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

# `amount_minor` stays what was paid (what the invoice bills). `ordered_minor` is what the order
# cost: they differ only for a payment an operator accepted after review or an overpayment, and
# a refund of the overpaid difference concerns no credits. Invoices issued before this migration
# were for exactly their order's amount, with one line.
SCHEMA = """
ALTER TABLE invoices ADD COLUMN ordered_minor bigint CHECK (ordered_minor >= 0),
                     ADD COLUMN lines jsonb;
UPDATE invoices SET ordered_minor = amount_minor,
    lines = jsonb_build_array(jsonb_build_object(
        'description', description, 'quantity', 1,
        'unit_amount_minor', amount_minor, 'amount_minor', amount_minor));
ALTER TABLE invoices ALTER COLUMN ordered_minor SET NOT NULL, ALTER COLUMN lines SET NOT NULL;
"""


def upgrade() -> None:
    op.execute(SCHEMA)


def downgrade() -> None:
    op.execute("ALTER TABLE invoices DROP COLUMN lines, DROP COLUMN ordered_minor")
