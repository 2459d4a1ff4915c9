"""``clinnlp convert``: rewrite a corpus in another format."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from clinnlp.cli._app import app, cli_errors
from clinnlp.readers.convert import convert


@app.command("convert")
@cli_errors
def convert_cli(
    input_path: Annotated[Path, typer.Argument(help="Corpus file or folder to read.")],
    output_path: Annotated[Path, typer.Argument(help="File (jsonl, conll) or folder (brat).")],
    from_format: Annotated[
        str | None,
        typer.Option(
            "--from", help="brat, jsonl, conll, ade, pubtator or text (default: guessed)."
        ),
    ] = None,
    to_format: Annotated[
        str | None, typer.Option("--to", help="brat, jsonl or conll (default: guessed).")
    ] = None,
    force: Annotated[bool, typer.Option("--force", help="Overwrite OUTPUT if it exists.")] = False,
) -> None:
    """Convert a corpus to BRAT, JSONL or CoNLL (ADE, PubTator and plain text are read-only)."""
    result = convert(input_path, output_path, from_format, to_format, force=force)
    typer.echo(
        f"Wrote {result['documents']:,} documents ({result['from']} -> {result['to']}) "
        f"to {result['output']}"
    )
