"""The ADE-Corpus-V2 cross-validation protocol.

The 4,272 ADE sentences with overlapping entities removed (the published preprocessing), the
deterministic PMID-grouped folds of :mod:`clinnlp.training.folds`, a fresh model trained on the
other folds for each test fold, strict entity F1 per label and the macro-F1 over Drug and
Adverse-Effect (the figure published systems report).
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np

from clinnlp.errors import (
    E_CV_FOLDS,
    E_CV_MERGE_CONFLICT,
    E_CV_MERGE_MISSING,
    E_CV_NOT_RESULT,
    E_CV_OTHER_RECIPE,
    ConfigError,
)
from clinnlp.modeling.predict import predict_documents
from clinnlp.schema import Document
from clinnlp.training.train import TrainConfig, save_model, train

logger = logging.getLogger(__name__)

PROTOCOL_LABELS = ("Drug", "Adverse-Effect")
#: The protocol's relation (ADE-Corpus-V2's "ADE", as :mod:`clinnlp.training.sources` names it).
PROTOCOL_RELATION = "Causes"
#: Drug strict F1 counting only predicted drugs linked to an event (as the corpus marks them),
#: and the protocol's macro-F1 with it.
EVENT_DRUG = "Drug-in-event"
EVENT_MACRO = "macro-in-event"


def fold_scores(
    gold: Sequence[Document], pred: Sequence[Document], relations: bool = False
) -> dict[str, float]:
    """Strict F1 per label, micro, and the protocol's macro over Drug and Adverse-Effect, with
    each label's strict precision and recall as ``"<label> P"`` and ``"<label> R"``; when the
    model predicts relations (``relations``), the strict F1 (P, R) of ``Causes`` (both spans
    and labels and the relation right)."""
    from clinnlp.training.evaluate import evaluate

    result = evaluate(gold, pred, labels=PROTOCOL_LABELS, relation_labels=[PROTOCOL_RELATION])
    strict = result["entities"]["strict"]
    scores = {label: float(v["f1"]) for label, v in strict["per_label"].items()}
    for label, v in strict["per_label"].items():
        scores[f"{label} P"] = float(v["precision"])
        scores[f"{label} R"] = float(v["recall"])
    if relations:
        relation = result["relations"]["per_label"][PROTOCOL_RELATION]
        scores[PROTOCOL_RELATION] = float(relation["f1"])
        scores[f"{PROTOCOL_RELATION} P"] = float(relation["precision"])
        scores[f"{PROTOCOL_RELATION} R"] = float(relation["recall"])
        # The corpus marks only the drugs that take part in an event: scored the same way,
        # a predicted drug counts when the model links it to an event.
        linked = evaluate(gold, [drugs_in_events(d) for d in pred], labels=["Drug"])
        drug = linked["entities"]["strict"]["per_label"]["Drug"]
        scores[EVENT_DRUG] = float(drug["f1"])
        scores[f"{EVENT_DRUG} P"] = float(drug["precision"])
        scores[f"{EVENT_DRUG} R"] = float(drug["recall"])
        scores[EVENT_MACRO] = float(
            np.mean([scores[EVENT_DRUG], scores.get("Adverse-Effect", 0.0)])
        )
    scores["micro"] = float(strict["micro"]["f1"])
    scores["macro"] = float(np.mean([scores.get(label, 0.0) for label in PROTOCOL_LABELS]))
    return scores


def drugs_in_events(doc: Document) -> Document:
    """``doc`` with only the drugs that head a ``Causes`` relation (other entities kept)."""
    heads = {r.head for r in doc.relations if r.label == PROTOCOL_RELATION}
    kept = [e for e in doc.entities if e.label != "Drug" or e.id in heads]
    ids = {e.id for e in kept}
    relations = [r for r in doc.relations if r.head in ids and r.tail in ids]
    return replace(doc, entities=kept, relations=relations)


def cross_validate(
    docs: Sequence[Document],
    config: TrainConfig,
    k: int = 10,
    folds: Sequence[int] | None = None,
    on_fold: Callable[[dict[str, Any], dict[str, Any]], None] | None = None,
    save_dir: str | Path | None = None,
    done: Sequence[dict[str, Any]] = (),
    extra: Sequence[Document] = (),
    checkpoints: str | Path | None = None,
) -> dict[str, Any]:
    """Train and test one model per fold.

    Args:
        docs: the corpus (each with ``metadata["pmid"]`` for grouping).
        config: the training recipe; each fold holds out part of its training folds for dev.
        k: number of folds in the split.
        folds: which fold indices to run (all ``k`` when omitted), to run fewer.
        on_fold: called as soon as a fold is done with the summary of every fold so far
            (earlier ones included) and that fold's result, so a caller can save both.
        save_dir: when given, each fold's model is saved to ``save_dir/fold-N`` (for
            ablations that re-decode the same models).
        done: fold results of earlier runs of the same recipe (any folds, any order); those
            folds are not run again, and they stay in the result whether asked for now or not.
        extra: more training documents (other corpora); those whose ``metadata["pmid"]`` is
            a PMID of the test fold stay out of that fold's training, so nothing of a test
            abstract is learnt.
        checkpoints: a folder for each running fold's training state (``fold-N.pt``, see
            :func:`clinnlp.training.train.train`): a fold stopped midway resumes from its last
            epoch. A fold's file is removed once ``on_fold`` has had its result.

    Returns:
        :func:`summarise` of every fold result: those in ``done`` and those run now.
    """
    from clinnlp.training.folds import ade_folds

    assignment = ade_folds(docs, k=k)
    wanted = list(folds if folds is not None else range(k))
    results = {int(r["fold"]): r for r in done}  # every fold already run is kept
    if checkpoints is not None:  # a run stopped between a fold's result and its state's removal
        for f in results:
            (Path(checkpoints) / f"fold-{f}.pt").unlink(missing_ok=True)
    for f in wanted:
        if f in results:
            continue
        test = [d for d, a in zip(docs, assignment, strict=True) if a == f]
        rest = [d for d, a in zip(docs, assignment, strict=True) if a != f]
        test_pmids = {str(d.metadata["pmid"]) for d in test}
        rest += [d for d in extra if str(d.metadata.get("pmid", "")) not in test_pmids]
        state = Path(checkpoints) / f"fold-{f}.pt" if checkpoints is not None else None
        tagger, metrics = train(rest, replace(config, seed=config.seed + f), checkpoint=state)
        started = time.perf_counter()
        pred = predict_documents(tagger, test)
        if save_dir is not None:
            save_model(tagger, Path(save_dir) / f"fold-{f}", fp16=False)
        result: dict[str, Any] = {
            "fold": f,
            "test_documents": len(test),
            "epochs": len(metrics["history"]),
            # training (the epochs before a resume included) and predicting the test fold
            "seconds": round(metrics["seconds"] + time.perf_counter() - started, 1),
            "scores": fold_scores(test, pred, PROTOCOL_RELATION in tagger.relation_types),
        }
        logger.info("fold %d: %s", f, result["scores"])
        results[f] = result
        if on_fold:
            on_fold(summarise(results.values(), k), result)
        if state is not None:
            state.unlink(missing_ok=True)
    return summarise(results.values(), k)


def parse_folds(text: str, k: int) -> list[int]:
    """``"0,3,5"`` as fold indices, each checked to lie in ``0..k-1``."""
    out = []
    for part in text.split(","):
        try:
            fold = int(part.strip())
        except ValueError:
            raise ConfigError(E_CV_FOLDS.format(found=part.strip(), k=k)) from None
        if not 0 <= fold < k:
            raise ConfigError(E_CV_FOLDS.format(found=fold, k=k))
        if fold not in out:
            out.append(fold)
    return out


def summarise(results: Iterable[dict[str, Any]], k: int) -> dict[str, Any]:
    """``{"k", "folds", "mean", "std"}``: fold results (sorted) with mean and standard
    deviation of each strict F1 (fractions 0-1)."""
    results = sorted(results, key=lambda r: r["fold"])
    keys = sorted({key for r in results for key in r["scores"]})
    return {
        "k": k,
        "folds": results,
        "mean": {key: float(np.mean([r["scores"].get(key, 0.0) for r in results])) for key in keys},
        "std": {key: float(np.std([r["scores"].get(key, 0.0) for r in results])) for key in keys},
    }


def previous_folds(path: Path, recipe: dict[str, Any]) -> list[dict[str, Any]]:
    """Fold results that earlier runs of the same ``recipe`` left in ``path`` (none when the
    file does not exist).

    Raises:
        ConfigError: the file is not a cv result, or holds a run of another recipe (the
            message names the first option that differs).
    """
    if not path.is_file():
        return []
    try:
        data = json.loads(path.read_text("utf-8"))
    except (OSError, ValueError):
        raise ConfigError(E_CV_NOT_RESULT.format(path=path)) from None
    if not isinstance(data, dict) or not isinstance(data.get("folds"), list):
        raise ConfigError(E_CV_NOT_RESULT.format(path=path))
    differs = recipe_difference(data, recipe)
    if differs is not None:
        option, stored, given = differs
        raise ConfigError(
            E_CV_OTHER_RECIPE.format(path=path, option=option, stored=stored, given=given)
        )
    return list(data["folds"])


def merge_folds(runs: Iterable[tuple[str, Iterable[dict[str, Any]]]]) -> list[dict[str, Any]]:
    """The fold results of several runs of one recipe (``(name, folds)`` each, e.g. folds run
    in parallel), each fold once, sorted.

    Raises:
        ConfigError: two runs hold different results for the same fold (names both).
    """
    merged: dict[int, dict[str, Any]] = {}
    where: dict[int, str] = {}
    for name, folds in runs:
        for result in folds:
            fold = int(result["fold"])
            if fold in merged and merged[fold] != result:
                raise ConfigError(
                    E_CV_MERGE_CONFLICT.format(fold=fold, first=where[fold], second=name)
                )
            merged[fold], where[fold] = result, name
    return [merged[f] for f in sorted(merged)]


def recipe_difference(
    stored: dict[str, Any], recipe: dict[str, Any], prefix: str = ""
) -> tuple[str, Any, Any] | None:
    """The first option (dotted name, sorted order) whose value in ``stored`` differs from
    ``recipe``, with both values; ``None`` when every option of ``recipe`` matches."""
    for key in sorted(recipe):
        given, old = recipe[key], stored.get(key)
        if isinstance(given, dict) and isinstance(old, dict):
            found = recipe_difference(old, given, f"{prefix}{key}.")
            if found is not None:
                return found
        elif old != given:
            return f"{prefix}{key}", old, given
    return None


def save_results(path: Path, recipe: dict[str, Any], result: dict[str, Any]) -> None:
    """Write the recipe and results atomically: a crash leaves the old file or the new one."""
    from clinnlp._files import write_atomic

    write_atomic(path, (json.dumps({**recipe, **result}, indent=2) + "\n").encode("utf-8"))


def merge_runs(path: Path, parts: Sequence[Path], recipe: dict[str, Any]) -> dict[str, Any]:
    """Add the folds of the cv results ``parts`` (runs of the same recipe, folds run side by
    side) to the one at ``path`` (which need not exist yet), save and return the summary.

    Raises:
        ConfigError: a part is missing, is another recipe's, or has a fold with a result
            different from another part's.
    """
    missing = [p for p in parts if not p.is_file()]
    if missing:
        raise ConfigError(E_CV_MERGE_MISSING.format(path=missing[0]))
    runs = [(str(p), previous_folds(p, recipe)) for p in [path, *parts]]
    merged = summarise(merge_folds(runs), int(recipe["k"]))
    save_results(path, recipe, merged)
    return merged


def format_cv(result: dict[str, Any]) -> str:
    """A per-fold table with the mean ± std row: strict F1 per label, micro and macro, the
    relation's strict F1 when measured, then each label's strict precision (``<label> P``),
    in percent."""
    derived = ("micro", "macro", PROTOCOL_RELATION, EVENT_DRUG, EVENT_MACRO)
    labels = [k for k in result["mean"] if k not in derived and " " not in k]
    relation = [k for k in (PROTOCOL_RELATION, EVENT_DRUG, EVENT_MACRO) if k in result["mean"]]
    precision = [k for k in result["mean"] if k.endswith(" P") and k[:-2] in labels]
    cols = [*labels, "micro", "macro", *relation, *precision]
    head = f"{'fold':>6} " + " ".join(f"{c:>15}" for c in cols) + f" {'epochs':>7} {'seconds':>8}"
    lines = [head, "-" * len(head)]
    for r in result["folds"]:
        cells = " ".join(f"{100 * r['scores'].get(c, 0.0):>15.2f}" for c in cols)
        lines.append(f"{r['fold']:>6} {cells} {r['epochs']:>7} {r['seconds']:>8.0f}")
    lines.append("-" * len(head))
    cells = " ".join(
        f"{100 * result['mean'][c]:>8.2f} ±{100 * result['std'][c]:>5.2f}" for c in cols
    )
    lines.append(f"{'mean':>6} {cells}")
    return "\n".join(lines)
