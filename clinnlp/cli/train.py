"""``clinnlp train``: fine-tune a tagger on one or more corpora in any format the readers
handle."""

from __future__ import annotations

import json
from dataclasses import asdict
from pathlib import Path
from typing import Annotated, Any

import typer

from clinnlp.cli import _options as o
from clinnlp.cli._app import app, cli_errors
from clinnlp.errors import E_CARD_OTHER_RECIPE, E_CV_NOT_RESULT, E_OUTPUT_EXISTS, ConfigError


def read_cv_result(path: Path, config: dict[str, Any]) -> dict[str, Any]:
    """A cv result file of the same recipe as ``config``, or a ConfigError saying why not."""
    from clinnlp.training.card import recipe_mismatch

    try:
        data = json.loads(path.read_text("utf-8"))
        folds, cv_config = data["folds"], data["config"]
    except (OSError, ValueError, KeyError, TypeError):
        raise ConfigError(E_CV_NOT_RESULT.format(path=path)) from None
    if not folds:
        raise ConfigError(f"{path}: the cv result holds no fold yet; run `clinnlp cv` first")
    option = recipe_mismatch(cv_config, config)
    if option is not None:
        raise ConfigError(
            E_CARD_OTHER_RECIPE.format(
                path=path, option=option, stored=cv_config.get(option), given=config.get(option)
            )
        )
    return dict(data)


@app.command("train")
@cli_errors
@o.recipe_options
def train_cli(
    corpora: Annotated[
        list[str],
        typer.Argument(
            help="Training corpora, each [KIND:]PATH: an ADE folder, BRAT folder, .jsonl, "
            ".conll, PubTator file... KIND (ade, ade-neg, bc5cdr) says which labels a corpus "
            "marks exhaustively; see clinnlp.training.sources.",
            show_default=False,
        ),
    ],
    out: Annotated[Path, typer.Option("--out", "-o", help="Folder to write the model to.")],
    fmt: Annotated[
        str | None, typer.Option("--format", help="Format of plain corpora (default: guessed).")
    ] = None,
    dev: Annotated[
        Path | None, typer.Option(help="Dev corpus for early stopping (same format).")
    ] = None,
    labels: o.Labels = None,
    evaluation: Annotated[
        Path | None,
        typer.Option(
            help="A `clinnlp cv --json` result of this same recipe, shown in the model card."
        ),
    ] = None,
    force: Annotated[bool, typer.Option(help="Overwrite an existing model folder.")] = False,
    *,
    recipe: o.RecipeOptions,
) -> None:
    """Fine-tune a token classifier and save it with its config, metrics and model card.

    The training state is kept in OUT.checkpoint.pt after every epoch until the model is
    saved: the same command, run again after a stop, resumes from the last epoch."""
    from clinnlp.readers import read
    from clinnlp.training.card import cv_evaluation, model_card
    from clinnlp.training.sources import Source, load_sources
    from clinnlp.training.train import save_model, train

    if out.exists() and any(out.iterdir()) and not force:
        raise ConfigError(E_OUTPUT_EXISTS.format(path=out))
    sources = [Source.parse(c) for c in corpora]
    cfg = recipe.config([str(s) for s in sources], labels)
    cv_result = read_cv_result(evaluation, asdict(cfg)) if evaluation else None
    docs = load_sources(sources, cfg.label_map, fmt=fmt)
    dev_docs = list(read(dev, fmt)) if dev else None
    state = out.absolute().with_name(f"{out.absolute().name}.checkpoint.pt")
    tagger, metrics = train(
        docs, cfg, dev_docs, progress=lambda r: typer.echo(json.dumps(r)), checkpoint=state
    )
    tagger.meta["corpus"] = " + ".join(corpora)
    if cv_result is not None and evaluation is not None:
        tagger.meta["evaluation"] = cv_evaluation(cv_result, evaluation.as_posix())
    save_model(tagger, out, model_card(tagger.meta))
    state.unlink(missing_ok=True)
    typer.echo(f"Saved {', '.join(tagger.labels)} tagger to {out} ({metrics['seconds']:.0f} s)")
