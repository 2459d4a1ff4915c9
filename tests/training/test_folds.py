"""PMID-grouped folds: deterministic, pure, balanced and complete."""

from __future__ import annotations

import random
import subprocess
import sys
from collections import Counter, defaultdict

import pytest

from clinnlp.errors import ConfigError
from clinnlp.schema import Document
from clinnlp.training.folds import ade_folds, kfold_by_group


def corpus(n_groups: int = 600, seed: int = 7) -> tuple[list[str], list[str]]:
    """Document ids and their groups: groups of 1 to 12 sentences, skewed towards small."""
    rng = random.Random(seed)
    ids, groups = [], []
    for g in range(n_groups):
        for s in range(min(12, int(rng.expovariate(0.4)) + 1)):
            ids.append(f"{10000 + g}-{s}")
            groups.append(str(10000 + g))
    return ids, groups


def test_folds_cover_every_document():
    ids, groups = corpus()
    folds = kfold_by_group(ids, groups, k=10)
    assert len(folds) == len(ids)
    assert set(folds) == set(range(10))


def test_folds_keep_groups_together():
    ids, groups = corpus()
    folds_of: dict[str, set[int]] = defaultdict(set)
    for group, fold in zip(groups, kfold_by_group(ids, groups, k=10), strict=True):
        folds_of[group].add(fold)
    assert all(len(f) == 1 for f in folds_of.values())


def test_folds_balanced():
    ids, groups = corpus()
    sizes = Counter(kfold_by_group(ids, groups, k=10))
    mean = len(ids) / 10
    assert max(abs(n - mean) for n in sizes.values()) <= 0.03 * mean
    weights = [1 + i % 3 for i in range(len(ids))]
    load = Counter()
    for fold, w in zip(kfold_by_group(ids, groups, k=10, sizes=weights), weights, strict=True):
        load[fold] += w
    assert max(load.values()) - min(load.values()) <= 0.03 * sum(weights) / 10


def test_folds_independent_of_input_order():
    ids, groups = corpus()
    folds = dict(zip(ids, kfold_by_group(ids, groups), strict=True))
    order = list(range(len(ids)))
    random.Random(1).shuffle(order)
    shuffled = kfold_by_group([ids[i] for i in order], [groups[i] for i in order])
    assert dict(zip([ids[i] for i in order], shuffled, strict=True)) == folds


def test_folds_independent_of_hash_seed():
    code = (
        "from clinnlp.training.folds import kfold_by_group; "
        "print(kfold_by_group([str(i) for i in range(60)], [f'p{i // 3}' for i in range(60)], k=5))"
    )
    runs = {
        subprocess.run(
            [sys.executable, "-c", code],
            env={"PYTHONHASHSEED": hash_seed},
            capture_output=True,
            text=True,
            check=True,
        ).stdout
        for hash_seed in ("1", "2")
    }
    assert len(runs) == 1


def test_folds_seed_changes_assignment():
    ids, groups = corpus()
    assert kfold_by_group(ids, groups, seed=0) == kfold_by_group(ids, groups, seed=0)
    assert kfold_by_group(ids, groups, seed=0) != kfold_by_group(ids, groups, seed=1)


def test_folds_groups_compared_as_strings():
    assert kfold_by_group(["a", "b", "c"], [123, "123", 4], k=2) == [0, 0, 1]


def test_folds_errors():
    with pytest.raises(ConfigError, match="2 document ids but 1 groups"):
        kfold_by_group(["a", "b"], ["p"])
    with pytest.raises(ConfigError, match="a occurs twice"):
        kfold_by_group(["a", "a"], ["p", "q"], k=2)
    with pytest.raises(ConfigError, match="cannot make 3 folds from 2 group"):
        kfold_by_group(["a", "b", "c"], ["p", "q", "q"], k=3)
    with pytest.raises(ConfigError, match="cannot make 1 folds"):
        kfold_by_group(["a", "b"], ["p", "q"], k=1)


def test_folds_ade_by_pmid():
    docs = [Document(f"d{i}", "x", metadata={"pmid": str(100 + i // 2)}) for i in range(20)]
    folds = ade_folds(docs, k=5)
    assert folds == kfold_by_group([d.id for d in docs], [d.metadata["pmid"] for d in docs], k=5)
    assert all(folds[i] == folds[i + 1] for i in range(0, 20, 2))
    assert Counter(folds) == {f: 4 for f in range(5)}
    with pytest.raises(ConfigError, match="document d1 has no metadata"):
        ade_folds([docs[0], Document("d1", "x")], k=2)
