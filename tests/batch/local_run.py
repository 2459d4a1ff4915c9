"""Helpers the local-run tests share: notes to annotate and the run's outputs, read back."""

from __future__ import annotations

import json
import os
import signal
import sys
import time
from collections import Counter
from pathlib import Path

import pytest

from clinnlp.batch.local import annotate
from clinnlp.batch.outdir import DONE_FILE, ERRORS_FILE, JSONL_FILE
from clinnlp.schema import Document

NOTE = "MEDICATIONS: lisinopril 10 mg daily.\nPt developed a rash after starting amoxicillin.\n"


def _notes(folder: Path, count: int, text: str = NOTE) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for i in range(count):
        (folder / f"note-{i:03d}.txt").write_text(f"Note {i}. {text}", "utf-8")
    return folder


def _records(out: Path) -> list[Document]:
    lines = (out / JSONL_FILE).read_text("utf-8").splitlines()
    return [Document.from_dict(json.loads(line)) for line in lines]


def _error_records(out: Path) -> dict[str, dict]:
    lines = (out / ERRORS_FILE).read_text("utf-8").splitlines()
    return {r["id"]: r for r in map(json.loads, lines)}


def _errors(out: Path) -> dict[str, str]:
    return {doc_id: r["reason"] for doc_id, r in _error_records(out).items()}


def _output_ids(out: Path, fmt: str) -> Counter[str]:
    """How many times each document id occurs in the output of ``fmt``."""
    if fmt == "jsonl":
        return Counter(d.id for d in _records(out))
    if fmt == "brat":
        return Counter(
            p.relative_to(out / "brat").with_suffix("").as_posix() for p in out.rglob("*.ann")
        )
    import spacy
    from spacy.tokens import DocBin

    vocab = spacy.blank("en").vocab
    docs = [
        d
        for part in (out / "docs").glob("*.spacy")  # as spaCy's corpus reader walks it
        for d in DocBin().from_disk(part).get_docs(vocab)
    ]
    assert all(ent._.clinnlp_confidence for doc in docs for ent in doc.ents)
    return Counter(doc._.clinnlp_id for doc in docs)


def _killed_before_the_last_commit(
    model: Path, tmp_path: Path, fmt: str, monkeypatch: pytest.MonkeyPatch
) -> tuple[Path, Path]:
    """Notes and the output of a run of 2 chunks killed after writing the second chunk's
    files and before its commit line was whole (its record of those files left in place)."""
    from clinnlp.batch import sinks

    notes, out = _notes(tmp_path / "notes", 4), tmp_path / "out"
    with monkeypatch.context() as patch:
        for sink in (sinks.BratSink, sinks.SpacySink):
            patch.setattr(sink, "committed", lambda self: None)
        annotate([notes], out, model=model, batch_size=2, fmt=fmt)
    log = (out / DONE_FILE).read_bytes().splitlines(keepends=True)
    (out / DONE_FILE).write_bytes(log[0] + log[1][:10])  # the second commit torn
    return notes, out


def _alive(pid: int) -> bool:
    """Whether process ``pid`` runs (a zombie has died: only its exit status is left)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] not in ("Z", "X")


def _children(pid: int) -> set[int]:
    """The live processes whose parent is ``pid`` (read from /proc: Linux only)."""
    found = set()
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(fields[1]) == pid and fields[0] not in ("Z", "X"):
                found.add(int(entry.name))
    return found


def _processes_of(marker: str) -> set[int]:
    """The live processes whose command line holds ``marker`` (a run's --out: its workers are
    forks of it and share its command line)."""
    found = set()
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit() and int(entry.name) != os.getpid():
            try:
                line = (entry / "cmdline").read_bytes()
            except OSError:
                continue
            if marker.encode() in line and _alive(int(entry.name)):
                found.add(int(entry.name))
    return found


def _kill_all(pids: set[int]) -> None:
    for pid in pids:
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass


def _wait_gone(pids: set[int], seconds: float) -> set[int]:
    """The processes of ``pids`` still alive after up to ``seconds``."""
    deadline = time.monotonic() + seconds
    while any(_alive(pid) for pid in pids) and time.monotonic() < deadline:
        time.sleep(0.05)
    return {pid for pid in pids if _alive(pid)}


LINUX = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc")


def _user_files(folder: Path) -> dict[str, bytes]:
    """A folder holding files of the run's output names that clinnlp never wrote."""
    (folder / "docs").mkdir(parents=True)
    (folder / "docs" / "thesis.txt").write_text("my thesis", "utf-8")
    (folder / "brat").mkdir()
    (folder / "brat" / "gold.ann").write_text("T1\tDrug 0 4\tRash", "utf-8")
    (folder / "report.html").write_text("<p>my report</p>", "utf-8")
    (folder / "annotations.jsonl").write_text('{"mine": true}\n', "utf-8")
    (folder / "keep.txt").write_text("mine", "utf-8")
    return _contents(folder)


def _contents(folder: Path) -> dict[str, bytes]:
    return {
        p.relative_to(folder).as_posix(): p.read_bytes()
        for p in sorted(folder.rglob("*"))
        if p.is_file()
    }
