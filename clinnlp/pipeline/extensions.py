"""Every custom ``Doc``/``Span`` extension clinnlp sets, declared in one table.

Extensions hold plain values only (numbers, strings, lists of tuples): spaCy keeps them in
``doc.user_data``, so they survive ``DocBin``, pickling and ``nlp.pipe(n_process=...)``.
Span values are keyed by the span's character offsets.
"""

from __future__ import annotations

from typing import Any

from spacy.tokens import Doc, Span

from clinnlp.schema import Concept, Document, Entity, Relation

#: ``{(kind, name): default}``; every clinnlp extension is declared here and nowhere else.
EXTENSIONS: dict[tuple[str, str], Any] = {
    # Mean probability of the tags of a predicted span (set by ``clinnlp_tagger``).
    ("span", "clinnlp_confidence"): None,
    # Relations between entities, as [head start, head end, tail start, tail end, label,
    # confidence) character offsets of ``doc.ents`` (set by ``clinnlp_tagger``); None: none.
    ("doc", "clinnlp_relations"): None,
    # ConText status of an entity: present, negated, possible, hypothetical, historical or
    # family (set by ``clinnlp_context``).
    ("span", "clinnlp_assertion"): None,
    # Concepts of an entity, best first: [[id, name, score, [cross-references]], ...] (set by
    # ``clinnlp_linker``).
    ("span", "clinnlp_concepts"): None,
    # The caller's document id (set by ``clinnlp annotate``).
    ("doc", "clinnlp_id"): None,
}

_CLASSES: dict[str, type[Doc] | type[Span]] = {"doc": Doc, "span": Span}


def install_extensions() -> None:
    """Declare every extension of :data:`EXTENSIONS`; a no-op for those already declared."""
    for (kind, name), default in EXTENSIONS.items():
        cls = _CLASSES[kind]
        if not cls.has_extension(name):
            cls.set_extension(name, default=default)


def to_document(doc: Doc, doc_id: str, metadata: dict[str, Any] | None = None) -> Document:
    """The :class:`~clinnlp.schema.Document` record of an annotated ``Doc``: ``doc.ents`` in
    order as entities ``T1, T2...``, each with its ``confidence`` and ``assertion``
    attributes and its concepts when known, and ``doc._.clinnlp_relations`` as relations
    ``R1, R2...``."""
    install_extensions()
    entities = []
    ids: dict[tuple[int, int], str] = {}
    for i, ent in enumerate(doc.ents, 1):
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
        entities.append(
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
    return Document(doc_id, doc.text, entities, relations, metadata=dict(metadata or {}))
