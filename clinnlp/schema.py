"""Format-independent records of annotated documents.

A :class:`Document` holds its text and :class:`Entity` spans given as character offsets into
that text; :class:`Relation` links two entities by id. Every reader produces these, every
writer consumes them, and JSONL (one ``Document.to_dict()`` a line) is their serialisation.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass
class Concept:
    """A knowledge-base concept an entity is linked to.

    Attributes:
        id: the concept id with its vocabulary's prefix (``HP:0000988``, ``DB00331``,
            ``MESH:D003000``).
        name: the concept's canonical name, when known.
        score: the linker's similarity score (0-1), when a linker chose it.
        xrefs: the same concept in other vocabularies (``UMLS:C0015230``,
            ``MEDDRA:10037844``...), and for drugs their pharmacological class
            (``MESH_CLASS:D007004``).
    """

    id: str
    name: str = ""
    score: float | None = None
    xrefs: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = {"id": self.id}
        if self.name:
            data["name"] = self.name
        if self.score is not None:
            data["score"] = self.score
        if self.xrefs:
            data["xrefs"] = list(self.xrefs)
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any] | str) -> Concept:
        """From :meth:`to_dict` output, or a bare id string (older JSONL files)."""
        if isinstance(data, str):
            return cls(data)
        score = data.get("score")
        return cls(
            id=str(data["id"]),
            name=str(data.get("name") or ""),
            score=float(score) if score is not None else None,
            xrefs=[str(x) for x in data.get("xrefs") or []],
        )


@dataclass
class Entity:
    """A labelled span of a document's text.

    Attributes:
        id: unique within its document (``T1``...).
        label: the entity type (``Drug``, ``Adverse-Effect``...).
        start: character offset of the first character.
        end: character offset after the last character (``text[start:end]``).
        text: the covered text, always equal to ``document.text[start:end]``.
        attributes: flags and values such as ``negated``, ``hypothetical``, ``confidence``.
        concepts: the concepts it is linked to (:class:`Concept`), best first.
    """

    id: str
    label: str
    start: int
    end: int
    text: str
    attributes: dict[str, Any] = field(default_factory=dict)
    concepts: list[Concept] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "id": self.id,
            "label": self.label,
            "start": self.start,
            "end": self.end,
            "text": self.text,
        }
        if self.attributes:
            data["attributes"] = dict(self.attributes)
        if self.concepts:
            data["concepts"] = [c.to_dict() for c in self.concepts]
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Entity:
        return cls(
            id=str(data["id"]),
            label=str(data["label"]),
            start=int(data["start"]),
            end=int(data["end"]),
            text=str(data["text"]),
            attributes=dict(data.get("attributes") or {}),
            concepts=[Concept.from_dict(c) for c in data.get("concepts") or []],
        )


@dataclass
class Relation:
    """A directed, labelled link between two entities of one document, by entity id.

    Attributes:
        label: the relation type (``ADE``: drug causes effect; ``Dose``: drug given at dose).
        head: id of the first argument (the drug in ``ADE`` and ``Dose``).
        tail: id of the second argument.
        id: unique within its document (``R1``...).
        attributes: extra values such as ``confidence``.
    """

    label: str
    head: str
    tail: str
    id: str = ""
    attributes: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "id": self.id,
            "label": self.label,
            "head": self.head,
            "tail": self.tail,
        }
        if self.attributes:
            data["attributes"] = dict(self.attributes)
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Relation:
        return cls(
            label=str(data["label"]),
            head=str(data["head"]),
            tail=str(data["tail"]),
            id=str(data.get("id", "")),
            attributes=dict(data.get("attributes") or {}),
        )


@dataclass
class Document:
    """A text with its annotations.

    Attributes:
        id: unique within its corpus.
        text: the full text; entity offsets index into it.
        entities: spans, kept sorted by (start, end) by the readers.
        relations: links between entities.
        metadata: provenance such as ``pmid``, ``source`` or ``path``.
    """

    id: str
    text: str
    entities: list[Entity] = field(default_factory=list)
    relations: list[Relation] = field(default_factory=list)
    metadata: dict[str, Any] = field(default_factory=dict)

    def entity(self, entity_id: str) -> Entity:
        """Return the entity with this id (KeyError if absent)."""
        for ent in self.entities:
            if ent.id == entity_id:
                return ent
        raise KeyError(entity_id)

    def to_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "id": self.id,
            "text": self.text,
            "entities": [e.to_dict() for e in self.entities],
            "relations": [r.to_dict() for r in self.relations],
        }
        if self.metadata:
            data["metadata"] = dict(self.metadata)
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Document:
        return cls(
            id=str(data["id"]),
            text=str(data["text"]),
            entities=[Entity.from_dict(e) for e in data.get("entities") or []],
            relations=[Relation.from_dict(r) for r in data.get("relations") or []],
            metadata=dict(data.get("metadata") or {}),
        )


#: Assertion statuses (``Entity.attributes["assertion"]``) under which an event is not the
#: patient's actual event: it did not happen, may happen, may not exist, or happened to
#: someone else. ``present`` and ``historical`` events are asserted.
NOT_ASSERTED = frozenset({"negated", "hypothetical", "possible", "family"})


def is_asserted(entity: Entity) -> bool:
    """Whether ``entity`` is asserted as the patient's own: its ``assertion`` attribute (set
    by clinnlp) is not in :data:`NOT_ASSERTED`, and it carries no BRAT flag of those names
    (``Negated``, ``Hypothetical``, ``Possible``, ``Family``, as the gold sets write them)."""
    status = str(entity.attributes.get("assertion", "present")).lower()
    flags = {k.lower() for k, v in entity.attributes.items() if v is True}
    return status not in NOT_ASSERTED and not flags & NOT_ASSERTED


def validate(doc: Document) -> list[str]:
    """Return the problems of a document (empty when sound): spans outside the text, span
    text that differs from ``text[start:end]``, duplicate ids, relations to unknown entities.
    Messages name ids and offsets, never the text."""
    problems: list[str] = []
    ids: set[str] = set()
    for ent in doc.entities:
        if ent.id in ids:
            problems.append(f"duplicate entity id {ent.id}")
        ids.add(ent.id)
        if not 0 <= ent.start < ent.end <= len(doc.text):
            problems.append(
                f"entity {ent.id} span {ent.start}-{ent.end} outside text of length {len(doc.text)}"
            )
        elif doc.text[ent.start : ent.end] != ent.text:
            problems.append(f"entity {ent.id} text differs from text[{ent.start}:{ent.end}]")
    for rel in doc.relations:
        for arg in (rel.head, rel.tail):
            if arg not in ids:
                problems.append(f"relation {rel.id or rel.label} refers to unknown entity {arg}")
    return problems
