"""Resuming a local run: after a kill, after a crash between its writes, with workers."""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import pytest
from local_run import (
    LINUX,
    NOTE,
    _children,
    _kill_all,
    _killed_before_the_last_commit,
    _notes,
    _output_ids,
    _processes_of,
    _records,
    _wait_gone,
)

from clinnlp.batch.local import annotate
from clinnlp.batch.outdir import DONE_FILE, JSONL_FILE, read_commits


def test_annotate_resume_skips_done_documents(tiny_model: Path, tmp_path: Path) -> None:
    notes = _notes(tmp_path / "notes", 3)
    annotate([notes], tmp_path / "out", model=tiny_model)
    _notes(notes, 5)  # two new notes appear
    result = annotate([notes], tmp_path / "out", model=tiny_model)
    assert (result["done"], result["skipped"]) == (2, 3)
    assert Counter(d.id for d in _records(tmp_path / "out")) == {
        f"note-{i:03d}": 1 for i in range(5)
    }


@pytest.mark.parametrize("fmt", ["jsonl", "brat", "spacy"])
def test_annotate_recovers_uncommitted_output(
    tiny_model: Path, tmp_path: Path, fmt: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A crash after a chunk's data was written but before its commit line was whole."""
    notes, out = _killed_before_the_last_commit(tiny_model, tmp_path, fmt, monkeypatch)
    if fmt == "jsonl":
        with (out / JSONL_FILE).open("ab") as handle:
            handle.write(b'{"id": "half a line')
    result = annotate([notes], out, model=tiny_model, batch_size=2, fmt=fmt)
    assert (result["done"], result["skipped"]) == (2, 2)
    assert _output_ids(out, fmt) == {f"note-{i:03d}": 1 for i in range(4)}


@LINUX
@pytest.mark.parametrize("n_process", [1, 2])
def test_annotate_resume_after_sigkill(tiny_model: Path, tmp_path: Path, n_process: int) -> None:
    """Really kill a run midway (SIGKILL), at different moments, rerun: every document once,
    and no process of the killed runs left (their nlp.pipe workers die with them)."""
    notes = _notes(tmp_path / "notes", 40, NOTE * 40)
    out = tmp_path / "out"
    args = [str(notes), "--out", str(out), "--model", str(tiny_model), "--batch-size", "2"]
    args += ["--n-process", str(n_process)]
    code = "import sys; from clinnlp.cli import main; sys.argv[0] = 'clinnlp'; main()"
    done_before: set[str] = set()
    try:
        # right after a commit, then at a random moment of the next chunk (often mid-write)
        for delay in (0.0, random.uniform(0.0, 0.3)):
            committed = (out / DONE_FILE).stat().st_size if (out / DONE_FILE).is_file() else 0
            proc = subprocess.Popen(
                [sys.executable, "-c", code, "annotate", *args], stderr=subprocess.DEVNULL
            )
            deadline = time.monotonic() + 120
            while not (
                (out / DONE_FILE).is_file() and (out / DONE_FILE).stat().st_size > committed
            ):
                assert proc.poll() is None and time.monotonic() < deadline, "ended uncommitted"
                time.sleep(0.01)
            time.sleep(delay)
            workers = _children(proc.pid)
            assert len(workers) >= (2 if n_process == 2 else 0)
            os.kill(proc.pid, signal.SIGKILL)
            proc.wait()
            assert not _wait_gone(workers, 10), "workers outlived the killed run"
            done_now, _ = read_commits(out)
            assert done_before <= done_now and 0 < len(done_now) < 40, f"killed after {delay:.3f}s"
            done_before = done_now
        result = annotate([notes], out, model=tiny_model, batch_size=2, n_process=n_process)
        assert result["skipped"] == len(done_before) and result["done"] == 40 - len(done_before)
        assert _output_ids(out, "jsonl") == {f"note-{i:03d}": 1 for i in range(40)}
        assert not _processes_of(str(out))
    finally:
        _kill_all(_processes_of(str(out)))  # orphans of a failed run: never leave them behind


@LINUX
def test_annotate_workers_die_with_killed_parent(tiny_model: Path, tmp_path: Path) -> None:
    """SIGKILL of ``clinnlp annotate --n-process 2`` kills both workers within seconds; the
    same command then completes the run: every note once, and no process left."""
    count = 300
    notes = _notes(tmp_path / "notes", count, NOTE * 20)
    out = tmp_path / "out"
    command = [sys.executable, "-m", "clinnlp", "annotate", str(notes), "--out", str(out)]
    command += ["--model", str(tiny_model), "--batch-size", "4", "--n-process", "2"]
    try:
        proc = subprocess.Popen(command, stderr=subprocess.DEVNULL, stdout=subprocess.DEVNULL)
        deadline = time.monotonic() + 120
        while True:  # until both workers run and a chunk is committed
            workers = _children(proc.pid)
            if len(workers) >= 2 and (out / DONE_FILE).is_file():
                if (out / DONE_FILE).stat().st_size > 0:
                    break
            assert proc.poll() is None and time.monotonic() < deadline, "no workers seen"
            time.sleep(0.01)
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait()
        assert not _wait_gone(workers, 5), "workers outlived their killed parent"
        done, _ = read_commits(out)
        assert 0 < len(done) < count
        rerun = subprocess.run(command, capture_output=True, text=True, timeout=600)
        assert rerun.returncode == 0, rerun.stderr[-2000:]
        assert f"skipped {len(done):,} already done, 0 failed" in rerun.stdout
        assert _output_ids(out, "jsonl") == {f"note-{i:03d}": 1 for i in range(count)}
        assert not _processes_of(str(out))
    finally:
        _kill_all(_processes_of(str(out)))


def test_annotate_killed_right_after_a_commit_line_resumes(tiny_model: Path, tmp_path: Path):
    """SIGKILL the moment a chunk's line reaches done.jsonl: the chunk's annotations were made
    durable before that line, so the same command resumes (no --force) with every document
    once."""
    # short notes: a chunk's lines stay inside one write buffer, so output that is not made
    # durable before its commit line would be lost by the kill
    notes, out = _notes(tmp_path / "notes", 4, "Rash.\n"), tmp_path / "out"
    code = (
        "import os, signal\n"
        "import clinnlp.batch.local as local\n"
        "real = local.append_durably\n"
        "def killing(handle, data):\n"
        "    size = real(handle, data)\n"
        "    if handle.name.endswith('done.jsonl'):\n"
        "        os.kill(os.getpid(), signal.SIGKILL)\n"
        "    return size\n"
        "local.append_durably = killing\n"
        f"local.annotate([{str(notes)!r}], {str(out)!r}, model={str(tiny_model)!r}, batch_size=2)\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, timeout=300)
    assert done.returncode == -signal.SIGKILL, done.stderr[-2000:]
    result = annotate([notes], out, model=tiny_model, batch_size=2)
    assert (result["done"], result["skipped"], result["failed"]) == (2, 2, 0)
    assert _output_ids(out, "jsonl") == {f"note-{i:03d}": 1 for i in range(4)}
