"""Inter-annotator agreement on the real-note corpus: the notes two annotators annotated
independently (corpora/mtsamples_ade/agreement/first and second), scored one against the other
(F1 is symmetric: swapping the two swaps precision and recall).

    python benchmarks/agreement.py --json results/agreement.json   # after `make corpora`
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _results import write_result  # noqa: E402

from clinnlp.readers.brat import read_brat  # noqa: E402
from clinnlp.training.evaluate import evaluate  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT / "corpora" / "data" / "mtsamples_ade" / "agreement"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", type=Path, default=DATA)
    parser.add_argument("--json", type=Path, default=None)
    args = parser.parse_args()
    first = list(read_brat(args.data / "first"))
    second = list(read_brat(args.data / "second"))
    result = evaluate(first, second, labels=["Drug", "ADE"], asserted=["ADE"])
    rows = {}
    for name, table in (
        ("entities strict", result["entities"]["strict"]),
        ("entities lenient", result["entities"]["lenient"]),
        ("Causes strict", result["relations"]),
        ("Causes lenient", result["relations_lenient"]),
    ):
        for label, scores in sorted(table["per_label"].items()):
            rows[f"{name}: {label}"] = scores
    print(
        f"{len(first)} notes annotated by two annotators independently; F1 of one against the other"
    )
    print(f"{'measure':<40}{'F1':>8}{'agree':>8}{'only 1st':>10}{'only 2nd':>10}")
    for name, s in rows.items():
        print(f"{name:<40}{100 * s['f1']:>8.1f}{s['tp']:>8}{s['fn']:>10}{s['fp']:>10}")
    if args.json:
        write_result(
            args.json,
            "python benchmarks/agreement.py --json results/agreement.json",
            {"notes": len(first), "scores": rows},
        )


if __name__ == "__main__":
    main()
