"""Billing profiles, the seller's details, and both captured on each document as it is issued.

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-04
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

SCHEMA = """
-- The buyer's details as they want them on their invoices (GET/PUT /v1/billing-profile).
CREATE TABLE billing_profiles (
    user_id       text        PRIMARY KEY,
    company_name  text        NOT NULL CHECK (length(company_name) BETWEEN 1 AND 200),
    address       text        NOT NULL DEFAULT '' CHECK (length(address) <= 1000),
    tax_id        text        NOT NULL DEFAULT '' CHECK (length(tax_id) <= 64),
    email         text        NOT NULL DEFAULT '' CHECK (length(email) <= 254),
    updated_at    timestamptz NOT NULL DEFAULT now()
);

-- The seller's details come from configuration: invoicing writes them here when it starts, so
-- the documents issued from then on carry them (one row, id 1).
CREATE TABLE seller_profile (
    id          int         PRIMARY KEY CHECK (id = 1),
    details     jsonb       NOT NULL,
    updated_at  timestamptz NOT NULL DEFAULT now()
);

-- A document is issued once and never changes: the buyer and seller as they were at that
-- moment are copied onto it, in the issuing transaction, by the triggers below. A profile edited
-- later changes the next documents only. Null: issued before this migration, or no profile.
ALTER TABLE invoices ADD COLUMN buyer jsonb, ADD COLUMN seller jsonb;
ALTER TABLE credit_notes ADD COLUMN seller jsonb;

-- A trigger rather than a change to the issuing statements: every path that inserts an invoice
-- (the set-based batch insert, a replay, a future one) captures the same way, in the same
-- transaction, at no cost to the batch but one indexed lookup per row.
CREATE FUNCTION capture_document_parties() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    NEW.seller := (SELECT details FROM seller_profile WHERE id = 1);
    IF TG_TABLE_NAME = 'invoices' THEN
        NEW.buyer := (
            SELECT jsonb_build_object(
                'company_name', company_name, 'address', address, 'tax_id', tax_id,
                'email', email)
            FROM billing_profiles WHERE user_id = NEW.user_id
        );
    END IF;
    RETURN NEW;
END $$;

CREATE TRIGGER invoices_capture_parties BEFORE INSERT ON invoices
    FOR EACH ROW EXECUTE FUNCTION capture_document_parties();
CREATE TRIGGER credit_notes_capture_parties BEFORE INSERT ON credit_notes
    FOR EACH ROW EXECUTE FUNCTION capture_document_parties();

-- What was captured stays: refunds update an invoice's refunded total, never its parties.
CREATE FUNCTION refuse_party_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF NEW.seller IS DISTINCT FROM OLD.seller
       OR (TG_TABLE_NAME = 'invoices' AND NEW.buyer IS DISTINCT FROM OLD.buyer) THEN
        RAISE EXCEPTION 'the buyer and seller of an issued document never change';
    END IF;
    RETURN NEW;
END $$;

CREATE TRIGGER invoices_parties_fixed BEFORE UPDATE ON invoices
    FOR EACH ROW EXECUTE FUNCTION refuse_party_change();
CREATE TRIGGER credit_notes_parties_fixed BEFORE UPDATE ON credit_notes
    FOR EACH ROW EXECUTE FUNCTION refuse_party_change();

-- Revenue per day for the operators' dashboard.
CREATE INDEX invoices_paid_at ON invoices (paid_at);
CREATE INDEX credit_notes_refunded_at ON credit_notes (refunded_at);
"""

DOWNGRADE = """
DROP INDEX credit_notes_refunded_at;
DROP INDEX invoices_paid_at;
DROP TRIGGER credit_notes_parties_fixed ON credit_notes;
DROP TRIGGER invoices_parties_fixed ON invoices;
DROP FUNCTION refuse_party_change();
DROP TRIGGER credit_notes_capture_parties ON credit_notes;
DROP TRIGGER invoices_capture_parties ON invoices;
DROP FUNCTION capture_document_parties();
ALTER TABLE credit_notes DROP COLUMN seller;
ALTER TABLE invoices DROP COLUMN seller, DROP COLUMN buyer;
DROP TABLE seller_profile;
DROP TABLE billing_profiles;
"""


def upgrade() -> None:
    op.execute(SCHEMA)


def downgrade() -> None:
    op.execute(DOWNGRADE)
