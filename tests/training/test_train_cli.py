"""`clinnlp train` on a small BRAT corpus whose labels the ADE corpus lacks, on top of the
shipped model: the head grows, the old labels stay and keep their knowledge."""

from pathlib import Path

from typer.testing import CliRunner

from clinnlp import DEFAULT_MODEL
from clinnlp.cli import app
from clinnlp.modeling.tagger import Tagger

NOTES = [
    "Metoprolol 25 mg by mouth twice daily was continued.",
    "Give ceftriaxone 1 g intravenously every 24 hours.",
    "Apply hydrocortisone cream topically twice daily.",
    "Insulin glargine 10 units subcutaneously at bedtime.",
    "Take omeprazole 20 mg by mouth once daily.",
    "Heparin 5000 units subcutaneously every 8 hours.",
]
ROUTES = ["by mouth", "intravenously", "topically", "subcutaneously"]
FREQUENCIES = ["twice daily", "every 24 hours", "at bedtime", "once daily", "every 8 hours"]


def write_brat(folder: Path) -> None:
    folder.mkdir()
    for i, text in enumerate(NOTES):
        lines, n = [], 0
        for label, surfaces in (("Route", ROUTES), ("Frequency", FREQUENCIES)):
            for surface in surfaces:
                start = text.find(surface)
                if start >= 0:
                    n += 1
                    lines.append(f"T{n}\t{label} {start} {start + len(surface)}\t{surface}")
        (folder / f"note{i}.txt").write_text(text, "utf-8")
        (folder / f"note{i}.ann").write_text("\n".join(lines) + "\n", "utf-8")


def test_train_cli_learns_labels_the_ade_corpus_lacks(tmp_path):
    corpus = tmp_path / "brat"
    write_brat(corpus)
    out = tmp_path / "model"
    args = [
        "train",
        str(corpus),
        "--out",
        str(out),
        "--base",
        str(DEFAULT_MODEL),
        "--epochs",
        "40",
        "--max-steps",
        "30",
        "--lr",
        "3e-4",
        "--batch-size",
        "6",
        "--dev-fraction",
        "0",
        "--seed",
        "3",
    ]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    assert (out / "README.md").read_text().startswith("# clinnlp")
    tagger = Tagger.load(out)
    assert tagger.labels == ["Adverse-Effect", "Dose", "Drug", "Frequency", "Route"]
    unseen = "Start amlodipine 5 mg by mouth once daily."
    (spans,) = tagger.predict([unseen])
    found = {(s.label, unseen[s.start : s.end]) for s in spans}
    # new labels learnt, and Drug (never annotated in this corpus) still tagged
    assert {("Route", "by mouth"), ("Frequency", "once daily")} <= found, found
    assert ("Drug", "amlodipine") in found, found

    again = CliRunner().invoke(app, args)
    assert again.exit_code == 1 and "--force" in again.output


def test_train_cli_model_card_evaluation_comes_from_the_cv_json(tmp_path, tiny_encoder):
    """The card's figures are the cv file's, formatted by code; a cv run of another recipe
    is refused."""
    import json
    from dataclasses import asdict

    from clinnlp.training.train import TrainConfig

    corpus = tmp_path / "brat"
    write_brat(corpus)
    recipe = ["--epochs", "2", "--max-steps", "1", "--dev-fraction", "0", "--lr", "1e-4"]
    config = asdict(
        TrainConfig(
            base=str(tiny_encoder),
            epochs=2,
            max_steps=1,
            dev_fraction=0,
            lr=1e-4,
            sources=[str(corpus)],
        )
    )
    scores = [
        {"Drug": 0.9012, "Adverse-Effect": 0.8, "micro": 0.85, "macro": 0.8506},
        {"Drug": 0.9212, "Adverse-Effect": 0.82, "micro": 0.87, "macro": 0.8706},
    ]
    cv = {
        "k": 10,
        "config": config,
        "corpus": "ade",
        "folds": [
            {"fold": f, "epochs": 2, "seconds": 1.0, "scores": s} for f, s in enumerate(scores)
        ],
        "mean": {"Drug": 0.9112, "Adverse-Effect": 0.81, "micro": 0.86, "macro": 0.8606},
        "std": {"Drug": 0.01, "Adverse-Effect": 0.01, "micro": 0.01, "macro": 0.01},
    }
    cv_file = tmp_path / "cv.json"
    cv_file.write_text(json.dumps(cv))
    out = tmp_path / "model"
    base = ["train", str(corpus), "--base", str(tiny_encoder), *recipe]
    result = CliRunner().invoke(app, [*base, "--out", str(out), "--evaluation", str(cv_file)])
    assert result.exit_code == 0, result.output
    card = (out / "README.md").read_text()
    assert "## Evaluation" in card and "2 of 10 folds: 0, 1" in card
    assert "| 91.12 ± 1.00 | 81.00 ± 1.00 | 86.00 ± 1.00 | 86.06 ± 1.00 |" in card
    meta = json.loads((out / "clinnlp.json").read_text())
    assert meta["evaluation"]["mean"]["macro"] == 0.8606

    # `clinnlp card` rewrites the same card from the model's own record and the cv file
    (out / "README.md").write_text("hand-written\n")
    again = CliRunner().invoke(app, ["card", str(out), "--evaluation", str(cv_file)])
    assert again.exit_code == 0, again.output
    assert (out / "README.md").read_text() == card

    cv["config"]["lr"] = 5e-5
    cv_file.write_text(json.dumps(cv))
    refused_card = CliRunner().invoke(app, ["card", str(out), "--evaluation", str(cv_file)])
    assert refused_card.exit_code == 1 and "lr" in refused_card.output
    other = tmp_path / "other"
    refused = CliRunner().invoke(app, [*base, "--out", str(other), "--evaluation", str(cv_file)])
    assert refused.exit_code == 1 and "lr" in refused.output and not other.exists()


def test_train_cli_stopped_after_an_epoch_resumes_from_it(tmp_path, tiny_encoder, monkeypatch):
    """A run killed after epoch 1 (here: stopped as its checkpoint is written) resumes at
    epoch 2 when the same command runs again, and its checkpoint goes once the model is saved."""
    import json

    import clinnlp.training.checkpoint as ckpt

    class Killed(Exception):
        pass

    save = ckpt.save

    def save_then_die(path, state):
        save(path, state)
        raise Killed

    corpus = tmp_path / "brat"
    write_brat(corpus)
    out = tmp_path / "model"
    args = ["train", str(corpus), "--base", str(tiny_encoder), "--out", str(out)]
    args += ["--epochs", "3", "--batch-size", "2", "--dev-fraction", "0"]
    monkeypatch.setattr(ckpt, "save", save_then_die)
    stopped = CliRunner().invoke(app, args)
    assert isinstance(stopped.exception, Killed)
    state = tmp_path / "model.checkpoint.pt"
    assert state.is_file() and not (out / "clinnlp.json").exists()
    monkeypatch.setattr(ckpt, "save", save)
    again = CliRunner().invoke(app, args)
    assert again.exit_code == 0, again.output
    epochs = [json.loads(line)["epoch"] for line in again.output.splitlines() if '"epoch"' in line]
    assert epochs == [2, 3]
    meta = json.loads((out / "clinnlp.json").read_text())
    assert [h["epoch"] for h in meta["metrics"]["history"]] == [1, 2, 3]
    assert not state.exists()
