"""Mutations of every importer's recorded responses (tests/faults/fuzz.py): no traceback, every
entry a per-entry parse can keep comes through, every lost one is quarantined with a reason."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.faults.fuzz import MUTATIONS, run_one, targets


def _check(outcomes) -> None:
    failed = [o for o in outcomes if not o.survived]
    assert not failed, "\n".join(
        f"{o.target} {o.mutation} seed {o.seed}: traceback={o.traceback is not None} lost={o.lost[:5]} "
        f"unaccounted={o.unaccounted} bad_reasons={o.bad_reasons} leaked={o.leaked}\n{o.traceback or ''}"
        for o in failed)


@pytest.mark.parametrize("mutation", sorted(MUTATIONS))
def test_one_seed_of_each_mutation_over_every_importer(fixtures_dir: Path, tmp_path: Path, mutation: str) -> None:
    _check([run_one(target, mutation, 7, tmp_path) for target in targets(fixtures_dir)])


@pytest.mark.slow
def test_many_seeds_of_every_mutation(fixtures_dir: Path, tmp_path: Path) -> None:
    _check([run_one(target, mutation, seed, tmp_path)
            for target in targets(fixtures_dir) for mutation in MUTATIONS for seed in range(20)])


def test_the_judge_sees_a_lost_entry(fixtures_dir: Path, tmp_path: Path) -> None:
    # A reader that drops the file's last entry must be caught: the fuzzer's verdicts can fail.
    from dataclasses import replace

    target = next(t for t in targets(fixtures_dir) if t.source == "arxiv_api")
    lossy = replace(target, read=lambda p: [r for r in target.read(p)][:-1] if p != target.path else target.read(p))
    outcome = run_one(lossy, "bom", 1, tmp_path)
    assert not outcome.survived and outcome.lost and outcome.unaccounted == 1
