"""``clinnlp train``: fine-tune a tagger on a corpus in any format the readers handle."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from clinnlp.cli import _options as o
from clinnlp.cli._app import app, cli_errors
from clinnlp.errors import E_OUTPUT_EXISTS, ConfigError


@app.command("train")
@cli_errors
def train_cli(
    corpus: Annotated[
        Path, typer.Argument(help="Training corpus: ADE folder, BRAT folder, .jsonl, .conll...")
    ],
    out: Annotated[Path, typer.Option("--out", "-o", help="Folder to write the model to.")],
    fmt: Annotated[
        str | None, typer.Option("--format", help="Corpus format [default: guessed].")
    ] = None,
    dev: Annotated[
        Path | None, typer.Option(help="Dev corpus for early stopping (same format).")
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
    labels: o.Labels = None,
    force: Annotated[bool, typer.Option(help="Overwrite an existing model folder.")] = False,
) -> None:
    """Fine-tune a token classifier and save it with its config, metrics and model card."""
    from clinnlp.readers import read
    from clinnlp.training.card import model_card
    from clinnlp.training.train import save_model, train

    if out.exists() and any(out.iterdir()) and not force:
        raise ConfigError(E_OUTPUT_EXISTS.format(path=out))
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
        labels,
    )
    docs = list(read(corpus, fmt))
    dev_docs = list(read(dev, fmt)) if dev else None
    tagger, metrics = train(docs, cfg, dev_docs, progress=lambda r: typer.echo(json.dumps(r)))
    tagger.meta["corpus"] = str(corpus)
    save_model(tagger, out, model_card(tagger.meta))
    typer.echo(f"Saved {', '.join(tagger.labels)} tagger to {out} ({metrics['seconds']:.0f} s)")
