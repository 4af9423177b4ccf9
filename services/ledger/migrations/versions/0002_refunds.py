"""Refunds: what each grant was paid, take-backs (`revoke` transactions), the refunds received.

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-01
"""

from __future__ import annotations

from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | None = None
depends_on: str | None = None

SCHEMA = """
-- Credits taken back for refunds go to their own system account, so -balance(system:issuance)
-- stays "every credit ever granted" and balance(system:refunds) is "every credit taken back".
ALTER TABLE accounts DROP CONSTRAINT accounts_id_known;
ALTER TABLE accounts ADD CONSTRAINT accounts_id_known
    CHECK (id LIKE 'user:_%' OR id IN ('system:issuance', 'system:consumption', 'system:refunds'));
INSERT INTO accounts (id, balance) VALUES ('system:refunds', 0);

-- A grant records what was paid for it: a refund takes back credits in proportion to the
-- amount refunded, and must be in the payment's currency. A revoke names its refund.
-- (Adding nullable columns rewrites nothing and fires no trigger: the table stays append-only.)
ALTER TABLE transactions
    ADD COLUMN paid_minor    bigint CHECK (paid_minor >= 0),
    ADD COLUMN paid_currency text,
    ADD COLUMN refund_key    text;
ALTER TABLE transactions DROP CONSTRAINT transactions_kind_check;
ALTER TABLE transactions ADD CONSTRAINT transactions_kind_check
    CHECK (kind IN ('grant', 'spend', 'revoke'));
-- NOT VALID: grants written before this migration have no payment facts (a refund of one is
-- refused and dead-lettered, see the README); every grant from now on must carry them.
ALTER TABLE transactions ADD CONSTRAINT transactions_grant_has_payment
    CHECK (kind <> 'grant' OR (paid_minor IS NOT NULL AND paid_currency IS NOT NULL)) NOT VALID;
ALTER TABLE transactions ADD CONSTRAINT transactions_revoke_has_refund
    CHECK (kind <> 'revoke' OR (order_id IS NOT NULL AND refund_key IS NOT NULL));
-- One grant per order still, but a revoke names its order too: the unique order key becomes
-- the grants' own (the grant insert's ON CONFLICT names this predicate).
DROP INDEX transactions_order_id_key;
CREATE UNIQUE INDEX transactions_grant_order_key ON transactions (order_id) WHERE kind = 'grant';
-- One take-back per refund, whatever number of events announce it.
CREATE UNIQUE INDEX transactions_refund_key ON transactions (refund_key)
    WHERE refund_key IS NOT NULL;

-- Every refund the ledger learnt of, once per refund_key: `pending` while its order has no grant
-- (refund before payment in the stream, or another deployment's order), `applied` once its
-- share of the credits was assessed (taken and/or shortfall), `rejected` when it can never
-- apply (a pending refund whose grant turned out to be in another currency, or over-refunded).
CREATE TABLE refunds (
    seq                bigint      GENERATED ALWAYS AS IDENTITY UNIQUE,
    id                 uuid        PRIMARY KEY,
    refund_key         text        NOT NULL UNIQUE,
    event_id           uuid        NOT NULL,
    order_id           text        NOT NULL,
    user_id            text        NOT NULL,
    refund_id          text,
    provider           text        NOT NULL,
    provider_refund_id text        NOT NULL,
    amount_minor       bigint      NOT NULL CHECK (amount_minor > 0),
    currency           text        NOT NULL,
    reason             text,
    refunded_at        timestamptz NOT NULL,
    received_at        timestamptz NOT NULL DEFAULT clock_timestamp(),
    status             text        NOT NULL CHECK (status IN ('pending', 'applied', 'rejected')),
    -- The outcome, once applied: credits_due = credits_taken + shortfall.
    credits_due        bigint,
    credits_taken      bigint,
    shortfall          bigint,
    balance_after      bigint,
    transaction_id     uuid,
    applied_at         timestamptz,
    rejection          text,
    CONSTRAINT refunds_applied_outcome CHECK (
        status <> 'applied' OR (
            credits_taken >= 0 AND shortfall >= 0 AND credits_due = credits_taken + shortfall
            AND balance_after >= 0 AND applied_at IS NOT NULL
        )
    ),
    -- A revoke transaction exactly when credits were taken (none when all was shortfall).
    CONSTRAINT refunds_transaction_iff_taken CHECK (
        (transaction_id IS NOT NULL) = (status = 'applied' AND credits_taken > 0)
    ),
    CONSTRAINT refunds_rejection_explained CHECK ((status = 'rejected') = (rejection IS NOT NULL))
);
CREATE INDEX refunds_order ON refunds (order_id);
-- What a grant batch asks for every order it grants: tiny, since refunds wait here rarely.
CREATE INDEX refunds_pending_order ON refunds (order_id) WHERE status = 'pending';
CREATE INDEX refunds_shortfalls ON refunds (seq DESC) WHERE shortfall > 0;

-- A refund's facts never change, and it leaves `pending` once: to `applied` or `rejected`.
CREATE FUNCTION refunds_settle_once() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF OLD.status <> 'pending' OR NEW.status = 'pending'
        OR (NEW.refund_key, NEW.event_id, NEW.order_id, NEW.user_id, NEW.amount_minor,
            NEW.currency, NEW.refunded_at)
           IS DISTINCT FROM
           (OLD.refund_key, OLD.event_id, OLD.order_id, OLD.user_id, OLD.amount_minor,
            OLD.currency, OLD.refunded_at) THEN
        RAISE EXCEPTION 'refund % is settled or its facts would change', OLD.refund_key
            USING ERRCODE = 'restrict_violation';
    END IF;
    RETURN NEW;
END
$$;
CREATE TRIGGER refunds_settled_once
    BEFORE UPDATE ON refunds FOR EACH ROW EXECUTE FUNCTION refunds_settle_once();
CREATE TRIGGER refunds_never_deleted
    BEFORE DELETE OR TRUNCATE ON refunds
    FOR EACH STATEMENT EXECUTE FUNCTION ledger_append_only();
"""

DOWNGRADE = """
DROP TABLE refunds;
DROP FUNCTION refunds_settle_once();
DROP INDEX transactions_refund_key;
DROP INDEX transactions_grant_order_key;
CREATE UNIQUE INDEX transactions_order_id_key ON transactions (order_id)
    WHERE order_id IS NOT NULL;
ALTER TABLE transactions DROP CONSTRAINT transactions_revoke_has_refund;
ALTER TABLE transactions DROP CONSTRAINT transactions_grant_has_payment;
ALTER TABLE transactions DROP CONSTRAINT transactions_kind_check;
ALTER TABLE transactions ADD CONSTRAINT transactions_kind_check
    CHECK (kind IN ('grant', 'spend'));
ALTER TABLE transactions DROP COLUMN refund_key, DROP COLUMN paid_currency,
    DROP COLUMN paid_minor;
"""


def upgrade() -> None:
    op.execute(SCHEMA)


def downgrade() -> None:
    # Only possible while no refund was taken back (revoke transactions are append-only). The
    # system:refunds account stays, as accounts are never deleted, and so does its CHECK.
    op.execute(DOWNGRADE)
