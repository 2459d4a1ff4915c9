"""The inputs of a batch run as :class:`Item` records: folders, text, CSV and JSONL files.

Inputs: folders (every ``.txt`` below, id = relative path without ``.txt``), ``.txt`` files
(id = file name without ``.txt``), ``.csv`` files and ``.jsonl`` files (one record a row or
line, id and text in named columns). Every document that cannot be read becomes an item with
its reason (never its text), so the run records it and goes on.
"""

from __future__ import annotations

import codecs
import csv
import json
import sys
from collections.abc import Container, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from clinnlp._files import walk_files
from clinnlp.batch.core import Record
from clinnlp.errors import (
    E_COLUMN_MISSING,
    E_CSV_CR,
    E_CSV_FIELDS,
    E_CSV_INVALID,
    E_CSV_RECORD,
    E_EMPTY,
    E_ENCODING,
    E_RECORD_EMPTY,
    E_RECORD_ID,
    E_RECORD_ID_ENCODING,
    E_RECORD_JSON,
    E_RECORD_TEXT,
    E_UNREADABLE,
    InputError,
)
from clinnlp.readers.textfile import (
    MAX_DOCUMENT_BYTES,
    check_text,
    has_surrogates,
    is_blank,
    read_text,
)

#: Input files read as one record a row or line, by suffix; any other file is one text.
RECORD_FILES = {".csv": "csv", ".jsonl": "jsonl", ".ndjson": "jsonl"}


@dataclass
class Item:
    """One input document: its text, or why it is skipped (already done) or failed."""

    id: str
    path: str
    text: str = ""
    line: int | None = None
    reason: str | None = None
    skipped: bool = False

    @property
    def metadata(self) -> dict[str, Any]:
        return {"path": self.path} if self.line is None else {"path": self.path, "line": self.line}

    def record(self) -> Record:
        """The item as a record for :func:`clinnlp.batch.core.annotate_records`."""
        return Record(self.id, self.text, self.metadata)


def iter_inputs(
    inputs: Sequence[Path],
    *,
    text_col: str = "text",
    id_col: str = "id",
    max_bytes: int | None = MAX_DOCUMENT_BYTES,
    done: Container[str] = (),
    exclude: Path | None = None,
) -> Iterator[Item]:
    """Yield every input document in order, reading none whose id is in ``done``.

    Every path met walking a folder that cannot be read (a folder that cannot be listed, a
    broken or looping link, a ``.txt`` that is a FIFO...) is an item with its reason.

    Args:
        inputs: folders (their ``.txt`` files, recursively, sorted, links followed),
            ``.csv``/``.jsonl`` files (a record a row or line) and text files.
        text_col: the text's column or key in CSV/JSONL records.
        id_col: the id's column or key in CSV/JSONL records.
        max_bytes: larger documents fail.
        done: ids to skip (yielded with ``skipped=True``).
        exclude: a folder not to walk into (the output folder).
    """
    for path in inputs:
        kind = RECORD_FILES.get(path.suffix.lower())
        if path.is_dir():
            for file, problem in walk_files(path, ".txt", exclude):
                yield _walked_item(path, file, problem, max_bytes, done)
        elif kind is None:
            yield _text_item(path, path.stem, max_bytes, done)
        else:
            walk = _csv_items if kind == "csv" else _jsonl_items
            yield from walk(path, text_col, id_col, max_bytes, done)


def _walked_item(
    folder: Path, path: Path, problem: str | None, max_bytes: int | None, done: Container[str]
) -> Item:
    """The item of a path met walking ``folder``: a note, or one that cannot be read."""
    relative = path.relative_to(folder).as_posix()
    if relative == ".":  # the folder itself cannot be listed
        relative = path.name or str(path)
    if not relative.endswith(".txt"):  # a folder or link: its path is its id
        return Item(relative, str(path), reason=problem)
    doc_id = Path(relative).with_suffix("").as_posix()
    if problem is None or doc_id in done:
        return _text_item(path, doc_id, max_bytes, done)
    return Item(doc_id, str(path), reason=problem)


def _text_item(path: Path, doc_id: str, max_bytes: int | None, done: Container[str]) -> Item:
    if doc_id in done:
        return Item(doc_id, str(path), skipped=True)
    try:
        return Item(doc_id, str(path), read_text(path, max_bytes))
    except InputError as err:
        return Item(doc_id, str(path), reason=err.message)


def _record_item(
    path: Path,
    line: int,
    doc_id: Any,
    text: Any,
    cols: tuple[str, str],
    max_bytes: int | None,
    done: Container[str],
) -> Item:
    text_col, id_col = cols
    doc_id = "" if doc_id is None else str(doc_id).strip()
    if not doc_id or has_surrogates(doc_id):  # such an id could not even be written down
        template = E_RECORD_ID_ENCODING if doc_id else E_RECORD_ID
        reason = template.format(column=id_col)
        return Item(f"{path.name}:{line}", str(path), line=line, reason=reason)
    if doc_id in done:
        return Item(doc_id, str(path), line=line, skipped=True)
    if not isinstance(text, str):
        found = "missing" if text is None else f"a JSON {_json_kind(text)}"
        return Item(
            doc_id, str(path), line=line, reason=E_RECORD_TEXT.format(column=text_col, found=found)
        )
    if is_blank(text):  # the record is there, its text is not
        reason = E_RECORD_EMPTY.format(column=text_col)
        return Item(doc_id, str(path), line=line, reason=reason)
    return Item(doc_id, str(path), text, line, check_text(text, max_bytes))


def _json_kind(value: object) -> str:
    """The JSON name of a parsed value's type: number, array..."""
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int | float):
        return "number"
    kinds: dict[type, str] = {list: "array", dict: "object", str: "string"}
    return kinds.get(type(value), type(value).__name__)


def _file_failure(path: Path, reason: str, line: int | None = None) -> Item:
    return Item(
        path.name if line is None else f"{path.name}:{line}", str(path), line=line, reason=reason
    )


def _unreadable(err: OSError) -> str:
    return E_UNREADABLE.format(reason=err.strerror or type(err).__name__)


# Clinical notes exceed the csv module's 128 KiB field limit. The limit is process-wide, so it
# is raised once here, on import, rather than on every read.
csv.field_size_limit(min(sys.maxsize, 2**31 - 1))


def _span(first: int, last: int) -> str:
    return f"line {first}" if first >= last else f"lines {first}-{last}"


class _Lines:
    """The lines of a CSV file for :func:`csv.reader`, noting which end in a bare carriage
    return: in a file whose lines end in LF, a bare CR outside quotes is a break inside a note
    that the reader would take for the end of its record."""

    def __init__(self, handle: Any) -> None:
        self.handle = handle
        self.count = 0
        self.lf = False
        self.bare_cr: set[int] = set()

    def __iter__(self) -> Iterator[str]:
        for line in self.handle:
            self.count += 1
            if line.endswith("\n"):
                self.lf = True
            elif line.endswith("\r"):
                self.bare_cr.add(self.count)
            yield line

    def bare_cr_ends(self, number: int) -> bool:
        """Whether line ``number`` ends in a bare CR in a file of LF lines."""
        return self.lf and number in self.bare_cr


def _csv_items(
    path: Path, text_col: str, id_col: str, max_bytes: int | None, done: Container[str]
) -> Iterator[Item]:
    line = 0
    try:
        # surrogateescape: an undecodable byte fails only the record that holds it
        # (check_text), not the rest of the file.
        with path.open(encoding="utf-8-sig", errors="surrogateescape", newline="") as handle:
            lines = _Lines(handle)
            # strict: a stray quote fails its record instead of folding the next records in
            rows = csv.reader(lines, strict=True)
            header = next(rows, [])
            if not header:
                yield _file_failure(path, E_EMPTY.format(what="a header row and records"))
                return
            columns = {name: i for i, name in enumerate(header)}
            for column, option in ((text_col, "--text-col"), (id_col, "--id-col")):
                if column not in columns:
                    # the count only: without a header row, the first row holds patient text
                    reason = E_COLUMN_MISSING.format(
                        column=column, count=len(header), option=option
                    )
                    yield _file_failure(path, reason)
                    return
            text_at, id_at = columns[text_col], columns[id_col]
            while True:
                line = rows.line_num + 1  # a record's first line (a quoted field may span more)
                try:
                    row = next(rows, None)
                except csv.Error as err:  # one record (or a run of lines) fails; reading goes on
                    reason = E_CSV_RECORD.format(lines=_span(line, rows.line_num), reason=err)
                    yield _file_failure(path, reason, line)
                    continue
                if row is None:
                    return
                if not row:
                    continue  # a blank line
                if lines.bare_cr_ends(rows.line_num):
                    reason = E_CSV_CR.format(lines=_span(line, rows.line_num))
                    yield _file_failure(path, reason, line)
                    continue
                if len(row) != len(header):  # an unquoted comma or line break split it
                    lines_at = _span(line, rows.line_num)
                    reason = E_CSV_FIELDS.format(
                        lines=lines_at, found=len(row), expected=len(header)
                    )
                    yield _file_failure(path, reason, line)
                    continue
                doc_id, text = row[id_at], row[text_at]
                yield _record_item(path, line, doc_id, text, (text_col, id_col), max_bytes, done)
    except OSError as err:
        yield _file_failure(path, _unreadable(err))
    except csv.Error as err:
        yield _file_failure(path, E_CSV_INVALID.format(reason=err), line or None)


def _jsonl_items(
    path: Path, text_col: str, id_col: str, max_bytes: int | None, done: Container[str]
) -> Iterator[Item]:
    try:
        handle = path.open("rb")
    except OSError as err:
        yield _file_failure(path, _unreadable(err))
        return
    records = 0
    with handle:
        for number, raw in enumerate(handle, 1):
            if number == 1:
                raw = raw.removeprefix(codecs.BOM_UTF8)
            if not raw.strip():
                continue
            records += 1
            try:
                data = json.loads(raw.decode("utf-8"))
            except UnicodeDecodeError as err:
                yield _file_failure(path, E_ENCODING.format(offset=err.start), number)
                continue
            except json.JSONDecodeError as err:
                reason = f"{err.msg.removesuffix(' at')}, column {err.colno}"
                yield _file_failure(path, E_RECORD_JSON.format(reason=reason), number)
                continue
            if not isinstance(data, dict):
                reason = f"a JSON {_json_kind(data)}"
                yield _file_failure(path, E_RECORD_JSON.format(reason=reason), number)
                continue
            cols = (text_col, id_col)
            yield _record_item(
                path, number, data.get(id_col), data.get(text_col), cols, max_bytes, done
            )
    if not records:
        yield _file_failure(path, E_EMPTY.format(what="one JSON object a line"))


__all__ = ["RECORD_FILES", "Item", "iter_inputs"]
