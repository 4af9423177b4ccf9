"""The payment each order was paid with and the payment each refund returns: a refund of a
second payment of an order (checkout's second_payments) takes nothing back from its grant.

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-04
"""

from __future__ import annotations

from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | None = None
depends_on: str | None = None


def upgrade() -> None:
    op.execute(
        """
        -- The provider's payment OrderPaidV1 recorded for the order (none for orders granted
        -- before this table, or paid by nobody: their refunds apply as they always did).
        CREATE TABLE order_payments (
            order_id            text PRIMARY KEY,
            provider_payment_id text NOT NULL
        );
        -- The payment the refund returns, when its event named one.
        ALTER TABLE refunds ADD COLUMN provider_payment_id text;
        """
    )


def downgrade() -> None:
    op.execute(
        """
        ALTER TABLE refunds DROP COLUMN provider_payment_id;
        DROP TABLE order_payments;
        """
    )
