"""Inference-side ablations on the cross-validation fold models, side by side in one run.

Re-decodes the models that `clinnlp cv --save-models DIR` kept, on their own test folds:
constrained (Viterbi) vs argmax BIO decoding, weights stored in fp16 (as shipped) vs fp32,
and bf16 vs fp32 inference. Prints strict F1 (percent) per variant and its difference to the
reference (fp32 weights, fp32 inference, Viterbi).

    python benchmarks/quality_ablation.py runs/cv-models [--folds 0,1,2]
        [--json results/quality-ablation.json]

``--json`` writes the same figures (per variant: mean strict F1 per measure, seconds) with the
command, machine and date.
"""

from __future__ import annotations

import argparse
import json
import platform
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from clinnlp.modeling.predict import predict_documents
from clinnlp.modeling.tagger import Tagger
from clinnlp.readers.ade import read_ade
from clinnlp.training.cv import PROTOCOL_RELATION, fold_scores
from clinnlp.training.folds import ade_folds
from clinnlp.training.sources import normalize_ade_relations

VARIANTS = {
    "reference: fp32 weights, fp32 inference, Viterbi": dict(
        fp16=False, precision="fp32", constrained=True
    ),
    "argmax decoding": dict(fp16=False, precision="fp32", constrained=False),
    "fp16 weights (as shipped)": dict(fp16=True, precision="fp32", constrained=True),
    "bf16 inference": dict(fp16=False, precision="bf16", constrained=True),
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "models", type=Path, help="folder with fold-N models from `clinnlp cv --save-models`"
    )
    parser.add_argument("--corpus", type=Path, default=Path("corpora/data/ade_corpus_v2"))
    parser.add_argument("--folds", default=None, help="comma-separated folds [default: all saved]")
    parser.add_argument("--json", type=Path, default=None, help="also write the figures here")
    args = parser.parse_args()
    # the corpus as `clinnlp cv` reads it (Causes drug -> event, as the models learnt it)
    docs = [normalize_ade_relations(d) for d in read_ade(args.corpus, remove_overlapping=True)]
    assignment = ade_folds(docs)
    folds = (
        [int(f) for f in args.folds.split(",")]
        if args.folds
        else sorted(int(p.name.split("-")[1]) for p in args.models.glob("fold-*"))
    )
    scores: dict[str, list[dict[str, float]]] = {name: [] for name in VARIANTS}
    seconds: dict[str, float] = dict.fromkeys(VARIANTS, 0.0)
    for f in folds:
        test = [d for d, a in zip(docs, assignment, strict=True) if a == f]
        for name, v in VARIANTS.items():
            with tempfile.TemporaryDirectory() as tmp:
                path = args.models / f"fold-{f}"
                if v["fp16"]:
                    path = Tagger.load(path).save(Path(tmp) / "m", fp16=True)
                tagger = Tagger.load(path, device="cpu", precision=str(v["precision"]))
                started = time.perf_counter()
                pred = predict_documents(tagger, test, constrained=bool(v["constrained"]))
                seconds[name] += time.perf_counter() - started
                relations = PROTOCOL_RELATION in tagger.relation_types
                scores[name].append(fold_scores(test, pred, relations))
    ref = next(iter(VARIANTS))
    # Causes and macro-in-event where the models learnt relations
    cols = [
        c
        for c in ("Drug", "Adverse-Effect", "macro", "Causes", "macro-in-event")
        if all(c in s for s in scores[ref])
    ]
    means = {
        name: {c: 100 * float(np.mean([s[c] for s in scores[name]])) for c in cols}
        for name in VARIANTS
    }
    print(f"Strict F1 (%) over {len(folds)} ADE folds {folds}; delta vs the reference in brackets")
    print(f"{'variant':<52}" + "".join(f"{c:>22}" for c in cols) + f"{'predict s':>11}")
    for name in VARIANTS:
        cells = ""
        for c in cols:
            mean, delta = means[name][c], means[name][c] - means[ref][c]
            cells += f"{mean:>13.2f} ({delta:+.2f})"
        print(f"{name:<52}{cells}{seconds[name]:>11.1f}")
    if args.json is not None:
        record = {
            "command": "python benchmarks/quality_ablation.py " + " ".join(sys.argv[1:]),
            "date": time.strftime("%Y-%m-%d"),
            "machine": f"{platform.machine()}, {platform.processor() or platform.platform()}",
            "models": str(args.models),
            "folds": folds,
            "strict_f1_percent": means,
            "predict_seconds": {name: round(s, 1) for name, s in seconds.items()},
        }
        args.json.write_text(json.dumps(record, indent=2) + "\n", "utf-8")


if __name__ == "__main__":
    main()
