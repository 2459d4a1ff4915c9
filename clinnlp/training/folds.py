"""Deterministic k-fold splits that keep every group (PMID) inside one fold.

Sentences of one PubMed abstract share wording, drugs and effects; splitting them across
folds leaks test material into training. So folds are made of whole groups, balanced in size.
"""

from __future__ import annotations

import hashlib
from collections.abc import Hashable, Iterable, Sequence

from clinnlp.errors import (
    E_FOLDS_DUPLICATE,
    E_FOLDS_K,
    E_FOLDS_LENGTHS,
    E_FOLDS_NO_PMID,
    ConfigError,
)
from clinnlp.schema import Document


def kfold_by_group(
    doc_ids: Sequence[str],
    groups: Sequence[Hashable],
    k: int = 10,
    seed: int = 0,
    sizes: Sequence[int] | None = None,
) -> list[int]:
    """Return the fold (``0..k-1``) of each document, keeping each group in one fold.

    Groups are sorted by size, largest first, ties broken by the SHA-256 of ``"{seed}:{group}"``
    (a seeded shuffle that depends neither on input order nor on Python's hash
    randomisation), and each goes to the fold with the least size so far (lowest index on
    ties). Fold sizes then differ by at most the size of the largest group.

    Args:
        doc_ids: one unique id per document (checked).
        groups: the group of each document, e.g. its PMID; compared as strings.
        k: number of folds.
        seed: changes which groups share a fold.
        sizes: the size of each document in sentences; 1 each when omitted.

    Raises:
        ConfigError: lengths differ, an id repeats, or ``k`` is below 2 or above the number
            of groups.
    """
    if len(doc_ids) != len(groups) or (sizes is not None and len(sizes) != len(doc_ids)):
        raise ConfigError(E_FOLDS_LENGTHS.format(n_ids=len(doc_ids), n_groups=len(groups)))
    seen: set[str] = set()
    for doc_id in doc_ids:
        if doc_id in seen:
            raise ConfigError(E_FOLDS_DUPLICATE.format(doc_id=doc_id))
        seen.add(doc_id)
    keys = [str(group) for group in groups]
    weight: dict[str, int] = {}
    for i, key in enumerate(keys):
        weight[key] = weight.get(key, 0) + (1 if sizes is None else sizes[i])
    if not 2 <= k <= len(weight):
        raise ConfigError(E_FOLDS_K.format(k=k, n_groups=len(weight)))

    def order(key: str) -> tuple[int, str]:
        return -weight[key], hashlib.sha256(f"{seed}:{key}".encode()).hexdigest()

    load = [0] * k
    fold_of: dict[str, int] = {}
    for key in sorted(weight, key=order):
        fold = min(range(k), key=lambda f: (load[f], f))
        fold_of[key] = fold
        load[fold] += weight[key]
    return [fold_of[key] for key in keys]


def ade_folds(docs: Iterable[Document], k: int = 10, seed: int = 0) -> list[int]:
    """The fold of each document, grouped by ``doc.metadata["pmid"]``.

    ADE-Corpus-V2 documents are single sentences, so balancing documents balances sentences.

    Raises:
        ConfigError: a document has no ``pmid``, or as in :func:`kfold_by_group`.
    """
    docs = list(docs)
    pmids = []
    for doc in docs:
        pmid = doc.metadata.get("pmid")
        if pmid is None or pmid == "":
            raise ConfigError(E_FOLDS_NO_PMID.format(doc_id=doc.id))
        pmids.append(pmid)
    return kfold_by_group([doc.id for doc in docs], pmids, k=k, seed=seed)


__all__ = ["ade_folds", "kfold_by_group"]
