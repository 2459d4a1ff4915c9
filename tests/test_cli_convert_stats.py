from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from clinnlp.cli import app

ROOT = Path(__file__).resolve().parents[1]
BRAT = ROOT / "tests" / "fixtures" / "brat"
runner = CliRunner()


def _files(folder: Path) -> dict[str, bytes]:
    return {
        p.relative_to(folder).as_posix(): p.read_bytes()
        for p in sorted(folder.rglob("*"))
        if p.is_file()
    }


def _table(output: str) -> dict[str, str]:
    """``{"Documents": "3", "Entities/Drug": "4", ...}`` from the stats table."""
    rows: dict[str, str] = {}
    section = ""
    for line in output.splitlines():
        *name, value = line.split()
        if line.startswith("  "):
            rows[f"{section}/{' '.join(name)}"] = value
        else:
            section = " ".join(name)
            rows[section] = value
    return rows


def test_cli_convert_brat_jsonl_brat(tmp_path: Path) -> None:
    jsonl = tmp_path / "corpus.jsonl"
    result = runner.invoke(app, ["convert", str(BRAT), str(jsonl), "--to", "jsonl"])
    assert result.exit_code == 0, result.output
    assert "Wrote 3 documents (brat -> jsonl)" in result.output
    result = runner.invoke(app, ["convert", str(jsonl), str(tmp_path / "out"), "--from", "jsonl"])
    assert result.exit_code == 0, result.output
    assert _files(tmp_path / "out") == _files(BRAT)


def test_cli_convert_refuses_to_overwrite(tmp_path: Path) -> None:
    out = tmp_path / "corpus.conll"
    out.write_text("keep me\n", encoding="utf-8")
    result = runner.invoke(app, ["convert", str(BRAT), str(out)])
    assert result.exit_code == 1
    assert "--force" in result.output
    assert out.read_text(encoding="utf-8") == "keep me\n"
    result = runner.invoke(app, ["convert", str(BRAT), str(out), "--force"])
    assert result.exit_code == 0, result.output
    assert "B-Drug" in out.read_text(encoding="utf-8")


def test_cli_convert_rejects_read_only_and_unknown_formats(tmp_path: Path) -> None:
    result = runner.invoke(app, ["convert", str(BRAT), str(tmp_path / "x"), "--to", "ade"])
    assert result.exit_code == 1 and "read but not written" in result.output
    result = runner.invoke(app, ["convert", str(BRAT), str(tmp_path / "x"), "--from", "xml"])
    assert result.exit_code == 1 and "unknown corpus format" in result.output


def test_cli_convert_bad_input_names_file_and_line(tmp_path: Path) -> None:
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"id": "a", "text": "Rash after aspirin."}\n{"text": "secret"}\n', "utf-8")
    result = runner.invoke(app, ["convert", str(bad), str(tmp_path / "out")])
    assert result.exit_code == 1
    assert "bad.jsonl:2:" in result.output and "secret" not in result.output
    assert not (tmp_path / "out").exists()  # nothing half-written


def test_cli_stats_table() -> None:
    result = runner.invoke(app, ["stats", str(BRAT)])
    assert result.exit_code == 0, result.output
    rows = _table(result.output)
    assert rows["Documents"] == "3"
    assert rows["Entities/Drug"] == "4" and rows["Relations/ADE"] == "3"


def test_cli_stats_ade_corpus() -> None:
    for base in (ROOT / "corpora" / "data", ROOT / ".." / "shared" / "corpora"):
        folder = base / "ade_corpus_v2"
        if (folder / "DRUG-AE.rel").is_file():
            break
    else:
        pytest.skip("ADE corpus not available (run make corpora)")
    result = runner.invoke(app, ["stats", str(folder), "--format", "ade"])
    assert result.exit_code == 0, result.output
    rows = _table(result.output)
    assert rows["Documents"] == "4,272"
    assert rows["Entities/Drug"] == "5,063"
    assert rows["Entities/Adverse-Effect"] == "5,776"
    assert rows["Entities/Dose"] == "230"
    assert rows["Relations/ADE"] == "6,821" and rows["Relations/Dose"] == "279"
