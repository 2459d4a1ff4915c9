"""Counts over a corpus: documents, characters, entities and relations per label."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from typing import Any

from clinnlp.schema import Document


def corpus_stats(docs: Iterable[Document]) -> dict[str, Any]:
    """Return ``{"documents", "characters", "entities", "relations"}`` for ``docs``.

    ``entities`` and ``relations`` map each label to its count, labels sorted.
    """
    documents = characters = 0
    entities: Counter[str] = Counter()
    relations: Counter[str] = Counter()
    for doc in docs:
        documents += 1
        characters += len(doc.text)
        entities.update(e.label for e in doc.entities)
        relations.update(r.label for r in doc.relations)
    return {
        "documents": documents,
        "characters": characters,
        "entities": dict(sorted(entities.items())),
        "relations": dict(sorted(relations.items())),
    }


def format_stats(stats: dict[str, Any]) -> str:
    """Render :func:`corpus_stats` as an aligned plain-text table."""
    rows: list[tuple[str, int]] = [
        ("Documents", stats["documents"]),
        ("Characters", stats["characters"]),
    ]
    for key, title in (("entities", "Entities"), ("relations", "Relations")):
        counts: dict[str, int] = stats[key]
        rows.append((title, sum(counts.values())))
        rows.extend((f"  {label}", count) for label, count in counts.items())
    width = max(len(name) for name, _ in rows)
    digits = max(len(f"{count:,}") for _, count in rows)
    return "\n".join(f"{name:<{width}}  {count:>{digits},}" for name, count in rows)
