"""Read ADE-Corpus-V2 (Gurulingappa et al., 2012) into sentence-level documents.

The corpus folder holds ``DRUG-AE.rel`` and ``DRUG-DOSE.rel`` (one relation a row:
``PMID|sentence|effect-or-dose|begin|end|drug|begin|end``) and ``ADE-NEG.txt``
(``PMID NEG sentence``). Row offsets index the whole PubMed abstract, not the sentence; the
reader recovers sentence-level offsets by finding, for each (PMID, sentence) pair, the one
shift that maps every span of every row of that sentence onto the span's own text.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from clinnlp.errors import (
    E_ADE_DOSE_ORPHAN,
    E_ADE_NEG,
    E_ADE_NO_OFFSET,
    E_ADE_OFFSETS,
    E_ADE_PMID,
    E_ADE_SPAN_LENGTH,
    E_FIELDS,
    E_NOT_FOUND,
    InputError,
)
from clinnlp.readers._util import numbered_lines
from clinnlp.readers.textfile import read_text
from clinnlp.schema import Document, Entity, Relation

logger = logging.getLogger(__name__)

AE_FILE = "DRUG-AE.rel"
DOSE_FILE = "DRUG-DOSE.rel"
NEG_FILE = "ADE-NEG.txt"

DRUG, EFFECT, DOSE = "Drug", "Adverse-Effect", "Dose"
ADE_RELATION, DOSE_RELATION = "ADE", "Dose"


@dataclass
class _Row:
    """One relation row: the tail (effect or dose) and head (drug) spans at abstract level."""

    path: Path
    line: int
    tail_label: str
    relation: str
    tail: tuple[int, int, str]
    head: tuple[int, int, str]


@dataclass
class _Sentence:
    pmid: str
    text: str
    rows: list[_Row] = field(default_factory=list)


def read_ade(
    path: str | Path, include_negative: bool = False, remove_overlapping: bool = False
) -> Iterator[Document]:
    """Yield the ADE-Corpus-V2 sentences as documents, one per (PMID, sentence) pair.

    The 4,272 sentences of ``DRUG-AE.rel`` come first, in order of first appearance, with ids
    ``<PMID>-<n>`` (``n`` counts that PMID's sentences from 0, in file order, so ids are stable).
    Each sets:

    * entities ``Drug``, ``Adverse-Effect`` and ``Dose`` with sentence-level offsets; a span
      that occurs in several rows becomes one entity (same label and span); spans are stripped
      of surrounding spaces (two rows have one); ids ``T1...`` in (start, end, label) order;
    * relations ``ADE`` (head Drug, tail Adverse-Effect) and ``Dose`` (head Drug, tail Dose);
      ``DRUG-DOSE.rel`` rows join the sentence documents they belong to;
    * ``metadata``: ``pmid``, ``source`` (``DRUG-AE.rel``) and ``sentence_offset``, where the
      sentence starts in the annotated document (``PMID\n\ntitle\n\nabstract``).

    Args:
        path: the corpus folder holding ``DRUG-AE.rel`` (and ``DRUG-DOSE.rel``,
            ``ADE-NEG.txt`` when present).
        include_negative: also yield the ``ADE-NEG.txt`` sentences (ids ``<PMID>-neg-<n>``,
            ``metadata["source"] = "ADE-NEG.txt"``) with no entities. Their drugs are NOT
            annotated (only drugs in an ADE relation were), so do not train a drug tagger on
            them as if they were negatives for drugs. The 7 exact duplicate lines are dropped.
        remove_overlapping: apply the published joint-extraction protocol (SpERT's
            ``no_overlapping``, used by Table-Sequence and later work) with
            :func:`drop_overlapping`: every Drug or Adverse-Effect entity overlapping another
            Drug or Adverse-Effect entity is removed (both of the pair, not only the shorter),
            a Dose overlapping any entity is removed (Dose is not part of the protocol), then
            every relation with a removed argument is dropped. SpERT drops only relations
            whose two arguments overlap each other; the schema cannot hold a relation without
            its entities, so relations whose argument overlaps a third entity go as well.

    Raises:
        InputError: a missing or unreadable file, or a malformed row (wrong field count,
            non-integer offsets, a span whose length disagrees with its offsets, or spans for
            which no sentence offset fits); the message names the file and line.
    """
    folder = Path(path)
    ae_path = folder / AE_FILE
    if not ae_path.is_file():
        raise InputError(ae_path, E_NOT_FOUND.format(what="the ADE-Corpus-V2 folder"))
    sentences: dict[tuple[str, str], _Sentence] = {}
    for row_path, tail_label, relation in (
        (ae_path, EFFECT, ADE_RELATION),
        (folder / DOSE_FILE, DOSE, DOSE_RELATION),
    ):
        if row_path.name == DOSE_FILE and not row_path.is_file():
            logger.warning("%s not found: reading without Dose annotations", row_path)
            continue
        for pmid, text, row in _read_rows(row_path, tail_label, relation):
            key = (pmid, text)
            if key not in sentences:
                if relation == DOSE_RELATION:
                    raise InputError(row_path, E_ADE_DOSE_ORPHAN, line=row.line)
                sentences[key] = _Sentence(pmid, text)
            sentences[key].rows.append(row)

    counts: dict[str, int] = {}
    for sentence in sentences.values():
        n = counts.get(sentence.pmid, 0)
        counts[sentence.pmid] = n + 1
        doc = _build(sentence, f"{sentence.pmid}-{n}")
        if remove_overlapping:
            drop_overlapping(doc)
        yield doc

    if include_negative:
        neg_path = folder / NEG_FILE
        if not neg_path.is_file():
            raise InputError(neg_path, E_NOT_FOUND.format(what="ADE-NEG.txt (include_negative)"))
        yield from _read_negative(neg_path)


def _read_rows(path: Path, tail_label: str, relation: str) -> Iterator[tuple[str, str, _Row]]:
    for number, line in numbered_lines(read_text(path, max_bytes=None)):
        if not line.strip():
            continue
        fields = line.split("|")
        if len(fields) != 8:
            expected = f"8 '|'-separated fields (PMID|sentence|{tail_label}|begin|end|drug|...)"
            raise InputError(
                path, E_FIELDS.format(expected=expected, found=len(fields)), line=number
            )
        pmid, text, tail_text, t_begin, t_end, head_text, h_begin, h_end = fields
        if not pmid.strip().isdigit():
            raise InputError(path, E_ADE_PMID, line=number)
        try:
            tail = _span(tail_text, int(t_begin), int(t_end))
            head = _span(head_text, int(h_begin), int(h_end))
        except ValueError:
            raise InputError(path, E_ADE_OFFSETS, line=number) from None
        for field_no, (begin, end, span_text) in ((3, tail), (6, head)):
            if not span_text or end - begin != len(span_text):
                message = E_ADE_SPAN_LENGTH.format(
                    field=field_no, length=len(span_text), start=begin, end=end, width=end - begin
                )
                raise InputError(path, message, line=number)
        yield pmid.strip(), text, _Row(path, number, tail_label, relation, tail, head)


def _span(text: str, begin: int, end: int) -> tuple[int, int, str]:
    """Strip surrounding spaces off a span, moving its offsets with them."""
    stripped = text.lstrip()
    begin += len(text) - len(stripped)
    text = stripped.rstrip()
    end -= len(stripped) - len(text)
    return begin, end, text


def _shifts(sentence: str, span: tuple[int, int, str]) -> set[int]:
    """Every sentence start (in abstract offsets) that puts this span on its own text."""
    begin, _, text = span
    found: set[int] = set()
    at = sentence.find(text)
    while at >= 0:
        found.add(begin - at)
        at = sentence.find(text, at + 1)
    return found


def find_sentence_offset(sentence: str, spans: list[tuple[int, int, str]]) -> set[int]:
    """Return the sentence starts consistent with all ``(begin, end, text)`` abstract spans.

    A start ``s`` fits when ``sentence[begin - s:end - s] == text`` for every span. Empty
    when none fits; more than one when repeated words leave the position ambiguous.
    """
    fits: set[int] | None = None
    for span in spans:
        shifts = _shifts(sentence, span)
        fits = shifts if fits is None else fits & shifts
        if not fits:
            return set()
    return fits or set()


def _build(sentence: _Sentence, doc_id: str) -> Document:
    spans = [span for row in sentence.rows for span in (row.head, row.tail)]
    fits = find_sentence_offset(sentence.text, spans)
    if not fits:
        # Name the first row that no longer fits alongside the ones before it.
        for i in range(len(sentence.rows)):
            upto = [span for row in sentence.rows[: i + 1] for span in (row.head, row.tail)]
            if not find_sentence_offset(sentence.text, upto):
                row = sentence.rows[i]
                raise InputError(
                    row.path, E_ADE_NO_OFFSET.format(pmid=sentence.pmid), line=row.line
                )
    shift = min(fits)
    if len(fits) > 1:
        row = sentence.rows[0]
        logger.warning(
            "%s:%d: %d sentence offsets fit PMID %s; using the smallest",
            row.path,
            row.line,
            len(fits),
            sentence.pmid,
        )

    keyed: dict[tuple[int, int, str], Entity] = {}

    def entity(span: tuple[int, int, str], label: str) -> tuple[int, int, str]:
        start, end = span[0] - shift, span[1] - shift
        key = (start, end, label)
        if key not in keyed:
            keyed[key] = Entity("", label, start, end, span[2])
        return key

    links: list[tuple[str, tuple[int, int, str], tuple[int, int, str]]] = []
    for row in sentence.rows:
        link = (row.relation, entity(row.head, DRUG), entity(row.tail, row.tail_label))
        if link not in links:
            links.append(link)
    for n, key in enumerate(sorted(keyed), 1):
        keyed[key].id = f"T{n}"
    entities = [keyed[key] for key in sorted(keyed)]
    relations = [
        Relation(label, keyed[head].id, keyed[tail].id, id=f"R{n}")
        for n, (label, head, tail) in enumerate(links, 1)
    ]
    metadata = {"pmid": sentence.pmid, "source": AE_FILE, "sentence_offset": shift}
    return Document(doc_id, sentence.text, entities, relations, metadata)


#: The entity labels of the published protocol, which reads ``DRUG-AE.rel`` only.
PROTOCOL_LABELS = frozenset({DRUG, EFFECT})


def overlapping_entities(doc: Document, labels: frozenset[str] = PROTOCOL_LABELS) -> set[str]:
    """Ids of the entities the published protocol removes from ``doc``.

    Two entities overlap when their spans share a character. When both labels are in
    ``labels`` (Drug, Adverse-Effect), both entities go, as in SpERT's ``remove_overlapping``
    (``_is_overlapping`` tests an entity against every other one). An entity with another
    label (Dose, absent from the protocol) gives way instead: it goes, the other stays, so
    Drug and Adverse-Effect come out exactly as in the published data.
    """
    found: set[str] = set()
    ordered = sorted(doc.entities, key=lambda e: (e.start, e.end))
    for i, first in enumerate(ordered):
        for second in ordered[i + 1 :]:
            if second.start >= first.end:
                break
            pair = [e.id for e in (first, second) if e.label not in labels]
            found.update(pair or (first.id, second.id))
    return found


def drop_overlapping(doc: Document) -> int:
    """Apply :func:`overlapping_entities` to ``doc`` in place, with the relations touching them.

    Returns:
        the number of entities removed.
    """
    removed = overlapping_entities(doc)
    doc.entities = [e for e in doc.entities if e.id not in removed]
    doc.relations = [r for r in doc.relations if r.head not in removed and r.tail not in removed]
    return len(removed)


def read_ade_negative(path: str | Path) -> Iterator[Document]:
    """Yield only the ``ADE-NEG.txt`` sentences of an ADE-Corpus-V2 folder, as
    ``read_ade(path, include_negative=True)`` yields them after the ADE sentences.

    Raises:
        InputError: the file is missing or a line is malformed (file and line named).
    """
    neg_path = Path(path) / NEG_FILE
    if not neg_path.is_file():
        raise InputError(neg_path, E_NOT_FOUND.format(what="ADE-NEG.txt of ADE-Corpus-V2"))
    yield from _read_negative(neg_path)


def _read_negative(path: Path) -> Iterator[Document]:
    seen: set[str] = set()
    counts: dict[str, int] = {}
    for number, line in numbered_lines(read_text(path, max_bytes=None)):
        if not line.strip():
            continue
        if line in seen:
            continue
        seen.add(line)
        parts = line.split(" ", 2)
        if len(parts) != 3 or not parts[0].isdigit() or parts[1] != "NEG" or not parts[2]:
            raise InputError(path, E_ADE_NEG, line=number)
        pmid, _, text = parts
        n = counts.get(pmid, 0)
        counts[pmid] = n + 1
        yield Document(f"{pmid}-neg-{n}", text, metadata={"pmid": pmid, "source": NEG_FILE})
