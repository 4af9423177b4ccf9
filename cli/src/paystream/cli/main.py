"""Entry point of the `paystream` operator command: topics, lag, replay, reprocess-raw, dead
letters and verify. See cli/README.md for the JSON shapes, exit codes and methods."""

from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import Path
from typing import Annotated

import typer
from pydantic import ValidationError

from paystream.cli import dlq as dlq_ops
from paystream.cli import lag as lag_ops
from paystream.cli import reconcile as reconcile_ops
from paystream.cli import refunds as refund_ops
from paystream.cli import replay as replay_ops
from paystream.cli import reprocess as reprocess_ops
from paystream.cli import topics as topic_ops
from paystream.cli import verify as verify_ops
from paystream.cli.auth import operator_jwt, read_token_file, require_operator
from paystream.cli.errors import BadInput, CliError
from paystream.cli.output import fail, run
from paystream.cli.settings import OperatorSettings

# aiokafka logs every failed connection attempt; the command reports the failure once.
logging.getLogger("aiokafka").setLevel(logging.CRITICAL)

app = typer.Typer(
    help="Operate paystream: topics, lag, replay, dead letters, verify.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)
topics_app = typer.Typer(help="Topics: list them, or create/correct them (ensure).")
dlq_app = typer.Typer(help="Dead letters: list, show, retry, purge.", no_args_is_help=True)
app.add_typer(topics_app, name="topics")
app.add_typer(dlq_app, name="dlq")
reconcile_app = typer.Typer(
    help="The daily settlement report (--date) and the reconciler's status (status)."
)
app.add_typer(reconcile_app, name="reconcile")

Json = Annotated[bool, typer.Option("--json", help="Print one JSON document on stdout.")]
LocalOperator = Annotated[
    bool,
    typer.Option(
        "--local-operator",
        help="Act as the local operator without a token (you hold the Kafka/database "
        "credentials anyway).",
    ),
]
# A file, never the token itself: a command line is visible to every user of the machine (ps).
OperatorToken = Annotated[
    Path | None,
    typer.Option(
        "--operator-token-file",
        help="File holding the admin JWT; defaults to $PAYSTREAM_OPERATOR_TOKEN_FILE, then "
        "$PAYSTREAM_OPERATOR_TOKEN.",
        show_default=False,
    ),
]
Quiet = Annotated[bool, typer.Option("--quiet", "-q", help="No progress bar.")]


def _settings(as_json: bool) -> OperatorSettings:
    try:
        return OperatorSettings()
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(x) for x in first["loc"])
        raise fail(
            BadInput(f"bad PAYSTREAM_{where.upper()} setting: {first['msg']}"), as_json=as_json
        ) from None


def _authorizer(
    settings: OperatorSettings, action: str, local_operator: bool, token_file: Path | None
) -> Callable[[], str]:
    def authorize() -> str:
        token = read_token_file(token_file or settings.operator_token_file)
        return require_operator(settings, action=action, local_operator=local_operator, token=token)

    return authorize


# ---- topics --------------------------------------------------------------------------------


@topics_app.callback(invoke_without_command=True)
def topics(
    ctx: typer.Context,
    topic: Annotated[
        list[str] | None, typer.Option("--topic", "-t", help="Only these topics (repeat).")
    ] = None,
    show_all: Annotated[
        bool, typer.Option("--all", help="Every topic on the broker, not only paystream's.")
    ] = False,
    as_json: Json = False,
) -> None:
    """List topics: partitions, replication, retention, end offsets."""
    if ctx.invoked_subcommand is not None:
        return
    s = _settings(as_json)
    run(
        s,
        topic_ops.list_topics(s, topic or [], show_all),
        as_json=as_json,
        render=topic_ops.render_topics,
    )


@topics_app.command("ensure")
def topics_ensure(as_json: Json = False) -> None:
    """Create missing topics and correct existing ones (more partitions, retention configs)
    from the shared topic configuration."""
    s = _settings(as_json)
    run(s, topic_ops.ensure_topics(s), as_json=as_json, render=topic_ops.render_ensure)


# ---- lag -----------------------------------------------------------------------------------


@app.command()
def lag(
    group: Annotated[
        list[str] | None, typer.Option("--group", "-g", help="Only these groups (repeat).")
    ] = None,
    topic: Annotated[str | None, typer.Option("--topic", "-t", help="Only this topic.")] = None,
    as_json: Json = False,
) -> None:
    """Per group and partition: committed offset, end offset, lag, oldest unconsumed event."""
    s = _settings(as_json)
    run(s, lag_ops.lag(s, group or [], topic), as_json=as_json, render=lag_ops.render)


# ---- replay --------------------------------------------------------------------------------


@app.command()
def replay(
    topic: Annotated[str, typer.Option("--topic", "-t", help="Topic to replay.")],
    group: Annotated[str, typer.Option("--group", "-g", help="The ONE consumer group.")],
    from_time: Annotated[
        str | None,
        typer.Option("--from", help="Start time: ISO-8601 or ago (2h, 3d). Inclusive."),
    ] = None,
    to_time: Annotated[
        str | None, typer.Option("--to", help="End time (exclusive); see --help of the README.")
    ] = None,
    from_offset: Annotated[
        list[str] | None,
        typer.Option("--from-offset", help="PARTITION:OFFSET or OFFSET (every partition)."),
    ] = None,
    to_offset: Annotated[
        list[str] | None, typer.Option("--to-offset", help="PARTITION:OFFSET or OFFSET.")
    ] = None,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Only say how many events per partition.")
    ] = False,
    wait: Annotated[
        bool, typer.Option("--wait", help="Follow the group until it caught up again.")
    ] = False,
    timeout: Annotated[float, typer.Option("--timeout", help="Seconds --wait waits.")] = 600.0,
    local_operator: LocalOperator = False,
    operator_token: OperatorToken = None,
    quiet: Quiet = False,
    as_json: Json = False,
) -> None:
    """Re-deliver a range of TOPIC to consumer group GROUP only, by rewinding that group's
    committed offsets to the start of the range (the group must be stopped). Events after the
    range are read again too; consumers drop what they already applied."""
    s = _settings(as_json)
    run(
        s,
        replay_ops.replay(
            s,
            topic=topic,
            group=group,
            from_time=from_time,
            to_time=to_time,
            from_offsets=from_offset or [],
            to_offsets=to_offset or [],
            dry_run=dry_run,
            wait=wait,
            timeout_s=timeout,
            authorize=_authorizer(s, "replay", local_operator, operator_token),
            quiet=quiet,
        ),
        as_json=as_json,
        render=replay_ops.render,
    )


# ---- reprocess-raw -------------------------------------------------------------------------


@app.command("reprocess-raw")
def reprocess_raw(
    from_time: Annotated[str, typer.Option("--from", help="ISO-8601 or ago (2h, 3d).")],
    to_time: Annotated[str | None, typer.Option("--to", help="Exclusive end.")] = None,
    source_topic: Annotated[
        str | None, typer.Option("--source-topic", help="Default: webhooks.raw.")
    ] = None,
    target_topic: Annotated[
        str | None, typer.Option("--target-topic", help="Default: payments.events.")
    ] = None,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Normalize, publish nothing.")] = False,
    local_operator: LocalOperator = False,
    operator_token: OperatorToken = None,
    quiet: Quiet = False,
    as_json: Json = False,
) -> None:
    """Run the webhook normalizers again over webhooks.raw and publish the normalized events
    (acks=all). Idempotent: event ids come from the provider's event id."""
    s = _settings(as_json)
    run(
        s,
        reprocess_ops.reprocess(
            s,
            from_time=from_time,
            to_time=to_time,
            source_topic=source_topic or s.topics.webhooks_raw,
            target_topic=target_topic or s.topics.payments_events,
            dry_run=dry_run,
            authorize=_authorizer(s, "reprocess-raw", local_operator, operator_token),
            quiet=quiet,
        ),
        as_json=as_json,
        render=reprocess_ops.render,
        exit_code=lambda r: 1 if r["failed"] else 0,
    )


# ---- dlq -----------------------------------------------------------------------------------

DlqTopic = Annotated[
    str, typer.Option("--topic", "-t", help="The dead-letter topic, e.g. payments.events.dlq.")
]
Partition = Annotated[int, typer.Option("--partition", "-p", help="DLQ partition.")]


@dlq_app.command("list")
def dlq_list(
    topic: DlqTopic,
    show_all: Annotated[bool, typer.Option("--all", help="Handled ones too.")] = False,
    as_json: Json = False,
) -> None:
    """Dead letters still pending (or all): error, attempts, original position."""
    s = _settings(as_json)
    run(s, dlq_ops.list_dlq(s, topic, show_all), as_json=as_json, render=dlq_ops.render_list)


@dlq_app.command("show")
def dlq_show(
    topic: DlqTopic,
    offset: Annotated[int, typer.Option("--offset", "-o")],
    partition: Partition = 0,
    as_json: Json = False,
) -> None:
    """One dead letter: every header (error, stack, attempts, ...) and the value."""
    s = _settings(as_json)
    run(
        s,
        dlq_ops.show_dlq(s, topic, partition, offset),
        as_json=as_json,
        render=dlq_ops.render_show,
    )


@dlq_app.command("retry")
def dlq_retry(
    topic: DlqTopic,
    offset: Annotated[int | None, typer.Option("--offset", "-o", help="Retry this one.")] = None,
    partition: Partition = 0,
    retry_all: Annotated[bool, typer.Option("--all", help="Retry every pending one.")] = False,
    local_operator: LocalOperator = False,
    operator_token: OperatorToken = None,
    quiet: Quiet = False,
    as_json: Json = False,
) -> None:
    """Re-publish dead letters to their original topic (original key and value), then mark
    them handled."""
    s = _settings(as_json)
    run(
        s,
        dlq_ops.retry_dlq(
            s,
            topic,
            partition=partition,
            offset=offset,
            retry_all=retry_all,
            authorize=_authorizer(s, "dlq retry", local_operator, operator_token),
            quiet=quiet,
        ),
        as_json=as_json,
        render=dlq_ops.render_retry,
    )


@dlq_app.command("purge")
def dlq_purge(
    topic: DlqTopic,
    yes: Annotated[bool, typer.Option("--yes", "-y", help="Do not ask.")] = False,
    local_operator: LocalOperator = False,
    operator_token: OperatorToken = None,
    as_json: Json = False,
) -> None:
    """Mark every pending dead letter handled (they stay in the topic, see `list --all`)."""
    s = _settings(as_json)
    run(
        s,
        dlq_ops.purge_dlq(
            s,
            topic,
            yes=yes,
            authorize=_authorizer(s, "dlq purge", local_operator, operator_token),
        ),
        as_json=as_json,
        render=dlq_ops.render_purge,
    )


# ---- verify --------------------------------------------------------------------------------


@app.command()
def verify(
    topic: Annotated[
        list[str] | None,
        typer.Option(
            "--topic", "-t", help="Repeat for several. Default: orders.events and payments.events."
        ),
    ] = None,
    ledger_db: Annotated[
        str | None, typer.Option("--ledger-db", help="Database name or DSN.")
    ] = None,
    invoicing_db: Annotated[
        str | None, typer.Option("--invoicing-db", help="Database name or DSN.")
    ] = None,
    checkout_db: Annotated[
        str | None, typer.Option("--checkout-db", help="Database name or DSN.")
    ] = None,
    as_json: Json = False,
) -> None:
    """Reconcile paid orders and refunds on the topics with checkout's orders and the ledger
    and invoicing databases; exit 1 on any difference or anomaly."""
    s = _settings(as_json)
    run(
        s,
        verify_ops.verify(
            s,
            topics=topic or [s.topics.orders_events, s.topics.payments_events],
            ledger_db=ledger_db or s.ledger_database,
            invoicing_db=invoicing_db or s.invoicing_database,
            checkout_db=checkout_db or s.checkout_database,
        ),
        as_json=as_json,
        render=verify_ops.render,
        exit_code=lambda r: 0 if r["ok"] else 1,
    )


# ---- refunds --------------------------------------------------------------------------------

refunds_app = typer.Typer(help="Refunds that need an operator.", no_args_is_help=True)
app.add_typer(refunds_app, name="refunds")


@refunds_app.command("unmatched")
def refunds_unmatched(
    checkout_db: Annotated[
        str | None, typer.Option("--checkout-db", help="Database name or DSN.")
    ] = None,
    include_resolved: Annotated[
        bool, typer.Option("--all", help="Also those applied after all.")
    ] = False,
    limit: Annotated[int, typer.Option("--limit", min=1, max=10_000)] = 100,
    as_json: Json = False,
) -> None:
    """Refunds a provider reported that checkout could not match to an order or measure,
    newest first; exit 1 while any is open."""
    s = _settings(as_json)
    run(
        s,
        refund_ops.unmatched(
            s,
            checkout_db=checkout_db or s.checkout_database,
            include_resolved=include_resolved,
            limit=limit,
        ),
        as_json=as_json,
        render=refund_ops.render,
        exit_code=lambda r: 1 if r["open"] else 0,
    )


# ---- reconcile -----------------------------------------------------------------------------


def _jwt(
    settings: OperatorSettings, action: str, local_operator: bool, token_file: Path | None
) -> Callable[[], str]:
    def token() -> str:
        return operator_jwt(
            settings,
            action=action,
            local_operator=local_operator,
            token=read_token_file(token_file or settings.operator_token_file),
        )

    return token


@reconcile_app.callback(invoke_without_command=True)
def reconcile(
    ctx: typer.Context,
    day: Annotated[
        str | None, typer.Option("--date", "-d", help="The provider's day, YYYY-MM-DD.")
    ] = None,
    provider: Annotated[
        list[str] | None,
        typer.Option("--provider", "-p", help="Only this provider (repeat); default: all."),
    ] = None,
    csv_path: Annotated[
        Path | None,
        typer.Option("--csv", help="Where the report goes; default settlement-<date>.csv."),
    ] = None,
    invoicing_db: Annotated[
        str | None,
        typer.Option("--invoicing-db", help="Database name or DSN of invoicing's documents."),
    ] = None,
    skip_documents: Annotated[
        bool,
        typer.Option("--skip-documents", help="Do not look up invoices and credit notes."),
    ] = False,
    local_operator: LocalOperator = False,
    operator_token: OperatorToken = None,
    as_json: Json = False,
) -> None:
    """Match a day's provider settlement data (Stripe balance transactions, Alipay's and WeChat
    Pay's bills) against paid orders and refunds, and those against their invoices and credit
    notes: summary, CSV of every line, exit 1 on any difference."""
    if ctx.invoked_subcommand is not None:
        return
    s = _settings(as_json)
    if day is None:
        raise fail(BadInput("--date is required (or: reconcile status)"), as_json=as_json)
    try:
        when = reconcile_ops.parse_day(day)
        token = _jwt(s, "reconcile", local_operator, operator_token)()
    except CliError as exc:
        raise fail(exc, as_json=as_json) from None
    run(
        s,
        reconcile_ops.settle(
            s,
            day=when,
            providers=provider or [],
            csv_path=csv_path,
            token=token,
            invoicing_db=None if skip_documents else (invoicing_db or s.invoicing_database),
        ),
        as_json=as_json,
        render=reconcile_ops.render_settlement,
        exit_code=lambda r: 0 if r["ok"] else 1,
    )


@reconcile_app.command("status")
def reconcile_status(
    limit: Annotated[int, typer.Option("--limit", help="Show at most this many.")] = 50,
    local_operator: LocalOperator = False,
    operator_token: OperatorToken = None,
    as_json: Json = False,
) -> None:
    """Pending orders and refunds the reconciler asks providers about: attempts, last asked,
    next check, last result."""
    s = _settings(as_json)
    try:
        token = _jwt(s, "reconcile status", local_operator, operator_token)()
    except CliError as exc:
        raise fail(exc, as_json=as_json) from None
    run(
        s,
        reconcile_ops.status(s, limit=limit, token=token),
        as_json=as_json,
        render=reconcile_ops.render_status,
    )


def main() -> None:
    app()
