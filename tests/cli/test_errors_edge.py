"""The CLI's error edge: operating-system errors and a Spark that cannot start are one line
and exit code 1, never a traceback, and leave no run behind."""

from __future__ import annotations

import errno
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from clinnlp.cli import app


@pytest.fixture
def notes(tmp_path: Path) -> Path:
    folder = tmp_path / "notes"
    folder.mkdir()
    (folder / "a.txt").write_text("Rash after amoxicillin.\n", "utf-8")
    return folder


@pytest.mark.parametrize(
    ("code", "words"),
    [
        (errno.EACCES, "may write there"),
        (errno.EROFS, "read-only"),
        (errno.ENOSPC, "free some disk space"),
    ],
)
def test_cli_os_errors_are_one_line(
    tiny_model: Path, notes: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, code, words
) -> None:
    out = tmp_path / "out"

    def refuse(*args, **kwargs):
        raise OSError(code, os.strerror(code), str(out / "run.json"))

    monkeypatch.setattr("clinnlp.batch.outdir.write_atomic", refuse)
    result = CliRunner().invoke(
        app, ["annotate", str(notes), "--out", str(out), "--model", str(tiny_model)]
    )
    assert result.exit_code == 1
    lines = [line for line in result.output.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("Error: ") and words in lines[0], lines
    assert "Traceback" not in result.output and str(out / "run.json") in lines[0]


@pytest.mark.skipif(shutil.which("java") is None, reason="needs the Spark engine's Java")
def test_cli_spark_without_java_is_one_line_and_leaves_no_run(
    tiny_model: Path, notes: Path, tmp_path: Path
) -> None:
    pytest.importorskip("pyspark")
    out = tmp_path / "out"
    env = {**os.environ, "JAVA_HOME": str(tmp_path / "no-java"), "PYSPARK_PYTHON": sys.executable}
    command = [sys.executable, "-m", "clinnlp", "annotate", str(notes), "--out", str(out)]
    command += ["--model", str(tiny_model), "--engine", "spark", "--spark-master", "local[1]"]
    done = subprocess.run(command, capture_output=True, text=True, env=env, timeout=300)
    assert done.returncode == 1, done.stderr[-2000:]
    assert "Traceback" not in done.stderr and "JAVA_HOME" in done.stderr
    assert not out.exists()
