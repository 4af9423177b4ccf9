"""The operator command lines of README.md and cli/README.md run as a newcomer types them, from
the repository root, through `./paystream` (the wrapper that needs nothing on PATH), against the
test environment's Kafka and PostgreSQL (the PAYSTREAM_* variables `make test` exports)."""

from __future__ import annotations

import asyncio
import os
import re
import subprocess
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient
from aiokafka.structs import OffsetAndMetadata

from paystream.shared.kafka import ensure_topics
from paystream.shared.topics import PAYMENTS_EVENTS

REPO = Path(__file__).resolve().parents[2]
READMES = (REPO / "README.md", REPO / "cli" / "README.md")

pytestmark = pytest.mark.integration


def command_lines(readme: Path) -> list[str]:
    """The `./paystream` lines of the file's sh code blocks, as written."""
    lines = []
    for block in re.findall(r"```sh\n(.*?)```", readme.read_text(), flags=re.S):
        lines += [ln.strip() for ln in block.splitlines() if ln.strip().startswith("./paystream")]
    return lines


def test_the_readmes_name_the_command_by_a_path_that_works() -> None:
    for readme in READMES:
        text = readme.read_text()
        assert command_lines(readme), readme
        # `uv` is not on a newcomer's PATH (it lives in .run/tools): no instruction may need it.
        assert "uv run paystream" not in text, readme


LINES = [ln for r in READMES for ln in command_lines(r)]


async def _as_after_make_run(bootstrap: str) -> None:
    """The broker as `make run` leaves it: the topics exist and the ledger's group has committed.

    Earlier tests of a full run leave the same state behind; this makes the test hold on its
    own. An existing `ledger` group is left as it is."""
    await ensure_topics(bootstrap)
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        if "ledger" in {g[0] for g in await admin.list_consumer_groups()}:
            return
        (topic,) = await admin.describe_topics([PAYMENTS_EVENTS])
    finally:
        await admin.close()
    # A committed offset at the end of each partition: the group exists, and a ledger joining it
    # later starts where a freshly started one would have been.
    consumer = AIOKafkaConsumer(
        bootstrap_servers=bootstrap, group_id="ledger", enable_auto_commit=False
    )
    await consumer.start()
    try:
        parts = [TopicPartition(PAYMENTS_EVENTS, p["partition"]) for p in topic["partitions"]]
        consumer.assign(parts)
        ends = await consumer.end_offsets(parts)
        await consumer.commit({tp: OffsetAndMetadata(end, "") for tp, end in ends.items()})
    finally:
        await consumer.stop()


@pytest.fixture(scope="module")
def ran() -> dict[str, subprocess.CompletedProcess[str]]:
    """Every line, four at a time (each is a separate process; they only read)."""
    asyncio.run(_as_after_make_run(os.environ["PAYSTREAM_KAFKA_BOOTSTRAP"]))
    env = {**os.environ, "PATH": "/usr/bin:/bin"}  # nothing of the workspace on PATH

    def one(line: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            ["bash", "-c", line], cwd=REPO, env=env, capture_output=True, text=True, timeout=120
        )

    with ThreadPoolExecutor(max_workers=4) as pool:  # 2-4 cores on laptops and runners
        return dict(zip(LINES, pool.map(one, LINES), strict=True))


@pytest.mark.parametrize("line", [pytest.param(ln, id=ln.split("#")[0].strip()) for ln in LINES])
def test_a_readme_command_line_runs_as_written(
    line: str, ran: dict[str, subprocess.CompletedProcess[str]]
) -> None:
    r = ran[line]
    out = r.stdout + r.stderr
    assert "Traceback" not in out, out
    # 127: not found; 2: the arguments as written were refused.
    assert r.returncode not in (2, 126, 127), out
    command = line.split("#")[0].split()
    if "--help" in command or command[1] in ("topics", "lag"):
        assert r.returncode == 0, out
    else:
        # Against an environment it was not written for (no such group, no token, databases
        # of another deployment) a command may refuse, with one clear line.
        assert r.returncode in (0, 1), out
        if r.returncode == 1 and command[1] == "verify" and not r.stderr.strip():
            # verify's own answer: the databases of a full test run hold other tests' events
            # that reconcile with nothing (grants published without an order, for one), and
            # verify lists them and ends with its verdict.
            assert re.search(r"^NOT OK: \d+ difference\(s\)", r.stdout, re.MULTILINE), out
        elif (
            r.returncode == 1 and command[1:3] == ["refunds", "unmatched"] and not r.stderr.strip()
        ):
            # Its verdict too: exit 1 while a refund waits for an operator, and other tests of a
            # full run leave some (a dashboard refund naming no order, for one).
            assert re.search(r"^\d+ open: ", r.stdout, re.MULTILINE), out
        elif r.returncode == 1:
            assert r.stderr.strip(), out
            assert len(r.stderr.strip().splitlines()) <= 3, out
