"""`clinnlp cv`: the fold table, merging runs into one JSON, resuming after a kill."""

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from types import SimpleNamespace

import pytest
from typer.testing import CliRunner

from clinnlp.cli import app
from clinnlp.errors import ConfigError
from clinnlp.schema import Document, Entity, Relation
from clinnlp.training.cv import (
    fold_scores,
    format_cv,
    parse_folds,
    recipe_difference,
    summarise,
)


def _fold(f: int, drug: float) -> dict:
    return {
        "fold": f,
        "epochs": 2,
        "seconds": 3.0,
        "scores": {"Drug": drug, "Adverse-Effect": 0.6, "micro": 0.7, "macro": 0.7},
    }


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


def test_cv_scores_drugs_in_events_as_the_corpus_marks_them():
    """The corpus marks only drugs that take part in an event: a model that also tags the
    bystander drug loses Drug precision, and gets it back when only drugs it links count."""
    text = "Rash after amoxicillin; she also takes metformin 500 mg."
    rash, amox, metf = (0, 4, "Adverse-Effect"), (11, 22, "Drug"), (39, 48, "Drug")

    def ent(i, span):
        return Entity(f"T{i}", span[2], span[0], span[1], text[span[0] : span[1]])

    gold = Document("d", text, [ent(1, rash), ent(2, amox)], [Relation("Causes", "T2", "T1")])
    dose = Entity("T4", "Dose", 49, 55, "500 mg")
    pred = Document(
        "d",
        text,
        [ent(1, rash), ent(2, amox), ent(3, metf), dose],
        [Relation("Causes", "T2", "T1"), Relation("Dose-of", "T4", "T3")],
    )
    scores = fold_scores([gold], [pred], relations=True)
    assert scores["Drug P"] == pytest.approx(0.5)
    assert scores["Drug-in-event"] == scores["Drug-in-event P"] == 1.0
    assert scores["macro-in-event"] == 1.0 and scores["Causes"] == 1.0
    assert "Drug-in-event" in format_cv(
        summarise([{"fold": 0, "epochs": 1, "seconds": 1.0, "scores": scores}], 10)
    )
    unlinked = Document("d", text, pred.entities, [])
    assert fold_scores([gold], [unlinked], relations=True)["Drug-in-event"] == 0.0


def test_cv_recipe_difference_names_the_option():
    recipe = {"k": 10, "config": {"lr": 1e-4, "epochs": 5}, "corpus": "c"}
    assert recipe_difference(dict(recipe), recipe) is None
    stored = {"k": 10, "config": {"lr": 5e-5, "epochs": 5}, "corpus": "c", "folds": []}
    assert recipe_difference(stored, recipe) == ("config.lr", 5e-5, 1e-4)


def test_cv_parse_folds_checks_range():
    assert parse_folds("3, 1,3", 10) == [3, 1]
    with pytest.raises(ConfigError, match="--folds"):
        parse_folds("1,x", 10)
    with pytest.raises(ConfigError, match="0 to k-1"):
        parse_folds("10", 10)


def _args(ade_dir: Path, base: Path, out: Path, folds: str) -> list[str]:
    return [
        "cv",
        str(ade_dir),
        "--base",
        str(base),
        "--folds",
        folds,
        "--max-steps",
        "2",
        "--batch-size",
        "8",
        "--dev-fraction",
        "0",
        "--json",
        str(out),
    ]


def test_cv_cli_one_fold_then_resume(ade_dir, tiny_encoder, tmp_path):
    out = tmp_path / "cv.json"
    args = _args(ade_dir, tiny_encoder, out, "3")
    first = CliRunner().invoke(app, args)
    assert first.exit_code == 0, first.output
    data = json.loads(out.read_text())
    assert [f["fold"] for f in data["folds"]] == [3]
    assert 400 <= data["folds"][0]["test_documents"] <= 460
    assert set(data["folds"][0]["scores"]) == {
        "Drug",
        "Adverse-Effect",
        "micro",
        "macro",
        "Drug P",
        "Drug R",
        "Adverse-Effect P",
        "Adverse-Effect R",
        "Causes",
        "Causes P",
        "Causes R",
        "Drug-in-event",
        "Drug-in-event P",
        "Drug-in-event R",
        "macro-in-event",
    }
    again = CliRunner().invoke(app, args)
    assert again.exit_code == 0 and "Resuming: folds [3]" in again.output
    assert json.loads(out.read_text())["folds"] == data["folds"]
    other = CliRunner().invoke(app, [*args[:-2], "--lr", "5e-5", "--json", str(out)])
    message = " ".join(other.output.split())
    assert other.exit_code == 1 and "config.lr" in message and "5e-05" in message, message
    assert json.loads(out.read_text())["folds"] == data["folds"]  # refused, nothing written
    assert not (tmp_path / "cv.json.checkpoints").exists()  # no fold left unfinished


def test_cv_cli_runs_of_other_folds_merge_into_one_file(ade_dir, tiny_encoder, tmp_path):
    """Regression: `--folds 0,1` then `--folds 2` used to leave fold 2 alone in the file."""
    out = tmp_path / "cv.json"
    for folds in ("1,0", "2"):
        result = CliRunner().invoke(app, _args(ade_dir, tiny_encoder, out, folds))
        assert result.exit_code == 0, result.output
    data = json.loads(out.read_text())
    assert [f["fold"] for f in data["folds"]] == [0, 1, 2]
    assert {"Drug", "Adverse-Effect", "micro", "macro", "Drug P"} <= set(data["mean"])
    # the table printed at the end covers every fold in the file
    table = result.output.split("\n")
    assert sum(1 for line in table if line.strip()[:2] in ("0 ", "1 ", "2 ")) == 3


def test_cv_cli_merge_joins_folds_run_in_parallel(ade_dir, tiny_encoder, tmp_path):
    """Folds run in separate processes (one --json each) merge into one result; a part of
    another recipe, a fold with two different results or a missing part is refused."""
    parts = [tmp_path / "a.json", tmp_path / "b.json"]
    for folds, part in zip(("0", "1"), parts, strict=True):
        result = CliRunner().invoke(app, _args(ade_dir, tiny_encoder, part, folds))
        assert result.exit_code == 0, result.output
    out = tmp_path / "all.json"
    args = _args(ade_dir, tiny_encoder, out, "0")
    merge = args[:4] + args[6:]  # the same recipe, without --folds
    result = CliRunner().invoke(app, [*merge, "--merge", str(parts[0]), "--merge", str(parts[1])])
    assert result.exit_code == 0, result.output
    data = json.loads(out.read_text())
    folds = [json.loads(p.read_text())["folds"][0] for p in parts]
    assert data["folds"] == folds and data["config"] == json.loads(parts[0].read_text())["config"]
    assert data["mean"]["Drug"] == (folds[0]["scores"]["Drug"] + folds[1]["scores"]["Drug"]) / 2
    assert "mean" in result.output and result.output.count("\n     0 ") == 1

    before = out.read_text()
    odd = tmp_path / "odd.json"
    changed = json.loads(parts[1].read_text())
    changed["folds"][0]["scores"]["Drug"] = 0.5
    odd.write_text(json.dumps(changed))
    refused = CliRunner().invoke(app, [*merge, "--merge", str(odd)])
    message = " ".join(refused.output.split())
    assert refused.exit_code == 1 and "fold 1" in message and "odd.json" in message, message
    changed["config"]["lr"] = 5e-5
    odd.write_text(json.dumps(changed))
    refused = CliRunner().invoke(app, [*merge, "--merge", str(odd)])
    message = " ".join(refused.output.split())
    assert refused.exit_code == 1 and "odd.json" in message and "config.lr" in message, message
    missing = CliRunner().invoke(app, [*merge, "--merge", str(tmp_path / "none.json")])
    assert missing.exit_code == 1 and "none.json" in " ".join(missing.output.split())
    assert out.read_text() == before  # nothing refused was written


def test_cv_cli_killed_during_a_fold_resumes_without_losing_finished_ones(ade_dir, tmp_path):
    """SIGKILL while fold 1 trains: fold 0 stays in the JSON, and the rerun does only fold 1."""
    out = tmp_path / "cv.json"
    cmd = [sys.executable, "-m", "clinnlp", *_args(ade_dir, Path("unused"), out, "0,1")]
    cmd = [c for c in cmd if c not in ("--base", "unused")]  # the real MiniLM: slow enough
    env = dict(os.environ, HF_HUB_OFFLINE="1", TRANSFORMERS_OFFLINE="1")
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline and proc.poll() is None:
        if out.is_file() and json.loads(out.read_text())["folds"]:
            break
        time.sleep(0.02)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    data = json.loads(out.read_text())
    assert [f["fold"] for f in data["folds"]] == [0], "the kill did not land during fold 1"
    again = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=600)
    assert again.returncode == 0, again.stderr[-2000:]
    assert "Resuming: folds [0]" in again.stdout
    final = json.loads(out.read_text())
    assert [f["fold"] for f in final["folds"]] == [0, 1]
    assert final["folds"][0] == data["folds"][0]  # fold 0 kept as it was, not re-run


def test_model_card_evaluation_shows_relations_and_in_event_figures():
    from clinnlp.training.card import evaluation_section

    keys = ["Drug", "Adverse-Effect", "Drug P", "micro", "macro", "Causes", "Causes P"]
    keys += ["Drug-in-event", "macro-in-event"]
    mean = {k: 0.5 for k in keys}
    section = evaluation_section(
        {"source": "cv.json", "k": 10, "folds": [0, 1], "mean": mean, "std": mean}
    )
    header = next(line for line in section.splitlines() if line.startswith("| Drug"))
    assert header == (
        "| Drug | Adverse-Effect | micro | macro | Causes | Drug-in-event | macro-in-event |"
    )
    assert "2 of 10 folds: 0, 1" in section


def test_cv_with_other_corpora_trains_the_labels_they_teach(ade_dir, tiny_encoder, tmp_path):
    """With more corpora than the ADE benchmark, each fold learns what `clinnlp train` would
    (Dose from the notes too), so the model measured is the model shipped; the protocol's two
    labels are still the ones scored."""
    notes = Path(__file__).resolve().parents[2] / "corpora" / "synthetic" / "train-a"
    out = tmp_path / "cv.json"
    args = _args(ade_dir, tiny_encoder, out, "3")
    args[2:2] = [str(notes)]
    extra = ["--map", "ADE=Adverse-Effect", "--save-models", str(tmp_path / "models")]
    result = CliRunner().invoke(app, [*args, *extra])
    assert result.exit_code == 0, result.output
    config = json.loads((tmp_path / "models" / "fold-3" / "config.json").read_text())
    assert {tag[2:] for tag in config["id2label"].values() if tag != "O"} == {
        "Drug",
        "Adverse-Effect",
        "Dose",
    }
    scores = json.loads(out.read_text())["folds"][0]["scores"]
    assert "Dose" not in scores and "Drug" in scores


def test_cv_fold_seconds_count_the_epochs_before_a_resume(monkeypatch):
    """A fold resumed from its checkpoint reports its whole training time, not the last part."""
    import clinnlp.training.cv as cv

    docs = [Document(id=f"d{i}", text="x", metadata={"pmid": str(i)}) for i in range(20)]
    # what train returns after resuming a run whose earlier epochs took 2,400 s
    tagger = SimpleNamespace(relation_types=())
    monkeypatch.setattr(cv, "train", lambda rest, cfg, checkpoint: (tagger, _resumed_metrics()))
    monkeypatch.setattr(cv, "predict_documents", lambda tagger, test: list(test))
    monkeypatch.setattr(cv, "fold_scores", lambda test, pred, relations: {"Drug": 1.0})
    summary = cv.cross_validate(docs, cv.TrainConfig(), k=10, folds=[0])
    assert 2400.0 <= summary["folds"][0]["seconds"] < 2460.0


def _resumed_metrics() -> dict:
    return {"history": [{"epoch": e, "seconds": 300.0 * e} for e in (1, 2, 3)], "seconds": 2400.0}
