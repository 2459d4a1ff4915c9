"""`clinnlp train` on a small BRAT corpus whose labels the ADE corpus lacks."""

from pathlib import Path

from typer.testing import CliRunner

from clinnlp import DEFAULT_MODEL
from clinnlp.cli import app
from clinnlp.modeling import Tagger

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
    assert tagger.labels == ["Frequency", "Route"]
    unseen = "Start amlodipine 5 mg by mouth once daily."
    (spans,) = tagger.predict([unseen])
    found = {(s.label, unseen[s.start : s.end]) for s in spans}
    assert {("Route", "by mouth"), ("Frequency", "once daily")} <= found, found

    again = CliRunner().invoke(app, args)
    assert again.exit_code == 1 and "--force" in again.output
