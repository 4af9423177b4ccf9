"""The docs' relative links resolve inside the repository.

A reader of the repository alone must be able to follow every link in its Markdown: each
relative link (and image) names a file or folder that exists in the repository, and none leaves
it (the README once linked `../shared/DESIGN.md`, a page outside the repository). A link to a
heading of a Markdown file (`page.md#heading`, `#heading`) must name a heading it has. Links
inside code blocks and inline code are not links. No infrastructure: a plain unit test.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]

# The pages the brief names, always checked; every other Markdown file of the repository too.
REQUIRED = ("README.md", "cli/README.md", "services/*/README.md", "docs/*.md")
SKIPPED_DIRS = {"node_modules", "__pycache__"}

FENCE = re.compile(r"^ {0,3}(```|~~~)")
INLINE_CODE = re.compile(r"(`+)(?:(?!\1).)+?\1")
# [text](target "title") and ![alt](target); the text may hold one level of brackets (a badge).
LINK = re.compile(r"!?\[(?:[^\[\]]|\[[^\[\]]*\])*\]\(\s*<?([^)\s>]+)>?(?:\s+\"[^\"]*\")?\s*\)")
REFERENCE = re.compile(r"^ {0,3}\[[^\]]+\]:\s*<?(\S+?)>?(?:\s+.*)?$")
SCHEME = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*:")


def markdown_files(repo: Path = REPO) -> list[Path]:
    found: list[Path] = []
    for root, dirs, files in os.walk(repo):
        dirs[:] = sorted(d for d in dirs if not d.startswith(".") and d not in SKIPPED_DIRS)
        found += [Path(root) / f for f in sorted(files) if f.endswith(".md")]
    return found


def prose_lines(text: str, *, keep_code: bool = False) -> list[tuple[int, str]]:
    """The lines outside fenced code blocks, with inline code removed (kept with `keep_code`:
    a heading's anchor includes its code's text), numbered from 1."""
    out: list[tuple[int, str]] = []
    fence: str | None = None
    for number, line in enumerate(text.splitlines(), 1):
        match = FENCE.match(line)
        if fence is None and match:
            fence = match.group(1)
            continue
        if fence is not None:
            if line.strip().startswith(fence):
                fence = None
            continue
        out.append((number, line if keep_code else INLINE_CODE.sub("", line)))
    return out


def links(text: str) -> list[tuple[int, str]]:
    found: list[tuple[int, str]] = []
    for number, line in prose_lines(text):
        found += [(number, m.group(1)) for m in LINK.finditer(line)]
        if m := REFERENCE.match(line):
            found.append((number, m.group(1)))
    return found


def slug(heading: str) -> str:
    """GitHub's anchor for a heading: lower case, punctuation dropped, spaces to hyphens."""
    text = re.sub(r"!?\[([^\]]*)\]\([^)]*\)", r"\1", heading)  # a link keeps its text
    text = text.strip().lower().replace("`", "")
    text = re.sub(r"[^\w\- ]", "", text)
    return text.replace(" ", "-")


def anchors(page: Path) -> set[str]:
    seen: dict[str, int] = {}
    out: set[str] = set()
    for _, line in prose_lines(page.read_text(encoding="utf-8"), keep_code=True):
        if m := re.match(r"^ {0,3}#{1,6}\s+(.*?)\s*#*\s*$", line):
            base = slug(m.group(1))
            n = seen.get(base, 0)
            seen[base] = n + 1
            out.add(base if n == 0 else f"{base}-{n}")
    return out


def broken_links(page: Path, repo: Path = REPO) -> list[str]:
    problems: list[str] = []
    where = page.relative_to(repo)
    for number, target in links(page.read_text(encoding="utf-8")):
        if SCHEME.match(target) or target.startswith("//"):
            continue  # a URL: not ours to resolve offline
        path_part, _, fragment = target.partition("#")
        resolved = (page.parent / path_part).resolve() if path_part else page
        if path_part.startswith("/"):
            problems.append(f"{where}:{number}: {target} is absolute; link relative to the page")
            continue
        if not resolved.is_relative_to(repo):
            problems.append(f"{where}:{number}: {target} leaves the repository")
            continue
        if not resolved.exists():
            problems.append(f"{where}:{number}: {target} does not exist")
            continue
        if fragment and resolved.suffix == ".md" and fragment not in anchors(resolved):
            problems.append(f"{where}:{number}: {target} names no heading of {resolved.name}")
    return problems


def test_the_pages_the_brief_names_are_checked() -> None:
    checked = set(markdown_files())
    for pattern in REQUIRED:
        pages = sorted(REPO.glob(pattern))
        assert pages, f"no page matches {pattern}"
        assert set(pages) <= checked, pattern
    assert REPO / "docs" / "architecture.md" in checked


@pytest.mark.parametrize("page", markdown_files(), ids=lambda p: str(p.relative_to(REPO)))
def test_every_relative_link_resolves_inside_the_repository(page: Path) -> None:
    assert broken_links(page) == []


def test_no_page_points_outside_the_repository() -> None:
    # Even in prose or code: the map of the system is docs/architecture.md, in the repository.
    offenders = [
        str(p.relative_to(REPO))
        for p in markdown_files()
        if "../shared/" in p.read_text(encoding="utf-8")
    ]
    assert offenders == []


@pytest.mark.parametrize(
    ("heading", "anchor"),
    [
        ("The order is the authority", "the-order-is-the-authority"),
        ("`replay`: method", "replay-method"),
        ("The producer is not idempotent, on purpose", "the-producer-is-not-idempotent-on-purpose"),
        ("Rebuild: the topics are the record", "rebuild-the-topics-are-the-record"),
        ("Documents: the PDFs", "documents-the-pdfs"),
        (
            "Bulk quantities and quotes (`pricing/`, `quotes/`)",
            "bulk-quantities-and-quotes-pricing-quotes",
        ),
    ],
)
def test_headings_get_githubs_anchors(heading: str, anchor: str) -> None:
    assert slug(heading) == anchor


def test_a_headings_inline_code_counts_in_its_anchor(tmp_path: Path) -> None:
    page = tmp_path / "p.md"
    page.write_text("# Title\n\n## Quotes (`quotes/`)\n\nText `code`.\n", encoding="utf-8")
    assert anchors(page) == {"title", "quotes-quotes"}


def test_broken_links_are_reported_and_code_is_not_read(tmp_path: Path) -> None:
    repo = tmp_path / "repo"
    (repo / "docs").mkdir(parents=True)
    (tmp_path / "shared").mkdir()
    (tmp_path / "shared" / "DESIGN.md").write_text("# design\n")
    (repo / "docs" / "page.md").write_text("# A page\n\n## Its part\n")
    (repo / "README.md").write_text(
        "See [the design](../shared/DESIGN.md), [a page](docs/page.md#its-part),\n"
        "[gone](docs/gone.md), [no part](docs/page.md#no-part), [top](#readme),\n"
        "[web](https://example.com), `[code](nowhere.md)` and ![img](docs/pic.png).\n"
        "\n```\n[in a block](nowhere.md)\n```\n\n# README\n"
    )
    assert broken_links(repo / "README.md", repo) == [
        "README.md:1: ../shared/DESIGN.md leaves the repository",
        "README.md:2: docs/gone.md does not exist",
        "README.md:2: docs/page.md#no-part names no heading of page.md",
        "README.md:3: docs/pic.png does not exist",
    ]
    assert markdown_files(repo) == [repo / "README.md", repo / "docs" / "page.md"]
