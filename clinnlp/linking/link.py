"""Concepts for mention texts: scispaCy's candidates, best first, as :class:`Concept`s."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from clinnlp.schema import Concept

#: Below this cosine similarity (character 3-grams) a candidate after the best is left out.
THRESHOLD = 0.7


def link(
    generator: Any,
    xrefs: dict[str, list[str]],
    texts: Sequence[str],
    k: int = 5,
    threshold: float = THRESHOLD,
) -> list[list[Concept]]:
    """The concepts of each text, by their best alias's similarity, at most ``k``: the best
    always (its score says how good a match it is), the others only from ``threshold`` up.
    Each concept carries its canonical name and cross-references."""
    if not texts:
        return []
    kb = generator.kb
    out = []
    for candidates in generator(list(texts), k):
        found = sorted(
            ((max(c.similarities), c.concept_id) for c in candidates),
            key=lambda sc: (-sc[0], sc[1]),
        )
        out.append(
            [
                Concept(
                    ident,
                    kb.cui_to_entity[ident].canonical_name,
                    round(float(score), 4),
                    list(xrefs.get(ident, [])),
                )
                for rank, (score, ident) in enumerate(found[:k])
                if rank == 0 or score >= threshold
            ]
        )
    return out
