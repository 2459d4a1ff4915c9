"""``clinnlp review``: a local page to check, correct and complete an annotate run."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from clinnlp.cli._app import app, cli_errors


@app.command("review")
@cli_errors
def review_cli(
    run_dir: Annotated[Path, typer.Argument(help="The --out folder of `clinnlp annotate`.")],
    port: Annotated[
        int, typer.Option(min=0, max=65535, help="Port on 127.0.0.1 (0: any free one).")
    ] = 8765,
) -> None:
    """Serve a review page for RUN_DIR on 127.0.0.1 only (it opens nothing by itself).

    Accept, reject or correct each entity and link, add what the model missed; every decision
    is saved as it is made under RUN_DIR/review/ (BRAT, for `clinnlp train --base`, and an
    audit log); the run's own files are never changed.
    """
    from clinnlp.review.server import serve

    serve(run_dir, port, announce=typer.echo)
