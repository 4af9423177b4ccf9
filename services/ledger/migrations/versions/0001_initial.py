"""Ledger schema: accounts, transactions, postings (double entry), inbox, outbox.

Revision ID: 0001
Revises:
Create Date: 2026-11-22
"""

from __future__ import annotations

from alembic import op

from paystream.shared.db import INBOX_DDL, OUTBOX_DDL

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | None = None
depends_on: str | None = None

SCHEMA = """
-- One row per account. `balance` is the sum of the account's postings, kept up to date in the
-- same transaction as the postings so reading a balance is one index lookup.
CREATE TABLE accounts (
    id      text   PRIMARY KEY,
    balance bigint NOT NULL DEFAULT 0,
    CONSTRAINT accounts_id_known
        CHECK (id LIKE 'user:_%' OR id IN ('system:issuance', 'system:consumption')),
    -- What the platform owes a user can never be negative: the last line of defence against
    -- overdrawing, behind the row lock taken by every spend.
    CONSTRAINT accounts_user_balance_not_negative
        CHECK (balance >= 0 OR id NOT LIKE 'user:%')
);
INSERT INTO accounts (id, balance) VALUES ('system:issuance', 0), ('system:consumption', 0);

CREATE TABLE transactions (
    -- Insertion order. For one user it is also the order of balance_after, because every
    -- writer holds the user's account row lock while inserting (timestamps can tie).
    seq             bigint      GENERATED ALWAYS AS IDENTITY,
    id              uuid        PRIMARY KEY,
    kind            text        NOT NULL CHECK (kind IN ('grant', 'spend')),
    user_id         text        NOT NULL,
    order_id        text,
    event_id        uuid,
    idempotency_key text,
    request_hash    text,
    reason          text        NOT NULL,
    credits         bigint      NOT NULL CHECK (credits > 0),
    balance_after   bigint      NOT NULL CHECK (balance_after >= 0),
    -- A grant batch passes its own time (also the event's granted_at); a spend takes the
    -- moment of its insert, after it got the user's lock.
    created_at      timestamptz NOT NULL DEFAULT clock_timestamp(),
    CONSTRAINT transactions_grant_has_order
        CHECK (kind <> 'grant' OR (order_id IS NOT NULL AND event_id IS NOT NULL)),
    CONSTRAINT transactions_spend_has_key
        CHECK (kind <> 'spend' OR (idempotency_key IS NOT NULL AND request_hash IS NOT NULL))
);
-- One grant per order, whatever number of payment events announce it. Partial unique indexes:
-- spends have no order and grants no idempotency key, so neither pays for the other's index.
CREATE UNIQUE INDEX transactions_order_id_key
    ON transactions (order_id) WHERE order_id IS NOT NULL;
CREATE UNIQUE INDEX transactions_user_idempotency_key
    ON transactions (user_id, idempotency_key) WHERE idempotency_key IS NOT NULL;
CREATE INDEX transactions_user_history ON transactions (user_id, seq DESC);

-- References to transactions and accounts are checked by the statement trigger below rather
-- than by FOREIGN KEYs: per-row RI triggers cost more than every other statement of a grant
-- batch together, and nothing a posting references can ever be deleted (see the append-only
-- triggers), so checking at insert is the whole of referential integrity here.
CREATE TABLE postings (
    transaction_id uuid   NOT NULL,
    account_id     text   NOT NULL,
    amount         bigint NOT NULL CHECK (amount <> 0),
    PRIMARY KEY (transaction_id, account_id)
);

-- Double entry at the database: the postings each INSERT statement writes must sum to zero
-- per transaction. Since postings can never be updated or deleted, every transaction's
-- postings sum to zero. A statement trigger over the transition table costs a few set-based
-- queries per batch, not one query per row.
CREATE FUNCTION postings_check() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    culprit text;
BEGIN
    SELECT transaction_id::text INTO culprit
    FROM new_postings
    GROUP BY transaction_id
    HAVING sum(amount) <> 0
    LIMIT 1;
    IF FOUND THEN
        RAISE EXCEPTION 'postings of transaction % do not sum to zero', culprit
            USING ERRCODE = 'check_violation';
    END IF;
    SELECT n.transaction_id::text INTO culprit
    FROM new_postings n
    WHERE NOT EXISTS (SELECT 1 FROM transactions t WHERE t.id = n.transaction_id)
    LIMIT 1;
    IF FOUND THEN
        RAISE EXCEPTION 'posting for unknown transaction %', culprit
            USING ERRCODE = 'foreign_key_violation';
    END IF;
    SELECT n.account_id INTO culprit
    FROM new_postings n
    WHERE NOT EXISTS (SELECT 1 FROM accounts a WHERE a.id = n.account_id)
    LIMIT 1;
    IF FOUND THEN
        RAISE EXCEPTION 'posting to unknown account %', culprit
            USING ERRCODE = 'foreign_key_violation';
    END IF;
    RETURN NULL;
END
$$;
CREATE TRIGGER postings_checked
    AFTER INSERT ON postings
    REFERENCING NEW TABLE AS new_postings
    FOR EACH STATEMENT EXECUTE FUNCTION postings_check();

-- The ledger is append-only: a correction is a new transaction, never an edit.
CREATE FUNCTION ledger_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION '% is append-only: % refused', TG_TABLE_NAME, TG_OP
        USING ERRCODE = 'restrict_violation';
END
$$;
CREATE TRIGGER postings_append_only
    BEFORE UPDATE OR DELETE OR TRUNCATE ON postings
    FOR EACH STATEMENT EXECUTE FUNCTION ledger_append_only();
CREATE TRIGGER transactions_append_only
    BEFORE UPDATE OR DELETE OR TRUNCATE ON transactions
    FOR EACH STATEMENT EXECUTE FUNCTION ledger_append_only();
-- Balances change; accounts never go away (postings refer to them).
CREATE TRIGGER accounts_never_deleted
    BEFORE DELETE OR TRUNCATE ON accounts
    FOR EACH STATEMENT EXECUTE FUNCTION ledger_append_only();
"""


def upgrade() -> None:
    op.execute(SCHEMA)
    op.execute(INBOX_DDL)
    op.execute(OUTBOX_DDL)


def downgrade() -> None:
    op.execute(
        "DROP TABLE outbox, inbox, postings, transactions, accounts;"
        " DROP FUNCTION postings_check(), ledger_append_only();"
    )
