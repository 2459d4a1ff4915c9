"""``clinnlp evaluate``: score a predicted corpus against a gold one."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from clinnlp.cli import _options as o
from clinnlp.cli._app import app, cli_errors


@app.command("evaluate")
@cli_errors
def evaluate_cli(
    gold: Annotated[Path, typer.Argument(help="Gold corpus file or folder.")],
    pred: Annotated[
        Path,
        typer.Argument(
            help="Predicted corpus (same document ids), e.g. the annotations.jsonl of "
            "`clinnlp annotate`."
        ),
    ],
    fmt: Annotated[
        str | None,
        typer.Option(
            "--format",
            "-f",
            help="Format of both corpora: brat, jsonl, conll, ade, pubtator (default: guessed).",
        ),
    ] = None,
    label_map: o.Map = None,
    labels: Annotated[
        str | None,
        typer.Option(help="Comma-separated entity labels to score (default: all found)."),
    ] = None,
    asserted: Annotated[
        str | None,
        typer.Option(
            help="Comma-separated entity labels also scored on their asserted entities only "
            "(not negated, hypothetical or a family member's), as '<label> asserted'."
        ),
    ] = None,
    json_path: Annotated[
        Path | None, typer.Option("--json", help="Also write the scores as JSON here.")
    ] = None,
) -> None:
    """Print strict and lenient entity scores and strict and lenient relation scores per
    label. With --map both corpora's labels are renamed first (e.g. --map Adverse-Effect=ADE
    to score the tagger's events against a gold set that calls them ADE)."""
    from clinnlp.readers import read
    from clinnlp.training.evaluate import evaluate, format_report
    from clinnlp.training.sources import map_labels

    mapping = o.parse_map(label_map)
    gold_docs = (map_labels(d, mapping) for d in read(gold, fmt))
    pred_docs = (map_labels(d, mapping) for d in read(pred, fmt))
    result = evaluate(
        gold_docs,
        pred_docs,
        labels=_split(labels),
        asserted=_split(asserted) or (),
    )
    typer.echo(format_report(result))
    if json_path is not None:
        json_path.parent.mkdir(parents=True, exist_ok=True)
        json_path.write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")


def _split(value: str | None) -> list[str] | None:
    return [x.strip() for x in value.split(",") if x.strip()] if value else None
