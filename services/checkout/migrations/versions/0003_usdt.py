"""USDT (TRC20): deposit amount reservations, every transfer seen, the watcher's cursor

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-22 00:00:00
"""

from __future__ import annotations

from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | None = None
depends_on: str | None = None


def upgrade() -> None:
    # One row per USDT order: the exact amount the payer must send to `address`. A transfer's
    # amount is all that identifies its order, so no two open deposits share an amount, nor a
    # residue (amount modulo `modulus`, the offset's decimal span): the residue still names the
    # order when an exchange took its fee off the amount. The deposit carries the order facts the
    # payment event needs (as Stripe metadata does), so the watcher never reads `orders`; no
    # foreign key to `orders` for the same reason.
    op.execute(
        """
        CREATE TABLE usdt_deposits (
            id              uuid        PRIMARY KEY,
            order_id        uuid        NOT NULL UNIQUE,
            user_id         text        NOT NULL,
            package_id      text,
            credits         integer     NOT NULL CHECK (credits >= 0),
            address         text        NOT NULL,
            currency        text        NOT NULL DEFAULT 'USDT' CHECK (currency = 'USDT'),
            price_minor     bigint      NOT NULL CHECK (price_minor > 0),
            offset_minor    integer     NOT NULL CHECK (offset_minor > 0),
            amount_minor    bigint      NOT NULL CHECK (amount_minor = price_minor + offset_minor),
            modulus         integer     NOT NULL CHECK (modulus > offset_minor),
            residue         integer     NOT NULL CHECK (residue >= 0 AND residue < modulus),
            expires_at      timestamptz NOT NULL,
            -- open: the amount is reserved; paid: a transfer credited it; closed: the order was
            -- cancelled or expired (closed by checkout) or left open long past its expiry
            -- (reclaimed by the allocator).
            status          text        NOT NULL CHECK (status IN ('open', 'paid', 'closed')),
            close_reason    text,
            created_at      timestamptz NOT NULL DEFAULT now(),
            released_at     timestamptz,
            CHECK ((status = 'open') = (released_at IS NULL))
        )
        """
    )
    # The reservation: race-free allocation under concurrent orders (insert, retry on conflict).
    op.execute(
        "CREATE UNIQUE INDEX usdt_deposits_open_amount ON usdt_deposits (address, amount_minor)"
        " WHERE status = 'open'"
    )
    op.execute(
        "CREATE UNIQUE INDEX usdt_deposits_open_residue"
        " ON usdt_deposits (address, modulus, residue) WHERE status = 'open'"
    )
    # Matching a transfer: the newest deposit of that amount (or residue) asked before it.
    op.execute(
        "CREATE INDEX usdt_deposits_amount ON usdt_deposits (address, amount_minor, created_at)"
    )
    op.execute(
        "CREATE INDEX usdt_deposits_residue"
        " ON usdt_deposits (address, modulus, residue, created_at)"
    )
    op.execute("CREATE INDEX usdt_deposits_released ON usdt_deposits (address, released_at)")
    op.execute(
        "CREATE INDEX usdt_deposits_open_expiry ON usdt_deposits (address, expires_at)"
        " WHERE status = 'open'"
    )
    # Every solidified USDT transfer to a deposit address, whatever became of it: nothing an
    # operator may have to refund or chase is ever dropped. `credited` says whether it was
    # published as a payment.
    op.execute(
        """
        CREATE TABLE usdt_transfers (
            id               uuid        PRIMARY KEY,
            transaction_id   text        NOT NULL,
            event_index      integer     NOT NULL CHECK (event_index >= 0),
            from_address     text        NOT NULL,
            to_address       text        NOT NULL,
            contract_address text        NOT NULL,
            amount_minor     bigint      NOT NULL CHECK (amount_minor >= 0),
            currency         text        NOT NULL DEFAULT 'USDT',
            block_number     bigint,
            block_timestamp  timestamptz NOT NULL,
            status           text        NOT NULL CHECK (status IN (
                                 'matched', 'overpaid', 'underpaid', 'late', 'duplicate',
                                 'unmatched')),
            credited         boolean     NOT NULL,
            deposit_id       uuid        REFERENCES usdt_deposits (id),
            order_id         uuid,
            expected_minor   bigint,
            note             text,
            raw              jsonb       NOT NULL,
            seen_at          timestamptz NOT NULL DEFAULT now(),
            CONSTRAINT usdt_transfers_event UNIQUE (transaction_id, event_index)
        )
        """
    )
    op.execute("CREATE INDEX usdt_transfers_seen ON usdt_transfers (seen_at DESC, id DESC)")
    op.execute(
        "CREATE INDEX usdt_transfers_status_seen ON usdt_transfers (status, seen_at DESC, id DESC)"
    )
    op.execute("CREATE INDEX usdt_transfers_order ON usdt_transfers (order_id)")
    # Where the watcher reads from next, per (address, contract): restart-safe polling.
    op.execute(
        """
        CREATE TABLE usdt_watch_cursors (
            address          text        NOT NULL,
            contract_address text        NOT NULL,
            min_timestamp_ms bigint      NOT NULL,
            -- false while a backlog is being read: the next poll goes on from the cursor
            -- itself, without re-reading the overlap (which could hold more than a window).
            caught_up        boolean     NOT NULL DEFAULT true,
            updated_at       timestamptz NOT NULL DEFAULT now(),
            PRIMARY KEY (address, contract_address)
        )
        """
    )


def downgrade() -> None:
    op.execute("DROP TABLE usdt_watch_cursors")
    op.execute("DROP TABLE usdt_transfers")
    op.execute("DROP TABLE usdt_deposits")
