"""``clinnlp cv``: the ADE 10-fold cross-validation protocol."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from clinnlp.cli import _options as o
from clinnlp.cli._app import app, cli_errors


@app.command("cv")
@cli_errors
def cv_cli(
    corpus: Annotated[
        Path, typer.Argument(help="ADE-Corpus-V2 folder (see `make corpora`).")
    ] = Path("corpora/data/ade_corpus_v2"),
    k: Annotated[int, typer.Option("--k", min=2, help="Folds in the split.")] = 10,
    folds: Annotated[
        str | None, typer.Option(help="Comma-separated fold indices to run [default: all].")
    ] = None,
    json_out: Annotated[
        Path | None, typer.Option("--json", help="Also write the results here.")
    ] = None,
    save_models: Annotated[
        Path | None, typer.Option(help="Keep each fold's model in this folder (fold-N).")
    ] = None,
    base: o.Base = None,
    epochs: o.Epochs = 8,
    lr: o.LearningRate = 1e-4,
    batch_size: o.BatchSize = 16,
    seed: o.Seed = 13,
    dev_fraction: o.DevFraction = 0.1,
    patience: o.Patience = 3,
    max_steps: o.MaxSteps = None,
    device: o.Device = "auto",
    precision: o.Precision = "auto",
) -> None:
    """Per-fold and mean strict F1 per label, and the macro-F1 over Drug and Adverse-Effect."""
    from clinnlp.readers.ade import read_ade
    from clinnlp.training.cv import cross_validate, format_cv

    cfg = o.train_config(
        base,
        epochs,
        lr,
        batch_size,
        seed,
        dev_fraction,
        patience,
        max_steps,
        device,
        precision,
        "Drug,Adverse-Effect",
    )
    docs = list(read_ade(corpus, remove_overlapping=True))
    run = [int(f) for f in folds.split(",")] if folds else None
    result = cross_validate(
        docs,
        cfg,
        k=k,
        folds=run,
        on_fold=lambda r: typer.echo(json.dumps({"fold": r["fold"], **r["scores"]})),
        save_dir=save_models,
    )
    typer.echo(format_cv(result))
    if json_out:
        json_out.write_text(json.dumps(result, indent=2) + "\n", "utf-8")
