"""The local run (``clinnlp annotate``): what it writes, its options, its command line."""

from __future__ import annotations

from pathlib import Path

import pytest
from local_run import (
    NOTE,
    _errors,
    _notes,
    _records,
)
from typer.testing import CliRunner

from clinnlp.batch.local import annotate
from clinnlp.batch.outdir import read_commits
from clinnlp.cli import app
from clinnlp.schema import validate


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


def test_annotate_csv_columns(tiny_model: Path, tmp_path: Path) -> None:
    table = tmp_path / "notes.csv"
    table.write_text("mrn,note\n1,Rash after amoxicillin.\n2,Denies nausea.\n", "utf-8")
    result = annotate([table], tmp_path / "out", model=tiny_model, text_col="note", id_col="mrn")
    assert result["done"] == 2
    assert [d.metadata["line"] for d in _records(tmp_path / "out")] == [2, 3]
    result = annotate([table], tmp_path / "other", model=tiny_model)
    assert result["failed"] == 1 and "no column 'text'" in _errors(tmp_path / "other")["notes.csv"]


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
