"""A tagger's predictions as :class:`~clinnlp.schema.Document` records: what evaluation,
cross-validation and the benchmarks score (serving code: it never imports training)."""

from __future__ import annotations

from collections.abc import Sequence

from clinnlp.modeling.align import SpanPrediction
from clinnlp.modeling.tagger import Tagger
from clinnlp.schema import Document, Entity, Relation


def to_entities(preds: Sequence[SpanPrediction], text: str) -> list[Entity]:
    """Predicted spans as schema entities with ``attributes["confidence"]``."""
    return [
        Entity(
            f"T{i}",
            p.label,
            p.start,
            p.end,
            text[p.start : p.end],
            {"confidence": round(p.confidence, 4)},
        )
        for i, p in enumerate(preds, 1)
    ]


def predict_documents(
    tagger: Tagger,
    docs: Sequence[Document],
    batch_size: int = 64,
    constrained: bool = True,
    drug_vocabulary: float | None = None,
) -> list[Document]:
    """Copies of ``docs`` carrying the tagger's entities and relations instead of theirs;
    ``constrained`` and ``drug_vocabulary`` as in :meth:`Tagger.extract`."""
    texts = [d.text for d in docs]
    out = []
    predictions = tagger.extract(
        texts, batch_size=batch_size, constrained=constrained, drug_vocabulary=drug_vocabulary
    )
    for d, (spans, relations) in zip(docs, predictions, strict=True):
        entities = to_entities(spans, d.text)
        links = [
            Relation(
                r.label,
                entities[r.head].id,
                entities[r.tail].id,
                f"R{i}",
                {"confidence": round(r.confidence, 4)},
            )
            for i, r in enumerate(relations, 1)
        ]
        out.append(Document(d.id, d.text, entities, links, dict(d.metadata)))
    return out
