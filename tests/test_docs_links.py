"""Every local link of the README and the docs resolves: a file (or folder) that exists, relative to the page."""

import re
from pathlib import Path

import pytest

from service.core.paths import REPO

PAGES = sorted(
    [REPO / "README.md", *REPO.glob("docs/*.md"), *REPO.glob("loadtests/**/*.md"), *REPO.glob("scripts/*.md")]
)
LINK = re.compile(r"!?\[[^\]]*\]\(([^)\s]+)(?:\s+\"[^\"]*\")?\)")  # [text](target) and ![alt](target "title")


def local_targets(page: Path) -> list[str]:
    text = re.sub(r"```.*?```", "", page.read_text(encoding="utf-8"), flags=re.S)  # code blocks hold no links
    targets = [m.group(1) for m in LINK.finditer(text)]
    return [t.split("#", 1)[0] for t in targets if not re.match(r"^(https?:|mailto:|#)", t)]


@pytest.mark.parametrize("page", PAGES, ids=lambda p: str(p.relative_to(REPO)))
def test_local_links_resolve(page: Path):
    broken = [t for t in local_targets(page) if t and not (page.parent / t).exists()]
    assert broken == []


def test_the_check_sees_links():
    readme = local_targets(REPO / "README.md")
    assert "docs/architecture.md" in readme and len(readme) >= 10
