"""The README is a front door: short, no benchmark diary, and every link it gives leads somewhere."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
README = (ROOT / "README.md").read_text(encoding="utf-8")


def _anchors(markdown: str) -> set[str]:
    """GitHub's anchors for a document's headings."""
    slugs = set()
    for heading in re.findall(r"^#+ (.+)$", markdown, flags=re.M):
        slug = re.sub(r"[^\w\- ]", "", heading.strip().lower()).replace(" ", "-")
        slugs.add(slug)
    return slugs


def test_the_readme_is_short_and_keeps_benchmark_diaries_in_docs_performance():
    assert len(README.splitlines()) <= 255
    prose = re.sub(r"^```.*?^```$", "", README, flags=re.S | re.M)  # the walkthroughs' test-clock dates aside
    assert not re.search(r"\b20\d\d-\d\d-\d\d\b", prose), "a dated measurement belongs in docs/performance.md"
    for diary in ("load average", "this round", "start of the day"):
        assert diary not in README.lower()


def test_the_readme_tells_a_newcomer_where_things_are():
    for needed in (".venv/bin/assina", "make demo PORT=", "make test", "docs/security.md", "docs/privacy.md",
                   "docs/deploy.md", "docs/configuration.md", "docs/performance.md", "assina worker", "assina migrate",
                   "pip install standardwebhooks", "docs/images/dashboard.png", "docs/images/customer.png",
                   "docs/images/email.png"):
        assert needed in README, needed


def test_every_relative_link_of_the_readme_exists():
    for target in re.findall(r"\]\(([^)\s]+)\)", README):
        if target.startswith(("http://", "https://", "mailto:")):
            continue
        path, _hash, anchor = target.partition("#")
        assert (ROOT / path).exists(), f"the README links to {path}, which does not exist"
        if anchor:
            assert anchor in _anchors((ROOT / path).read_text(encoding="utf-8")), f"no heading #{anchor} in {path}"
