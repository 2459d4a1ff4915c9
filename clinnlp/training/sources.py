"""Training corpora and what each one annotates.

A training source is written ``[KIND:]PATH``. Without a kind, the corpus is read by the
format the reader registry guesses and is taken to annotate, exhaustively, every label it
holds. A kind adds what is known about a corpus:

* ``ade``: ADE-Corpus-V2's DRUG-AE/DRUG-DOSE sentences. Every drug-attributed adverse effect
  of a sentence is marked, but drugs and doses only where they take part in a relation, so
  only ``Adverse-Effect`` counts as annotated: an unmarked drug is not taught as "outside".
  Relations take the guideline's names (:func:`normalize_ade_relations`): ``Causes`` (Drug
  -> Adverse-Effect) and ``Dose-of`` (Dose -> Drug).
* ``ade-neg``: the ADE-NEG sentences of the same folder: no adverse effect (annotated,
  none present), drugs not marked (not annotated).
* ``bc5cdr``: a BC5CDR PubTator file: ``Chemical`` mentions become ``Drug`` (annotated);
  ``Disease`` mentions are dropped (a disease is not an adverse event unless a drug caused
  it, which BC5CDR marks only at document level).

``label_map`` renames labels in every source (``{"ADE": "Adverse-Effect"}``); mapping to
``""`` drops a label. :func:`weak_drug_labels` (training's ``vocabulary`` option) adds every
drug name of :func:`clinnlp.lexicon.vocabulary.drug_vocabulary` found in a document whose
source does not annotate ``Drug`` as a weak ``Drug`` entity (where it overlaps no entity);
``Drug`` still counts as unannotated there, so words the vocabulary does not know teach
nothing about it.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path

from clinnlp.errors import E_SOURCE_SPEC, ConfigError
from clinnlp.schema import Document, Entity

DRUG, EFFECT, DOSE = "Drug", "Adverse-Effect", "Dose"
#: A dose as clinical text writes one: an amount (or range) and a unit, optionally per
#: something ("500 mg", "0.5-1 mg/kg/day", "2 puffs", "1%").
DOSE_PATTERN = re.compile(
    r"(?<![\w.])\d+(?:[.,]\d+)?(?:\s?(?:-|to)\s?\d+(?:[.,]\d+)?)?\s?"
    r"(?:mg|mcg|µg|ug|gm?|grams?|kg|ml|cc|l|units?|u|iu|meq|mmol|puffs?|tabs?|tablets?"
    r"|caps?|capsules?|drops?|%)"
    r"(?:\s?/\s?(?:kg|m2|m\(2\)|day|d|dose|h|hr|hour|week|wk|min))*(?!\w)",
    re.IGNORECASE,
)


@dataclass(frozen=True)
class Kind:
    """What a kind of source reads, which labels and relations it annotates exhaustively
    (``None``: all it holds)."""

    read: Callable[[Path], Iterator[Document]]
    annotated: frozenset[str] | None
    label_map: Mapping[str, str]
    description: str
    relations: frozenset[str] | None = None


#: The relation names ADE-Corpus-V2's are given: (name, swap head and tail).
ADE_RELATIONS = {"ADE": ("Causes", False), "Dose": ("Dose-of", True)}


def normalize_ade_relations(doc: Document) -> Document:
    """ADE-Corpus-V2 relations under the guideline's names: ``ADE`` (Drug -> effect) becomes
    ``Causes``; ``Dose`` (Drug -> dose) becomes ``Dose-of``, from the dose to the drug."""
    relations = []
    for rel in doc.relations:
        name, swap = ADE_RELATIONS.get(rel.label, (rel.label, False))
        head, tail = (rel.tail, rel.head) if swap else (rel.head, rel.tail)
        relations.append(replace(rel, label=name, head=head, tail=tail))
    return replace(doc, relations=relations)


def _read_ade(path: Path) -> Iterator[Document]:
    from clinnlp.readers.ade import read_ade

    return (normalize_ade_relations(d) for d in read_ade(path))


def _read_ade_neg(path: Path) -> Iterator[Document]:
    from clinnlp.readers.ade import read_ade_negative

    return read_ade_negative(path)


def _read_pubtator(path: Path) -> Iterator[Document]:
    from clinnlp.readers.pubtator import read_pubtator

    return read_pubtator(path)


KINDS: dict[str, Kind] = {
    "ade": Kind(
        _read_ade, frozenset({EFFECT}), {}, "ADE-Corpus-V2 sentences; drugs marked only in events"
    ),
    "ade-neg": Kind(_read_ade_neg, frozenset({EFFECT}), {}, "ADE-NEG sentences: no adverse effect"),
    "bc5cdr": Kind(
        _read_pubtator,
        frozenset({DRUG}),
        {"Chemical": DRUG, "Disease": ""},
        "BC5CDR PubTator file: chemicals as Drug, diseases dropped",
    ),
}


@dataclass(frozen=True)
class Source:
    """One training corpus: its kind (``None``: plain, format guessed) and path."""

    kind: str | None
    path: str

    @classmethod
    def parse(cls, spec: str) -> Source:
        """``"bc5cdr:corpora/data/bc5cdr/CDR_TrainingSet.PubTator.txt"`` or a plain path."""
        head, sep, tail = spec.partition(":")
        if sep and head in KINDS:
            return cls(head, tail)
        if sep and head and "/" not in head and not Path(spec).exists():
            known = ", ".join(KINDS)
            raise ConfigError(E_SOURCE_SPEC.format(spec=spec, kind=head, kinds=known))
        return cls(None, spec)

    def __str__(self) -> str:
        return f"{self.kind}:{self.path}" if self.kind else self.path


def load_source(
    source: Source,
    label_map: Mapping[str, str] | None = None,
    fmt: str | None = None,
) -> list[Document]:
    """The documents of one source, labels mapped, each with ``metadata["annotated"]`` (entity
    labels marked exhaustively), ``metadata["relations_annotated"]`` (relation labels) and
    ``metadata["corpus"]`` (the source as written)."""
    from clinnlp.readers import read

    kind = KINDS.get(source.kind or "")
    docs = list(kind.read(Path(source.path)) if kind else read(source.path, fmt))
    mapping = {**(kind.label_map if kind else {}), **(label_map or {})}
    docs = [map_labels(d, mapping) for d in docs]
    if kind is not None and kind.annotated is not None:
        annotated = set(kind.annotated)
    else:
        annotated = {e.label for d in docs for e in d.entities}
    if kind is not None and kind.relations is not None:
        relations = set(kind.relations)
    else:
        relations = {r.label for d in docs for r in d.relations}
    meta = {
        "annotated": sorted(annotated),
        "relations_annotated": sorted(relations),
        "corpus": str(source),
    }
    return [replace(d, metadata={**d.metadata, **meta}) for d in docs]


def load_sources(
    sources: Sequence[Source],
    label_map: Mapping[str, str] | None = None,
    exclude_pmids: Iterable[str] = (),
    fmt: str | None = None,
) -> list[Document]:
    """Every document of ``sources`` (see :func:`load_source`), minus those whose PMID is in
    ``exclude_pmids`` (a cross-validation test fold's); ``fmt`` is the reader of plain
    sources (guessed when omitted)."""
    skip = {str(p) for p in exclude_pmids}
    return [
        d
        for source in sources
        for d in load_source(source, label_map, fmt)
        if str(d.metadata.get("pmid", "")) not in skip
    ]


def map_labels(doc: Document, mapping: Mapping[str, str]) -> Document:
    """``doc`` with entity labels renamed by ``mapping``; those mapped to ``""`` are removed,
    with the relations that use them."""
    if not mapping:
        return doc
    kept = []
    for e in doc.entities:
        label = mapping.get(e.label, e.label)
        if label:
            kept.append(replace(e, label=label))
    ids = {e.id for e in kept}
    relations = [r for r in doc.relations if r.head in ids and r.tail in ids]
    return replace(doc, entities=kept, relations=relations)


def weak_drug_labels(docs: Sequence[Document], exhaustive: bool = False) -> list[Document]:
    """Add the vocabulary's drug names as ``Drug`` entities (``attributes["weak"]``) to every
    document that does not annotate ``Drug``, where they overlap no entity; with
    ``exhaustive``, ``Drug`` then counts as annotated there (words outside the vocabulary and
    the corpus's own drugs are taught as not drugs)."""
    from clinnlp.lexicon.vocabulary import drug_vocabulary

    vocabulary = drug_vocabulary()
    out = []
    for doc in docs:
        if DRUG in doc.metadata.get("annotated", [DRUG]):
            out.append(doc)
            continue
        taken = [(e.start, e.end) for e in doc.entities]
        added = [
            Entity(f"V{i}", DRUG, m.start, m.end, doc.text[m.start : m.end], {"weak": True})
            for i, m in enumerate(vocabulary.find(doc.text), 1)
            if all(m.end <= s or e <= m.start for s, e in taken)
        ]
        metadata = doc.metadata
        if exhaustive:
            metadata = {**metadata, "annotated": sorted({*metadata.get("annotated", []), DRUG})}
        out.append(replace(doc, entities=doc.entities + added, metadata=metadata))
    return out


def weak_dose_labels(docs: Sequence[Document]) -> list[Document]:
    """Make ``Dose`` exhaustively marked in every document: where a document does not
    annotate it, each :data:`DOSE_PATTERN` match that overlaps no entity becomes a weak
    ``Dose`` entity and ``Dose`` joins ``metadata["annotated"]``.

    No corpus here marks every dose (ADE-Corpus-V2 only those in a relation), so without
    this no word is ever taught "not a dose" and the partial-label loss lets ``Dose`` spread
    over whole sentences.
    """
    out = []
    for doc in docs:
        annotated = list(doc.metadata.get("annotated", [DOSE]))
        if DOSE in annotated:
            out.append(doc)
            continue
        taken = [(e.start, e.end) for e in doc.entities]
        added = [
            Entity(f"D{i}", DOSE, m.start(), m.end(), m.group(0), {"weak": True})
            for i, m in enumerate(DOSE_PATTERN.finditer(doc.text), 1)
            if all(m.end() <= s or e <= m.start() for s, e in taken)
        ]
        metadata = {**doc.metadata, "annotated": sorted({*annotated, DOSE})}
        out.append(replace(doc, entities=doc.entities + added, metadata=metadata))
    return out
