"""``clinnlp annotate``: inputs, resume after a kill, bad documents, safe output names."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import pytest
from typer.testing import CliRunner

from clinnlp.annotate import DONE_FILE, ERRORS_FILE, JSONL_FILE, annotate, read_commits
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


def _errors(out: Path) -> dict[str, str]:
    lines = (out / ERRORS_FILE).read_text("utf-8").splitlines()
    return {r["id"]: r["reason"] for r in map(json.loads, lines)}


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
        d for part in (out / "docs").iterdir() for d in DocBin().from_disk(part).get_docs(vocab)
    ]
    assert all(ent._.clinnlp_confidence for doc in docs for ent in doc.ents)
    return Counter(doc._.clinnlp_id for doc in docs)


@pytest.mark.parametrize("fmt", ["jsonl", "brat", "spacy"])
def test_annotate_recovers_uncommitted_output(tiny_model: Path, tmp_path: Path, fmt: str) -> None:
    """A crash after a chunk's data was written but before its commit line was whole."""
    notes = _notes(tmp_path / "notes", 4)
    out = tmp_path / "out"
    annotate([notes], out, model=tiny_model, batch_size=2, fmt=fmt)
    log = (out / DONE_FILE).read_bytes().splitlines(keepends=True)
    (out / DONE_FILE).write_bytes(log[0] + log[1][:10])  # the second commit torn
    if fmt == "jsonl":
        with (out / JSONL_FILE).open("ab") as handle:
            handle.write(b'{"id": "half a line')
    result = annotate([notes], out, model=tiny_model, batch_size=2, fmt=fmt)
    assert (result["done"], result["skipped"]) == (2, 2)
    assert _output_ids(out, fmt) == {f"note-{i:03d}": 1 for i in range(4)}


def test_annotate_resume_after_sigkill(tiny_model: Path, tmp_path: Path) -> None:
    """Really kill a run midway (SIGKILL), rerun: every document exactly once."""
    notes = _notes(tmp_path / "notes", 40, NOTE * 40)
    out = tmp_path / "out"
    args = [str(notes), "--out", str(out), "--model", str(tiny_model), "--batch-size", "2"]
    code = "import sys; from clinnlp.cli import main; sys.argv[0] = 'clinnlp'; main()"
    proc = subprocess.Popen(
        [sys.executable, "-c", code, "annotate", *args], stderr=subprocess.DEVNULL
    )
    deadline = time.monotonic() + 120
    while not ((out / DONE_FILE).is_file() and (out / DONE_FILE).stat().st_size):
        assert proc.poll() is None and time.monotonic() < deadline, "the run ended before a commit"
        time.sleep(0.01)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    done_before, _ = read_commits(out)
    assert 0 < len(done_before) < 40, "the kill came midway"
    result = annotate([notes], out, model=tiny_model, batch_size=2)
    assert result["skipped"] == len(done_before) and result["done"] == 40 - len(done_before)
    assert _output_ids(out, "jsonl") == {f"note-{i:03d}": 1 for i in range(40)}


def test_annotate_bad_documents_recorded(tiny_model: Path, tmp_path: Path) -> None:
    notes = _notes(tmp_path / "notes", 2)
    (notes / "empty.txt").write_bytes(b"  \n")
    (notes / "binary.txt").write_bytes(b"abc\x00def")
    (notes / "latin1.txt").write_bytes("fi\xe8vre".encode("latin-1"))
    (notes / "big.txt").write_text("x" * 5000, "utf-8")
    table = tmp_path / "notes.csv"
    table.write_text(
        'id,text\nc1,"A note, with a comma."\n,no id here\nnote-000,duplicate id\n', "utf-8"
    )
    lines = tmp_path / "notes.jsonl"
    lines.write_text('{"id": 7, "text": "An int id."}\n{bad json\n[1, 2]\n{"id": "j3"}\n', "utf-8")
    result = annotate([notes, table, lines], tmp_path / "out", model=tiny_model, max_bytes=1000)
    errors = _errors(tmp_path / "out")
    assert (result["done"], result["failed"]) == (4, len(errors))
    assert "empty" in errors["empty"] and "binary" in errors["binary"]
    assert "UTF-8 at byte 2" in errors["latin1"] and "over the limit of 1000" in errors["big"]
    assert "no id" in errors["notes.csv:3"] and "already used" in errors["note-000"]
    assert "not a JSON object (Expecting property name" in errors["notes.jsonl:2"]
    assert "a JSON list" in errors["notes.jsonl:3"] and "'text' is missing" in errors["j3"]
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
    annotate([notes], tmp_path / "out", model=tiny_model, fmt="html")
    page = (tmp_path / "out" / "report.html").read_text("utf-8")
    assert page.startswith("<!DOCTYPE html>") and "note-001" in page


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
