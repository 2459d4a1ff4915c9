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

import csv
import json
import logging
import os
import shutil
import sys
import time
from collections import deque
from collections.abc import Container, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any

from clinnlp.errors import (
    E_ANNOTATE_FORMAT,
    E_BINARY,
    E_COLUMN,
    E_CSV_ENCODING,
    E_DUPLICATE_ID,
    E_EMPTY,
    E_ENCODING,
    E_NAME_CLASH,
    E_NOT_FOUND,
    E_OUT_DAMAGED,
    E_OUT_ESCAPE,
    E_OUT_NOT_EMPTY,
    E_OUT_OTHER_RUN,
    E_OUT_OVERLAP,
    E_RECORD_ID,
    E_RECORD_JSON,
    E_RECORD_TEXT,
    E_TOO_LARGE,
    ConfigError,
    InputError,
)
from clinnlp.readers.textfile import MAX_DOCUMENT_BYTES, read_text
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
            for file in sorted(path.rglob("*.txt")):
                if file.is_file() and not (exclude and file.resolve().is_relative_to(exclude)):
                    doc_id = file.relative_to(path).with_suffix("").as_posix()
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


def _text_problem(text: str, max_bytes: int | None) -> str | None:
    """Why a record's text cannot be annotated (the checks of ``read_text``), or None."""
    if not text.strip():
        return E_EMPTY.format(what="text")
    if "\x00" in text:
        return E_BINARY.format(offset=text.index("\x00"))
    size = len(text.encode("utf-8"))
    if max_bytes is not None and size > max_bytes:
        return E_TOO_LARGE.format(size=size, limit=max_bytes)
    return None


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
    if not doc_id:
        return Item(
            f"{path.name}:{line}", str(path), line=line, reason=E_RECORD_ID.format(column=id_col)
        )
    if doc_id in done:
        return Item(doc_id, str(path), line=line, skipped=True)
    if not isinstance(text, str):
        found = "missing" if text is None else f"a {type(text).__name__}"
        return Item(
            doc_id, str(path), line=line, reason=E_RECORD_TEXT.format(column=text_col, found=found)
        )
    return Item(doc_id, str(path), text, line, _text_problem(text, max_bytes))


def _file_failure(path: Path, reason: str, line: int | None = None) -> Item:
    return Item(
        path.name if line is None else f"{path.name}:{line}", str(path), line=line, reason=reason
    )


def _csv_items(
    path: Path, text_col: str, id_col: str, max_bytes: int | None, done: Container[str]
) -> Iterator[Item]:
    csv.field_size_limit(min(sys.maxsize, 2**31 - 1))  # clinical notes exceed the 128 KiB default
    line = 0
    try:
        with path.open(encoding="utf-8-sig", newline="") as handle:
            reader = csv.DictReader(handle)
            fields = reader.fieldnames
            if not fields:
                yield _file_failure(path, E_EMPTY.format(what="a header row and records"))
                return
            for column, option in ((text_col, "--text-col"), (id_col, "--id-col")):
                if column not in fields:
                    found = ", ".join(fields)
                    yield _file_failure(
                        path, E_COLUMN.format(column=column, found=found, option=option)
                    )
                    return
            for row in reader:
                line = reader.line_num
                yield _record_item(
                    path, line, row[id_col], row[text_col], (text_col, id_col), max_bytes, done
                )
    except OSError as err:
        yield _file_failure(path, f"cannot be read ({err.strerror or type(err).__name__})")
    except UnicodeDecodeError:
        yield _file_failure(path, E_CSV_ENCODING.format(line=line), line or None)
    except csv.Error as err:
        yield _file_failure(path, f"is not valid CSV ({err})", line or None)


def _jsonl_items(
    path: Path, text_col: str, id_col: str, max_bytes: int | None, done: Container[str]
) -> Iterator[Item]:
    try:
        handle = path.open("rb")
    except OSError as err:
        yield _file_failure(path, f"cannot be read ({err.strerror or type(err).__name__})")
        return
    records = 0
    with handle:
        for number, raw in enumerate(handle, 1):
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


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def write_atomic(path: Path, data: bytes, sync_dir: bool = True) -> None:
    """Replace ``path`` with ``data`` all at once: a temporary file, fsync, ``os.replace``."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp")
    with tmp.open("wb") as handle:
        handle.write(data)
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(tmp, path)
    if sync_dir:
        _fsync_dir(path.parent)


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
    """``annotations.jsonl``, appended to; uncommitted bytes are cut off on resume."""

    def __init__(self, out: Path, files: dict[str, int]) -> None:
        super().__init__(out, files)
        self.handle = _open_truncated(out / JSONL_FILE, files.get(JSONL_FILE, 0))

    def write(self, chunk: list[tuple[Document, Doc]]) -> dict[str, int]:
        lines = "".join(json.dumps(d.to_dict(), ensure_ascii=False) + "\n" for d, _ in chunk)
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

    def __init__(self, out: Path, files: dict[str, int]) -> None:
        super().__init__(out, files)
        self.root = (out / BRAT_DIR).resolve()
        self.root.mkdir(exist_ok=True)
        for file in self.root.rglob("*"):
            if (
                file.is_file()
                and f"{BRAT_DIR}/{file.relative_to(self.root).as_posix()}" not in files
            ):
                file.unlink()
        prefix = f"{BRAT_DIR}/"
        self.names = {
            name[len(prefix) : -len(".txt")]: "a document of an earlier run"
            for name in files
            if name.startswith(prefix) and name.endswith(".txt")
        }

    def check(self, doc_id: str) -> str | None:
        from clinnlp.readers._util import safe_relpath

        name = safe_relpath(doc_id)
        if not (self.root / f"{name}.txt").resolve().is_relative_to(self.root):
            return E_OUT_ESCAPE.format(out=self.out)
        if name in self.names:
            return E_NAME_CLASH.format(first=self.names[name], second=doc_id)
        self.names[name] = doc_id
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
            _fsync_dir(folder)
        return files


SINKS: dict[str, type[Sink]] = {
    "jsonl": JsonlSink,
    "html": HtmlSink,
    "spacy": SpacySink,
    "brat": BratSink,
}


# --- the run -------------------------------------------------------------------------------


def _prepare_out(out: Path, config: dict[str, Any], force: bool) -> None:
    """Make ``out`` ready: keep it to resume the same run, else refuse or (``force``) clear
    the earlier run's files; then record ``config``."""
    run_file = out / RUN_FILE
    if out.exists() and not out.is_dir():
        raise ConfigError(f"{out} is a file; --out must be a folder")
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
    without id or text, a duplicate id) is recorded in ``errors.jsonl`` and the run goes on.

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
        raise ConfigError(
            f"batch size and process count must be at least 1, not {batch_size}, {n_process}"
        )
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
    nlp.max_length = max(nlp.max_length, max_bytes or 0)
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
            _append_durably(errors, (json.dumps(record, ensure_ascii=False) + "\n").encode())
            logger.debug("%s failed: %s", item.path, reason)
            bar.set_postfix(failed=counts["failed"], refresh=False)

        def texts() -> Iterator[str]:
            items = iter_inputs(
                paths, text_col=text_col, id_col=id_col, max_bytes=max_bytes, done=done, exclude=out
            )
            for item in items:
                if item.skipped:
                    counts["skipped"] += 1
                    continue
                reason = item.reason
                if reason is None and item.id in seen:
                    reason = E_DUPLICATE_ID.format(first=seen[item.id])
                reason = reason or sink.check(item.id)
                if reason is not None:
                    fail(item, reason)
                    continue
                seen[item.id] = item.path
                pending.append(item)
                yield item.text

        def commit(part: list[tuple[Document, Doc]]) -> None:
            sizes = sink.write(part)
            ids = [document.id for document, _ in part]
            entry = json.dumps({"ids": ids, "files": sizes}, ensure_ascii=False) + "\n"
            _append_durably(log, entry.encode("utf-8"))
            counts["done"] += len(part)
            bar.update(len(part))

        start = time.perf_counter()
        chunk: list[tuple[Document, Doc]] = []
        for doc in nlp.pipe(texts(), batch_size=batch_size, n_process=n_process):
            item = pending.popleft()
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
