"""``clinnlp stats``: count documents, entities and relations of a corpus."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from clinnlp.cli._app import app, cli_errors
from clinnlp.readers import read
from clinnlp.readers.stats import corpus_stats, format_stats


@app.command("stats")
@cli_errors
def stats_cli(
    input_path: Annotated[Path, typer.Argument(help="Corpus file or folder.")],
    fmt: Annotated[
        str | None,
        typer.Option(
            "--format", "-f", help="brat, jsonl, conll, ade, pubtator or text (default: guessed)."
        ),
    ] = None,
) -> None:
    """Print documents, characters, and entities and relations per label, as a table."""
    typer.echo(format_stats(corpus_stats(read(input_path, fmt))))
