"""``clinnlp cv``: the ADE 10-fold cross-validation protocol."""

from __future__ import annotations

import json
from dataclasses import asdict, replace
from pathlib import Path
from typing import Annotated, Any

import typer

from clinnlp.cli import _options as o
from clinnlp.cli._app import app, cli_errors
from clinnlp.errors import E_CV_BENCHMARK, E_CV_MERGE_USAGE, ConfigError


@app.command("cv")
@cli_errors
@o.recipe_options
def cv_cli(
    corpora: Annotated[
        list[str] | None,
        typer.Argument(
            help="The ADE-Corpus-V2 folder whose folds are tested ([ade:]PATH; with ade: its "
            "unmarked drugs are not taught as outside), then more training corpora "
            "([KIND:]PATH, as for `clinnlp train`): a test fold's PMIDs stay out of them.",
            show_default="corpora/data/ade_corpus_v2",
        ),
    ] = None,
    k: Annotated[int, typer.Option("--k", min=2, help="Folds in the split.")] = 10,
    folds: Annotated[
        str | None, typer.Option(help="Comma-separated fold indices to run (default: all).")
    ] = None,
    json_out: Annotated[
        Path | None,
        typer.Option(
            "--json",
            help="Write the results here, after every fold, and each running fold's training "
            "state beside it (JSON.checkpoints/) after every epoch; rerun to resume.",
        ),
    ] = None,
    merge: Annotated[
        list[Path] | None,
        typer.Option(
            "--merge",
            help="Run no fold: add the folds of these cv results of the same recipe (folds "
            "run in parallel, each with its own --json) to --json, and print the table.",
        ),
    ] = None,
    save_models: Annotated[
        Path | None, typer.Option(help="Keep each fold's model in this folder (fold-N).")
    ] = None,
    *,
    recipe: o.RecipeOptions,
) -> None:
    """Per-fold and mean strict F1 per label, the macro-F1 over Drug and Adverse-Effect, and
    the strict F1 of Causes relations (Drug -> Adverse-Effect) when the model learns them."""
    from clinnlp.readers.ade import read_ade
    from clinnlp.training.cv import (
        cross_validate,
        format_cv,
        merge_runs,
        parse_folds,
        previous_folds,
        save_results,
    )
    from clinnlp.training.sources import KINDS, Source, load_sources, normalize_ade_relations

    sources = [Source.parse(c) for c in corpora or ["corpora/data/ade_corpus_v2"]]
    benchmark, extra_sources = sources[0], sources[1:]
    if benchmark.kind not in (None, "ade"):
        raise ConfigError(E_CV_BENCHMARK.format(spec=benchmark))
    # The protocol's two labels on the ADE corpus alone; with other corpora, every label they
    # teach (Dose too), as `clinnlp train` learns them: the model measured is the model
    # shipped, and only the protocol's labels are scored.
    labels = None if extra_sources else "Drug,Adverse-Effect"
    cfg = recipe.config([str(s) for s in sources], labels)
    protocol = {"k": k, "config": asdict(cfg), "corpus": benchmark.path}
    if merge:
        if json_out is None or folds:
            raise ConfigError(E_CV_MERGE_USAGE)
        typer.echo(format_cv(merge_runs(json_out, merge, protocol)))
        return
    docs = [normalize_ade_relations(d) for d in read_ade(benchmark.path, remove_overlapping=True)]
    if benchmark.kind == "ade":  # training folds: only adverse effects marked exhaustively
        annotated = sorted(KINDS["ade"].annotated or ())
        docs = [replace(d, metadata={**d.metadata, "annotated": annotated}) for d in docs]
    extra = load_sources(extra_sources, cfg.label_map)
    run = parse_folds(folds, k) if folds else None
    done = previous_folds(json_out, protocol) if json_out else []
    if done:
        typer.echo(f"Resuming: folds {[r['fold'] for r in done]} already done in {json_out}")

    def on_fold(summary: dict[str, Any], result: dict[str, Any]) -> None:
        typer.echo(json.dumps({"fold": result["fold"], **result["scores"]}))
        if json_out:  # after every fold, so an interrupted run loses nothing finished
            save_results(json_out, protocol, summary)

    states = json_out.with_name(f"{json_out.name}.checkpoints") if json_out else None
    result = cross_validate(
        docs,
        cfg,
        k=k,
        folds=run,
        on_fold=on_fold,
        save_dir=save_models,
        done=done,
        extra=extra,
        checkpoints=states,
    )
    typer.echo(format_cv(result))
    if json_out:
        save_results(json_out, protocol, result)
    if states is not None and states.is_dir() and not any(states.iterdir()):
        states.rmdir()  # our own folder, left only while a fold is unfinished
