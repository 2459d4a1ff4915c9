"""BRAT standoff: a ``.txt`` and an ``.ann`` of the same name for each document.

How each ``.ann`` line type maps onto the schema (and back, in :func:`write_brat`):

* ``T`` text-bound annotation -> :class:`Entity` (id, label, offsets, text). A discontinuous
  annotation ``T1<TAB>Drug 0 5;10 15<TAB>text`` becomes ONE entity over the covering span
  ``0..15`` (so ``text[start:end]`` holds, as the schema requires) and keeps its fragments in
  ``attributes["fragments"] = [[0, 5], [10, 15]]``; the writer writes the fragments back.
* ``R`` relation -> :class:`Relation` (head = first argument, tail = second); role names other
  than ``Arg1``/``Arg2`` are kept in ``attributes["roles"]``.
* ``A`` (and the older ``M``) attribute -> the target's ``attributes``: ``True`` for a binary
  attribute (``A1<TAB>Negated T1``), the string for a valued one (``A2<TAB>Severity T1 High``).
* ``N`` normalisation -> ``entity.concepts`` (``N1<TAB>Reference T1 UMLS:C0018681<TAB>name``
  adds ``Concept("UMLS:C0018681", "name")``); a concept's score and cross-references are not
  BRAT's and stay in JSONL.
* ``#`` note (``#1<TAB>AnnotatorNotes T1<TAB>note``) -> the target's ``attributes["note"]``.
* ``E`` events and ``*`` equivalences are skipped with a logged warning (the schema has no
  events); ``R``, ``A``, ``N`` and ``#`` lines that point at an event are skipped with them.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from clinnlp._files import safe_relpath
from clinnlp.errors import (
    E_ANN_DUPLICATE,
    E_ANN_ID,
    E_ANN_OFFSETS,
    E_ANN_REF,
    E_FIELDS,
    E_NAME_CLASH,
    E_NO_TXT,
    E_NOT_FOUND,
    E_SPAN,
    E_SPAN_TEXT,
    InputError,
)
from clinnlp.readers._util import numbered_lines
from clinnlp.readers.textfile import read_text
from clinnlp.schema import Concept, Document, Entity, Relation

logger = logging.getLogger(__name__)

#: Attribute keys that hold BRAT structure rather than ``A`` lines.
RESERVED = frozenset({"fragments", "note", "roles"})

_ID = re.compile(r"^(?:[TREAMN][0-9]+|#[0-9]*|\*)$")
_NUMBERED = {"T": re.compile(r"^T([0-9]+)$"), "R": re.compile(r"^R([0-9]+)$")}


@dataclass
class _Line:
    number: int
    ident: str
    fields: list[str]
    tail: str
    has_tail: bool


def read_brat(path: str | Path) -> Iterator[Document]:
    """Yield one document per ``.ann`` file under ``path`` (searched recursively, sorted).

    ``path`` may also be a single ``.ann`` file. A document's id is its path relative to the
    folder, without suffix (``notes/n001``). An empty ``.ann`` is a document without
    annotations; a ``.txt`` without an ``.ann`` is ignored. Entities are sorted by
    ``(start, end)``; relations keep file order. See the module docstring for the mapping.

    Raises:
        InputError: no ``.ann`` files; an ``.ann`` without its ``.txt``; a file that is not
            UTF-8 (or an empty ``.txt``); a malformed line (bad id, missing tab, wrong field
            count, non-integer offsets, unknown target); a span outside the text or whose
            text disagrees with the ``.txt``. The message names the file and line.
    """
    root = Path(path)
    if root.is_file() and root.suffix == ".ann":
        files, base = [root], root.parent
    elif root.is_dir():
        files, base = sorted(root.rglob("*.ann")), root
        if not files:
            raise InputError(root, E_NOT_FOUND.format(what="a BRAT folder holding .ann files"))
    else:
        raise InputError(root, E_NOT_FOUND.format(what="a BRAT folder or .ann file"))
    for ann in files:
        txt = ann.with_suffix(".txt")
        if not txt.is_file():
            raise InputError(ann, E_NO_TXT.format(txt=txt.name))
        text = read_text(txt)
        doc_id = ann.relative_to(base).with_suffix("").as_posix()
        yield parse_ann(_read_ann(ann), text, doc_id, ann)


def _read_ann(path: Path) -> str:
    try:
        if not path.read_bytes().strip():
            return ""  # a document without annotations
    except OSError:
        pass  # read_text reports it
    return read_text(path, max_bytes=None, what="BRAT annotations")


def _split(path: Path, number: int, line: str) -> _Line:
    ident, tab, rest = line.partition("\t")
    if not _ID.match(ident):
        raise InputError(path, E_ANN_ID, line=number)
    if not tab:
        expected = "a tab after the id (ID<TAB>TYPE ARGS[<TAB>TEXT])"
        raise InputError(path, E_FIELDS.format(expected=expected, found=1), line=number)
    middle, second_tab, tail = rest.partition("\t")
    return _Line(number, ident, middle.split(" "), tail, bool(second_tab))


def _fragments(path: Path, line: _Line, text: str) -> list[tuple[int, int]]:
    spans = " ".join(line.fields[1:]).split(";")
    fragments: list[tuple[int, int]] = []
    for span in spans:
        parts = span.split()
        try:
            start, end = (int(p) for p in parts)
        except ValueError:
            raise InputError(path, E_ANN_OFFSETS, line=line.number) from None
        if not 0 <= start < end <= len(text):
            message = E_SPAN.format(start=start, end=end, length=len(text))
            raise InputError(path, message, line=line.number)
        fragments.append((start, end))
    return fragments


def _flat(text: str) -> str:
    """Span text as it fits on one ``.ann`` line."""
    return text.replace("\r", " ").replace("\n", " ")


def parse_ann(ann: str, text: str, doc_id: str, path: str | Path = "<ann>") -> Document:
    """Build a :class:`Document` from ``.ann`` content and its text (see the module docstring).

    Raises:
        InputError: as :func:`read_brat`, naming ``path`` and the line.
    """
    path = Path(path)
    lines = [_split(path, n, line) for n, line in numbered_lines(ann) if line.strip()]
    entities: dict[str, Entity] = {}
    relations: dict[str, Relation] = {}
    skipped: set[str] = set()
    seen: set[str] = set()

    for line in lines:
        if line.ident in seen and line.ident[0] not in "#*":
            raise InputError(path, E_ANN_DUPLICATE.format(ident=line.ident), line=line.number)
        seen.add(line.ident)
        kind = line.ident[0]
        if kind == "T":
            if len(line.fields) < 3 or not line.fields[0] or not line.has_tail:
                expected = "'T<n><TAB>LABEL START END<TAB>TEXT'"
                found = len(line.fields)
                raise InputError(path, E_FIELDS.format(expected=expected, found=found), line.number)
            fragments = _fragments(path, line, text)
            covered = " ".join(text[s:e] for s, e in fragments)
            if _flat(line.tail) != _flat(covered):
                message = E_SPAN_TEXT.format(
                    start=fragments[0][0],
                    end=fragments[-1][1],
                    ident=line.ident,
                    n_ann=len(line.tail),
                    n_txt=len(covered),
                )
                raise InputError(path, message, line=line.number)
            start, end = min(s for s, _ in fragments), max(e for _, e in fragments)
            entity = Entity(line.ident, line.fields[0], start, end, text[start:end])
            if len(fragments) > 1:
                entity.attributes["fragments"] = [[s, e] for s, e in fragments]
            entities[line.ident] = entity
        elif kind in "E*":
            skipped.add(line.ident)
            what = "event" if kind == "E" else "equivalence"
            logger.warning("%s:%d: %s skipped (not supported)", path, line.number, what)

    for line in lines:
        kind = line.ident[0]
        if kind == "R":
            if len(line.fields) != 3 or any(":" not in f for f in line.fields[1:]):
                expected = "'R<n><TAB>LABEL Arg1:ID Arg2:ID'"
                found = len(line.fields)
                raise InputError(path, E_FIELDS.format(expected=expected, found=found), line.number)
            (role1, head), (role2, tail) = (f.split(":", 1) for f in line.fields[1:])
            if _skip(path, line, (head, tail), skipped):
                continue
            for arg in (head, tail):
                if arg not in entities:
                    raise InputError(path, E_ANN_REF.format(ident=_shown(arg)), line.number)
            relation = Relation(line.fields[0], head, tail, id=line.ident)
            if (role1, role2) != ("Arg1", "Arg2"):
                relation.attributes["roles"] = [role1, role2]
            relations[line.ident] = relation

    for line in lines:
        kind = line.ident[0]
        if kind not in "AMN#":
            continue
        sizes = {"A": (2, 3), "M": (2, 3), "N": (3,), "#": (2,)}[kind]
        if len(line.fields) not in sizes:
            expected = {
                "A": "'A<n><TAB>NAME ID [VALUE]'",
                "M": "'M<n><TAB>NAME ID [VALUE]'",
                "N": "'N<n><TAB>Reference ID DB:CONCEPT<TAB>NAME'",
                "#": "'#<n><TAB>AnnotatorNotes ID<TAB>NOTE'",
            }[kind]
            found = len(line.fields)
            raise InputError(path, E_FIELDS.format(expected=expected, found=found), line.number)
        target = line.fields[1]
        if _skip(path, line, (target,), skipped):
            continue
        owner: Entity | Relation | None = entities.get(target) or relations.get(target)
        if owner is None or (kind == "N" and target not in entities):
            raise InputError(path, E_ANN_REF.format(ident=_shown(target)), line.number)
        if kind in "AM":
            value: Any = line.fields[2] if len(line.fields) == 3 else True
            owner.attributes[line.fields[0]] = value
        elif kind == "#":
            owner.attributes["note"] = line.tail
        else:
            entities[target].concepts.append(Concept(line.fields[2], line.tail))

    ordered = sorted(entities.values(), key=lambda e: (e.start, e.end))
    return Document(doc_id, text, ordered, list(relations.values()))


def _shown(ident: str) -> str:
    """An id fit for an error message: a malformed one may hold document text."""
    return ident if re.fullmatch(r"[A-Z]?[0-9]{1,9}", ident) else "a malformed id"


def _skip(path: Path, line: _Line, targets: Iterable[str], skipped: set[str]) -> bool:
    if any(t in skipped for t in targets):
        logger.warning("%s:%d: skipped with the event it refers to", path, line.number)
        return True
    return False


def _ids(items: list[Any], prefix: str) -> dict[str, str]:
    """Keep ``T<n>``/``R<n>`` ids when all items have distinct ones, else number them."""
    pattern = _NUMBERED[prefix]
    ids = [item.id for item in items]
    if all(pattern.match(i) for i in ids) and len(set(ids)) == len(ids):
        return {i: i for i in ids}
    return {item.id: f"{prefix}{n}" for n, item in enumerate(items, 1)}


def _number(ident: str) -> int:
    return int(ident[1:])


def _word(value: Any) -> str:
    return re.sub(r"\s+", "_", str(value))


def format_ann(doc: Document) -> str:
    """Return the ``.ann`` content for ``doc`` in this canonical order.

    ``T`` lines by id number, ``R`` lines by id number, then ``A`` lines (entities then
    relations, in that order, each attribute in insertion order), ``N`` lines (entities in
    order, each concept), ``#`` notes, all numbered from 1. Ids of the form ``T<n>``/``R<n>``
    are kept; others are renumbered. Whitespace inside labels, attribute names and values
    becomes ``_``; attributes that are ``False``, ``None`` or not scalar are not written.
    A file in this order reads and writes back byte for byte.
    """
    entity_ids = _ids(doc.entities, "T")
    relation_ids = _ids(doc.relations, "R")
    entities = sorted(doc.entities, key=lambda e: _number(entity_ids[e.id]))
    relations = sorted(doc.relations, key=lambda r: _number(relation_ids[r.id]))
    lines: list[str] = []
    for ent in entities:
        fragments = ent.attributes.get("fragments") or [[ent.start, ent.end]]
        offsets = ";".join(f"{s} {e}" for s, e in fragments)
        covered = _flat(" ".join(doc.text[s:e] for s, e in fragments))
        lines.append(f"{entity_ids[ent.id]}\t{_word(ent.label)} {offsets}\t{covered}")
    for rel in relations:
        role1, role2 = rel.attributes.get("roles") or ("Arg1", "Arg2")
        head, tail = entity_ids.get(rel.head, rel.head), entity_ids.get(rel.tail, rel.tail)
        lines.append(f"{relation_ids[rel.id]}\t{_word(rel.label)} {role1}:{head} {role2}:{tail}")
    owners: list[tuple[str, Entity | Relation]] = [(entity_ids[e.id], e) for e in entities]
    owners += [(relation_ids[r.id], r) for r in relations]
    count = 0
    for ident, owner in owners:
        for name, value in owner.attributes.items():
            if name in RESERVED or value is False or value is None:
                continue
            if not isinstance(value, str | int | float):
                continue
            count += 1
            suffix = "" if value is True else f" {_word(value)}"
            lines.append(f"A{count}\t{_word(name)} {ident}{suffix}")
    count = 0
    for ent in entities:
        for concept in ent.concepts:
            count += 1
            ident, name = _word(concept.id), _flat(concept.name)
            lines.append(f"N{count}\tReference {entity_ids[ent.id]} {ident}\t{name}")
    count = 0
    for ident, owner in owners:
        if "note" in owner.attributes:
            count += 1
            lines.append(
                f"#{count}\tAnnotatorNotes {ident}\t{_flat(str(owner.attributes['note']))}"
            )
    return "".join(line + "\n" for line in lines)


def write_brat(docs: Iterable[Document], out_dir: str | Path) -> int:
    """Write each document as ``<id>.txt`` + ``<id>.ann`` under ``out_dir``; return the count.

    Files are UTF-8 with the text's own line ends; ``/`` in an id makes sub-folders and other
    unsafe characters become ``_`` (:func:`clinnlp._files.safe_relpath`: letters and digits of
    any script are kept). See :func:`format_ann` for the ``.ann`` layout.

    Raises:
        InputError: two documents map to the same file name.
    """
    out = Path(out_dir)
    written: dict[str, str] = {}
    for doc in docs:
        name = safe_relpath(doc.id)
        if name in written:
            message = E_NAME_CLASH.format(first=written[name], second=doc.id)
            raise InputError(out / f"{name}.txt", message)
        written[name] = doc.id
        txt = out / f"{name}.txt"
        txt.parent.mkdir(parents=True, exist_ok=True)
        with txt.open("w", encoding="utf-8", newline="") as handle:
            handle.write(doc.text)
        with txt.with_suffix(".ann").open("w", encoding="utf-8", newline="") as handle:
            handle.write(format_ann(doc))
    return len(written)
