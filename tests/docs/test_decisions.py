"""The repository stands on its own: nothing cites a design note or reference file a reader does not have,
and every link into docs/ (docs/decisions.md#… from the code, runbook anchors in the template, links
between the pages) lands on a heading that exists, by GitHub's anchor rules."""

from __future__ import annotations

import re
import subprocess
from functools import cache
from pathlib import Path

from tests.paths import REPO_ROOT

THIS_FILE = Path(__file__).resolve().relative_to(REPO_ROOT).as_posix()  # it names what it looks for

# Citations of material outside the repository: the original design's numbered decisions and the team's
# reference notes (by file name, by section sign, or as "the reference").
OUTSIDE_CITATIONS = {
    "a numbered design decision (link docs/decisions.md#<anchor> instead)": re.compile(
        r"\bdesign\s+decisions?\s*#?\d+", re.IGNORECASE
    ),
    "a reference note that is not in the repository": re.compile(
        r"(?<![\w/-])(?:[\w./-]*/)?(?:salesforce|bigtime-api|aws|design|tooling-notes)\.md\b"
    ),
    "a numbered section of a reference note": re.compile(r"§\s*\d"),
    "'the reference' (a note the reader does not have)": re.compile(
        r"\b(?:in the reference|the reference (?:doc|marks|says))\b|/shared/reference\b", re.IGNORECASE
    ),
}

DOCS_LINK = re.compile(r"(?<![\w.-])(?:\.\./)?docs/([\w.-]+\.md)#([A-Za-z0-9_-]+)")
MARKDOWN_LINK = re.compile(r"\]\(([^)\s#]*)#([^)\s]+)\)")


@cache
def tracked_files() -> tuple[str, ...]:
    """Every file git tracks, plus new ones not ignored (so a file is checked before its first commit)."""
    out = subprocess.run(
        ["git", "ls-files", "--cached", "--others", "--exclude-standard", "-z"],
        cwd=REPO_ROOT,
        capture_output=True,
        check=True,
        timeout=60,
    ).stdout.decode()
    return tuple(sorted({p for p in out.split("\0") if p and (REPO_ROOT / p).is_file()}))


@cache
def text_of(path: str) -> str | None:
    data = (REPO_ROOT / path).read_bytes()
    if b"\0" in data:
        return None
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        return None


def github_anchor(heading: str) -> str:
    """GitHub's id for a heading: link text kept, lower case, punctuation dropped, each space a hyphen."""
    text = re.sub(r"!?\[([^\]]*)\]\([^)]*\)", r"\1", heading.strip())
    text = re.sub(r"<[^>]+>", "", text).lower()
    return re.sub(r"[^\w\- ]", "", text).replace(" ", "-")


def anchors(markdown: str) -> set[str]:
    """The ids of every heading outside fenced code blocks, duplicates numbered as GitHub does."""
    seen: dict[str, int] = {}
    found: set[str] = set()
    fence: str | None = None
    for line in markdown.splitlines():
        marker = re.match(r"^\s*(```+|~~~+)", line)
        if marker:
            if fence is None:
                fence = marker.group(1)[:3]
            elif marker.group(1).startswith(fence):
                fence = None
            continue
        heading = re.match(r"^#{1,6}\s+(.+?)\s*#*\s*$", line) if fence is None else None
        if heading:
            slug = github_anchor(heading.group(1))
            n = seen.get(slug, 0)
            found.add(slug if n == 0 else f"{slug}-{n}")
            seen[slug] = n + 1
    return found


def test_github_anchor_rules() -> None:
    assert github_anchor("11. Production and sandboxes") == "11-production-and-sandboxes"
    assert github_anchor("`version` (required in your file: `1`)") == "version-required-in-your-file-1"
    assert github_anchor("Fingerprints: unchanged data costs no BigTime call") == (
        "fingerprints-unchanged-data-costs-no-bigtime-call"
    )
    assert anchors("# A\n## Replies\n```bash\n# not a heading\n```\n### Replies\n") == {
        "a",
        "replies",
        "replies-1",
    }


def _citations() -> list[str]:
    found = []
    for path in tracked_files():
        text = text_of(path)
        if path == THIS_FILE or text is None:
            continue
        for what, pattern in OUTSIDE_CITATIONS.items():
            for match in pattern.finditer(text):
                cited = match.group(0)
                if cited.endswith(".md") and (REPO_ROOT / "docs" / Path(cited).name).is_file():
                    continue  # a page of our own docs that happens to share the name
                line = text.count("\n", 0, match.start()) + 1
                found.append(f"{path}:{line}: {what}: {cited!r}")
    return found


def test_nothing_cites_notes_outside_the_repository() -> None:
    found = _citations()
    assert not found, "say it here or link docs/ instead:\n" + "\n".join(found)


def _links() -> list[tuple[str, int, str, str]]:
    """(file, line, target page relative to the repository, anchor) of every link into a page's heading."""
    links = []
    for path in tracked_files():
        text = text_of(path)
        if path == THIS_FILE or text is None:
            continue
        for match in DOCS_LINK.finditer(text):
            line = text.count("\n", 0, match.start()) + 1
            links.append((path, line, f"docs/{match.group(1)}", match.group(2)))
        if path.endswith(".md"):
            for match in MARKDOWN_LINK.finditer(text):
                target, anchor = match.groups()
                if re.match(r"^[a-z]+:", target):
                    continue  # an external URL
                page = (Path(path).parent / target).as_posix() if target else path
                line = text.count("\n", 0, match.start()) + 1
                links.append((path, line, str(Path(page)), anchor))
    return sorted(set(links))  # a markdown link to docs/… matches both patterns


def test_the_code_and_the_readme_link_the_decisions() -> None:
    citing = {path for path, _, page, _ in _links() if page == "docs/decisions.md"}
    assert any(path.startswith("layers/") for path in citing), citing
    assert "(docs/decisions.md)" in (text_of("README.md") or "")


def test_every_decision_says_why_and_what_else_was_considered() -> None:
    text = text_of("docs/decisions.md") or ""
    sections = re.split(r"^## ", text, flags=re.M)[1:]
    assert len(sections) >= 20
    contents = set(re.findall(r"^- \[[^\]]+\]\(#([^)]+)\)$", text, re.M))
    for section in sections:
        title = section.splitlines()[0]
        assert github_anchor(title) in contents, f"{title!r} is missing from the table of contents"
        for part in ("**Decision.**", "**Why.**", "**Alternatives.**", "**Consequences.**"):
            assert part in section, f"{title!r} lacks {part}"


def test_every_link_into_a_page_lands_on_a_heading() -> None:
    broken = []
    for path, line, page, anchor in _links():
        target = REPO_ROOT / page
        if not target.is_file():
            broken.append(f"{path}:{line}: {page} does not exist")
        elif anchor not in anchors(text_of(page) or ""):
            broken.append(f"{path}:{line}: {page} has no heading #{anchor}")
    assert not broken, "\n".join(broken)
