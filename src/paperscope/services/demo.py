"""The README's main job: load the shared listings and fixtures (or a generated corpus) into the store."""

from __future__ import annotations

import tempfile
from datetime import date
from pathlib import Path

from paperscope.core.settings import Settings
from paperscope.ingest.registry import IngestPlan, files_plan
from paperscope.sources import synthetic

# The day each listing page was saved (DESIGN.md): dates without a year resolve against it.
# Author pages were saved in November 2026; the end of that month resolves their dates correctly.
LISTING_SAVED_ON = {
    "hf-papers-search.txt": date(2025, 11, 12),
    "author-bo-han.txt": date(2026, 11, 30),
    "author-li-shen.txt": date(2026, 11, 30),
}
# The page saved without its header names no owner; its file name does.
LISTING_OWNERS = {"author-li-shen.txt": "Li Shen"}
DEFAULT_SHARED = Path("..") / "shared"


def fixture_plans(shared: Path) -> list[IngestPlan]:
    """One ingest per source over the recorded responses in shared/fixtures."""
    fx = shared / "fixtures"
    plans = [
        files_plan("arxiv", [fx / "arxiv_api" / "atom_xml", fx / "arxiv_api" / "lucas-m-lopes_sotawhat"]),
        files_plan("oai", [fx / "arxiv_oai"]),
        files_plan("snapshot", [fx / "arxiv_kaggle_snapshot"]),
        files_plan("openalex", [fx / "openalex"]),
        files_plan("s2", [fx / "semantic_scholar"]),
        files_plan("hf", [fx / "hf_daily_papers"]),
        files_plan("aan", [fx / "citation_graph" / "aan_acl_anthology_network"]),
    ]
    return plans


def listing_plans(shared: Path) -> list[IngestPlan]:
    plans = []
    for page in sorted((shared / "listings").glob("*.txt")):
        plans.append(files_plan(
            "listing", [page], as_of=LISTING_SAVED_ON.get(page.name), author=LISTING_OWNERS.get(page.name)))
    return plans


def find_shared() -> Path | None:
    """../shared beside the working folder or beside the source checkout, when there is one."""
    checkout = Path(__file__).resolve().parents[3]  # <checkout>/src/paperscope/services/demo.py
    for candidate in (Path.cwd() / DEFAULT_SHARED, checkout.parent / "shared"):
        if (candidate / "fixtures").is_dir() and (candidate / "listings").is_dir():
            return candidate
    return None


def demo_plans(shared: Path | None, settings: Settings, synthetic_papers: int = 2000) -> list[IngestPlan]:
    shared = shared or find_shared() or DEFAULT_SHARED
    if (shared / "fixtures").is_dir() and (shared / "listings").is_dir():
        return listing_plans(shared) + fixture_plans(shared)
    folder = Path(tempfile.mkdtemp(prefix="paperscope-demo-"))
    path = synthetic.write_snapshot(folder / "synthetic-snapshot.jsonl", synthetic_papers, seed=7)
    return [files_plan("snapshot", [path], batch_size=settings.batch_size)]
