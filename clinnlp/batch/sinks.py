"""The output formats of a batch run, each a :class:`Sink` that writes committed chunks
durably, and the helpers of the commit log (``done.jsonl``).

A sink writes a chunk's files (new files under a temporary name, then ``os.replace``;
``annotations.jsonl`` by appending) and fsyncs them before the run appends the chunk's commit
line; on resume each sink deletes or truncates what no commit line names.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import IO, TYPE_CHECKING

from clinnlp._files import fsync_dir, safe_relpath, temporary_path, write_atomic
from clinnlp.errors import (
    E_NAME_CLASH,
    E_OUT_DAMAGED,
    E_OUT_ESCAPE,
    E_OUT_FOLDER_CLASH,
    E_OUT_NAME_LONG,
    E_OUT_NOT_OURS,
    ConfigError,
)
from clinnlp.schema import Document

if TYPE_CHECKING:
    from spacy.tokens import Doc

FORMATS = ("jsonl", "brat", "spacy", "html", "fhir")
RUN_FILE = "run.json"
DONE_FILE = "done.jsonl"
ERRORS_FILE = "errors.jsonl"
JSONL_FILE = "annotations.jsonl"
FHIR_FILE = "fhir.ndjson"
REPORT_FILE = "report.html"
BRAT_DIR = "brat"
SPACY_DIR = "docs"
#: In a folder output (``brat/``, ``docs/``): the names of the chunk being written, recorded
#: before its files, so that a resumed or ``--force`` run deletes the uncommitted files it
#: wrote and nothing else. Hidden (spaCy and BRAT skip it); brat names end in .txt or .ann.
PENDING_FILE = ".clinnlp-uncommitted.json"
#: Every name a run may write in the output folder. ``--force`` removes those an earlier run
#: recorded in its ``run.json`` (:attr:`Sink.outputs` and the run's own files), no others.
OUTPUTS = (
    RUN_FILE,
    DONE_FILE,
    ERRORS_FILE,
    JSONL_FILE,
    REPORT_FILE,
    BRAT_DIR,
    SPACY_DIR,
    FHIR_FILE,
)
#: The outputs that are folders: clinnlp removes only the files it wrote in them.
FOLDERS = (BRAT_DIR, SPACY_DIR)


# --- durable writes ------------------------------------------------------------------------


def append_durably(handle: IO[bytes], data: bytes) -> int:
    """Append ``data``, fsync, and return the file's new size."""
    handle.write(data)
    handle.flush()
    os.fsync(handle.fileno())
    return handle.tell()


def open_truncated(path: Path, size: int) -> IO[bytes]:
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
        open_truncated(path, good).close()
    for name, size in files.items():
        found = (out / name).stat().st_size if (out / name).is_file() else 0
        if found < size:
            raise ConfigError(E_OUT_DAMAGED.format(path=out / name, found=found, expected=size))
    return done, files


def folder_written(out: Path, folder: str, files: dict[str, int]) -> list[Path]:
    """The files under ``out/folder`` that clinnlp wrote: committed ones (``files``) and the
    uncommitted chunk's recorded in its :data:`PENDING_FILE`, with their temporary files."""
    pending = out / folder / PENDING_FILE
    names = [n for n in files if n.startswith(f"{folder}/")]
    try:
        names += [f"{folder}/{n}" for n in json.loads(pending.read_text("utf-8"))]
    except (OSError, ValueError, TypeError):
        pass  # none recorded (or torn while written: then none of its files was written)
    paths = [out / n for n in names]
    temporary = [temporary_path(p) for p in (*paths, pending)]
    return [*paths, *temporary, pending]  # the record last


def remove_written(out: Path, folder: str, files: dict[str, int], keep: set[str]) -> None:
    """Delete what :func:`folder_written` names except the ``keep`` names (relative to
    ``out``), then the folders that removal left empty under ``out/folder``, and never
    anything else: a file of the user's in the folder stays, and so does the folder."""
    root = out / folder
    emptied: set[Path] = set()
    for path in folder_written(out, folder, files):
        if path.relative_to(out).as_posix() in keep or not path.is_file():
            continue
        if any(p.is_symlink() for p in (path, *path.parents) if p.is_relative_to(root)):
            continue  # nothing is deleted through a link, whatever it points to
        path.unlink()
        emptied.update(p for p in path.parents if p.is_relative_to(root))
    for path in sorted(emptied, key=lambda p: len(p.parts), reverse=True):
        if path.is_dir() and not path.is_symlink() and not any(path.iterdir()):
            path.rmdir()


def record_pending(out: Path, folder: str, names: list[str]) -> None:
    """Record the names (relative to ``out/folder``) of the files about to be written."""
    write_atomic(out / folder / PENDING_FILE, json.dumps(names, ensure_ascii=False).encode())


# --- output formats ------------------------------------------------------------------------


class Sink:
    """Writes committed chunks of one output format; ``files`` maps each file it wrote
    (relative to ``out``) to its committed size."""

    #: The files and folders of ``out`` this format writes (recorded in ``run.json``).
    outputs: tuple[str, ...] = ()
    #: The folder of :data:`FOLDERS` this format writes its files in, if any.
    folder: str | None = None

    def __init__(self, out: Path, files: dict[str, int]) -> None:
        self.out = out

    def check(self, doc_id: str) -> str | None:
        """Why ``doc_id`` cannot be written (before annotating it), or None."""
        return None

    def write(self, chunk: list[tuple[Document, Doc | None]]) -> dict[str, int]:
        """Write a chunk durably; return the files touched and their sizes."""
        raise NotImplementedError

    def committed(self) -> None:
        """The chunk just written is committed (its line is in ``done.jsonl``): its record of
        uncommitted files goes."""
        if self.folder is not None:
            (self.out / self.folder / PENDING_FILE).unlink(missing_ok=True)

    def close(self) -> None:
        """Finish the output once every chunk is written."""


class JsonlSink(Sink):
    """``annotations.jsonl``, appended to; uncommitted bytes are cut off on resume. Each line
    is a ``Document.to_dict()`` with its ``adverse_drug_events`` summary
    (:func:`clinnlp.events.adverse_drug_events`)."""

    outputs: tuple[str, ...] = (JSONL_FILE,)

    def __init__(self, out: Path, files: dict[str, int]) -> None:
        super().__init__(out, files)
        self.handle = open_truncated(out / JSONL_FILE, files.get(JSONL_FILE, 0))

    def write(self, chunk: list[tuple[Document, Doc | None]]) -> dict[str, int]:
        from clinnlp.events import adverse_drug_events

        lines = "".join(
            json.dumps(
                {**d.to_dict(), "adverse_drug_events": adverse_drug_events(d)}, ensure_ascii=False
            )
            + "\n"
            for d, _ in chunk
        )
        return {JSONL_FILE: append_durably(self.handle, lines.encode("utf-8"))}

    def close(self) -> None:
        self.handle.close()


class HtmlSink(JsonlSink):
    """``annotations.jsonl`` as for jsonl, then ``report.html`` rendered from all of it."""

    outputs = (JSONL_FILE, REPORT_FILE)

    def close(self) -> None:
        super().close()
        from clinnlp.batch.report import render_report

        with (self.out / JSONL_FILE).open(encoding="utf-8") as handle:
            docs = [Document.from_dict(json.loads(line)) for line in handle]
        failed = (self.out / ERRORS_FILE).read_bytes().count(b"\n")  # this run's failures
        try:
            run = json.loads((self.out / RUN_FILE).read_text("utf-8"))
        except (OSError, ValueError):
            run = {}
        concepts = run.get("knowledge_bases") if isinstance(run, dict) else None
        notes = [f"Concepts: {concepts}"] if isinstance(concepts, str) else []
        page = render_report(docs, failed=failed, notes=notes)
        write_atomic(self.out / REPORT_FILE, page.encode("utf-8"))


class SpacySink(Sink):
    """``docs/part-NNNNN.spacy``: one DocBin a chunk (``spacy train`` reads the folder)."""

    outputs = (SPACY_DIR,)
    folder = SPACY_DIR

    def __init__(self, out: Path, files: dict[str, int]) -> None:
        super().__init__(out, files)
        (out / SPACY_DIR).mkdir(exist_ok=True)
        remove_written(out, SPACY_DIR, files, keep=set(files))  # an uncommitted part
        self.parts = sum(1 for name in files if name.startswith(f"{SPACY_DIR}/"))

    def write(self, chunk: list[tuple[Document, Doc | None]]) -> dict[str, int]:
        from spacy.tokens import DocBin

        name = f"{SPACY_DIR}/part-{self.parts:05d}.spacy"
        if os.path.lexists(self.out / name):  # not clinnlp's: every part it wrote is committed
            raise ConfigError(E_OUT_NOT_OURS.format(path=self.out / name))
        docs = [doc for _, doc in chunk if doc is not None]  # the Spark engine is refused
        data = DocBin(docs=docs, store_user_data=True).to_bytes()
        record_pending(self.out, SPACY_DIR, [name[len(SPACY_DIR) + 1 :]])
        write_atomic(self.out / name, data)
        self.parts += 1
        return {name: len(data)}


class BratSink(Sink):
    """``brat/<id>.txt`` and ``.ann`` a document; file names made safe (UTF-8 letters and
    digits kept: :func:`clinnlp._files.safe_relpath`), unique, and kept inside ``out``."""

    outputs = (BRAT_DIR,)
    folder = BRAT_DIR

    #: Longest file or folder name (bytes) made from an id: file systems allow 255, and the
    #: names get a suffix and a temporary-file prefix.
    MAX_PART = 200
    #: Longest whole name made from an id, well under the 4096 bytes of a path.
    MAX_NAME = 1000

    def __init__(self, out: Path, files: dict[str, int]) -> None:
        super().__init__(out, files)
        self.root = (out / BRAT_DIR).resolve()
        self.root.mkdir(exist_ok=True)
        remove_written(out, BRAT_DIR, files, keep=set(files))  # an uncommitted chunk's
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
        name = safe_relpath(doc_id)
        parts = name.split("/")
        # file systems limit bytes, not characters: a letter may take up to 4 in UTF-8
        longest = max(len(part.encode("utf-8")) for part in parts)
        size = len(name.encode("utf-8"))
        if longest > self.MAX_PART or size > self.MAX_NAME:
            return E_OUT_NAME_LONG.format(
                length=size, longest=longest, total=self.MAX_NAME, part=self.MAX_PART
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
        # every file clinnlp wrote here is committed now: anything in the way is not its own
        for i in range(1, len(parts)):  # a folder the document's files go in
            folder = "/".join(parts[:i])
            if os.path.lexists(self.root / folder) and not (self.root / folder).is_dir():
                return E_OUT_NOT_OURS.format(path=f"{BRAT_DIR}/{folder}")
        for suffix in (".txt", ".ann"):
            if os.path.lexists(self.root / f"{name}{suffix}"):
                return E_OUT_NOT_OURS.format(path=f"{BRAT_DIR}/{name}{suffix}")
        self._claim(name, doc_id)
        return None

    def write(self, chunk: list[tuple[Document, Doc | None]]) -> dict[str, int]:
        from clinnlp.readers.brat import format_ann

        files: dict[str, int] = {}
        folders = set()
        names = [safe_relpath(document.id) for document, _ in chunk]
        record_pending(self.out, BRAT_DIR, [f"{n}{s}" for n in names for s in (".txt", ".ann")])
        for name, (document, _) in zip(names, chunk, strict=True):
            for suffix, content in ((".txt", document.text), (".ann", format_ann(document))):
                data = content.encode("utf-8")
                target = self.root / f"{name}{suffix}"
                write_atomic(target, data, sync_dir=False)
                folders.add(target.parent)
                files[f"{BRAT_DIR}/{name}{suffix}"] = len(data)
        for folder in folders:
            fsync_dir(folder)
        return files


class FhirSink(Sink):
    """``fhir.ndjson``: one FHIR R4 Bundle of AdverseEvent resources a note and a line
    (:func:`clinnlp.batch.fhir.adverse_event_bundle`), each validated before it is written;
    appended to, uncommitted bytes cut off on resume."""

    outputs: tuple[str, ...] = (FHIR_FILE,)

    def __init__(self, out: Path, files: dict[str, int]) -> None:
        super().__init__(out, files)
        self.handle = open_truncated(out / FHIR_FILE, files.get(FHIR_FILE, 0))

    def write(self, chunk: list[tuple[Document, Doc | None]]) -> dict[str, int]:
        from clinnlp.batch.fhir import adverse_event_bundle, validate_bundle

        lines = []
        for document, _ in chunk:
            bundle = adverse_event_bundle(document)
            validate_bundle(bundle)
            lines.append(json.dumps(bundle, ensure_ascii=False) + "\n")
        return {FHIR_FILE: append_durably(self.handle, "".join(lines).encode("utf-8"))}

    def close(self) -> None:
        self.handle.close()


SINKS: dict[str, type[Sink]] = {
    "jsonl": JsonlSink,
    "fhir": FhirSink,
    "html": HtmlSink,
    "spacy": SpacySink,
    "brat": BratSink,
}


__all__ = [
    "FOLDERS",
    "FORMATS",
    "OUTPUTS",
    "SINKS",
    "BratSink",
    "FhirSink",
    "HtmlSink",
    "JsonlSink",
    "Sink",
    "SpacySink",
    "append_durably",
    "folder_written",
    "open_truncated",
    "read_commits",
    "remove_written",
]
