"""Every input a local run cannot use is a line in errors.jsonl, and the run goes on."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from local_run import (
    NOTE,
    _error_records,
    _errors,
    _notes,
    _records,
)
from spacy.language import Language
from spacy.tokens import Doc
from typer.testing import CliRunner

from clinnlp.batch.local import annotate
from clinnlp.batch.outdir import ERRORS_FILE
from clinnlp.cli import app


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
    assert "raised ValueError" in reason and "test_bad_inputs.py" in reason
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
