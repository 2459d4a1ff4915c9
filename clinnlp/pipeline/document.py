"""From a spaCy ``Doc`` annotated by clinnlp's components to a :class:`~clinnlp.schema.Document`.

clinnlp's components keep their entities in ``doc.spans["clinnlp"]`` (:data:`SPAN_KEY`), and in
``doc.ents`` too where the pipeline is clinnlp's own (``clinnlp.load``); inside a host pipeline
they leave the host's ``doc.ents`` alone. :func:`entities` is where every component and
:func:`to_document` read them.
"""

from __future__ import annotations

from typing import Any

from spacy.tokens import Doc, Span

from clinnlp.pipeline.extensions import install_extensions
from clinnlp.schema import Concept, Document, Entity, Relation

#: The span group clinnlp's entities go in.
SPAN_KEY = "clinnlp"


def entities(doc: Doc, span_key: str | None = SPAN_KEY) -> list[Span]:
    """clinnlp's entities of ``doc``: its span group ``span_key`` when the doc has one, else
    ``doc.ents``."""
    if span_key and span_key in doc.spans:
        return list(doc.spans[span_key])
    return list(doc.ents)


def to_document(
    doc: Doc, doc_id: str, metadata: dict[str, Any] | None = None, span_key: str = SPAN_KEY
) -> Document:
    """The :class:`~clinnlp.schema.Document` record of an annotated ``Doc``: its entities
    (:func:`entities`) in order as ``T1, T2...``, each with its ``confidence`` and
    ``assertion`` attributes and its concepts when known, and ``doc._.clinnlp_relations`` as
    relations ``R1, R2...``."""
    install_extensions()
    entities_ = []
    ids: dict[tuple[int, int], str] = {}
    for i, ent in enumerate(entities(doc, span_key), 1):
        attributes: dict[str, Any] = {}
        confidence = ent._.clinnlp_confidence
        if confidence is not None:
            attributes["confidence"] = round(float(confidence), 4)
        if ent._.clinnlp_assertion is not None:
            attributes["assertion"] = str(ent._.clinnlp_assertion)
        concepts = [
            Concept(str(c[0]), str(c[1]), float(c[2]), list(c[3]))
            for c in ent._.clinnlp_concepts or []
        ]
        entities_.append(
            Entity(
                f"T{i}", ent.label_, ent.start_char, ent.end_char, ent.text, attributes, concepts
            )
        )
        ids[(ent.start_char, ent.end_char)] = f"T{i}"
    relations: list[Relation] = []
    for hs, he, ts, te, label, conf in doc._.clinnlp_relations or []:
        head, tail = ids.get((hs, he)), ids.get((ts, te))
        if head is not None and tail is not None:
            relations.append(
                Relation(
                    label, head, tail, f"R{len(relations) + 1}", {"confidence": round(conf, 4)}
                )
            )
    return Document(doc_id, doc.text, entities_, relations, metadata=dict(metadata or {}))
