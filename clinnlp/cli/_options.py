"""Training options shared by ``train`` and ``cv``, declared once."""

from __future__ import annotations

import functools
import inspect
import typing
from collections.abc import Callable
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Annotated, Any, TypeVar

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


@dataclass(frozen=True)
class RecipeOptions:
    """The training options ``train`` and ``cv`` share (a recipe but for corpora and labels),
    as the command line gave them; their defaults are :class:`TrainConfig`'s."""

    base: Path | None = None
    epochs: int = TrainConfig.epochs
    lr: float = TrainConfig.lr
    batch_size: int = TrainConfig.batch_size
    seed: int = TrainConfig.seed
    dev_fraction: float = TrainConfig.dev_fraction
    patience: int = TrainConfig.patience
    max_steps: int | None = TrainConfig.max_steps
    device: str = "auto"
    precision: str = TrainConfig.precision
    label_map: list[str] | None = None
    vocabulary: bool = TrainConfig.vocabulary
    relations: bool = TrainConfig.relations
    sample: list[str] | None = None
    weak_doses: bool = TrainConfig.weak_doses
    vocabulary_exhaustive: bool = TrainConfig.vocabulary_exhaustive

    def config(self, sources: list[str], labels: str | None) -> TrainConfig:
        """The :class:`TrainConfig` of these options, ``sources`` (as written) and
        ``labels`` (comma-separated; ``None``: every label of the corpora)."""
        return TrainConfig(
            sources=list(sources),
            label_map=parse_map(self.label_map),
            vocabulary=self.vocabulary,
            relations=self.relations,
            sample=parse_sample(self.sample),
            weak_doses=self.weak_doses,
            vocabulary_exhaustive=self.vocabulary_exhaustive,
            base=str(self.base) if self.base else None,
            labels=[x.strip() for x in labels.split(",") if x.strip()] if labels else None,
            epochs=self.epochs,
            lr=self.lr,
            batch_size=self.batch_size,
            seed=self.seed,
            dev_fraction=self.dev_fraction,
            patience=self.patience,
            max_steps=self.max_steps,
            device=self.device,
            precision=self.precision,
        )


#: The option of each field of :class:`RecipeOptions` (its default is the field's).
_RECIPE_TYPES: dict[str, Any] = {
    "base": Base,
    "epochs": Epochs,
    "lr": LearningRate,
    "batch_size": BatchSize,
    "seed": Seed,
    "dev_fraction": DevFraction,
    "patience": Patience,
    "max_steps": MaxSteps,
    "device": Device,
    "precision": Precision,
    "label_map": Map,
    "vocabulary": Vocabulary,
    "relations": Relations,
    "sample": Sample,
    "weak_doses": WeakDoses,
    "vocabulary_exhaustive": VocabularyExhaustive,
}

F = TypeVar("F", bound=Callable[..., Any])


def recipe_options(func: F) -> F:
    """Give a command the options of :class:`RecipeOptions`, declared here once: Typer sees
    them as the command's own, and the command receives them as one ``recipe`` argument."""
    hints = typing.get_type_hints(func, include_extras=True)  # the module's string annotations
    own = [
        p.replace(annotation=hints.get(p.name, p.annotation))
        for p in inspect.signature(func).parameters.values()
        if p.name != "recipe"
    ]
    shared = [
        inspect.Parameter(
            f.name, inspect.Parameter.KEYWORD_ONLY, default=f.default, annotation=kind
        )
        for f in fields(RecipeOptions)
        for kind in [_RECIPE_TYPES[f.name]]
    ]

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        options = {f.name: kwargs.pop(f.name) for f in fields(RecipeOptions) if f.name in kwargs}
        return func(*args, recipe=RecipeOptions(**options), **kwargs)

    parameters = [*own, *shared]
    wrapper.__signature__ = inspect.Signature(parameters)  # type: ignore[attr-defined]
    wrapper.__annotations__ = {p.name: p.annotation for p in parameters}
    del wrapper.__wrapped__  # Typer reads the signature above, not the function's own
    return wrapper  # type: ignore[return-value]


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
