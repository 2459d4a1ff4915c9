"""ConText assertion on the gold events of the annotated notes, side by side in one run.

    python benchmarks/assertion.py [--json results/assertion.json]

For every gold ADE of the MTSamples dev notes and of the synthetic notes (the held-out set
first; the training sets, on whose wording the rules were extended, for reference), the
status clinnlp's ConText gives it (sentences from the scispaCy text layer) against the gold
attribute: asserted (no attribute), Negated or Hypothetical. ``possible`` and ``family``
count as not asserted (hypothetical), ``historical`` as asserted, as the ADE decision reads
them. Prints accuracy (three classes), the asserted/not-asserted accuracy, and how many
negated or hypothetical gold events come out asserted.
"""

from __future__ import annotations

import argparse
from collections import Counter
from pathlib import Path

from _results import write_result

from clinnlp.assertion.context import assert_spans, find_modifiers
from clinnlp.readers import read
from clinnlp.text import make_text_pipeline

SETS = {
    "MTSamples dev notes": "corpora/data/mtsamples_dev",
    "synthetic held-out notes": "corpora/synthetic/heldout",
    "synthetic training notes (rules extended on them)": "corpora/synthetic",
}
AS_GOLD = {
    "present": "asserted",
    "historical": "asserted",
    "negated": "negated",
    "hypothetical": "hypothetical",
    "possible": "hypothetical",
    "family": "hypothetical",
}


def gold_status(attributes: dict) -> str:
    if attributes.get("Negated"):
        return "negated"
    return "hypothetical" if attributes.get("Hypothetical") else "asserted"


def score(path: str, nlp) -> dict:
    folders = [p for p in Path(path).glob("train-*")] if path.endswith("synthetic") else [path]
    pairs: Counter[tuple[str, str]] = Counter()
    for folder in folders:
        for doc in read(folder):
            sents = [(s.start_char, s.end_char) for s in nlp(doc.text).sents]
            events = [e for e in doc.entities if e.label == "ADE"]
            found = assert_spans(
                [(e.start, e.end) for e in events], find_modifiers(doc.text, sents)
            )
            for event, (status, _) in zip(events, found, strict=True):
                pairs[(gold_status(event.attributes), AS_GOLD[status])] += 1
    n = sum(pairs.values())
    right = sum(v for (g, p), v in pairs.items() if g == p)
    binary = sum(v for (g, p), v in pairs.items() if (g == "asserted") == (p == "asserted"))
    missed = sum(v for (g, p), v in pairs.items() if g != "asserted" and p == "asserted")
    return {
        "events": n,
        "accuracy": right / n if n else None,
        "asserted_vs_not_accuracy": binary / n if n else None,
        "not_asserted_gold": sum(v for (g, _), v in pairs.items() if g != "asserted"),
        "not_asserted_gold_reported_asserted": missed,
        "confusion": {f"{g} -> {p}": v for (g, p), v in sorted(pairs.items())},
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", type=Path, default=None)
    args = parser.parse_args()
    nlp = make_text_pipeline()
    rows = {name: score(path, nlp) for name, path in SETS.items()}
    head = f"{'gold events of':<52}{'events':>8}{'accuracy':>10}{'asserted?':>11}"
    head += f"{'N/H gold':>10}{'N/H as asserted':>17}"
    print(head)
    print("-" * len(head))
    for name, r in rows.items():
        print(
            f"{name:<52}{r['events']:>8}{100 * r['accuracy']:>9.1f}%"
            f"{100 * r['asserted_vs_not_accuracy']:>10.1f}%{r['not_asserted_gold']:>10}"
            f"{r['not_asserted_gold_reported_asserted']:>17}"
        )
    if args.json:
        write_result(args.json, "python benchmarks/assertion.py", {"rows": rows})


if __name__ == "__main__":
    main()
