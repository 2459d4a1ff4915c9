"""Batch annotation behind ``clinnlp annotate``: walk the inputs, stream them through the
pipeline, write the output so that a killed run resumes where it stopped.

Inputs: folders (every ``.txt`` below, id = relative path without ``.txt``), ``.txt`` files
(id = file name without ``.txt``), ``.csv`` files and ``.jsonl`` files (one record a row or
line, id and text in named columns).

The output folder (``--out``) holds::

    run.json            the run's configuration: the same command again resumes
    done.jsonl          the commit log: a line {"ids": [...], "files": {name: size}} per chunk
    errors.jsonl        documents that failed in the latest run: id, path, line, reason
    annotations.jsonl   jsonl and html formats: one Document.to_dict() a line
    report.html         html format: the displaCy report of clinnlp.report
    brat/<id>.txt|.ann  brat format
    docs/part-NNNNN.spacy  spacy format: one DocBin a chunk (user data kept)

Resume and atomicity: documents are committed in chunks of ``batch_size``. A chunk's output is
written and fsync'd first (new files under a temporary name, then ``os.replace``;
``annotations.jsonl`` by appending), then one line naming its ids and the size of every file
it touched is appended to ``done.jsonl`` and fsync'd: that line is the commit. A run killed at
any moment leaves at most one uncommitted chunk (and possibly a torn last log line). The next
run with the same configuration drops the torn line, truncates the data files to their
committed sizes, deletes uncommitted files and skips every id in the log: no document is
written twice and none that was reported done is lost.
"""

from __future__ import annotations

import codecs
import csv
import json
import logging
import os
import shutil
import sys
import time
import traceback
from collections import deque
from collections.abc import Container, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any

from clinnlp._files import fsync_dir, write_atomic
from clinnlp.errors import (
    E_ANNOTATE_FORMAT,
    E_BATCH_COUNTS,
    E_COLUMN_MISSING,
    E_CSV_INVALID,
    E_DUPLICATE_ID,
    E_EMPTY,
    E_ENCODING,
    E_NAME_CLASH,
    E_NOT_FOUND,
    E_OUT_DAMAGED,
    E_OUT_ESCAPE,
    E_OUT_FILE,
    E_OUT_FOLDER_CLASH,
    E_OUT_NAME_LONG,
    E_OUT_NOT_EMPTY,
    E_OUT_OTHER_RUN,
    E_OUT_OVERLAP,
    E_PATH_ENCODING,
    E_PIPELINE,
    E_RECORD_ID,
    E_RECORD_ID_ENCODING,
    E_RECORD_JSON,
    E_RECORD_TEXT,
    E_UNREADABLE,
    ClinnlpError,
    ConfigError,
    InputError,
)
from clinnlp.readers.plaintext import text_files
from clinnlp.readers.textfile import MAX_DOCUMENT_BYTES, check_text, has_surrogates, read_text
from clinnlp.schema import Document

if TYPE_CHECKING:
    from spacy.language import Language
    from spacy.tokens import Doc

logger = logging.getLogger(__name__)

FORMATS = ("jsonl", "brat", "spacy", "html")
RUN_FILE = "run.json"
DONE_FILE = "done.jsonl"
ERRORS_FILE = "errors.jsonl"
JSONL_FILE = "annotations.jsonl"
REPORT_FILE = "report.html"
BRAT_DIR = "brat"
SPACY_DIR = "docs"
#: Everything a run writes in the output folder (all that ``--force`` removes).
OUTPUTS = (RUN_FILE, DONE_FILE, ERRORS_FILE, JSONL_FILE, REPORT_FILE, BRAT_DIR, SPACY_DIR)
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


# --- input walking -------------------------------------------------------------------------


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

    Args:
        inputs: folders (their ``.txt`` files, recursively, sorted), ``.csv``/``.jsonl``
            files (a record a row or line) and text files.
        text_col: the text's column or key in CSV/JSONL records.
        id_col: the id's column or key in CSV/JSONL records.
        max_bytes: larger documents fail.
        done: ids to skip (yielded with ``skipped=True``).
        exclude: a folder not to walk into (the output folder).
    """
    for path in inputs:
        kind = RECORD_FILES.get(path.suffix.lower())
        if path.is_dir():
            for file, doc_id in text_files(path, exclude):
                yield _text_item(file, doc_id, max_bytes, done)
        elif kind is None:
            yield _text_item(path, path.stem, max_bytes, done)
        else:
            walk = _csv_items if kind == "csv" else _jsonl_items
            yield from walk(path, text_col, id_col, max_bytes, done)


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
        found = "missing" if text is None else f"a {type(text).__name__}"
        return Item(
            doc_id, str(path), line=line, reason=E_RECORD_TEXT.format(column=text_col, found=found)
        )
    return Item(doc_id, str(path), text, line, check_text(text, max_bytes))


def _file_failure(path: Path, reason: str, line: int | None = None) -> Item:
    return Item(
        path.name if line is None else f"{path.name}:{line}", str(path), line=line, reason=reason
    )


def _unreadable(err: OSError) -> str:
    return E_UNREADABLE.format(reason=err.strerror or type(err).__name__)


# Clinical notes exceed the csv module's 128 KiB field limit. The limit is process-wide, so it
# is raised once here, on import, rather than on every read.
csv.field_size_limit(min(sys.maxsize, 2**31 - 1))


def _csv_items(
    path: Path, text_col: str, id_col: str, max_bytes: int | None, done: Container[str]
) -> Iterator[Item]:
    line = 0
    try:
        # surrogateescape: an undecodable byte fails only the record that holds it
        # (check_text), not the rest of the file.
        with path.open(encoding="utf-8-sig", errors="surrogateescape", newline="") as handle:
            rows = csv.reader(handle)
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
                row = next(rows, None)
                if row is None:
                    return
                if not row:
                    continue  # a blank line
                doc_id = row[id_at] if id_at < len(row) else None
                text = row[text_at] if text_at < len(row) else None
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
                reason = f"{err.msg} at column {err.colno}"
                yield _file_failure(path, E_RECORD_JSON.format(reason=reason), number)
                continue
            if not isinstance(data, dict):
                reason = f"a JSON {type(data).__name__}"
                yield _file_failure(path, E_RECORD_JSON.format(reason=reason), number)
                continue
            cols = (text_col, id_col)
            yield _record_item(
                path, number, data.get(id_col), data.get(text_col), cols, max_bytes, done
            )
    if not records:
        yield _file_failure(path, E_EMPTY.format(what="one JSON object a line"))


# --- durable writes ------------------------------------------------------------------------


def _append_durably(handle: IO[bytes], data: bytes) -> int:
    """Append ``data``, fsync, and return the file's new size."""
    handle.write(data)
    handle.flush()
    os.fsync(handle.fileno())
    return handle.tell()


def _open_truncated(path: Path, size: int) -> IO[bytes]:
    """Open ``path`` for appending after cutting it back to ``size`` bytes."""
    path.touch()
    handle = path.open("r+b")
    handle.truncate(size)
    handle.seek(size)
    os.fsync(handle.fileno())
    return handle


def read_commits(out: Path) -> tuple[set[str], dict[str, int]]:
    """The ids and file sizes committed in ``out/done.jsonl``.

    Reading stops at the first line that is torn or unreadable (a run killed while writing
    it); the log is cut back to the lines before it, so later commits append cleanly.
    """
    path = out / DONE_FILE
    done: set[str] = set()
    files: dict[str, int] = {}
    if not path.is_file():
        return done, files
    data = path.read_bytes()
    good = 0
    for line in data.splitlines(keepends=True):
        try:
            entry = json.loads(line) if line.endswith(b"\n") else None
            ids, sizes = list(entry["ids"]), dict(entry["files"])  # type: ignore[index]
        except (ValueError, KeyError, TypeError):
            break
        done.update(ids)
        files.update(sizes)
        good += len(line)
    if good < len(data):
        _open_truncated(path, good).close()
    for name, size in files.items():
        found = (out / name).stat().st_size if (out / name).is_file() else 0
        if found < size:
            raise ConfigError(E_OUT_DAMAGED.format(path=out / name, found=found, expected=size))
    return done, files


# --- output formats ------------------------------------------------------------------------


class Sink:
    """Writes committed chunks of one output format; ``files`` maps each file it wrote
    (relative to ``out``) to its committed size."""

    def __init__(self, out: Path, files: dict[str, int]) -> None:
        self.out = out

    def check(self, doc_id: str) -> str | None:
        """Why ``doc_id`` cannot be written (before annotating it), or None."""
        return None

    def write(self, chunk: list[tuple[Document, Doc]]) -> dict[str, int]:
        """Write a chunk durably; return the files touched and their sizes."""
        raise NotImplementedError

    def close(self) -> None:
        """Finish the output once every chunk is written."""


class JsonlSink(Sink):
    """``annotations.jsonl``, appended to; uncommitted bytes are cut off on resume. Each line
    is a ``Document.to_dict()`` with its ``adverse_drug_events`` summary
    (:func:`clinnlp.events.adverse_drug_events`)."""

    def __init__(self, out: Path, files: dict[str, int]) -> None:
        super().__init__(out, files)
        self.handle = _open_truncated(out / JSONL_FILE, files.get(JSONL_FILE, 0))

    def write(self, chunk: list[tuple[Document, Doc]]) -> dict[str, int]:
        from clinnlp.events import adverse_drug_events

        lines = "".join(
            json.dumps(
                {**d.to_dict(), "adverse_drug_events": adverse_drug_events(d)}, ensure_ascii=False
            )
            + "\n"
            for d, _ in chunk
        )
        return {JSONL_FILE: _append_durably(self.handle, lines.encode("utf-8"))}

    def close(self) -> None:
        self.handle.close()


class HtmlSink(JsonlSink):
    """``annotations.jsonl`` as for jsonl, then ``report.html`` rendered from all of it."""

    def close(self) -> None:
        super().close()
        from clinnlp.report import render_report

        with (self.out / JSONL_FILE).open(encoding="utf-8") as handle:
            docs = [Document.from_dict(json.loads(line)) for line in handle]
        write_atomic(self.out / REPORT_FILE, render_report(docs).encode("utf-8"))


class SpacySink(Sink):
    """``docs/part-NNNNN.spacy``: one DocBin a chunk (``spacy train`` reads the folder)."""

    def __init__(self, out: Path, files: dict[str, int]) -> None:
        super().__init__(out, files)
        folder = out / SPACY_DIR
        folder.mkdir(exist_ok=True)
        for file in folder.iterdir():
            if f"{SPACY_DIR}/{file.name}" not in files:
                file.unlink()  # an uncommitted part or temporary file
        self.parts = sum(1 for name in files if name.startswith(f"{SPACY_DIR}/"))

    def write(self, chunk: list[tuple[Document, Doc]]) -> dict[str, int]:
        from spacy.tokens import DocBin

        name = f"{SPACY_DIR}/part-{self.parts:05d}.spacy"
        data = DocBin(docs=[doc for _, doc in chunk], store_user_data=True).to_bytes()
        write_atomic(self.out / name, data)
        self.parts += 1
        return {name: len(data)}


class BratSink(Sink):
    """``brat/<id>.txt`` and ``.ann`` a document; file names made safe, kept inside ``out``."""

    #: Longest file or folder name (bytes) made from an id: file systems allow 255, and the
    #: names get a suffix and a temporary-file prefix.
    MAX_PART = 200
    #: Longest whole name made from an id, well under the 4096 bytes of a path.
    MAX_NAME = 1000

    def __init__(self, out: Path, files: dict[str, int]) -> None:
        super().__init__(out, files)
        self.root = (out / BRAT_DIR).resolve()
        self.root.mkdir(exist_ok=True)
        for file in sorted(self.root.rglob("*"), reverse=True):  # a folder after its files
            if file.is_file():
                if f"{BRAT_DIR}/{file.relative_to(self.root).as_posix()}" not in files:
                    file.unlink()  # an uncommitted document or temporary file
            elif file.is_dir() and not file.is_symlink() and not any(file.iterdir()):
                file.rmdir()  # an uncommitted document's: it could clash with a file name
        self.names: dict[str, str] = {}  # name (without suffix) -> the id that has it
        self.folders: dict[str, str] = {}  # folder -> the first id whose files are in it
        prefix = f"{BRAT_DIR}/"
        for name in files:
            if name.startswith(prefix) and name.endswith(".txt"):
                self._claim(name[len(prefix) : -len(".txt")], "a document of an earlier run")

    def _claim(self, name: str, doc_id: str) -> None:
        self.names[name] = doc_id
        parts = name.split("/")
        for i in range(1, len(parts)):
            self.folders.setdefault("/".join(parts[:i]), doc_id)

    def check(self, doc_id: str) -> str | None:
        from clinnlp.readers._util import safe_relpath

        name = safe_relpath(doc_id)  # ASCII only: its length is its size in bytes
        parts = name.split("/")
        longest = max(len(part) for part in parts)
        if longest > self.MAX_PART or len(name) > self.MAX_NAME:
            return E_OUT_NAME_LONG.format(
                length=len(name), longest=longest, total=self.MAX_NAME, part=self.MAX_PART
            )
        if not (self.root / f"{name}.txt").resolve().is_relative_to(self.root):
            return E_OUT_ESCAPE.format(out=self.out)
        if name in self.names:
            return E_NAME_CLASH.format(first=self.names[name], second=doc_id)
        # "a" writes the file a.txt, "a.txt/b" needs a folder a.txt: they cannot both exist
        for suffix in (".txt", ".ann"):
            if name + suffix in self.folders:
                return E_OUT_FOLDER_CLASH.format(first=self.folders[name + suffix], second=doc_id)
        for i in range(1, len(parts)):
            folder = "/".join(parts[:i])
            if folder.endswith((".txt", ".ann")) and folder[:-4] in self.names:
                return E_OUT_FOLDER_CLASH.format(first=self.names[folder[:-4]], second=doc_id)
        self._claim(name, doc_id)
        return None

    def write(self, chunk: list[tuple[Document, Doc]]) -> dict[str, int]:
        from clinnlp.readers._util import safe_relpath
        from clinnlp.readers.brat import format_ann

        files: dict[str, int] = {}
        folders = set()
        for document, _ in chunk:
            name = safe_relpath(document.id)
            for suffix, content in ((".txt", document.text), (".ann", format_ann(document))):
                data = content.encode("utf-8")
                target = self.root / f"{name}{suffix}"
                write_atomic(target, data, sync_dir=False)
                folders.add(target.parent)
                files[f"{BRAT_DIR}/{name}{suffix}"] = len(data)
        for folder in folders:
            fsync_dir(folder)
        return files


SINKS: dict[str, type[Sink]] = {
    "jsonl": JsonlSink,
    "html": HtmlSink,
    "spacy": SpacySink,
    "brat": BratSink,
}


# --- the run -------------------------------------------------------------------------------


class _InputFailure(Exception):
    """Carries an exception of the input stream through ``nlp.pipe`` (as its ``__cause__``),
    so that it is not taken for the pipeline's own."""


def _pipeline_failure(err: Exception) -> str:
    """The errors.jsonl reason for a pipeline exception: its type and where it was raised, never
    its message (it may quote the text)."""
    frames = traceback.extract_tb(err.__traceback__)
    where = f"{Path(frames[-1].filename).name}:{frames[-1].lineno}" if frames else "unknown"
    return E_PIPELINE.format(error=type(err).__name__, where=where)


def _prepare_out(out: Path, config: dict[str, Any], force: bool) -> None:
    """Make ``out`` ready: keep it to resume the same run, else refuse or (``force``) clear
    the earlier run's files; then record ``config``."""
    run_file = out / RUN_FILE
    if out.exists() and not out.is_dir():
        raise ConfigError(E_OUT_FILE.format(path=out))
    previous: dict[str, Any] | None = None
    if run_file.is_file():
        try:
            previous = json.loads(run_file.read_text("utf-8"))
        except ValueError:
            previous = {}
    if previous == config and not force:
        return
    if not force:
        if previous is not None:
            keys = sorted(k for k in {*config, *previous} if config.get(k) != previous.get(k))
            raise ConfigError(E_OUT_OTHER_RUN.format(path=out, keys=", ".join(keys)))
        if out.is_dir() and any(out.iterdir()):
            raise ConfigError(E_OUT_NOT_EMPTY.format(path=out))
    for name in OUTPUTS:
        target = out / name
        if target.is_dir() and not target.is_symlink():
            shutil.rmtree(target)
        elif target.exists() or target.is_symlink():
            target.unlink()
    out.mkdir(parents=True, exist_ok=True)
    write_atomic(run_file, (json.dumps(config, indent=2, sort_keys=True) + "\n").encode("utf-8"))


def annotate(
    inputs: Sequence[str | Path],
    out: str | Path,
    *,
    fmt: str = "jsonl",
    model: str | Path | None = None,
    device: str | None = None,
    batch_size: int = 32,
    n_process: int = 1,
    max_bytes: int | None = MAX_DOCUMENT_BYTES,
    text_col: str = "text",
    id_col: str = "id",
    force: bool = False,
    nlp: Language | None = None,
    progress: bool | None = None,
) -> dict[str, Any]:
    """Annotate every input document into ``out`` (see the module docstring for the layout).

    A document that cannot be read (missing, empty, binary, not UTF-8, over ``max_bytes``,
    without id or text, a duplicate id), whose output name cannot be written, or on which the
    pipeline raises, is recorded in ``errors.jsonl`` (on every run) and the run goes on.

    Args:
        inputs: folders, ``.txt``, ``.csv`` and ``.jsonl`` files.
        out: the output folder.
        fmt: ``jsonl``, ``brat``, ``spacy`` or ``html``.
        model: a clinnlp model folder (the default model when omitted).
        device: ``cpu``, ``cuda``...; CUDA when present if omitted.
        batch_size: documents per batch through the pipeline and per commit.
        n_process: worker processes for ``nlp.pipe``.
        max_bytes: larger documents fail (``None``: no limit).
        text_col: text column or key of CSV/JSONL records.
        id_col: id column or key of CSV/JSONL records.
        force: replace the output of an earlier, different run (or start this one afresh).
        nlp: a ready pipeline to use instead of building one from ``model``.
        progress: show a progress bar; by default only when stderr is a terminal.

    Returns:
        ``done`` (annotated now), ``skipped`` (done by an earlier run), ``failed``,
        ``seconds``, ``docs_per_second`` (annotated now / seconds), ``out``, ``errors``.

    Raises:
        ConfigError: an unknown format, an output folder holding other output (without
            ``force``) or overlapping an input.
        InputError: an input that does not exist.
        ModelError: the model folder is missing or incomplete.
    """
    from tqdm import tqdm

    from clinnlp import DEFAULT_MODEL
    from clinnlp.pipeline import build_pipeline, install_extensions, to_document

    if fmt not in FORMATS:
        raise ConfigError(E_ANNOTATE_FORMAT.format(name=fmt, formats=", ".join(FORMATS)))
    if batch_size < 1 or n_process < 1:
        raise ConfigError(E_BATCH_COUNTS.format(batch_size=batch_size, n_process=n_process))
    paths = [Path(p) for p in inputs]
    out = Path(out).resolve()
    for path in paths:
        if not path.exists():
            raise InputError(path, E_NOT_FOUND.format(what="a folder, .txt, .csv or .jsonl file"))
        if path.resolve() == out or path.resolve().is_relative_to(out):
            raise ConfigError(E_OUT_OVERLAP.format(input=path, out=out))
    model_dir = Path(model) if model is not None else DEFAULT_MODEL
    config = {
        "command": "annotate",
        "inputs": [str(p.resolve()) for p in paths],
        "format": fmt,
        "model": str(model_dir.resolve()),
        "text_col": text_col,
        "id_col": id_col,
        "max_bytes": max_bytes,
    }
    if nlp is None:  # before touching --out: a wrong model path must not leave a run behind
        nlp = build_pipeline(model_dir, device=device)
    # spaCy refuses texts over nlp.max_length characters (E088); max_bytes is the limit here
    nlp.max_length = max(nlp.max_length, sys.maxsize if max_bytes is None else max_bytes)
    install_extensions()
    _prepare_out(out, config, force)

    done, files = read_commits(out)
    sink = SINKS[fmt](out, files)
    counts = {"done": 0, "skipped": 0, "failed": 0}
    seen: dict[str, str] = {}
    pending: deque[Item] = deque()
    show = sys.stderr.isatty() if progress is None else progress
    bar = tqdm(desc="annotate", unit="doc", disable=not show, dynamic_ncols=True)

    with (out / ERRORS_FILE).open("wb") as errors, (out / DONE_FILE).open("ab") as log:

        def fail(item: Item, reason: str) -> None:
            counts["failed"] += 1
            record = {"id": item.id, **item.metadata, "reason": reason}
            # backslashreplace: an undecodable byte of a file name stays a JSON \udcxx escape
            line = json.dumps(record, ensure_ascii=False) + "\n"
            _append_durably(errors, line.encode("utf-8", "backslashreplace"))
            logger.debug("%s failed: %s", item.path, reason)
            bar.set_postfix(failed=counts["failed"], refresh=False)

        def texts() -> Iterator[str]:
            items = iter_inputs(
                paths, text_col=text_col, id_col=id_col, max_bytes=max_bytes, done=done, exclude=out
            )
            try:
                for item in items:
                    reason = item.reason
                    if reason is None and item.id in seen:  # before the skip: fails every run
                        reason = E_DUPLICATE_ID.format(first=seen[item.id])
                    elif item.skipped:
                        seen[item.id] = item.path
                        counts["skipped"] += 1
                        continue
                    if reason is None and has_surrogates(item.id + item.path):
                        reason = E_PATH_ENCODING
                    reason = reason or sink.check(item.id)
                    if reason is not None:
                        fail(item, reason)
                        continue
                    seen[item.id] = item.path
                    pending.append(item)
                    yield item.text
            except Exception as err:  # not the pipeline's: annotated() must not retry it
                raise _InputFailure() from err

        def annotated(stream: Iterator[str]) -> Iterator[tuple[Item, Doc]]:
            """Each accepted document with its doc. When the pipeline raises, the documents in
            flight are run again one at a time, those that fail again recorded as failed, and
            the rest of the stream goes through a new ``nlp.pipe``."""
            while True:
                try:
                    for doc in nlp.pipe(stream, batch_size=batch_size, n_process=n_process):
                        yield pending.popleft(), doc
                    return
                except _InputFailure as err:
                    raise (err.__cause__ or err) from None
                except ClinnlpError:
                    raise
                except Exception as err:
                    retry = list(pending)
                    pending.clear()
                    logger.warning(
                        "the pipeline raised %s; running its %d documents in flight one by one",
                        type(err).__name__,
                        len(retry),
                    )
                for item in retry:
                    try:
                        doc = nlp(item.text)
                    except ClinnlpError:
                        raise
                    except Exception as err:
                        fail(item, _pipeline_failure(err))
                        continue
                    yield item, doc

        def commit(part: list[tuple[Document, Doc]]) -> None:
            sizes = sink.write(part)
            ids = [document.id for document, _ in part]
            entry = json.dumps({"ids": ids, "files": sizes}, ensure_ascii=False) + "\n"
            _append_durably(log, entry.encode("utf-8"))
            counts["done"] += len(part)
            bar.update(len(part))

        start = time.perf_counter()
        chunk: list[tuple[Document, Doc]] = []
        for item, doc in annotated(texts()):
            doc._.clinnlp_id = item.id
            chunk.append((to_document(doc, item.id, item.metadata), doc))
            if len(chunk) >= batch_size:
                commit(chunk)
                chunk = []
        if chunk:
            commit(chunk)
        sink.close()
        seconds = time.perf_counter() - start
    bar.close()
    return {
        **counts,
        "seconds": round(seconds, 3),
        "docs_per_second": round(counts["done"] / seconds, 2) if seconds > 0 else 0.0,
        "out": str(out),
        "errors": str(out / ERRORS_FILE),
    }


__all__ = ["FORMATS", "Item", "annotate", "iter_inputs", "read_commits", "write_atomic"]
