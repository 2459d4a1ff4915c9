"""``clinnlp annotate``: tag every document of folders, CSV or JSONL files, resumably."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from clinnlp.batch.local import FORMATS, annotate
from clinnlp.cli._app import app, cli_errors
from clinnlp.readers.textfile import MAX_DOCUMENT_BYTES


@app.command("annotate")
@cli_errors
def annotate_cli(
    inputs: Annotated[
        list[Path],
        typer.Argument(help="Folders (their .txt files, recursively), .txt, .csv or .jsonl files."),
    ],
    out: Annotated[Path, typer.Option("--out", "-o", help="Output folder.")],
    fmt: Annotated[
        str, typer.Option("--format", "-f", help=f"Output format: {', '.join(FORMATS)}.")
    ] = "jsonl",
    model: Annotated[
        Path | None, typer.Option(help="clinnlp model folder (default: the shipped model).")
    ] = None,
    device: Annotated[str, typer.Option(help="auto, cpu, cuda or cuda:N.")] = "auto",
    precision: Annotated[
        str,
        typer.Option(
            help="auto (bf16 where the CPU or GPU does it fast, else fp32), bf16, fp32, or int8 "
            "(the encoder quantized; CPU only)."
        ),
    ] = "auto",
    batch_size: Annotated[
        int, typer.Option(min=1, help="Documents per batch (and per commit to --out).")
    ] = 32,
    n_process: Annotated[int, typer.Option(min=1, help="Worker processes.")] = 1,
    max_bytes: Annotated[
        int, typer.Option(min=1, help="Documents larger than this fail (recorded in errors.jsonl).")
    ] = MAX_DOCUMENT_BYTES,
    text_col: Annotated[
        str, typer.Option(help="Text column or key of CSV/JSONL records.")
    ] = "text",
    id_col: Annotated[str, typer.Option(help="Id column or key of CSV/JSONL records.")] = "id",
    engine: Annotated[
        str,
        typer.Option(
            help="local, or spark: Spark executors annotate (pip install 'clinnlp\\[spark]'); "
            "inputs, --out, resume and errors stay the same."
        ),
    ] = "local",
    spark_master: Annotated[
        str | None,
        typer.Option(help="Spark master URL (default: spark-submit's, else local[*])."),
    ] = None,
    spark_ui: Annotated[
        bool,
        typer.Option(
            "--spark-ui",
            help="Open Spark's web UI (off by default: on a local master Spark binds to "
            "127.0.0.1 only and serves no UI).",
        ),
    ] = False,
    force: Annotated[
        bool,
        typer.Option(
            "--force",
            help="Replace the output of a different earlier run (removes only what its "
            "run.json recorded; never files clinnlp did not write).",
        ),
    ] = False,
) -> None:
    """Annotate documents into --out; the same command again resumes an interrupted run.

    Unreadable documents go to errors.jsonl, the run goes on, and it exits with 1.
    """
    result = annotate(
        inputs,
        out,
        fmt=fmt,
        model=model,
        device=None if device == "auto" else device,
        precision=precision,
        batch_size=batch_size,
        n_process=n_process,
        max_bytes=max_bytes,
        text_col=text_col,
        id_col=id_col,
        force=force,
        engine=engine,
        spark_master=spark_master,
        spark_ui=spark_ui,
    )
    typer.echo(
        f"Annotated {result['done']:,} document{'' if result['done'] == 1 else 's'} "
        f"({result['docs_per_second']:,.1f} docs/s), "
        f"skipped {result['skipped']:,} already done, {result['failed']:,} failed; "
        f"output in {result['out']}"
    )
    if result["failed"]:
        typer.secho(
            f"Failed documents and reasons: {result['errors']}", fg=typer.colors.RED, err=True
        )
        raise typer.Exit(1)
