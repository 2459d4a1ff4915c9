"""``clinnlp evaluate`` through Typer's CliRunner, on JSONL corpora written here."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from clinnlp.cli import app
from clinnlp.schema import Document, Entity

runner = CliRunner()
TEXT = "Rash after penicillin."


def write(path: Path, docs: list[Document]) -> Path:
    path.write_text("".join(json.dumps(d.to_dict()) + "\n" for d in docs), encoding="utf-8")
    return path


def doc(*entities: tuple[str, str], doc_id: str = "d1") -> Document:
    ents = []
    for i, (phrase, label) in enumerate(entities, 1):
        start = TEXT.index(phrase)
        ents.append(Entity(f"T{i}", label, start, start + len(phrase), phrase))
    return Document(doc_id, TEXT, entities=ents)


def test_cli_evaluate_report_and_json(tmp_path: Path) -> None:
    gold = write(tmp_path / "gold.jsonl", [doc(("Rash", "Adverse-Effect"), ("penicillin", "Drug"))])
    pred = write(tmp_path / "pred.jsonl", [doc(("penicillin", "Drug"), ("after", "Drug"))])
    out = tmp_path / "scores" / "eval.json"
    result = runner.invoke(app, ["evaluate", str(gold), str(pred), "--json", str(out)])
    assert result.exit_code == 0, result.output
    drug = next(line for line in result.output.splitlines() if line.startswith("Drug"))
    assert drug.split()[:4] == ["Drug", "50.00", "100.00", "66.67"]
    scores = json.loads(out.read_text(encoding="utf-8"))
    assert scores["entities"]["strict"]["micro"]["tp"] == 1
    assert scores["entities"]["strict"]["per_label"]["Adverse-Effect"]["fn"] == 1


def test_cli_evaluate_explicit_format(tmp_path: Path) -> None:
    gold = write(tmp_path / "gold.data", [doc(("Rash", "Adverse-Effect"))])
    result = runner.invoke(app, ["evaluate", str(gold), str(gold), "--format", "jsonl"])
    assert result.exit_code == 0, result.output
    assert "100.00" in result.output


def test_cli_evaluate_unknown_document_fails_cleanly(tmp_path: Path) -> None:
    gold = write(tmp_path / "gold.jsonl", [doc()])
    pred = write(tmp_path / "pred.jsonl", [doc(doc_id="other")])
    result = runner.invoke(app, ["evaluate", str(gold), str(pred)])
    assert result.exit_code == 1
    assert "not in the gold corpus, e.g. id other" in result.output
    assert TEXT not in result.output


def test_cli_evaluate_missing_file(tmp_path: Path) -> None:
    result = runner.invoke(
        app, ["evaluate", str(tmp_path / "no.jsonl"), str(tmp_path / "no.jsonl")]
    )
    assert result.exit_code == 1
    assert "no.jsonl" in result.output
