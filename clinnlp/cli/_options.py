"""Training options shared by ``train`` and ``cv``, declared once."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from clinnlp.errors import E_LABEL_MAP, E_SAMPLE, ConfigError
from clinnlp.training.train import TrainConfig

Base = Annotated[
    Path | None,
    typer.Option(
        help="Encoder or clinnlp model folder to start from (default: packaged all-MiniLM-L6-v2)."
    ),
]
Epochs = Annotated[int, typer.Option(min=1, help="Maximum training epochs.")]
LearningRate = Annotated[float, typer.Option("--lr", min=0.0, help="Peak learning rate (AdamW).")]
BatchSize = Annotated[int, typer.Option(min=1, help="Sentences or windows per optimiser step.")]
Seed = Annotated[int, typer.Option(help="Random seed.")]
DevFraction = Annotated[
    float,
    typer.Option(
        min=0.0, max=0.5, help="Share held out for early stopping (train: when no --dev is given)."
    ),
]
Patience = Annotated[
    int, typer.Option(min=1, help="Epochs without dev improvement before stopping.")
]
MaxSteps = Annotated[int | None, typer.Option(min=1, help="Stop after this many optimiser steps.")]
Device = Annotated[str, typer.Option(help="auto, cpu, cuda or cuda:N.")]
Precision = Annotated[str, typer.Option(help="auto (bf16 where fast), bf16 or fp32.")]
Map = Annotated[
    list[str] | None,
    typer.Option(
        "--map",
        help="Rename a label when reading the corpora, FROM=TO (repeat; TO empty drops it), "
        "e.g. --map ADE=Adverse-Effect.",
    ),
]
Vocabulary = Annotated[
    bool,
    typer.Option(
        help="Weak Drug labels from the packaged drug vocabulary in corpora that do not mark "
        "every drug (ade:, ade-neg:).",
    ),
]
Sample = Annotated[
    list[str] | None,
    typer.Option(
        "--sample",
        help="Train each epoch on a fresh share of one kind of corpus, KIND=SHARE (repeat), "
        "e.g. --sample ade-neg=0.25.",
    ),
]
VocabularyExhaustive = Annotated[
    bool,
    typer.Option(
        help="With --vocabulary: count Drug as marked in those corpora once the vocabulary's "
        "names are added (other words are then taught as not drugs).",
    ),
]
WeakDoses = Annotated[
    bool,
    typer.Option(
        help="Mark amount-and-unit doses (500 mg, 2 puffs) as Dose wherever a corpus leaves "
        "doses unmarked, so that Dose is learnt with negatives too.",
    ),
]
Relations = Annotated[
    bool,
    typer.Option(
        help="Also learn the corpora's relations (Causes, Dose-of...) with a head on the "
        "tagger's encoder pass.",
    ),
]
Labels = Annotated[
    str | None,
    typer.Option(help="Comma-separated entity labels to learn (default: all in the corpus)."),
]


def train_config(
    base: Path | None,
    epochs: int,
    lr: float,
    batch_size: int,
    seed: int,
    dev_fraction: float,
    patience: int,
    max_steps: int | None,
    device: str,
    precision: str,
    labels: str | None,
    sources: list[str] | None = None,
    label_map: list[str] | None = None,
    vocabulary: bool = False,
    relations: bool = True,
    sample: list[str] | None = None,
    weak_doses: bool = True,
    vocabulary_exhaustive: bool = False,
) -> TrainConfig:
    """A :class:`TrainConfig` from the shared options."""
    return TrainConfig(
        sources=list(sources or []),
        label_map=parse_map(label_map),
        vocabulary=vocabulary,
        relations=relations,
        sample=parse_sample(sample),
        weak_doses=weak_doses,
        vocabulary_exhaustive=vocabulary_exhaustive,
        base=str(base) if base else None,
        labels=[x.strip() for x in labels.split(",") if x.strip()] if labels else None,
        epochs=epochs,
        lr=lr,
        batch_size=batch_size,
        seed=seed,
        dev_fraction=dev_fraction,
        patience=patience,
        max_steps=max_steps,
        device=device,
        precision=precision,
    )


def parse_map(items: list[str] | None) -> dict[str, str]:
    """``["ADE=Adverse-Effect", "Disease="]`` as a dict (ConfigError on a malformed item)."""
    out: dict[str, str] = {}
    for item in items or []:
        old, sep, new = item.partition("=")
        if not sep or not old.strip():
            raise ConfigError(E_LABEL_MAP.format(item=item))
        out[old.strip()] = new.strip()
    return out


def parse_sample(items: list[str] | None) -> dict[str, float]:
    """``["ade-neg=0.25"]`` as ``{"ade-neg": 0.25}`` (ConfigError unless 0 < share <= 1)."""
    out: dict[str, float] = {}
    for item in items or []:
        kind, sep, share = item.partition("=")
        try:
            value = float(share)
        except ValueError:
            value = -1.0
        if not sep or not kind.strip() or not 0 < value <= 1:
            raise ConfigError(E_SAMPLE.format(item=item))
        out[kind.strip()] = value
    return out
