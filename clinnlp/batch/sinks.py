"""The output formats of a batch run, each a :class:`Sink` that writes committed chunks
durably into the output folder of :mod:`clinnlp.batch.outdir`.

A sink writes a chunk's files (new files under a temporary name, then ``os.replace``;
``annotations.jsonl`` by appending) and fsyncs them before the run appends the chunk's commit
line; on resume each sink deletes or truncates what no commit line names.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import TYPE_CHECKING

from clinnlp._files import fsync_dir, safe_relpath, write_atomic
from clinnlp.batch.outdir import (
    BRAT_DIR,
    ERRORS_FILE,
    FHIR_FILE,
    FORMAT_OUTPUTS,
    JSONL_FILE,
    PENDING_FILE,
    REPORT_FILE,
    RUN_FILE,
    SPACY_DIR,
    append_durably,
    open_truncated,
    record_pending,
    remove_written,
)
from clinnlp.errors import (
    E_NAME_CLASH,
    E_OUT_ESCAPE,
    E_OUT_FOLDER_CLASH,
    E_OUT_NAME_LONG,
    E_OUT_NOT_OURS,
    ConfigError,
)
from clinnlp.schema import Document

if TYPE_CHECKING:
    from spacy.tokens import Doc

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

    outputs: tuple[str, ...] = FORMAT_OUTPUTS["jsonl"]

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

    outputs = FORMAT_OUTPUTS["html"]

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

    outputs = FORMAT_OUTPUTS["spacy"]
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

    outputs = FORMAT_OUTPUTS["brat"]
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

    outputs: tuple[str, ...] = FORMAT_OUTPUTS["fhir"]

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


__all__ = ["SINKS", "BratSink", "FhirSink", "HtmlSink", "JsonlSink", "Sink", "SpacySink"]
