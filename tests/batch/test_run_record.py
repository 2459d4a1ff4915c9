"""What a run records in run.json, so that a resume never mixes documents made differently,
and how a run without knowledge bases says so (run.json, the log, the HTML report)."""

from __future__ import annotations

import json
import logging
import shutil
from pathlib import Path

import pytest

from clinnlp.batch.local import annotate
from clinnlp.errors import NO_KB, ConfigError

NOTE = "Rash after amoxicillin; lisinopril continued.\n"


@pytest.fixture
def notes(tmp_path: Path) -> Path:
    folder = tmp_path / "notes"
    folder.mkdir()
    for i in range(3):
        (folder / f"n{i}.txt").write_text(NOTE, "utf-8")
    return folder


@pytest.fixture
def no_kb(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The default knowledge-base folder made empty for the test."""
    import clinnlp.about

    folder = tmp_path / "kb"
    monkeypatch.setattr(clinnlp.about, "DEFAULT_KB", folder)
    monkeypatch.setattr("clinnlp.batch.local.DEFAULT_KB", folder)
    return folder


def test_run_record_names_what_makes_the_output(tiny_model: Path, notes: Path, tmp_path: Path):
    annotate([notes], tmp_path / "out", model=tiny_model, batch_size=2)
    run = json.loads((tmp_path / "out" / "run.json").read_text())
    assert run["batch_size"] == 2 and run["clinnlp"]
    assert len(run["model_digest"]) == 64
    assert run["knowledge_bases"]  # a digest per knowledge base, or why there is none


def test_run_record_resume_with_another_batch_size_is_refused(
    tiny_model: Path, notes: Path, tmp_path: Path
):
    annotate([notes], tmp_path / "out", model=tiny_model, batch_size=2)
    with pytest.raises(ConfigError, match="batch_size"):
        annotate([notes], tmp_path / "out", model=tiny_model, batch_size=3)
    assert annotate([notes], tmp_path / "out", model=tiny_model, batch_size=2)["skipped"] == 3


def test_run_record_resume_with_a_model_changed_in_place_is_refused(
    tiny_model: Path, notes: Path, tmp_path: Path
):
    model = tmp_path / "model"
    shutil.copytree(tiny_model, model)
    annotate([notes], tmp_path / "out", model=model)
    config = json.loads((model / "config.json").read_text())
    config["retrained"] = True  # the same folder, another model
    (model / "config.json").write_text(json.dumps(config))
    with pytest.raises(ConfigError, match="model_digest"):
        annotate([notes], tmp_path / "out", model=model)


def test_run_record_resume_after_knowledge_bases_appear_is_refused(
    tiny_model: Path, notes: Path, tmp_path: Path, no_kb: Path
):
    annotate([notes], tmp_path / "out", model=tiny_model)
    assert json.loads((tmp_path / "out" / "run.json").read_text())["knowledge_bases"] == NO_KB
    (no_kb / "hpo").mkdir(parents=True)
    (no_kb / "hpo" / "meta.json").write_text("{}")
    with pytest.raises(ConfigError, match="knowledge_bases"):
        annotate([notes], tmp_path / "out", model=tiny_model, nlp=_blank_with_linker(no_kb))


def _blank_with_linker(kb: Path):
    import spacy

    from clinnlp.pipeline import install_extensions

    install_extensions()
    nlp = spacy.blank("en")
    nlp.add_pipe("clinnlp_linker", config={"kb": str(kb)})
    return nlp


def test_run_record_missing_knowledge_bases_are_said_once_and_shown(
    tiny_model: Path, notes: Path, tmp_path: Path, no_kb: Path, caplog: pytest.LogCaptureFixture
):
    from clinnlp.pipeline import build_pipeline

    with caplog.at_level(logging.WARNING, logger="clinnlp.pipeline"):
        annotate([notes], tmp_path / "out", model=tiny_model, fmt="html")
        build_pipeline(tiny_model)
    said = [r.getMessage() for r in caplog.records if "clinnlp build-kb" in r.getMessage()]
    assert len(said) == 1 and str(no_kb) in said[0]
    html = (tmp_path / "out" / "report.html").read_text()
    assert "Concepts: none" in html and "clinnlp build-kb" in html
