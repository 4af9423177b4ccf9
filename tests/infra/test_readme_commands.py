"""The operator command lines of README.md and cli/README.md run as a newcomer types them, from
the repository root, through `./paystream` (the wrapper that needs nothing on PATH), against the
test environment's Kafka and PostgreSQL (the PAYSTREAM_* variables `make test` exports)."""

from __future__ import annotations

import os
import re
import subprocess
from pathlib import Path

import pytest

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


@pytest.mark.parametrize(
    "line",
    [pytest.param(ln, id=ln.split("#")[0].strip()) for r in READMES for ln in command_lines(r)],
)
def test_a_readme_command_line_runs_as_written(line: str) -> None:
    env = {**os.environ, "PATH": "/usr/bin:/bin"}  # nothing of the workspace on PATH
    r = subprocess.run(
        ["bash", "-c", line], cwd=REPO, env=env, capture_output=True, text=True, timeout=120
    )
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
        if r.returncode == 1:
            assert r.stderr.strip(), out
            assert len(r.stderr.strip().splitlines()) <= 3, out
