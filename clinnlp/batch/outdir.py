"""The output folder of a batch run (``--out``), owned here: its names, the commit log, what a
run records, how it is prepared, resumed and replaced.

The output folder (``--out``) holds::

    run.json            the run's configuration: the same command again resumes
    done.jsonl          the commit log: a line {"ids": [...], "files": {name: size}} per chunk
    errors.jsonl        documents that failed in the latest run: id, path, line, reason
    annotations.jsonl   jsonl and html formats: one Document.to_dict() a line
    report.html         html format: the displaCy report of clinnlp.batch.report
    brat/<id>.txt|.ann  brat format
    docs/part-NNNNN.spacy  spacy format: one DocBin a chunk (user data kept)

Resume and atomicity: documents are committed in chunks of ``batch_size``. A chunk's output is
written and fsync'd first (new files under a temporary name, then ``os.replace``;
``annotations.jsonl`` by appending), then one line naming its ids and the size of every file
it touched is appended to ``done.jsonl`` and fsync'd: that line is the commit. A run killed at
any moment leaves at most one uncommitted chunk (and possibly a torn last log line). The next
run with the same configuration drops the torn line, truncates the data files to their
committed sizes, deletes the uncommitted files it wrote and skips every id in the log: no
document is written twice and none that was reported done is lost. In ``brat/`` and ``docs/`` a
chunk's file names are recorded (``.clinnlp-uncommitted.json``, removed once the chunk is
committed) before its files are written, so what is deleted there is only what clinnlp wrote:
files of the user's own in those folders stay, and a document whose file name is taken by one
fails in errors.jsonl.

What is never touched: ``run.json`` records the outputs the run writes (``"outputs"``), and
``--force`` removes only the outputs an earlier run recorded there (in a folder output,
only the files that run wrote). A file or folder of an
output name that no ``run.json`` claims (the user's own ``docs/``, say) is refused even with
``--force``, and an output name that is a symbolic link is always refused: nothing is
written or deleted through a link. ``--out`` itself may be a link (it is resolved once).
"""

from __future__ import annotations

import json
import os
from collections.abc import Sequence
from pathlib import Path
from typing import IO, Any

from clinnlp._files import temporary_path, write_atomic
from clinnlp.errors import (
    E_OUT_DAMAGED,
    E_OUT_FILE,
    E_OUT_LINK,
    E_OUT_NOT_EMPTY,
    E_OUT_OTHER_RUN,
    E_OUT_UNCLAIMED,
    ConfigError,
)

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


#: The files and folders of the output folder each format writes.
FORMAT_OUTPUTS: dict[str, tuple[str, ...]] = {
    "jsonl": (JSONL_FILE,),
    "fhir": (FHIR_FILE,),
    "html": (JSONL_FILE, REPORT_FILE),
    "spacy": (SPACY_DIR,),
    "brat": (BRAT_DIR,),
}
FORMATS = tuple(FORMAT_OUTPUTS)


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


def read_commits(out: Path, repair: bool = True) -> tuple[set[str], dict[str, int]]:
    """The ids and file sizes committed in ``out/done.jsonl`` (the one reader of the log).

    Reading stops at the first line that is torn or unreadable (a run killed while writing
    it). With ``repair`` (a run about to resume) the log is cut back to the lines before it,
    so later commits append cleanly, and every committed file must still be as long as the
    log says; without (``--force`` about to remove what the run wrote) nothing is cut or
    checked, and an unreadable log reads as empty.
    """
    path = out / DONE_FILE
    done: set[str] = set()
    files: dict[str, int] = {}
    try:
        data = path.read_bytes()
    except OSError:
        return done, files
    good = 0
    for line in data.splitlines(keepends=True):
        try:
            entry = json.loads(line) if line.endswith(b"\n") else None
            ids = [str(i) for i in entry["ids"]]  # type: ignore[index]
            sizes = {str(k): int(v) for k, v in entry["files"].items()}  # type: ignore[index]
        except (ValueError, KeyError, TypeError, AttributeError):
            break
        done.update(ids)
        files.update(sizes)
        good += len(line)
    if not repair:
        return done, files
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


# --- the run's record and its outputs ------------------------------------------------


def run_outputs(fmt: str) -> list[str]:
    """The files and folders of ``--out`` that a run of format ``fmt`` writes."""
    return sorted({RUN_FILE, DONE_FILE, ERRORS_FILE, *FORMAT_OUTPUTS[fmt]})


def read_run(run_file: Path) -> dict[str, Any] | None:
    """The run recorded in ``run_file``: None when there is none, ``{}`` when it is no clinnlp
    run's (unreadable, or not ``clinnlp annotate``'s)."""
    if not run_file.is_file():
        return None
    try:
        previous = json.loads(run_file.read_text("utf-8"))
    except (OSError, ValueError):
        return {}
    if not isinstance(previous, dict) or previous.get("command") != "annotate":
        return {}
    if "outputs" not in previous and previous.get("format") in FORMAT_OUTPUTS:
        # a run.json of the first clinnlp 0.1.0 recorded no outputs: those of its format
        previous["outputs"] = run_outputs(previous["format"])
    return previous


def prepare_out(out: Path, config: dict[str, Any], force: bool) -> None:
    """Make ``out`` ready: keep it to resume the same run, else refuse or (``force``) remove
    what the earlier run recorded in its ``run.json``; then record ``config``.

    Nothing clinnlp did not write is ever removed or written over: a file or folder of the
    run's output names that no ``run.json`` claims is refused even with ``force``, and so is
    a link among the names it would write or remove (nothing is written or deleted through
    a link).
    """
    if out.exists() and not out.is_dir():
        raise ConfigError(E_OUT_FILE.format(path=out))
    previous = read_run(out / RUN_FILE)
    outputs = (previous or {}).get("outputs")
    claimed = {n for n in outputs if n in OUTPUTS} if isinstance(outputs, list) else set()
    for name in sorted({*config["outputs"], *claimed}):  # what this run writes or removes
        if (out / name).is_symlink():
            raise ConfigError(E_OUT_LINK.format(path=out / name))
    if previous == config and not force:
        return
    for name in config["outputs"]:
        if (out / name).exists() and name not in claimed:
            raise ConfigError(E_OUT_UNCLAIMED.format(path=out / name, run_file=RUN_FILE))
    if not force:
        if previous is not None:
            keys = sorted(k for k in {*config, *previous} if config.get(k) != previous.get(k))
            raise ConfigError(E_OUT_OTHER_RUN.format(path=out, keys=", ".join(keys)))
        if out.is_dir() and any(out.iterdir()):
            raise ConfigError(E_OUT_NOT_EMPTY.format(path=out))
    remove_outputs(out, sorted(claimed), read_commits(out, repair=False)[1] if claimed else {})
    out.mkdir(parents=True, exist_ok=True)
    write_atomic(
        out / RUN_FILE, (json.dumps(config, indent=2, sort_keys=True) + "\n").encode("utf-8")
    )


def remove_outputs(out: Path, names: Sequence[str], written: dict[str, int]) -> None:
    """Remove the output files ``names`` of ``out`` and, in its output folders, the files a run
    wrote there (``written``: the committed ones; the pending ones are found by
    :func:`remove_written`), then those folders if that emptied them.
    Nothing is removed through a link, and the user's own files in the folders stay."""
    for name in names:
        target = out / name
        if target.is_symlink():
            continue
        if name in FOLDERS and target.is_dir():
            remove_written(out, name, written, keep=set())
            if not any(target.iterdir()):
                target.rmdir()
        elif target.is_file():
            target.unlink()


__all__ = [
    "DONE_FILE",
    "ERRORS_FILE",
    "FOLDERS",
    "FORMATS",
    "FORMAT_OUTPUTS",
    "JSONL_FILE",
    "OUTPUTS",
    "PENDING_FILE",
    "RUN_FILE",
    "append_durably",
    "folder_written",
    "open_truncated",
    "prepare_out",
    "read_commits",
    "read_run",
    "record_pending",
    "remove_outputs",
    "remove_written",
    "run_outputs",
]
