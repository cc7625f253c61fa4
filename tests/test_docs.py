"""The README stays short and the docs stay linked: the README is at most 200 lines, and
every relative link in README.md and docs/*.md names a file (or folder) that exists, and
a heading that exists when it names one (``file.md#heading``, GitHub's anchors)."""

from __future__ import annotations

import re
from pathlib import Path
from urllib.parse import unquote

import pytest

ROOT = Path(__file__).resolve().parent.parent
README = ROOT / "README.md"
DOCS = sorted([README, *(ROOT / "docs").glob("*.md")])

MAX_README_LINES = 200

#: ``[text](target)`` and ``![alt](target)``; the target ends at a space (a title) or ``)``.
LINK = re.compile(r"!?\[[^\]]*\]\(\s*<?([^)\s>]+)>?(?:\s+(?:\"[^\"]*\"|'[^']*'))?\s*\)")
FENCE = re.compile(r"^\s*(```|~~~)")
CODE_SPAN = re.compile(r"`+[^`]*`+")
SCHEME = re.compile(r"^[a-zA-Z][a-zA-Z0-9+.-]*:")


def outside_fences(text: str) -> list[str]:
    """The lines outside fenced code blocks."""
    kept: list[str] = []
    fenced = False
    for line in text.splitlines():
        if FENCE.match(line):
            fenced = not fenced
        elif not fenced:
            kept.append(line)
    return kept


def prose(text: str) -> str:
    """The text outside code blocks and inline code spans: where links live."""
    return "\n".join(CODE_SPAN.sub("", line) for line in outside_fences(text))


def links(path: Path) -> list[str]:
    return LINK.findall(prose(path.read_text(encoding="utf-8")))


def relative(target: str) -> bool:
    return not SCHEME.match(target) and not target.startswith("//")


def anchors(text: str) -> set[str]:
    """GitHub's anchors of a Markdown text's headings: lower case, punctuation dropped,
    spaces to hyphens, repeats numbered ``-1``, ``-2``."""
    seen: dict[str, int] = {}
    found: set[str] = set()
    for line in outside_fences(text):
        heading = re.match(r"^#{1,6}\s+(.*?)\s*#*\s*$", line)
        if heading is None:
            continue
        slug = re.sub(r"[^\w\- ]", "", heading.group(1).lower()).replace(" ", "-")
        count = seen.get(slug, 0)
        seen[slug] = count + 1
        found.add(slug if count == 0 else f"{slug}-{count}")
    return found


def test_readme_is_short() -> None:
    lines = len(README.read_text(encoding="utf-8").splitlines())
    assert lines <= MAX_README_LINES, (
        f"README.md has {lines} lines (at most {MAX_README_LINES}): move the detail to docs/"
    )


@pytest.mark.parametrize("doc", DOCS, ids=lambda p: str(p.relative_to(ROOT)))
def test_relative_links_resolve(doc: Path) -> None:
    broken: list[str] = []
    for target in links(doc):
        if not relative(target):
            continue
        file_part, _, anchor = target.partition("#")
        linked = (doc.parent / unquote(file_part)).resolve() if file_part else doc
        if not linked.exists():
            broken.append(f"{target} (no such file: {linked.relative_to(ROOT)})")
        elif (
            anchor
            and linked.suffix == ".md"
            and anchor not in anchors(linked.read_text(encoding="utf-8"))
        ):
            broken.append(f"{target} (no heading #{anchor} in {linked.relative_to(ROOT)})")
    assert not broken, f"{doc.relative_to(ROOT)} links to:\n  " + "\n  ".join(broken)


def test_the_checker_sees_links_and_headings() -> None:
    """The patterns find links, skip code and name headings as GitHub does, so a pass
    above means something."""
    text = "a [doc](docs/x.md#y) and ![img](p.png 'title')\n`[no](code)`\n```\n[no](f)\n```\n"
    assert LINK.findall(prose(text)) == ["docs/x.md#y", "p.png"]
    headings = (
        "# The saga\n## Replay: `sagactl replay`\n## Operations (staff) and metrics\n## The saga\n"
    )
    assert anchors(headings) == {
        "the-saga",
        "replay-sagactl-replay",
        "operations-staff-and-metrics",
        "the-saga-1",
    }
