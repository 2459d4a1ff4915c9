from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest

from clinnlp.corpora import CHECKSUMS, fetch_corpora, load_checksums, main
from clinnlp.errors import CorpusError


def _setup(tmp_path: Path) -> tuple[Path, Path]:
    source = tmp_path / "src"
    (source / "tiny" / "notes").mkdir(parents=True)
    (source / "tiny" / "a.txt").write_text("alpha\n", encoding="utf-8")
    (source / "tiny" / "notes" / "n1.txt").write_text("note\n", encoding="utf-8")
    manifest = tmp_path / "tiny.sha256"
    digest = hashlib.sha256(b"note\n").hexdigest()
    manifest.write_text(f"{digest}  notes/n1.txt\n", encoding="utf-8")
    checksums = tmp_path / "checksums.json"
    entry = {
        "files": {"a.txt": hashlib.sha256(b"alpha\n").hexdigest()},
        "manifest": "tiny.sha256",
        "manifest_sha256": hashlib.sha256(manifest.read_bytes()).hexdigest(),
    }
    checksums.write_text(json.dumps({"corpora": {"tiny": entry}}), encoding="utf-8")
    return source, checksums


def test_corpora_fetch_links_and_copies(tmp_path: Path) -> None:
    source, checksums = _setup(tmp_path)
    dest = tmp_path / "data"
    fetch_corpora(source, dest, checksums=checksums)
    assert (dest / "tiny").is_symlink()
    assert (dest / "tiny" / "notes" / "n1.txt").read_text(encoding="utf-8") == "note\n"
    fetch_corpora(source, dest, checksums=checksums, copy=True)  # replaces the link
    assert not (dest / "tiny").is_symlink() and (dest / "tiny" / "a.txt").is_file()


def test_corpora_mismatch_and_missing(tmp_path: Path) -> None:
    source, checksums = _setup(tmp_path)
    (source / "tiny" / "notes" / "n1.txt").write_text("changed\n", encoding="utf-8")
    with pytest.raises(CorpusError, match="n1.txt has sha256 .* expected"):
        fetch_corpora(source, tmp_path / "data", checksums=checksums)
    assert not (tmp_path / "data" / "tiny").exists()
    with pytest.raises(CorpusError, match="is missing"):
        fetch_corpora(tmp_path / "nowhere", tmp_path / "data", checksums=checksums)
    with pytest.raises(CorpusError, match="unknown corpus"):
        fetch_corpora(source, tmp_path / "data", names=["other"], checksums=checksums)


def test_corpora_cli_reports_absent_source(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["--source", str(tmp_path), "--dest", str(tmp_path / "data")]) == 1
    assert "is missing" in capsys.readouterr().err


def test_corpora_project_checksums() -> None:
    expected = load_checksums(CHECKSUMS)
    assert set(expected) == {"ade_corpus_v2", "bc5cdr", "mtsamples"}
    assert len(expected["mtsamples"]) == 2357
    assert {"DRUG-AE.rel", "DRUG-DOSE.rel", "ADE-NEG.txt"} <= set(expected["ade_corpus_v2"])
