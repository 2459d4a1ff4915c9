"""``clinnlp card``: rewrite a model's card (README.md), with the evaluation of a cv run."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from clinnlp.cli._app import app, cli_errors


@app.command("card")
@cli_errors
def card_cli(
    model: Annotated[Path, typer.Argument(help="A clinnlp model folder.")],
    evaluation: Annotated[
        Path | None,
        typer.Option(help="A `clinnlp cv --json` result of the model's own recipe."),
    ] = None,
) -> None:
    """Write the model card from the model's clinnlp.json (and the cv result, whose recipe
    must be the model's: the figures are never written by hand)."""
    from clinnlp._files import write_atomic
    from clinnlp.cli.train import read_cv_result
    from clinnlp.modeling.tagger import CLINNLP_FILE, check_model_dir
    from clinnlp.training.card import cv_evaluation, model_card

    folder = check_model_dir(model)
    meta = json.loads((folder / CLINNLP_FILE).read_text("utf-8"))
    if evaluation is not None:
        result = read_cv_result(evaluation, meta.get("config", {}))
        meta["evaluation"] = cv_evaluation(result, evaluation.as_posix())
        text = json.dumps(meta, indent=2, sort_keys=True) + "\n"
        write_atomic(folder / CLINNLP_FILE, text.encode("utf-8"))
    write_atomic(folder / "README.md", model_card(meta).encode("utf-8"))
    typer.echo(f"Wrote {folder / 'README.md'}")
