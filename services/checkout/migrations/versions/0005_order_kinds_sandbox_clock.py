"""What an order sells (its kind), and checkout's sandbox clock

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-05 00:00:00
"""

from __future__ import annotations

from alembic import op

from paystream.shared.clock import SANDBOX_CLOCK_DDL

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | None = None
depends_on: str | None = None


def upgrade() -> None:
    # A package; units by quantity or for a custom amount (from a quote); a plan's first period,
    # a renewal, an upgrade's prorated difference, or a free allowance. Orders placed before
    # this migration sold packages.
    op.execute(
        """
        ALTER TABLE orders ADD COLUMN kind text NOT NULL DEFAULT 'package'
            CHECK (kind IN ('package', 'quantity', 'custom_amount', 'subscription', 'renewal',
                            'upgrade', 'allowance'));
        """
    )
    # Periods, renewals, grace and reminders are decided on this clock; in sandbox mode an
    # admin moves it forward (paystream.shared.clock).
    op.execute(SANDBOX_CLOCK_DDL)


def downgrade() -> None:
    op.execute(
        """
        DO $$ BEGIN
            IF EXISTS (SELECT 1 FROM orders WHERE kind <> 'package') THEN
                RAISE EXCEPTION 'orders other than packages exist: they cannot be told apart';
            END IF;
        END $$;
        DROP TABLE sandbox_clock;
        ALTER TABLE orders DROP COLUMN kind;
        """
    )
