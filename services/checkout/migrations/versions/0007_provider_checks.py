"""Asking the providers: when each order and refund was last asked, and when next

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-04 00:00:00
"""

from __future__ import annotations

from alembic import op

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | None = None
depends_on: str | None = None


def upgrade() -> None:
    # One row per thing checkout asks a provider about: `order_sync` (POST /v1/orders/{id}/sync,
    # rate-limited per order), `order` and `refund` (the reconciler, with backoff). A row is the
    # claim: replicas and repeated requests agree on it through the primary key.
    op.execute(
        """
        CREATE TABLE provider_checks (
            subject_kind  text        NOT NULL CHECK (subject_kind IN (
                              'order_sync', 'order', 'refund')),
            subject_id    uuid        NOT NULL,
            attempts      integer     NOT NULL DEFAULT 0,
            checked_at    timestamptz NOT NULL,
            next_check_at timestamptz NOT NULL,
            last_outcome  text,
            PRIMARY KEY (subject_kind, subject_id)
        );
        -- The reconciler's candidates: pending refunds by age (pending orders already have
        -- their index for the expiry sweep).
        CREATE INDEX refunds_pending_created ON refunds (created_at) WHERE status = 'pending';
        """
    )


def downgrade() -> None:
    op.execute("DROP INDEX refunds_pending_created; DROP TABLE provider_checks;")
