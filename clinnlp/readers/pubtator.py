"""PubTator files such as the BioCreative V CDR corpus (``*.PubTator.txt``).

Each document is a block: ``PMID|t|title``, ``PMID|a|abstract``, then tab-separated mention
lines ``PMID<TAB>start<TAB>end<TAB>text<TAB>type<TAB>ids[<TAB>parts]`` and relation lines
``PMID<TAB>CID<TAB>chemical<TAB>disease``; blocks are separated by blank lines.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

from clinnlp.errors import (
    E_FIELDS,
    E_INT_OFFSETS,
    E_PUBTATOR_HEADER,
    E_PUBTATOR_MENTION,
    E_PUBTATOR_PMID,
    E_SPAN,
    InputError,
)
from clinnlp.readers._util import numbered_lines
from clinnlp.readers.textfile import read_text
from clinnlp.schema import Concept, Document, Entity

#: Prefix of the MeSH ids put into ``Entity.concepts`` and ``metadata["cid"]``.
MESH = "MESH:"


def _mesh(ids: str) -> list[str]:
    """``D001|D002`` -> ``["MESH:D001", "MESH:D002"]``; ``-1`` (no id) -> ``[]``."""
    return [f"{MESH}{i.strip()}" for i in ids.split("|") if i.strip() and i.strip() != "-1"]


def read_pubtator(path: str | Path) -> Iterator[Document]:
    """Yield the documents of a PubTator file.

    Each document has id and ``metadata["pmid"]`` the PMID, text ``title + " " + abstract``,
    one entity per mention (label ``Chemical`` or ``Disease`` as in the file, ids ``T1...`` in
    text order) with its MeSH ids in ``concepts`` (``MESH:D003000``; none for ``-1``; several
    for ``|``-joined ids), the individual mentions of a composite mention (7th column) in
    ``attributes["parts"]``, and the document-level chemical-induced-disease pairs in
    ``metadata["cid"]`` as ``[chemical, disease]`` lists of ``MESH:`` ids. There are no
    mention-level relations.

    Raises:
        InputError: the file is missing, empty or not UTF-8; a block does not start with its
            title and abstract lines; a mention line has the wrong field count or offsets, or
            offsets outside the text or on other text. The message names the file and line.
    """
    path = Path(path)
    content = read_text(path, max_bytes=None, what="PubTator documents")
    block: list[tuple[int, str]] = []
    for number, line in numbered_lines(content):
        if line.strip():
            block.append((number, line))
        elif block:
            yield _document(path, block)
            block = []
    if block:
        yield _document(path, block)


def _header(path: Path, line: tuple[int, str], kind: str, pmid: str | None) -> tuple[str, str]:
    number, text = line
    found_pmid, tag, rest = (text.split("|", 2) + ["", ""])[:3]
    what = "the title" if kind == "t" else "the abstract"
    if tag != kind or not found_pmid.isdigit() or (pmid is not None and found_pmid != pmid):
        message = E_PUBTATOR_HEADER.format(pmid=pmid or "PMID", kind=kind, what=what)
        raise InputError(path, message, line=number)
    return found_pmid, rest


def _document(path: Path, block: list[tuple[int, str]]) -> Document:
    pmid, title = _header(path, block[0], "t", None)
    if len(block) < 2:
        message = E_PUBTATOR_HEADER.format(pmid=pmid, kind="a", what="the abstract")
        raise InputError(path, message, line=block[0][0] + 1)
    _, abstract = _header(path, block[1], "a", pmid)
    text = f"{title} {abstract}"
    mentions: list[tuple[int, int, str, list[str], list[str]]] = []
    cid: list[list[str]] = []
    for number, line in block[2:]:
        fields = line.split("\t")
        if fields[0] != pmid:
            raise InputError(path, E_PUBTATOR_PMID.format(pmid=pmid), number)
        if len(fields) >= 2 and fields[1] == "CID":
            if len(fields) != 4:
                expected = "'PMID<TAB>CID<TAB>chemical<TAB>disease'"
                raise InputError(
                    path, E_FIELDS.format(expected=expected, found=len(fields)), number
                )
            cid.append([f"{MESH}{fields[2]}", f"{MESH}{fields[3]}"])
            continue
        if len(fields) not in (6, 7):
            expected = "'PMID<TAB>start<TAB>end<TAB>text<TAB>type<TAB>ids' or a CID line"
            raise InputError(path, E_FIELDS.format(expected=expected, found=len(fields)), number)
        try:
            start, end = int(fields[1]), int(fields[2])
        except ValueError:
            message = E_INT_OFFSETS.format(where="fields 2 and 3")
            raise InputError(path, message, number) from None
        if not 0 <= start < end <= len(text):
            raise InputError(path, E_SPAN.format(start=start, end=end, length=len(text)), number)
        if text[start:end] != fields[3]:
            message = E_PUBTATOR_MENTION.format(ident="mention", start=start, end=end)
            raise InputError(path, message, number)
        parts = fields[6].split("|") if len(fields) == 7 else []
        mentions.append((start, end, fields[4], _mesh(fields[5]), parts))
    entities = []
    for n, (start, end, label, concepts, parts) in enumerate(sorted(mentions), 1):
        entity = Entity(
            f"T{n}", label, start, end, text[start:end], concepts=[Concept(c) for c in concepts]
        )
        if parts:
            entity.attributes["parts"] = parts
        entities.append(entity)
    return Document(pmid, text, entities, metadata={"pmid": pmid, "cid": cid})
