"""Lots: every grant becomes a lot with its unit, validity and cost; spends, holds, expiries,
voids and revocations are entries on lots; balances are derived, never a column every spend
writes. Existing grants become lots in place, and their spends and revocations become entries.

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-04
"""

from __future__ import annotations

from alembic import op

from paystream.shared.clock import SANDBOX_CLOCK_DDL

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | None = None
depends_on: str | None = None

SCHEMA = r"""
-- Balances are derived now: a user's from the live lots, a system account's from its postings.
-- The column every spend used to update (system:consumption) was the bottleneck of the spend
-- path; the postings keep the same information.
ALTER TABLE accounts DROP CONSTRAINT accounts_user_balance_not_negative;
ALTER TABLE accounts DROP COLUMN balance;
ALTER TABLE accounts DROP CONSTRAINT accounts_id_known;
ALTER TABLE accounts ADD CONSTRAINT accounts_id_known CHECK (
    id LIKE 'user:_%' OR id IN ('system:issuance', 'system:consumption', 'system:refunds',
                                'system:expiry', 'system:voids')
);
INSERT INTO accounts (id) VALUES ('system:expiry'), ('system:voids');

-- The units the ledger has granted (a spend or a hold in any other unit is refused).
CREATE TABLE units (
    name        text        PRIMARY KEY CHECK (name ~ '^[a-z][a-z0-9_]{0,31}$'),
    created_at  timestamptz NOT NULL DEFAULT now()
);
INSERT INTO units (name) VALUES ('credits');

-- Transactions carry their unit (postings of one transaction are all in it), and the kinds of
-- everything that happens to lots. Hold and release move nothing between accounts (held
-- credits stay the user's until captured), so they are the only kinds without postings.
ALTER TABLE transactions
    ADD COLUMN unit          text NOT NULL DEFAULT 'credits',
    ADD COLUMN hold_id       uuid,
    ADD COLUMN actor         text,
    ADD COLUMN cost_minor    bigint CHECK (cost_minor >= 0),
    ADD COLUMN cost_currency text;
ALTER TABLE transactions DROP CONSTRAINT transactions_kind_check;
ALTER TABLE transactions ADD CONSTRAINT transactions_kind_check CHECK (
    kind IN ('grant', 'adjustment', 'spend', 'hold', 'capture', 'release', 'expire', 'void',
             'revoke')
);
ALTER TABLE transactions ADD CONSTRAINT transactions_hold_kinds_name_it
    CHECK (kind NOT IN ('hold', 'capture', 'release') OR hold_id IS NOT NULL);
ALTER TABLE transactions ADD CONSTRAINT transactions_operator_named
    CHECK (kind NOT IN ('adjustment', 'void') OR actor IS NOT NULL);
-- An order may grant several lots (one grant transaction each); once per order is now the
-- lots' unique (order_id, order_line).
DROP INDEX transactions_grant_order_key;
CREATE INDEX transactions_order ON transactions (order_id) WHERE order_id IS NOT NULL;
-- Idempotency keys are scoped to their caller: the user for spends, the operator for admin
-- actions (an operator's key never collides with the user's own).
DROP INDEX transactions_user_idempotency_key;
CREATE UNIQUE INDEX transactions_user_idempotency_key ON transactions (user_id, idempotency_key)
    WHERE idempotency_key IS NOT NULL AND actor IS NULL;
CREATE UNIQUE INDEX transactions_actor_idempotency_key ON transactions (actor, idempotency_key)
    WHERE idempotency_key IS NOT NULL AND actor IS NOT NULL;
-- One revocation per refund and unit.
DROP INDEX transactions_refund_key;
CREATE UNIQUE INDEX transactions_refund_key ON transactions (refund_key, unit)
    WHERE refund_key IS NOT NULL;
CREATE INDEX transactions_user_kind_time ON transactions (user_id, kind, created_at);

-- A lot: credits of one unit granted at once, with their validity, consumption priority and
-- cost basis. `remaining` (credits + the sum of the lot's entries) and `held` (reserved by open
-- holds) are caches kept in the transaction of each entry and checked by `paystream verify`.
-- No index names `remaining` or `held`, so the update every spend makes is a HOT update;
-- `has_credits` only changes when a lot runs out.
CREATE TABLE lots (
    seq            bigint      GENERATED ALWAYS AS IDENTITY UNIQUE,
    id             uuid        PRIMARY KEY,
    user_id        text        NOT NULL,
    unit           text        NOT NULL REFERENCES units (name),
    source         text        NOT NULL CHECK (source IN ('purchase', 'plan_allowance',
                               'promotion', 'adjustment', 'auto_recharge', 'rollover')),
    credits        bigint      NOT NULL CHECK (credits > 0),
    remaining      bigint      NOT NULL,
    held           bigint      NOT NULL DEFAULT 0,
    has_credits    boolean     GENERATED ALWAYS AS (remaining > 0) STORED,
    effective_at   timestamptz NOT NULL,
    expires_at     timestamptz,
    validity_rule  text        NOT NULL,
    priority       smallint    NOT NULL DEFAULT 50 CHECK (priority BETWEEN 0 AND 100),
    cost_minor     bigint      NOT NULL DEFAULT 0 CHECK (cost_minor >= 0),
    cost_currency  text,
    order_id       text,
    order_line     integer,
    transaction_id uuid        NOT NULL UNIQUE,
    created_at     timestamptz NOT NULL,
    -- Set once, by the expiry job, when it expired what was left; voided_at by a void.
    expired_at     timestamptz,
    expired        bigint      NOT NULL DEFAULT 0 CHECK (expired >= 0),
    voided_at      timestamptz,
    CONSTRAINT lots_remaining_in_range CHECK (remaining BETWEEN 0 AND credits),
    CONSTRAINT lots_held_in_range CHECK (held BETWEEN 0 AND remaining),
    CONSTRAINT lots_expiry_after_start CHECK (expires_at IS NULL OR expires_at > effective_at),
    CONSTRAINT lots_order_line CHECK ((order_id IS NULL) = (order_line IS NULL)),
    CONSTRAINT lots_cost_currency CHECK (cost_minor = 0 OR cost_currency IS NOT NULL)
) WITH (fillfactor = 80);
-- Once per order line, whatever number of events announce the order.
CREATE UNIQUE INDEX lots_order_line_key ON lots (order_id, order_line) WHERE order_id IS NOT NULL;
-- What spends and holds lock: a user's lots that still have credits.
CREATE INDEX lots_with_credits ON lots (user_id, unit) WHERE has_credits;
-- Listing a user's lots, and balances as they were at a time.
CREATE INDEX lots_by_user ON lots (user_id, unit, seq);
-- What the expiry job and the notices look at: lots with an expiry and credits left that the job
-- has not expired yet (a lot used up or voided before its expiry has nothing to expire).
CREATE INDEX lots_to_expire ON lots (expires_at)
    WHERE expires_at IS NOT NULL AND expired_at IS NULL AND has_credits;

-- The truth about lots, append-only: what each transaction did to each lot. `delta` changes
-- `remaining` (never up: a grant is the lot itself), `held_delta` changes `held`.
CREATE TABLE lot_entries (
    transaction_id uuid        NOT NULL,
    lot_id         uuid        NOT NULL,
    kind           text        NOT NULL CHECK (kind IN ('spend', 'hold', 'capture', 'release',
                               'expire', 'void', 'revoke')),
    delta          bigint      NOT NULL CHECK (delta <= 0),
    held_delta     bigint      NOT NULL DEFAULT 0,
    at             timestamptz NOT NULL,
    PRIMARY KEY (transaction_id, lot_id),
    CHECK (delta <> 0 OR held_delta <> 0)
);
CREATE INDEX lot_entries_lot ON lot_entries (lot_id, at);
-- A lot expires once.
CREATE UNIQUE INDEX lot_entries_one_expiry ON lot_entries (lot_id) WHERE kind = 'expire';
CREATE TRIGGER lot_entries_append_only
    BEFORE UPDATE OR DELETE OR TRUNCATE ON lot_entries
    FOR EACH STATEMENT EXECUTE FUNCTION ledger_append_only();
CREATE TRIGGER lots_never_deleted
    BEFORE DELETE OR TRUNCATE ON lots
    FOR EACH STATEMENT EXECUTE FUNCTION ledger_append_only();

-- Holds: credits reserved from lots until captured, released, or their time runs out.
CREATE TABLE holds (
    seq             bigint      GENERATED ALWAYS AS IDENTITY UNIQUE,
    id              uuid        PRIMARY KEY,
    user_id         text        NOT NULL,
    unit            text        NOT NULL,
    credits         bigint      NOT NULL CHECK (credits > 0),
    captured        bigint      NOT NULL DEFAULT 0 CHECK (captured >= 0),
    released        bigint      NOT NULL DEFAULT 0 CHECK (released >= 0),
    status          text        NOT NULL CHECK (status IN ('open', 'captured', 'released',
                                                           'expired')),
    reason          text        NOT NULL,
    expires_at      timestamptz NOT NULL,
    idempotency_key text        NOT NULL,
    request_hash    text        NOT NULL,
    transaction_id  uuid        NOT NULL,
    created_at      timestamptz NOT NULL,
    settled_at      timestamptz,
    CONSTRAINT holds_settled CHECK (
        (status = 'open') = (settled_at IS NULL)
        AND (status = 'open' OR captured + released = credits)
    ),
    UNIQUE (user_id, idempotency_key)
);
CREATE INDEX holds_open ON holds (expires_at) WHERE status = 'open';
CREATE INDEX holds_by_user ON holds (user_id, seq);
CREATE TABLE hold_allocations (
    hold_id  uuid   NOT NULL REFERENCES holds (id),
    lot_id   uuid   NOT NULL REFERENCES lots (id),
    position smallint NOT NULL,
    credits  bigint NOT NULL CHECK (credits > 0),
    PRIMARY KEY (hold_id, lot_id)
);

-- Low-balance thresholds per user and unit, and whether the balance is below (so
-- paystream.balance.low.v1 goes out once per crossing).
CREATE TABLE balance_thresholds (
    user_id    text        NOT NULL,
    unit       text        NOT NULL,
    threshold  bigint      NOT NULL CHECK (threshold >= 0),
    below      boolean     NOT NULL DEFAULT false,
    updated_at timestamptz NOT NULL,
    updated_by text        NOT NULL,
    PRIMARY KEY (user_id, unit)
);

-- Expiry notices sent, once per lot and notice.
CREATE TABLE lot_notices (
    lot_id  uuid        NOT NULL,
    notice  text        NOT NULL CHECK (notice IN ('7d', '1d')),
    sent_at timestamptz NOT NULL,
    PRIMARY KEY (lot_id, notice)
);

-- Refunds are assessed per unit of the order's lots: one row per refund and unit (the unit is
-- unknown while the refund waits for its grant).
ALTER TABLE refunds ADD COLUMN unit text;
ALTER TABLE refunds DROP CONSTRAINT refunds_refund_key_key;
CREATE UNIQUE INDEX refunds_refund_key_unit ON refunds (refund_key, unit) NULLS NOT DISTINCT;
CREATE INDEX refunds_by_key ON refunds (refund_key);
"""

# Every grant so far becomes a lot (id = the grant's transaction id), with no expiry: those
# credits were sold without one, and a migration must not invent terms. Spends and revocations
# so far become entries on those lots, first granted first consumed (the order lots of equal
# priority and no expiry are consumed in), by matching each user's cumulative consumption
# against cumulative grants: the balance never went below zero, so every consumed credit falls
# into a lot granted before it.
MIGRATE = r"""
INSERT INTO accounts (id)
SELECT DISTINCT 'user:' || user_id FROM transactions ON CONFLICT (id) DO NOTHING;

WITH g AS (
    SELECT id, user_id, credits, created_at, order_id, paid_minor, paid_currency,
           sum(credits) OVER (PARTITION BY user_id ORDER BY seq) AS hi
    FROM transactions WHERE kind = 'grant'
), c AS (
    SELECT id, user_id, kind, credits, created_at,
           sum(credits) OVER (PARTITION BY user_id ORDER BY seq) AS hi
    FROM transactions WHERE kind IN ('spend', 'revoke')
), entries AS (
    SELECT c.id AS transaction_id, g.id AS lot_id, c.kind, c.created_at AS at,
           least(g.hi, c.hi) - greatest(g.hi - g.credits, c.hi - c.credits) AS n
    FROM c JOIN g ON g.user_id = c.user_id
     AND g.hi - g.credits < c.hi AND c.hi - c.credits < g.hi
), inserted AS (
    INSERT INTO lot_entries (transaction_id, lot_id, kind, delta, held_delta, at)
    SELECT transaction_id, lot_id, kind, -n, 0, at FROM entries WHERE n > 0
    RETURNING lot_id, delta
), used AS (
    SELECT lot_id, sum(delta) AS delta FROM inserted GROUP BY lot_id
)
INSERT INTO lots (id, user_id, unit, source, credits, remaining, effective_at, expires_at,
                  validity_rule, priority, cost_minor, cost_currency, order_id, order_line,
                  transaction_id, created_at)
SELECT g.id, g.user_id, 'credits', 'purchase', g.credits, g.credits + coalesce(u.delta, 0),
       g.created_at, NULL, 'none', 50, coalesce(g.paid_minor, 0),
       CASE WHEN coalesce(g.paid_minor, 0) > 0 THEN g.paid_currency END,
       g.order_id, 0, g.id, g.created_at
FROM g LEFT JOIN used u ON u.lot_id = g.id;

UPDATE refunds SET unit = 'credits' WHERE status <> 'pending';
"""


def upgrade() -> None:
    op.execute(SCHEMA)
    op.execute(SANDBOX_CLOCK_DDL)
    # The refunds row is settled once: its unit is written when it is applied (from pending).
    op.execute("ALTER TABLE refunds DISABLE TRIGGER refunds_settled_once")
    op.execute(MIGRATE)
    op.execute("ALTER TABLE refunds ENABLE TRIGGER refunds_settled_once")


def downgrade() -> None:
    # Not reversible in place: balances are no longer kept per account, and the entries written
    # since cannot be folded back into one number without losing expiries, holds and voids.
    raise NotImplementedError("0003 (lots) cannot be downgraded; restore a backup instead")
