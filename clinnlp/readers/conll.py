"""CoNLL-style BIO files: one ``token<TAB or spaces>tag`` a line, a blank line between sentences.

Reading, each sentence becomes a document whose text is its tokens joined by single spaces;
entities come from the BIO tags (``B-X`` starts an ``X``, ``I-X`` continues it, ``O`` is
outside; an ``I-X`` that does not continue an ``X`` starts one, as IOB1 files expect). Extra
middle columns (CoNLL-2003 POS/chunk) are ignored: the token is the first column, the tag the
last. ``-DOCSTART-`` lines are skipped.

Writing, each document becomes one sentence block. Its text is cut into tokens by
:data:`TOKEN_PATTERN` (numbers such as ``1.5``, runs of letters/digits, and every other
non-space character alone), then cut again wherever an entity starts or ends so that every
entity is whole tokens. Documents read from CoNLL (``metadata["tokenizer"] == "whitespace"``)
are cut at whitespace only, so their tokens and tags come back unchanged. BIO cannot hold
overlapping entities: the writer keeps the earlier (then longer) one and logs how many it left
out.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable, Iterator
from pathlib import Path

from clinnlp.errors import E_CONLL_TAG, E_FIELDS, InputError
from clinnlp.readers._util import numbered_lines
from clinnlp.readers.textfile import read_text
from clinnlp.schema import Document, Entity

logger = logging.getLogger(__name__)

#: The writer's tokenizer: decimal numbers, word characters, or one other non-space character.
TOKEN_PATTERN = re.compile(r"\d+(?:[.,]\d+)+|\w+|[^\w\s]")
_TAG = re.compile(r"^(?:O|[BI]-\S+)$")
DOCSTART = "-DOCSTART-"


def read_conll(path: str | Path) -> Iterator[Document]:
    """Yield one document per sentence of a BIO file, with ids ``<file stem>-<n>`` (from 0).

    Sets ``metadata["tokenizer"] = "whitespace"`` (see the module docstring).

    Raises:
        InputError: the file is missing, empty or not UTF-8; a line has fewer than two
            columns; a tag is not ``O``, ``B-<label>`` or ``I-<label>``. The message names
            the file and line.
    """
    path = Path(path)
    content = read_text(path, max_bytes=None, what="token/tag lines")
    sentence: list[tuple[str, str, int]] = []
    count = 0
    for number, line in numbered_lines(content):
        columns = line.split()
        if columns and columns[0] == DOCSTART:
            columns = []
        if not columns:
            if sentence:
                yield _sentence(f"{path.stem}-{count}", sentence, path)
                count += 1
                sentence = []
            continue
        if len(columns) < 2:
            expected = "'token<TAB>tag' (two or more columns)"
            raise InputError(path, E_FIELDS.format(expected=expected, found=1), line=number)
        if not _TAG.match(columns[-1]):
            raise InputError(path, E_CONLL_TAG, line=number)
        sentence.append((columns[0], columns[-1], number))
    if sentence:
        yield _sentence(f"{path.stem}-{count}", sentence, path)


def _sentence(doc_id: str, rows: list[tuple[str, str, int]], path: Path) -> Document:
    text_parts: list[str] = []
    entities: list[Entity] = []
    offset = 0
    current: Entity | None = None
    for token, tag, _ in rows:
        start = offset
        end = start + len(token)
        text_parts.append(token)
        offset = end + 1
        kind, _, label = tag.partition("-")
        if kind == "I" and current is not None and current.label == label:
            current.end = end
            continue
        current = None
        if kind in "BI" and label:
            current = Entity(f"T{len(entities) + 1}", label, start, end, "")
            entities.append(current)
    text = " ".join(text_parts)
    for ent in entities:
        ent.text = text[ent.start : ent.end]
    return Document(doc_id, text, entities, metadata={"tokenizer": "whitespace"})


def tokenize(text: str, whitespace: bool = False) -> list[tuple[int, int]]:
    """Return token ``(start, end)`` offsets: :data:`TOKEN_PATTERN`, or whitespace only."""
    pattern = re.compile(r"\S+") if whitespace else TOKEN_PATTERN
    return [m.span() for m in pattern.finditer(text)]


def bio_entities(doc: Document) -> list[Entity]:
    """The entities BIO can hold: sorted by start (longer first), each overlapping one after
    the first left out."""
    chosen: list[Entity] = []
    for ent in sorted(doc.entities, key=lambda e: (e.start, -e.end)):
        if not chosen or ent.start >= chosen[-1].end:
            chosen.append(ent)
    return chosen


def to_bio(doc: Document) -> list[tuple[str, str]]:
    """Return the ``(token, tag)`` pairs of ``doc`` (see the module docstring)."""
    chosen = bio_entities(doc)
    cuts = sorted({b for ent in chosen for b in (ent.start, ent.end)})
    whitespace = doc.metadata.get("tokenizer") == "whitespace"
    pairs: list[tuple[str, str]] = []
    index = 0
    for start, end in tokenize(doc.text, whitespace):
        inner = [c for c in cuts if start < c < end]
        for s, e in zip([start, *inner], [*inner, end], strict=True):
            while index < len(chosen) and chosen[index].end <= s:
                index += 1
            tag = "O"
            if index < len(chosen) and chosen[index].start <= s:
                ent = chosen[index]
                tag = f"{'B' if s == ent.start else 'I'}-{ent.label}"
            pairs.append((doc.text[s:e], tag))
    return pairs


def write_conll(docs: Iterable[Document], path: str | Path) -> int:
    """Write each document as one ``token<TAB>tag`` block and a blank line; return the count."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    count = dropped = 0
    with path.open("w", encoding="utf-8", newline="\n") as out:
        for doc in docs:
            pairs = to_bio(doc)
            dropped += len(doc.entities) - len(bio_entities(doc))
            if not pairs:
                continue  # a blank block would read back as nothing
            out.write("".join(f"{token}\t{tag}\n" for token, tag in pairs) + "\n")
            count += 1
    if dropped:
        logger.warning("%s: %d overlapping entities left out (BIO cannot nest)", path, dropped)
    return count
