"""Restore a lost ledger database from `ledger.events`, the ledger's journal.

Every event carries what its transaction did (ids, lots, entries, times, keys, who did it), so
restoring is writing the same rows again: the same transaction ids, lots, entries, postings,
holds, refunds, notices and thresholds. Keyed by transaction id (and by the natural keys of the
rest), so a second run changes nothing. Nothing is published: the events are already out.

Run it with the ledger stopped, into an empty (or partly restored) database:
`python -m paystream.ledger restore`. Then replay `orders.events` and `payments.events` into
the ledger's group from the beginning (`paystream replay`) for what never reached the journal
(what was still in the outbox when the database was lost): everything already restored is
recognised by its business key and changes nothing.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field

import asyncpg
import structlog
from aiokafka import AIOKafkaConsumer, TopicPartition

from paystream.ledger.books import repository as books
from paystream.ledger.books.domain import Kind, Tx
from paystream.ledger.holds import repository as holds_repo
from paystream.ledger.lots import repository as lots_repo
from paystream.ledger.lots.domain import Allocator
from paystream.ledger.lots.repository import NewLot
from paystream.ledger.refunds import repository as refunds_repo
from paystream.ledger.refunds.domain import Refund
from paystream.ledger.refunds.repository import Outcome
from paystream.ledger.settings import LedgerSettings
from paystream.ledger.thresholds import repository as thresholds_repo
from paystream.shared.db import Connection, create_pool
from paystream.shared.events import (
    BalanceLowV1,
    BalanceThresholdSetV1,
    CreditsCapturedV1,
    CreditsExpiredV1,
    CreditsExpiringV1,
    CreditsGrantedV1,
    CreditsHeldV1,
    CreditsReleasedV1,
    CreditsRevokedV1,
    CreditsSpentV1,
    CreditsVoidedV1,
    Envelope,
    InvalidEvent,
    LotAmount,
)
from paystream.shared.kafka import Consumed, record_inbox
from paystream.shared.migrations import upgrade

log = structlog.get_logger(__name__)


class MissingReference(Exception):
    """The event moves a lot or settles a hold not restored yet (its event comes later in the
    topic: two relays published concurrently). It is retried after the others."""


@dataclass
class Restored:
    events: int = 0
    applied: int = 0
    already: int = 0
    skipped: int = 0
    by_type: dict[str, int] = field(default_factory=dict)
    unresolved: list[str] = field(default_factory=list)


def _lots(amounts: Sequence[LotAmount]) -> tuple[tuple[uuid.UUID, int], ...]:
    return tuple((a.lot_id, a.credits) for a in amounts)


async def _require_lots(conn: Connection, ids: Sequence[uuid.UUID]) -> None:
    if not ids:
        return
    found = await conn.fetch("SELECT id FROM lots WHERE id = ANY($1::uuid[])", list(ids))
    if len(found) != len(set(ids)):
        raise MissingReference(f"lots {sorted(set(ids) - {r['id'] for r in found})}")


async def _fresh(conn: Connection, tx_id: uuid.UUID) -> bool:
    return not await books.existing_ids(conn, [tx_id])


async def _below(conn: Connection, user_id: str, unit: str, available: int) -> None:
    """The threshold state the live path left after this balance (it announced crossings;
    here they are only recorded)."""
    await conn.execute(
        "UPDATE balance_thresholds SET below = $3 < threshold WHERE user_id = $1 AND unit = $2",
        user_id,
        unit,
        available,
    )


async def _write(conn: Connection, tx: Tx) -> None:
    await _require_lots(conn, [lot for lot, _ in tx.lots])
    await books.write(conn, [tx])
    await _below(conn, tx.user_id, tx.unit, tx.balance_after)


async def _granted(conn: Connection, env: Envelope, e: CreditsGrantedV1) -> bool:
    tx_id = uuid.UUID(e.transaction_id)
    if not await _fresh(conn, tx_id):
        return False
    if e.order_id is not None and e.provider_payment_id is not None:
        # Which payment the order was paid with, as the consumer records it from OrderPaidV1.
        await refunds_repo.record_order_payments(conn, {e.order_id: e.provider_payment_id})
    lot = e.lot
    if lot is not None:
        new = NewLot(
            id=lot.id,
            user_id=e.user_id,
            unit=e.unit,
            source=lot.source,
            credits=lot.credits,
            effective_at=lot.effective_at,
            expires_at=lot.expires_at,
            validity_rule=lot.validity_rule,
            priority=lot.priority,
            cost_minor=lot.cost_minor,
            cost_currency=lot.cost_currency,
            order_id=lot.order_id,
            order_line=lot.order_line,
            transaction_id=tx_id,
            created_at=e.granted_at,
        )
    else:
        # Written before lots existed: the lot the migration made of such a grant.
        new = NewLot(
            id=tx_id,
            user_id=e.user_id,
            unit=e.unit,
            source="purchase",
            credits=e.credits,
            effective_at=e.granted_at,
            expires_at=None,
            validity_rule="none",
            priority=50,
            cost_minor=0,
            cost_currency=None,
            order_id=e.order_id,
            order_line=0 if e.order_id else None,
            transaction_id=tx_id,
            created_at=e.granted_at,
        )
    await lots_repo.ensure_units(conn, [e.unit])
    await books.ensure_user_accounts(conn, [e.user_id])
    if not await lots_repo.insert_lots(conn, [new]):
        raise InvalidEvent(f"order {new.order_id} line {new.order_line} has another lot already")
    kind: Kind = "adjustment" if e.kind == "adjustment" else "grant"
    await _write(
        conn,
        Tx(
            id=tx_id,
            kind=kind,
            user_id=e.user_id,
            unit=e.unit,
            credits=e.credits,
            balance_after=e.balance_after,
            at=e.granted_at,
            reason=e.reason or "purchase",
            order_id=e.order_id,
            event_id=e.cause_event_id,
            idempotency_key=e.idempotency_key,
            request_hash=e.request_hash,
            paid_minor=e.paid_minor,
            paid_currency=e.paid_currency,
            actor=e.actor,
        ),
    )
    return True


async def _spent(conn: Connection, e: CreditsSpentV1) -> bool:
    tx_id = uuid.UUID(e.transaction_id)
    if not await _fresh(conn, tx_id):
        return False
    lots = _lots(e.lots)
    if not lots:
        # Written before lots existed: consumed in consumption order at the time it was spent.
        found = await lots_repo.lots_at(conn, e.user_id, e.unit, e.spent_at)
        lots = Allocator(found, e.spent_at).take(e.credits)
    await _write(
        conn,
        Tx(
            id=tx_id,
            kind="spend",
            user_id=e.user_id,
            unit=e.unit,
            credits=e.credits,
            balance_after=e.balance_after,
            at=e.spent_at,
            reason=e.reason,
            lots=lots,
            idempotency_key=e.idempotency_key,
            request_hash=e.request_hash,
        ),
    )
    return True


async def _held(conn: Connection, e: CreditsHeldV1) -> bool:
    tx_id = uuid.UUID(e.transaction_id)
    if not await _fresh(conn, tx_id):
        return False
    lots = _lots(e.lots)
    await _require_lots(conn, [lot for lot, _ in lots])
    await holds_repo.insert(
        conn,
        id=e.hold_id,
        user_id=e.user_id,
        unit=e.unit,
        credits=e.credits,
        reason=e.reason,
        expires_at=e.hold_expires_at,
        idempotency_key=e.idempotency_key,
        request_hash=e.request_hash,
        transaction_id=tx_id,
        created_at=e.held_at,
        allocations=lots,
    )
    await _write(
        conn,
        Tx(
            id=tx_id,
            kind="hold",
            user_id=e.user_id,
            unit=e.unit,
            credits=e.credits,
            balance_after=e.balance_after,
            at=e.held_at,
            reason=e.reason,
            lots=lots,
            hold_id=e.hold_id,
        ),
    )
    return True


async def _hold_event(conn: Connection, e: CreditsCapturedV1 | CreditsReleasedV1) -> bool:
    tx_id = uuid.UUID(e.transaction_id)
    if not await _fresh(conn, tx_id):
        return False
    hold = await holds_repo.get(conn, e.hold_id)
    if hold is None:
        raise MissingReference(f"hold {e.hold_id}")
    if isinstance(e, CreditsCapturedV1):
        kind: Kind = "capture"
        at = e.captured_at
        await holds_repo.settle(
            conn,
            hold.id,
            status="captured",
            captured=e.credits,
            released=hold.credits - e.credits,
            at=at,
        )
    else:
        kind = "release"
        at = e.released_at
        if e.cause != "capture":
            await holds_repo.settle(
                conn,
                hold.id,
                status="expired" if e.cause == "expired" else "released",
                captured=0,
                released=hold.credits,
                at=at,
            )
    await _write(
        conn,
        Tx(
            id=tx_id,
            kind=kind,
            user_id=e.user_id,
            unit=e.unit,
            credits=e.credits,
            balance_after=e.balance_after,
            at=at,
            reason=hold.reason,
            lots=_lots(e.lots),
            hold_id=e.hold_id,
        ),
    )
    return True


async def _expired(conn: Connection, e: CreditsExpiredV1) -> bool:
    tx_id = uuid.UUID(e.transaction_id)
    if not await _fresh(conn, tx_id):
        return False
    await _write(
        conn,
        Tx(
            id=tx_id,
            kind="expire",
            user_id=e.user_id,
            unit=e.unit,
            credits=e.credits,
            balance_after=e.balance_after,
            at=e.expired_at,
            reason="expired",
            lots=((e.lot_id, e.credits),),
            cost_minor=e.cost_minor,
            cost_currency=e.cost_currency,
        ),
    )
    await lots_repo.mark_expired(conn, [(e.lot_id, e.credits)], e.expired_at)
    return True


async def _voided(conn: Connection, e: CreditsVoidedV1) -> bool:
    tx_id = uuid.UUID(e.transaction_id)
    if not await _fresh(conn, tx_id):
        return False
    await _write(
        conn,
        Tx(
            id=tx_id,
            kind="void",
            user_id=e.user_id,
            unit=e.unit,
            credits=e.credits,
            balance_after=e.balance_after,
            at=e.voided_at,
            reason=e.reason,
            lots=((e.lot_id, e.credits),),
            idempotency_key=e.idempotency_key,
            request_hash=e.request_hash,
            actor=e.actor,
            cost_minor=e.cost_minor,
            cost_currency=e.cost_currency,
        ),
    )
    await lots_repo.mark_voided(conn, e.lot_id, e.voided_at)
    return True


async def _revoked(conn: Connection, env: Envelope, e: CreditsRevokedV1) -> bool:
    facts = e.refund
    if facts is None:
        # Written before lots existed, without the refund's facts: the replay of payments.events
        # that follows a restore applies that refund again.
        return False
    tx_id = uuid.UUID(e.transaction_id) if e.transaction_id else None
    if tx_id is not None and not await _fresh(conn, tx_id):
        return False
    refund = Refund(
        event_id=facts.event_id,
        refund_key=e.refund_key,
        order_id=e.order_id,
        user_id=e.user_id,
        refund_id=facts.refund_id,
        provider=facts.provider,
        provider_refund_id=facts.provider_refund_id,
        amount_minor=facts.amount_minor,
        currency=facts.currency,
        reason=facts.reason,
        refunded_at=facts.refunded_at,
    )
    if tx_id is not None:
        await _write(
            conn,
            Tx(
                id=tx_id,
                kind="revoke",
                user_id=e.user_id,
                unit=e.unit,
                credits=e.credits,
                balance_after=e.balance_after,
                at=e.revoked_at,
                reason=f"refund: {facts.reason}" if facts.reason else "refund",
                lots=_lots(e.lots),
                order_id=e.order_id,
                event_id=facts.event_id,
                refund_key=e.refund_key,
            ),
        )
    inserted = await refunds_repo.insert_refund(
        conn,
        facts.record_id,
        refund,
        Outcome(
            status="applied",
            credits_due=e.credits_due if e.credits_due is not None else e.credits + e.shortfall,
            credits_taken=e.credits,
            shortfall=e.shortfall,
            balance_after=e.balance_after,
            transaction_id=tx_id,
            applied_at=e.revoked_at,
        ),
        unit=e.unit,
        received_at=facts.received_at,
    )
    return inserted or tx_id is not None


async def apply_event(conn: Connection, env: Envelope) -> bool:
    """Apply one journal event; False when it was already applied (or has nothing to apply)."""
    data = env.payload()
    if isinstance(data, CreditsGrantedV1):
        return await _granted(conn, env, data)
    if isinstance(data, CreditsSpentV1):
        return await _spent(conn, data)
    if isinstance(data, CreditsHeldV1):
        return await _held(conn, data)
    if isinstance(data, CreditsCapturedV1 | CreditsReleasedV1):
        return await _hold_event(conn, data)
    if isinstance(data, CreditsExpiredV1):
        return await _expired(conn, data)
    if isinstance(data, CreditsVoidedV1):
        return await _voided(conn, data)
    if isinstance(data, CreditsRevokedV1):
        return await _revoked(conn, env, data)
    if isinstance(data, CreditsExpiringV1):
        await _require_lots(conn, [data.lot_id])
        done = await lots_repo.record_notices(conn, [(data.lot_id, data.notice)], data.noticed_at)
        return bool(done)
    if isinstance(data, BalanceThresholdSetV1):
        await thresholds_repo.put(
            conn,
            (data.user_id, data.unit),
            data.threshold,
            data.below,
            actor=data.actor,
            at=data.set_at,
        )
        return True
    if isinstance(data, BalanceLowV1):
        await conn.execute(
            "UPDATE balance_thresholds SET below = true WHERE user_id = $1 AND unit = $2",
            data.user_id,
            data.unit,
        )
        return True
    return False


async def apply_events(
    pool: asyncpg.Pool, items: Sequence[Consumed], restored: Restored
) -> list[Consumed]:
    """Apply events in order, each in its own savepoint of one transaction with its inbox row;
    returns those that refer to something not restored yet (to try again later)."""
    deferred: list[Consumed] = []
    async with pool.acquire() as conn, conn.transaction():
        for item in items:
            env = item.envelope
            try:
                async with conn.transaction():
                    applied = bool(await record_inbox(conn, [item])) and await apply_event(
                        conn, env
                    )
            except MissingReference:
                deferred.append(item)
                continue
            except InvalidEvent as exc:
                log.error("journal_event_refused", event_id=str(env.id), error=str(exc))
                restored.skipped += 1
                continue
            if applied:
                restored.applied += 1
                restored.by_type[env.type] = restored.by_type.get(env.type, 0) + 1
            else:
                restored.already += 1
    return deferred


async def restore(settings: LedgerSettings, *, batch: int = 500) -> Restored:
    """Read `ledger.events` from the beginning to its end at the start, and apply it."""
    dsn = settings.pg_dsn(settings.database)
    await upgrade(settings.migrations_dir, dsn)
    pool = await create_pool(dsn, min_size=1, max_size=2)
    topic = settings.topics.ledger_events
    consumer = AIOKafkaConsumer(
        bootstrap_servers=settings.kafka_bootstrap,
        enable_auto_commit=False,
        isolation_level="read_committed",
        client_id="ledger-restore",
        **settings.kafka_security().client_options(),
    )
    restored = Restored()
    started = time.perf_counter()
    try:
        await consumer.start()
        parts = consumer.partitions_for_topic(topic)
        if not parts:
            await consumer._client.force_metadata_update()
            parts = consumer.partitions_for_topic(topic) or set()
        tps = [TopicPartition(topic, p) for p in sorted(parts)]
        consumer.assign(tps)
        await consumer.seek_to_beginning(*tps)
        ends = await consumer.end_offsets(tps)
        pending = {tp for tp in tps if ends[tp] > 0}
        deferred: list[Consumed] = []
        while pending:
            fetched = await consumer.getmany(*pending, timeout_ms=500, max_records=batch)
            items: list[Consumed] = []
            for tp, records in fetched.items():
                for rec in records:
                    if rec.offset >= ends[tp]:
                        continue
                    restored.events += 1
                    try:
                        items.append(Consumed(rec, Envelope.from_bytes(rec.value or b"")))
                    except InvalidEvent:
                        restored.skipped += 1
                if await consumer.position(tp) >= ends[tp]:
                    pending.discard(tp)
            deferred = await apply_events(pool, [*deferred, *items], restored)
        for _ in range(3):
            if not deferred:
                break
            deferred = await apply_events(pool, deferred, restored)
        restored.unresolved = [str(c.envelope.id) for c in deferred]
    finally:
        await consumer.stop()
        await pool.close()
    log.info(
        "ledger_restored",
        events=restored.events,
        applied=restored.applied,
        already=restored.already,
        unresolved=len(restored.unresolved),
        seconds=round(time.perf_counter() - started, 2),
    )
    return restored


def main() -> None:
    done = asyncio.run(restore(LedgerSettings()))
    print(
        f"restored from the journal: {done.events} events, {done.applied} applied, "
        f"{done.already} already there, {done.skipped} unreadable, "
        f"{len(done.unresolved)} unresolved",
        flush=True,
    )
    if done.unresolved:
        raise SystemExit(1)
