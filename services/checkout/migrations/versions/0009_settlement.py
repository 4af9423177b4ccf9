"""The daily settlement: each provider's day as matched, line by line, with its fees

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-04 00:00:00
"""

from __future__ import annotations

from alembic import op

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | None = None
depends_on: str | None = None


def upgrade() -> None:
    # A run replaces its provider's day: the lines are the newest comparison, the run row says
    # when it was made (the scheduled run skips days already done). A payment's line carries the
    # provider's fee on it: fees are recorded per payment here (order_id).
    op.execute(
        """
        CREATE TABLE settlement_runs (
            provider    text        NOT NULL,
            day         date        NOT NULL,
            ran_at      timestamptz NOT NULL,
            lines       integer     NOT NULL,
            differences integer     NOT NULL,
            PRIMARY KEY (provider, day)
        );
        CREATE TABLE settlement_lines (
            provider              text        NOT NULL,
            day                   date        NOT NULL,
            seq                   integer     NOT NULL,
            kind                  text        NOT NULL CHECK (kind IN ('payment', 'refund')),
            reference             text        NOT NULL,
            outcome               text        NOT NULL CHECK (outcome IN ('matched',
                                      'amount_differs', 'missing_in_paystream',
                                      'missing_at_provider')),
            currency              text        NOT NULL,
            provider_amount_minor bigint,
            booked_amount_minor   bigint,
            fee_minor             bigint,
            order_id              uuid,
            refund_id             uuid,
            provider_id           text,
            at                    timestamptz,
            PRIMARY KEY (provider, day, seq),
            FOREIGN KEY (provider, day) REFERENCES settlement_runs (provider, day)
                DEFERRABLE INITIALLY DEFERRED
        );
        CREATE INDEX settlement_lines_order ON settlement_lines (order_id)
            WHERE order_id IS NOT NULL;
        """
    )


def downgrade() -> None:
    op.execute("DROP TABLE settlement_lines; DROP TABLE settlement_runs;")
