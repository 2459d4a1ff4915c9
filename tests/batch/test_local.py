"""The local run (``clinnlp annotate``): inputs, resume after a kill, bad documents, safe output
names."""

from __future__ import annotations

import json
import os
import random
import shutil
import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import pytest
from spacy.language import Language
from spacy.tokens import Doc
from typer.testing import CliRunner

from clinnlp.batch.local import annotate
from clinnlp.batch.outdir import DONE_FILE, ERRORS_FILE, JSONL_FILE, PENDING_FILE, read_commits
from clinnlp.cli import app
from clinnlp.errors import ConfigError, InputError
from clinnlp.schema import Document, validate

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


def test_annotate_jsonl_writes_every_document(tiny_model: Path, tmp_path: Path) -> None:
    notes = _notes(tmp_path / "notes", 5)
    (notes / "sub").mkdir()
    (notes / "sub" / "deep.txt").write_text(NOTE, "utf-8")
    (notes / "ignored.md").write_text(NOTE, "utf-8")
    result = annotate([notes], tmp_path / "out", model=tiny_model, batch_size=2)
    assert (result["done"], result["skipped"], result["failed"]) == (6, 0, 0)
    docs = _records(tmp_path / "out")
    assert sorted(d.id for d in docs) == [*(f"note-{i:03d}" for i in range(5)), "sub/deep"]
    for doc in docs:
        assert validate(doc) == [] and doc.metadata["path"].endswith(".txt")
        assert all(0 < e.attributes["confidence"] <= 1 for e in doc.entities)
    done, _ = read_commits(tmp_path / "out")
    assert done == {d.id for d in docs}


def test_annotate_resume_skips_done_documents(tiny_model: Path, tmp_path: Path) -> None:
    notes = _notes(tmp_path / "notes", 3)
    annotate([notes], tmp_path / "out", model=tiny_model)
    _notes(notes, 5)  # two new notes appear
    result = annotate([notes], tmp_path / "out", model=tiny_model)
    assert (result["done"], result["skipped"]) == (2, 3)
    assert Counter(d.id for d in _records(tmp_path / "out")) == {
        f"note-{i:03d}": 1 for i in range(5)
    }


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


def test_annotate_bad_documents_recorded(tiny_model: Path, tmp_path: Path) -> None:
    notes = _notes(tmp_path / "notes", 2)
    (notes / "empty.txt").write_bytes(b"  \n")
    (notes / "binary.txt").write_bytes(b"abc\x00def")
    (notes / "latin1.txt").write_bytes("fi\xe8vre".encode("latin-1"))
    (notes / "big.txt").write_text("x" * 5000, "utf-8")
    table = tmp_path / "notes.csv"
    table.write_text(
        'id,text\nc1,"A note, with a comma."\n,no id here\nnote-000,duplicate id\nc2, \n',
        "utf-8",
    )
    lines = tmp_path / "notes.jsonl"
    lines.write_text(
        '{"id": 7, "text": "An int id."}\n{bad json\n[1, 2]\n{"id": "j3"}\n'
        '{"id": "j5", "text": 5}\n{"id": "j6", "text": "a\tb"}\n',
        "utf-8",
    )
    result = annotate([notes, table, lines], tmp_path / "out", model=tiny_model, max_bytes=1000)
    errors = _errors(tmp_path / "out")
    assert (result["done"], result["failed"]) == (4, len(errors))
    assert "empty" in errors["empty"] and "binary" in errors["binary"]
    assert "UTF-8 at byte 2" in errors["latin1"] and "over the limit of 1000" in errors["big"]
    assert "no id" in errors["notes.csv:3"] and "already used" in errors["note-000"]
    assert "not a JSON object (Expecting property name" in errors["notes.jsonl:2"]
    assert "a JSON array" in errors["notes.jsonl:3"] and "'text' is missing" in errors["j3"]
    assert "'text' is a JSON number; expected a string" in errors["j5"]
    assert "Invalid control character, column" in errors["notes.jsonl:6"]
    assert "'text' is empty or only spaces" in errors["c2"]
    assert sorted(d.id for d in _records(tmp_path / "out")) == ["7", "c1", "note-000", "note-001"]
    assert "A note" not in (tmp_path / "out" / ERRORS_FILE).read_text("utf-8")


def test_annotate_csv_columns(tiny_model: Path, tmp_path: Path) -> None:
    table = tmp_path / "notes.csv"
    table.write_text("mrn,note\n1,Rash after amoxicillin.\n2,Denies nausea.\n", "utf-8")
    result = annotate([table], tmp_path / "out", model=tiny_model, text_col="note", id_col="mrn")
    assert result["done"] == 2
    assert [d.metadata["line"] for d in _records(tmp_path / "out")] == [2, 3]
    result = annotate([table], tmp_path / "other", model=tiny_model)
    assert result["failed"] == 1 and "no column 'text'" in _errors(tmp_path / "other")["notes.csv"]


def test_annotate_names_cannot_escape_out(
    tiny_model: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    work = tmp_path / "a" / "b"
    work.mkdir(parents=True)
    (tmp_path / "x.txt").write_text(NOTE, "utf-8")
    table = tmp_path / "ids.csv"
    ids = ["../../evil", "/etc/passwd", "a/../../../b", "..", "ok/sub", "c:\\win"]
    table.write_text("id,text\n" + "".join(f'"{i}",{NOTE.splitlines()[0]}\n' for i in ids), "utf-8")
    monkeypatch.chdir(work)
    out = tmp_path / "out"
    before = {p for p in tmp_path.rglob("*") if p.is_file()}
    result = annotate([Path("../../x.txt"), table], out, model=tiny_model, fmt="brat")
    assert result["done"] == len(ids) + 1
    written = {p for p in tmp_path.rglob("*") if p.is_file()} - before
    assert written and all(p.resolve().is_relative_to(out.resolve()) for p in written)
    assert (out / "brat" / "x.txt").read_text("utf-8") == NOTE
    assert not (tmp_path / "evil.txt").exists() and (out / "brat" / "ok" / "sub.ann").is_file()


def test_annotate_brat_name_clash_is_an_error(tiny_model: Path, tmp_path: Path) -> None:
    table = tmp_path / "ids.csv"
    table.write_text("id,text\na?b,One.\na*b,Two.\n", "utf-8")
    result = annotate([table], tmp_path / "out", model=tiny_model, fmt="brat")
    assert (result["done"], result["failed"]) == (1, 1)
    assert "both map to this file name" in _errors(tmp_path / "out")["a*b"]


def test_annotate_refuses_to_overwrite_without_force(tiny_model: Path, tmp_path: Path) -> None:
    notes = _notes(tmp_path / "notes", 2)
    out = tmp_path / "out"
    annotate([notes], out, model=tiny_model)
    with pytest.raises(ConfigError, match="format"):
        annotate([notes], out, model=tiny_model, fmt="brat")
    with pytest.raises(ConfigError, match="inputs"):
        annotate([notes / "note-000.txt"], out, model=tiny_model)
    result = annotate([notes], out, model=tiny_model, fmt="brat", force=True)
    assert result["done"] == 2 and not (out / JSONL_FILE).exists()
    foreign = tmp_path / "foreign"
    foreign.mkdir()
    (foreign / "keep.txt").write_text("mine", "utf-8")
    with pytest.raises(ConfigError, match="not empty"):
        annotate([notes], foreign, model=tiny_model)
    annotate([notes], foreign, model=tiny_model, force=True)
    assert (foreign / "keep.txt").read_text("utf-8") == "mine"


def test_annotate_out_and_inputs_may_not_overlap(tiny_model: Path, tmp_path: Path) -> None:
    notes = _notes(tmp_path / "notes", 2)
    annotate([notes], notes / "out", model=tiny_model, fmt="brat")
    result = annotate([notes], notes / "out", model=tiny_model, fmt="brat")
    assert (result["done"], result["skipped"]) == (0, 2)  # its own brat/*.txt never read
    with pytest.raises(ConfigError, match="overlap"):
        annotate([notes / "out" / "brat"], notes / "out", model=tiny_model)
    with pytest.raises(InputError, match="does not exist"):
        annotate([tmp_path / "absent"], tmp_path / "o", model=tiny_model)


def test_annotate_html_report(tiny_model: Path, tmp_path: Path) -> None:
    notes = _notes(tmp_path / "notes", 2)
    (notes / "blank.txt").write_text("  \n", "utf-8")
    annotate([notes], tmp_path / "out", model=tiny_model, fmt="html")
    page = (tmp_path / "out" / "report.html").read_text("utf-8")
    assert page.startswith("<!DOCTYPE html>") and "note-001" in page
    assert "2 documents, " in page and "1 more could not be annotated: see errors.jsonl" in page
    assert '<mark class="entity"' in page  # the random tiny model tags something in each note
    assert (
        "<th>Label</th><th>Mentions</th>" in page
        and "<h2>Adverse drug events per drug</h2>" in page
    )


def test_annotate_n_process_2(tiny_model: Path, tmp_path: Path) -> None:
    notes = _notes(tmp_path / "notes", 6)
    one = annotate([notes], tmp_path / "one", model=tiny_model, batch_size=2)
    two = annotate([notes], tmp_path / "two", model=tiny_model, batch_size=2, n_process=2)
    assert one["done"] == two["done"] == 6
    assert [d.to_dict() for d in _records(tmp_path / "one")] == [
        d.to_dict() for d in _records(tmp_path / "two")
    ]


def test_annotate_cli(tiny_model: Path, tmp_path: Path) -> None:
    notes = _notes(tmp_path / "notes", 2)
    runner = CliRunner()
    args = ["annotate", str(notes), "--out", str(tmp_path / "out"), "--model", str(tiny_model)]
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    assert "Annotated 2 documents" in result.output
    (notes / "empty.txt").write_text("", "utf-8")
    result = runner.invoke(app, args)
    assert result.exit_code == 1
    assert "skipped 2 already done, 1 failed" in result.output and "errors.jsonl" in result.output
    result = runner.invoke(app, [*args, "--format", "spacy"])
    assert result.exit_code == 1 and "--force" in result.output
    result = runner.invoke(app, [*args[:4], "--model", str(tmp_path / "no-model")])
    assert result.exit_code == 1 and "no such model folder" in result.output


def test_annotate_csv_without_header_leaks_no_text(tiny_model: Path, tmp_path: Path) -> None:
    table = tmp_path / "notes.csv"
    table.write_text("1001,Mr SECRETNAME has a rash,2024\n1002,Denies nausea.,2024\n", "utf-8")
    result = annotate([table], tmp_path / "out", model=tiny_model)
    reason = _errors(tmp_path / "out")["notes.csv"]
    assert result["failed"] == 1 and "no column 'text'" in reason and "3 column(s)" in reason
    assert "SECRETNAME" not in (tmp_path / "out" / ERRORS_FILE).read_text("utf-8")


def test_annotate_csv_bad_byte_fails_only_its_record(tiny_model: Path, tmp_path: Path) -> None:
    """Rows 1, 2 and 4 are annotated, row 3 (a bad byte in its text) and a row with a bad byte
    in its id fail, each named by its first line; row 2 spans two lines."""
    table = tmp_path / "notes.csv"
    table.write_bytes(
        b"id,text\n"
        b"r1,Rash after amoxicillin.\n"
        b'r2,"Denies nausea.\nTakes metformin."\n'
        b"r3,Fi\xe8vre after SECRETNAME.\n"
        b"r4,Continue lisinopril 10 mg daily.\n"
        b"r\xe95,Headache.\n"
    )
    result = annotate([table], tmp_path / "out", model=tiny_model)
    assert (result["done"], result["failed"]) == (3, 2)
    lines = {d.id: d.metadata["line"] for d in _records(tmp_path / "out")}
    assert lines == {"r1": 2, "r2": 3, "r4": 6}
    errors = _error_records(tmp_path / "out")
    assert errors["r3"]["line"] == 5 and "not valid UTF-8 at byte 2" in errors["r3"]["reason"]
    assert (
        errors["notes.csv:7"]["line"] == 7 and "the id in 'id'" in errors["notes.csv:7"]["reason"]
    )
    assert "SECRETNAME" not in (tmp_path / "out" / ERRORS_FILE).read_text("utf-8")


def test_annotate_jsonl_bom_and_lone_surrogate(tiny_model: Path, tmp_path: Path) -> None:
    lines = tmp_path / "notes.jsonl"
    lines.write_text(
        '\ufeff{"id": "j1", "text": "Rash after amoxicillin."}\n'
        '{"id": "j2", "text": "Half an emoji \\ud83d here."}\n'
        '{"id": "j3", "text": "Denies nausea."}\n',
        "utf-8",
    )
    result = annotate([lines], tmp_path / "out", model=tiny_model)
    assert (result["done"], result["failed"]) == (2, 1)
    assert [d.id for d in _records(tmp_path / "out")] == ["j1", "j3"]
    assert "not valid UTF-8" in _errors(tmp_path / "out")["j2"]


def test_annotate_brat_unwritable_names_are_errors(tiny_model: Path, tmp_path: Path) -> None:
    """Ids too long for a file name, or whose files and folders would clash, fail on every run
    and the others are written."""
    table = tmp_path / "ids.csv"
    ids = ["x" * 300, "a", "a.txt/b", "p.ann/q", "p", "ok/sub"]
    table.write_text("id,text\n" + "".join(f"{i},Rash.\n" for i in ids), "utf-8")
    out = tmp_path / "out"
    for run in range(2):
        result = annotate([table], out, model=tiny_model, fmt="brat")
        assert (result["done"] + result["skipped"], result["failed"]) == (3, 3)
        assert result["skipped"] == (3 if run else 0)
        errors = _errors(out)
        assert "too long" in errors["x" * 300]
        assert "one's file name is the other's folder name" in errors["a.txt/b"]
        assert "one's file name is the other's folder name" in errors["p"]
    assert (out / "brat" / "a.ann").is_file() and (out / "brat" / "p.ann" / "q.ann").is_file()


def test_annotate_duplicate_id_fails_on_every_run(tiny_model: Path, tmp_path: Path) -> None:
    notes = _notes(tmp_path / "notes", 2)
    table = tmp_path / "more.csv"
    table.write_text("id,text\nnote-001,Same id as a note.\nc1,Rash.\n", "utf-8")
    for run in range(2):
        result = annotate([notes, table], tmp_path / "out", model=tiny_model)
        assert (result["done"], result["skipped"], result["failed"]) == (
            (0, 3, 1) if run else (3, 0, 1)
        )
        assert "already used by" in _errors(tmp_path / "out")["note-001"]


@Language.component("test_annotate_bomb")
def _bomb(doc: Doc) -> Doc:
    if "KABOOM" in doc.text:
        raise ValueError(f"cannot handle {doc.text!r}")
    return doc


@pytest.mark.parametrize("n_process", [1, 2])
def test_annotate_pipeline_failure_fails_one_document(
    tiny_model: Path, tmp_path: Path, n_process: int
) -> None:
    from clinnlp.pipeline import build_pipeline

    notes = _notes(tmp_path / "notes", 7)
    (notes / "note-003.txt").write_text("Patient said KABOOM twice.", "utf-8")
    nlp = build_pipeline(tiny_model, device="cpu")
    nlp.add_pipe("test_annotate_bomb", before="clinnlp_tagger")
    nlp.max_length = 50  # with no byte limit the run lifts it (spaCy's E088 otherwise)
    result = annotate(
        [notes], tmp_path / "out", nlp=nlp, batch_size=2, n_process=n_process, max_bytes=None
    )
    assert (result["done"], result["failed"]) == (6, 1)
    assert sorted(d.id for d in _records(tmp_path / "out")) == [
        f"note-{i:03d}" for i in range(7) if i != 3
    ]
    reason = _errors(tmp_path / "out")["note-003"]
    assert "raised ValueError" in reason and "test_local.py" in reason
    assert "KABOOM" not in (tmp_path / "out" / ERRORS_FILE).read_text("utf-8")


def test_annotate_undecodable_file_name_is_an_error(tiny_model: Path, tmp_path: Path) -> None:
    notes = _notes(tmp_path / "notes", 2)
    try:
        (notes / os.fsdecode(b"caf\xe9.txt")).write_text(NOTE, "utf-8")
    except (OSError, UnicodeError):
        pytest.skip("the file system refuses names that are not UTF-8")
    result = annotate([notes], tmp_path / "out", model=tiny_model)
    assert (result["done"], result["failed"]) == (2, 1)
    assert "not valid UTF-8" in _errors(tmp_path / "out")["caf\udce9"]


# --- --force removes only what a clinnlp run recorded; links are never followed -------------


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


@pytest.mark.parametrize("fmt", ["jsonl", "brat", "spacy", "html"])
def test_annotate_force_never_deletes_what_no_run_wrote(
    tiny_model: Path, tmp_path: Path, fmt: str
) -> None:
    notes = _notes(tmp_path / "notes", 2)
    out = tmp_path / "u"
    before = _user_files(out)
    name = {"jsonl": "annotations.jsonl", "brat": "brat", "spacy": "docs", "html": "annotations"}
    with pytest.raises(ConfigError, match=f"{name[fmt]}.* no clinnlp run recorded") as caught:
        annotate([notes], out, model=tiny_model, fmt=fmt, force=True)
    assert "--force" not in str(caught.value)
    assert _contents(out) == before


def test_annotate_force_cli_names_the_file_and_keeps_it(tiny_model: Path, tmp_path: Path) -> None:
    notes = _notes(tmp_path / "notes", 2)
    out = tmp_path / "u"
    before = _user_files(out)
    args = ["annotate", str(notes), "--out", str(out), "--model", str(tiny_model), "--force"]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 1 and "annotations.jsonl" in result.output
    assert "--force" not in result.output.replace(str(out), "")
    assert _contents(out) == before
    (out / "annotations.jsonl").unlink()  # the one name a jsonl run writes: then it may run
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    recorded = json.loads((out / "run.json").read_text("utf-8"))["outputs"]
    assert recorded == ["annotations.jsonl", "done.jsonl", "errors.jsonl", "run.json"]
    mine = {k: v for k, v in before.items() if k != "annotations.jsonl"}
    assert {k: v for k, v in _contents(out).items() if k in mine} == mine


def test_annotate_force_removes_only_the_recorded_outputs(tiny_model: Path, tmp_path: Path) -> None:
    notes = _notes(tmp_path / "notes", 2)
    out = tmp_path / "out"
    annotate([notes], out, model=tiny_model)  # jsonl: records its four files
    (out / "docs").mkdir()
    (out / "docs" / "mine.txt").write_text("mine", "utf-8")
    result = annotate([notes], out, model=tiny_model, fmt="html", force=True)
    assert result["done"] == 2 and (out / "report.html").is_file()
    assert (out / "docs" / "mine.txt").read_text("utf-8") == "mine"
    with pytest.raises(ConfigError, match="docs.* no clinnlp run recorded"):
        annotate([notes], out, model=tiny_model, fmt="spacy", force=True)
    assert (out / "docs" / "mine.txt").read_text("utf-8") == "mine"
    annotate([notes], out, model=tiny_model, fmt="brat", force=True)  # the html run's removed
    assert not (out / "report.html").exists() and not (out / JSONL_FILE).exists()
    assert (out / "docs" / "mine.txt").read_text("utf-8") == "mine"
    (out / "run.json").write_text("{not json", "utf-8")  # no run's record any more
    with pytest.raises(ConfigError, match="brat exists but no clinnlp run recorded"):
        annotate([notes], out, model=tiny_model, fmt="brat", force=True)
    assert (out / "brat").is_dir()


@pytest.mark.parametrize(
    ("fmt", "name"), [("brat", "brat"), ("spacy", "docs"), ("jsonl", JSONL_FILE)]
)
def test_annotate_never_follows_a_linked_output(
    tiny_model: Path, tmp_path: Path, fmt: str, name: str
) -> None:
    """An output folder or file that is a link is refused, on resume and on a fresh run, with
    or without --force, and nothing behind it is touched."""
    notes = _notes(tmp_path / "notes", 4)
    out = tmp_path / "out"
    annotate([notes], out, model=tiny_model, fmt=fmt, batch_size=2)
    log = (out / DONE_FILE).read_bytes().splitlines(keepends=True)
    (out / DONE_FILE).write_bytes(log[0])  # the second chunk uncommitted: resume would clean
    victim = tmp_path / "elsewhere"  # the run's own output moved away, plus the user's files
    shutil.move(out / name, victim)
    if victim.is_dir():
        (victim / "unrelated.txt").write_text("unrelated", "utf-8")
    else:
        with victim.open("a", encoding="utf-8") as handle:
            handle.write("unrelated\n")
    before = _contents(victim) if victim.is_dir() else victim.read_bytes()
    (out / name).symlink_to(victim, target_is_directory=victim.is_dir())
    fresh = tmp_path / "fresh"
    fresh.mkdir()
    (fresh / name).symlink_to(victim, target_is_directory=victim.is_dir())
    refusals = []
    for folder, force in ((out, False), (out, True), (fresh, True)):
        try:
            annotate([notes], folder, model=tiny_model, fmt=fmt, batch_size=2, force=force)
        except ConfigError as err:
            refusals.append(str(err))
        after = _contents(victim) if victim.is_dir() else victim.read_bytes()
        assert after == before, f"files behind the link changed (force={force})"
    assert len(refusals) == 3 and all("is a symbolic link" in r for r in refusals), refusals
    assert (out / name).is_symlink() and (fresh / name).is_symlink()


# --- every path the folder walk cannot read is a failure ------------------------------------


def test_annotate_walk_failures_are_recorded(
    tiny_model: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An unreadable sub-folder, a dangling link, a link loop, a link back up the tree and a
    FIFO each become a failure with its reason: exit 1, never a silent "0 failed"."""
    notes = _notes(tmp_path / "notes", 2)
    private = notes / "private"
    private.mkdir()
    (private / "secret.txt").write_text(NOTE, "utf-8")
    private.chmod(0)
    if os.access(private, os.R_OK):  # root reads it anyway: make listing it fail as it would
        scandir = os.scandir

        def refuse(path=".", *args, **kwargs):  # type: ignore[no-untyped-def]
            if Path(path) == private:
                raise PermissionError(13, "Permission denied", str(path))
            return scandir(path, *args, **kwargs)

        monkeypatch.setattr(os, "scandir", refuse)
    (notes / "gone.txt").symlink_to(notes / "missing.txt")
    (notes / "self.txt").symlink_to(notes / "self.txt")
    (notes / "up").symlink_to(notes, target_is_directory=True)
    os.mkfifo(notes / "pipe.txt")
    sub = _notes(tmp_path / "elsewhere", 1)
    (notes / "linked").symlink_to(sub, target_is_directory=True)  # a link to a folder: walked
    try:
        args = ["annotate", str(notes), "--out", str(tmp_path / "out"), "--model", str(tiny_model)]
        result = CliRunner().invoke(app, args)
    finally:
        private.chmod(0o755)
    assert result.exit_code == 1 and "5 failed" in result.output, result.output
    errors = _error_records(tmp_path / "out")
    assert "Permission denied" in errors["private"]["reason"]
    assert "target does not exist" in errors["gone"]["reason"]
    assert "loops" in errors["self"]["reason"]
    assert "leads back to a folder above it" in errors["up"]["reason"]
    assert "named pipe" in errors["pipe"]["reason"]
    assert errors["pipe"]["path"] == str(notes / "pipe.txt")
    ids = sorted(d.id for d in _records(tmp_path / "out"))
    assert ids == ["linked/note-000", "note-000", "note-001"]


# --- BRAT names keep UTF-8 letters ----------------------------------------------------------


def test_annotate_brat_names_keep_utf8(tiny_model: Path, tmp_path: Path) -> None:
    notes = tmp_path / "notes"
    notes.mkdir()
    for name in ("ü", "é", "Müller-Lüdenscheidt", "患者", "e\u0301"):  # the last: é decomposed
        (notes / f"{name}.txt").write_text(NOTE, "utf-8")
    table = tmp_path / "ids.csv"
    rows = ["é" * 100, "é" * 101, "a\x07b", "x\\y"]  # 200 bytes fit; 202 do not
    table.write_text("id,text\n" + "".join(f"{i},Rash.\n" for i in rows), "utf-8")
    out = tmp_path / "out"
    for _ in range(2):
        result = annotate([notes, table], out, model=tiny_model, fmt="brat")
        assert (result["done"] + result["skipped"], result["failed"]) == (7, 2), _errors(out)
    names = sorted(p.name for p in (out / "brat").glob("*.txt"))
    assert names == sorted(
        ["ü.txt", "é.txt", "Müller-Lüdenscheidt.txt", "患者.txt", "é" * 100 + ".txt"]
        + ["a_b.txt", "x_y.txt"]
    )
    errors = _errors(out)
    # é composed and decomposed: one name once normalised (NFC), so the second one fails
    assert "both map to this file name" in (errors.get("é") or errors["e\u0301"])
    assert "too long (202 bytes" in errors["é" * 101]


@pytest.mark.parametrize(("fmt", "folder"), [("brat", "brat"), ("spacy", "docs")])
def test_annotate_resume_and_force_keep_the_users_files_in_output_folders(
    tiny_model: Path, tmp_path: Path, fmt: str, folder: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Resuming (after a torn commit too) and --force delete only what clinnlp wrote."""
    notes, out = _killed_before_the_last_commit(tiny_model, tmp_path, fmt, monkeypatch)
    mine = {f"{folder}/README.md": "mine", f"{folder}/sub/keep.txt": "kept", f"{folder}/x.md": ""}
    for name, text in mine.items():
        (out / name).parent.mkdir(parents=True, exist_ok=True)
        (out / name).write_text(text, "utf-8")
    (out / folder / "empty").mkdir()
    result = annotate([notes], out, model=tiny_model, batch_size=2, fmt=fmt)
    assert (result["done"], result["skipped"]) == (2, 2)
    result = annotate([notes], out, model=tiny_model, batch_size=2, fmt=fmt)
    assert (result["done"], result["skipped"]) == (0, 4)
    assert not (out / folder / PENDING_FILE).exists()  # a finished run leaves no record
    assert _output_ids(out, fmt) == {f"note-{i:03d}": 1 for i in range(4)}
    assert {n: (out / n).read_text("utf-8") for n in mine} == mine
    assert (out / folder / "empty").is_dir()
    other = "jsonl"
    annotate([notes], out, model=tiny_model, fmt=other, force=True)
    assert {n: (out / n).read_text("utf-8") for n in mine} == mine  # the user's stay
    left = {p.relative_to(out).as_posix() for p in (out / folder).rglob("*") if p.is_file()}
    assert left == set(mine)  # clinnlp's own files, and its record of them, are gone
    with pytest.raises(ConfigError, match="no clinnlp run recorded"):  # now the user's folder
        annotate([notes], out, model=tiny_model, fmt=fmt, force=True)


def test_annotate_brat_never_overwrites_a_users_file(tiny_model: Path, tmp_path: Path) -> None:
    notes = _notes(tmp_path / "notes", 1)
    out = tmp_path / "out"
    annotate([notes], out, model=tiny_model, fmt="brat")
    (out / "brat" / "note-001.ann").write_text("my own annotation", "utf-8")
    (notes / "note-001.txt").write_text(NOTE, "utf-8")  # a new note for the same run
    result = annotate([notes], out, model=tiny_model, fmt="brat")
    assert (result["done"], result["skipped"], result["failed"]) == (0, 1, 1)
    assert "brat/note-001.ann" in _errors(out)["note-001"]
    assert (out / "brat" / "note-001.ann").read_text("utf-8") == "my own annotation"
    assert not (out / "brat" / "note-001.txt").exists()


@pytest.mark.parametrize(
    ("device", "message"), [("tpu", "unknown device 'tpu'"), ("cuda:x", "cuda:x")]
)
def test_annotate_refuses_a_wrong_device_before_any_document(
    tiny_model: Path, tmp_path: Path, device: str, message: str
) -> None:
    notes = _notes(tmp_path / "notes", 2)
    out = tmp_path / "out"
    args = ["annotate", str(notes), "--out", str(out), "--model", str(tiny_model)]
    result = CliRunner().invoke(app, [*args, "--device", device])
    assert result.exit_code == 1 and message in result.output, result.output
    assert not out.exists()  # refused before anything was written


def test_annotate_cli_with_no_document_found_exits_1(tiny_model: Path, tmp_path: Path) -> None:
    """A folder holding no .txt file (a .csv in it is not read) is an error, not a success."""
    inputs = tmp_path / "in"
    inputs.mkdir()
    (inputs / "notes.csv").write_text("id,text\na,Rash.\n", "utf-8")
    args = ["annotate", str(inputs), "--out", str(tmp_path / "out"), "--model", str(tiny_model)]
    result = CliRunner().invoke(app, args)
    message = " ".join(result.output.split())
    assert result.exit_code == 1 and f"{inputs}: no document found" in message, message
    assert "Annotated" not in message and not (tmp_path / "out").exists()  # no run left behind
    named = ["annotate", str(inputs / "notes.csv"), "--out", str(tmp_path / "out")]
    again = CliRunner().invoke(app, [*named, "--model", str(tiny_model)])
    assert again.exit_code == 0 and "Annotated 1 document (" in again.output, again.output


def test_annotate_brat_fails_a_document_whose_path_a_users_file_or_link_takes(
    tiny_model: Path, tmp_path: Path
) -> None:
    """A user's file where a document needs a folder, or a dangling link where its file goes,
    fails that document (not the run) and stays as it was."""
    notes = _notes(tmp_path / "notes", 1)
    out = tmp_path / "out"
    annotate([notes], out, model=tiny_model, fmt="brat")
    (out / "brat" / "z").write_text("mine", "utf-8")
    (out / "brat" / "note-001.ann").symlink_to(tmp_path / "nowhere")
    (notes / "z").mkdir()
    (notes / "z" / "y.txt").write_text(NOTE, "utf-8")
    (notes / "note-001.txt").write_text(NOTE, "utf-8")
    (notes / "note-002.txt").write_text(NOTE, "utf-8")
    result = annotate([notes], out, model=tiny_model, fmt="brat")
    assert (result["done"], result["skipped"], result["failed"]) == (1, 1, 2)
    errors = _errors(out)
    assert "brat/z is in the output folder" in errors["z/y"]
    assert "brat/note-001.ann is in the output folder" in errors["note-001"]
    assert (out / "brat" / "z").read_text("utf-8") == "mine"
    assert (out / "brat" / "note-001.ann").is_symlink() and not (tmp_path / "nowhere").exists()


def test_annotate_force_deletes_nothing_through_a_linked_folder(
    tiny_model: Path, tmp_path: Path
) -> None:
    table = tmp_path / "ids.csv"
    table.write_text("id,text\nsub/a,Rash.\n", "utf-8")
    out = tmp_path / "out"
    annotate([table], out, model=tiny_model, fmt="brat")
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    (elsewhere / "a.txt").write_text("precious", "utf-8")
    shutil.rmtree(out / "brat" / "sub")
    (out / "brat" / "sub").symlink_to(elsewhere, target_is_directory=True)
    annotate([table], out, model=tiny_model, fmt="jsonl", force=True)
    assert (elsewhere / "a.txt").read_text("utf-8") == "precious"


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
