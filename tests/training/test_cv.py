"""`clinnlp cv` end to end on one ADE fold with a two-step model, and its resume."""

import json

import pytest
from typer.testing import CliRunner

from clinnlp.cli import app
from clinnlp.training.cv import format_cv, summarise


def test_cv_format_and_summary_of_folds():
    folds = [
        {
            "fold": 1,
            "epochs": 2,
            "seconds": 3.0,
            "scores": {"Drug": 0.8, "Adverse-Effect": 0.6, "micro": 0.7, "macro": 0.7},
        },
        {
            "fold": 0,
            "epochs": 2,
            "seconds": 3.0,
            "scores": {"Drug": 0.9, "Adverse-Effect": 0.7, "micro": 0.8, "macro": 0.8},
        },
    ]
    result = summarise(folds, k=10)
    assert [r["fold"] for r in result["folds"]] == [0, 1]
    assert result["mean"]["macro"] == pytest.approx(0.75)
    assert result["std"]["Drug"] == pytest.approx(0.05)
    table = format_cv(result)
    assert "85.00" in table and "75.00" in table


def test_cv_cli_one_fold_then_resume(ade_dir, tmp_path):
    out = tmp_path / "cv.json"
    args = [
        "cv",
        str(ade_dir),
        "--folds",
        "3",
        "--max-steps",
        "2",
        "--batch-size",
        "8",
        "--dev-fraction",
        "0",
        "--json",
        str(out),
    ]
    first = CliRunner().invoke(app, args)
    assert first.exit_code == 0, first.output
    data = json.loads(out.read_text())
    assert [f["fold"] for f in data["folds"]] == [3]
    assert 400 <= data["folds"][0]["test_documents"] <= 460
    assert set(data["folds"][0]["scores"]) == {"Drug", "Adverse-Effect", "micro", "macro"}
    again = CliRunner().invoke(app, args)
    assert again.exit_code == 0 and "Resuming: folds [3]" in again.output
    assert json.loads(out.read_text())["folds"] == data["folds"]
    other = CliRunner().invoke(app, [*args[:-2], "--lr", "5e-5", "--json", str(out)])
    assert other.exit_code == 1 and "another recipe" in other.output.replace("\n", " ")
