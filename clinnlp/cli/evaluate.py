"""``clinnlp evaluate``: score a predicted corpus against a gold one."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from clinnlp.cli._app import app, cli_errors
from clinnlp.readers import read
from clinnlp.training.evaluate import evaluate, format_report


@app.command("evaluate")
@cli_errors
def evaluate_cli(
    gold: Annotated[Path, typer.Argument(help="Gold corpus file or folder.")],
    pred: Annotated[Path, typer.Argument(help="Predicted corpus (same document ids).")],
    fmt: Annotated[
        str | None,
        typer.Option(
            "--format",
            "-f",
            help="Format of both corpora: brat, jsonl, conll, ade, pubtator (default: guessed).",
        ),
    ] = None,
    json_path: Annotated[
        Path | None, typer.Option("--json", help="Also write the scores as JSON here.")
    ] = None,
) -> None:
    """Print strict and lenient entity scores and strict relation scores per label."""
    result = evaluate(read(gold, fmt), read(pred, fmt))
    typer.echo(format_report(result))
    if json_path is not None:
        json_path.parent.mkdir(parents=True, exist_ok=True)
        json_path.write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
