"""``clinnlp cv``: the ADE 10-fold cross-validation protocol."""

from __future__ import annotations

import json
from dataclasses import asdict
from pathlib import Path
from typing import Annotated, Any

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
    from clinnlp.training.cv import (
        cross_validate,
        format_cv,
        parse_folds,
        previous_folds,
        save_results,
    )

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
    run = parse_folds(folds, k) if folds else None
    recipe = {"k": k, "config": asdict(cfg), "corpus": str(corpus)}
    done = previous_folds(json_out, recipe) if json_out else []
    if done:
        typer.echo(f"Resuming: folds {[r['fold'] for r in done]} already done in {json_out}")

    def on_fold(summary: dict[str, Any], result: dict[str, Any]) -> None:
        typer.echo(json.dumps({"fold": result["fold"], **result["scores"]}))
        if json_out:  # after every fold, so an interrupted run loses nothing finished
            save_results(json_out, recipe, summary)

    result = cross_validate(
        docs, cfg, k=k, folds=run, on_fold=on_fold, save_dir=save_models, done=done
    )
    typer.echo(format_cv(result))
    if json_out:
        save_results(json_out, recipe, result)
