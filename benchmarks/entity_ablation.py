"""The entity ablation table: one row per training recipe, one column per measure.

    python benchmarks/entity_ablation.py predict MODEL OUT   # a model's predictions (run_recipes)
    python benchmarks/entity_ablation.py report [--runs runs/ablation] [--json results/...]

Columns, for every recipe of `recipes.py` (its full model, and its cross-validation folds):

* MTSamples dev notes (`corpora/mtsamples_dev.md`): Drug lenient P/R/F1, ADE lenient F1 (the
  tagger's Adverse-Effect against gold ADE, every assertion), Causes lenient F1 (both ends
  overlap), and for models with relations the adverse drug events the product reports
  (asserted by ConText and linked to a drug: :func:`clinnlp.events.adverse_drug_events`)
  against the gold ADEs without a Negated or Hypothetical attribute (lenient F1);
* the synthetic held-out notes (`corpora/synthetic/heldout`): the same, without Drug P/R;
* BC5CDR dev: Chemical lenient recall and precision (predicted Drug against gold Chemical);
* ADE-Corpus-V2 folds: Adverse-Effect strict F1, Drug strict precision, macro-F1, Causes.

Two rows need no recipe: the dictionary baseline (`find_drugs` of
drug-named-entity-recognition over regex words, Drug only) and the shipped model with the
vocabulary matcher's drugs added where the model tagged nothing.
"""

from __future__ import annotations

import argparse
import json
import platform
import re
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from recipes import ALL, slug  # noqa: E402
from recipes import PREVIOUS_SHIPPED as SHIPPED  # noqa: E402

from clinnlp.schema import Document, Entity  # noqa: E402

EVAL_SETS = {
    "dev": ("corpora/data/mtsamples_dev", "brat"),
    "heldout": ("corpora/synthetic/heldout", "brat"),
    "bc5cdr-dev": ("corpora/data/bc5cdr/CDR_DevelopmentSet.PubTator.txt", "pubtator"),
}
#: The shipped pipeline's row: the shipped model with its drugs merged with the vocabulary.
PIPELINE = "shipped pipeline (+ drug vocabulary and words, min confidence 0.95)"
#: Thresholds of the drug merge compared with the model alone.
THRESHOLDS = (0.8, 0.9, 0.95, 1.0)
GOLD_MAP = {"bc5cdr-dev": {"Chemical": "Drug", "Disease": ""}}
PRED_MAP = {"dev": {"Adverse-Effect": "ADE"}, "heldout": {"Adverse-Effect": "ADE"}}


def read_set(name: str) -> list[Document]:
    from clinnlp.readers import read
    from clinnlp.training.sources import map_labels

    path, fmt = EVAL_SETS[name]
    return [map_labels(d, GOLD_MAP.get(name, {})) for d in read(path, fmt)]


def predict(model: Path, out: Path, drug_vocabulary: float | None = None) -> None:
    """Write the model's predictions on every evaluation set as JSONL, then ``out/done``
    (with ``drug_vocabulary``, merged with the drug vocabulary as the pipeline does)."""
    from clinnlp.modeling.predict import predict_documents
    from clinnlp.modeling.tagger import Tagger

    tagger = Tagger.load(model)
    out.mkdir(parents=True, exist_ok=True)
    for name in EVAL_SETS:
        docs = predict_documents(tagger, read_set(name), drug_vocabulary=drug_vocabulary)
        lines = "".join(json.dumps(d.to_dict()) + "\n" for d in docs)
        (out / f"{name}.jsonl").write_text(lines, "utf-8")
    (out / "done").write_text(time.strftime("%Y-%m-%d %H:%M:%S\n"), "utf-8")


def dictionary(docs: list[Document]) -> list[Document]:
    """The baseline: `find_drugs` of drug-named-entity-recognition over regex words."""
    from drug_named_entity_recognition import find_drugs

    out = []
    for doc in docs:
        words = list(re.finditer(r"\w[\w\-']*", doc.text))
        found = find_drugs([w.group(0) for w in words], is_ignore_case=True)
        ents = []
        for i, (_, first, last) in enumerate(found, 1):
            start, end = words[first].start(), words[last - 1].end()
            ents.append(Entity(f"T{i}", "Drug", start, end, doc.text[start:end]))
        out.append(Document(doc.id, doc.text, ents))
    return out


def merged(docs: list[Document], min_confidence: float, terms: bool = True) -> list[Document]:
    """Predictions with their drugs merged with the vocabulary as the pipeline merges them
    (:func:`clinnlp.lexicon.vocabulary.merge_drugs`; without ``terms``, the DrugBank-derived
    vocabulary alone, without the guideline's drug words), entities only."""
    from clinnlp.lexicon.vocabulary import merge_drugs
    from clinnlp.modeling.align import SpanPrediction

    out = []
    for doc in docs:
        spans = [
            SpanPrediction(e.label, e.start, e.end, float(e.attributes.get("confidence", 1.0)))
            for e in doc.entities
        ]
        ents = [
            Entity(f"T{i}", p.label, p.start, p.end, doc.text[p.start : p.end])
            for i, p in enumerate(merge_drugs(doc.text, spans, min_confidence, terms=terms), 1)
        ]
        out.append(Document(doc.id, doc.text, ents))
    return out


def with_assertion(docs: list[Document]) -> list[Document]:
    """Predictions with ConText's status on every entity (sentences from the text layer)."""
    from clinnlp.assertion.context import assert_spans, find_modifiers
    from clinnlp.text import make_text_pipeline

    nlp = make_text_pipeline()
    out = []
    for doc in docs:
        sentences = [(s.start_char, s.end_char) for s in nlp(doc.text).sents]
        modifiers = find_modifiers(doc.text, sentences)
        found = assert_spans([(e.start, e.end) for e in doc.entities], modifiers)
        entities = [
            Entity(e.id, e.label, e.start, e.end, e.text, {**e.attributes, "assertion": status})
            for e, (status, _) in zip(doc.entities, found, strict=True)
        ]
        out.append(Document(doc.id, doc.text, entities, doc.relations, doc.metadata))
    return out


def decided(docs: list[Document]) -> list[Document]:
    """Only the adverse drug events the product reports (asserted, drug-linked events), as
    entities labelled ``ADE asserted``."""
    from clinnlp.events import adverse_drug_events

    out = []
    for doc in docs:
        events = adverse_drug_events(doc)["asserted"]
        ents = [
            Entity(f"E{i}", "ADE asserted", e["start"], e["end"], e["event"])
            for i, e in enumerate(events, 1)
        ]
        out.append(Document(doc.id, doc.text, ents))
    return out


def scores(
    name: str, gold: list[Document], pred: list[Document], decide: bool = True
) -> dict[str, Any]:
    """Lenient entity and relation figures of one evaluation set (with ``decide``, also the
    reported adverse drug events, which needs the spaCy text layer for ConText)."""
    from clinnlp.schema import is_asserted
    from clinnlp.training.evaluate import evaluate
    from clinnlp.training.sources import map_labels

    has_relations = any(d.relations for d in pred)
    result = evaluate(gold, [map_labels(d, PRED_MAP.get(name, {})) for d in pred])
    lenient = result["entities"]["lenient"]["per_label"]
    relations = result["relations_lenient"]["per_label"]
    out = {
        f"{label} {k}": lenient[label][k]
        for label in lenient
        for k in ("precision", "recall", "f1")
    }
    out |= {f"{label} f1": relations[label]["f1"] for label in relations}
    out["has_relations"] = has_relations
    if decide and has_relations and name in PRED_MAP:
        asserted_gold = [
            Document(
                d.id,
                d.text,
                [
                    Entity(e.id, "ADE asserted", e.start, e.end, e.text)
                    for e in d.entities
                    if e.label == "ADE" and is_asserted(e)
                ],
            )
            for d in gold
        ]
        result = evaluate(asserted_gold, decided(with_assertion(pred)))
        ade = result["entities"]["lenient"]["per_label"]["ADE asserted"]
        out |= {f"ADE asserted {k}": ade[k] for k in ("precision", "recall", "f1")}
    return out


def selection_score(gold: dict[str, list[Document]], preds: dict[str, list[Document]]) -> float:
    """The mean of dev and held-out Drug and ADE lenient F1, held-out Causes lenient F1 and
    BC5CDR dev chemical lenient F1 (the criterion that picks the shipped recipe)."""
    dev, held, cdr = (scores(n, gold[n], preds[n], decide=False) for n in gold)
    figures = [
        dev.get("Drug f1", 0.0),
        dev.get("ADE f1", 0.0),
        held.get("Drug f1", 0.0),
        held.get("ADE f1", 0.0),
        held.get("Causes f1", 0.0),
        cdr.get("Drug f1", 0.0),
    ]
    return float(sum(figures) / len(figures))


def load_predictions(folder: Path) -> dict[str, list[Document]] | None:
    if not (folder / "done").exists():
        return None
    return {
        name: [Document.from_dict(json.loads(line)) for line in open(folder / f"{name}.jsonl")]
        for name in EVAL_SETS
    }


def row_figures(
    gold: dict[str, list[Document]], preds: dict[str, list[Document]] | None, cv: dict | None
) -> dict[str, Any]:
    row: dict[str, Any] = {}
    if preds is not None:
        for name in EVAL_SETS:
            row[name] = scores(name, gold[name], preds[name])
    if cv is not None:
        row["ade_cv"] = {"folds": [r["fold"] for r in cv["folds"]], "mean": cv["mean"]}
    return row


def report(runs: Path, json_path: Path | None) -> None:
    gold = {name: read_set(name) for name in EVAL_SETS}
    rows: dict[str, dict[str, Any]] = {
        "dictionary (find_drugs)": {
            **row_figures(gold, {name: dictionary(gold[name]) for name in EVAL_SETS}, None),
            "drug_only": True,
        }
    }
    for name in ALL:
        folder = runs / slug(name)
        cv_file = folder / "cv.json"
        cv = json.loads(cv_file.read_text()) if cv_file.is_file() else None
        rows[name] = row_figures(gold, load_predictions(folder / "predictions"), cv)
    pipeline = load_predictions(runs / slug(SHIPPED) / "predictions-pipeline")
    if pipeline is not None:
        rows[PIPELINE] = row_figures(gold, pipeline, None)
    print(format_table(rows))
    shipped = load_predictions(runs / slug(SHIPPED) / "predictions")
    thresholds: dict[str, dict[str, float]] = {}
    if shipped is not None:
        variants = {"model alone": shipped}
        for tau in THRESHOLDS:
            for terms in (False, True):
                key = f"{tau}{' + words' if terms else ''}"
                variants[key] = {n: merged(shipped[n], tau, terms) for n in EVAL_SETS}
        for key, preds in variants.items():
            thresholds[key] = {
                n: scores(n, gold[n], preds[n], decide=False)["Drug f1"] for n in EVAL_SETS
            }
        print(
            f"\nDrug lenient F1 of {SHIPPED} merged with the drug vocabulary, by threshold "
            "(+ words: and the guideline's drug words, as the pipeline merges at 0.95)"
        )
        print(f"{'min confidence':<16}" + "".join(f"{n:>12}" for n in EVAL_SETS) + f"{'mean':>12}")
        for key, row in thresholds.items():
            cells = "".join(f"{100 * v:>12.2f}" for v in row.values())
            mean = 100 * sum(row.values()) / len(row)
            print(f"{key:<16}{cells}{mean:>12.2f}")
    if json_path is not None:
        meta = {
            "command": "python benchmarks/entity_ablation.py report",
            "date": time.strftime("%Y-%m-%d"),
            "machine": f"{platform.machine()}, {platform.processor() or platform.platform()}",
            "note": "scores are fractions; lenient = overlapping span and same label",
        }
        json_path.parent.mkdir(parents=True, exist_ok=True)
        record = {**meta, "rows": rows, "drug_vocabulary_thresholds": thresholds}
        json_path.write_text(json.dumps(record, indent=2) + "\n", "utf-8")


#: Two tables: (title, [(header, part, key)]).
TABLES = [
    (
        "Clinical notes: MTSamples dev (35 real notes, 223 drugs, 12 events) and synthetic "
        "held-out (40 notes, 575 drugs, 132 events); lenient F1 %",
        [
            ("devDrugP", "dev", "Drug precision"),
            ("devDrugR", "dev", "Drug recall"),
            ("devDrug", "dev", "Drug f1"),
            ("devADE", "dev", "ADE f1"),
            ("devCauses", "dev", "Causes f1"),
            ("devADEs*", "dev", "ADE asserted f1"),
            ("heldDrug", "heldout", "Drug f1"),
            ("heldADE", "heldout", "ADE f1"),
            ("heldCauses", "heldout", "Causes f1"),
            ("heldADEs*", "heldout", "ADE asserted f1"),
        ],
    ),
    (
        "Corpora: BC5CDR dev chemicals (lenient %) and ADE-Corpus-V2 folds (strict %, "
        "published protocol; Drug precision against drugs-in-an-event gold; DrugEv and macroEv "
        "count only the drugs the model links to an event)",
        [
            ("CDRchemR", "bc5cdr-dev", "Drug recall"),
            ("CDRchemP", "bc5cdr-dev", "Drug precision"),
            ("ADE-AE", "ade_cv", "Adverse-Effect"),
            ("ADE-DrugP", "ade_cv", "Drug P"),
            ("ADEmacro", "ade_cv", "macro"),
            ("ADE-DrugEv", "ade_cv", "Drug-in-event"),
            ("ADEmacroEv", "ade_cv", "macro-in-event"),
            ("ADECauses", "ade_cv", "Causes"),
        ],
    ),
]


def format_table(rows: dict[str, dict[str, Any]]) -> str:
    width = max(len(name) for name in rows) + 1
    lines = []
    for title, columns in TABLES:
        head = f"{'recipe':<{width}}" + "".join(f"{c[0]:>11}" for c in columns)
        if columns[-1][1] == "ade_cv":
            head += "  folds"
        lines += ["", title, head, "-" * len(head)]
        for name, row in rows.items():
            cells = []
            for _, part, key in columns:
                source = row.get(part, {})
                value = source.get("mean", {}).get(key) if part == "ade_cv" else source.get(key)
                if part != "ade_cv" and "Causes" in key and not source.get("has_relations"):
                    value = None
                if row.get("drug_only") and not key.startswith("Drug"):
                    value = None  # the dictionary finds drugs only
                cells.append(f"{100 * value:>11.2f}" if value is not None else f"{'–':>11}")
            line = f"{name:<{width}}" + "".join(cells)
            if columns[-1][1] == "ade_cv":
                folds = row.get("ade_cv", {}).get("folds")
                line += f"  {len(folds) if folds else '–':>5}"
            lines.append(line)
    lines.append(
        "* ADEs: the adverse drug events the pipeline reports (asserted by ConText and linked "
        "to a drug) against the gold events with neither Negated nor Hypothetical."
    )
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("predict")
    p.add_argument("model", type=Path)
    p.add_argument("out", type=Path)
    p.add_argument("--drug-vocabulary", type=float, default=None)
    r = sub.add_parser("report")
    r.add_argument("--runs", type=Path, default=Path("runs/ablation"))
    r.add_argument("--json", type=Path, default=None)
    args = parser.parse_args()
    if args.command == "predict":
        predict(args.model, args.out, args.drug_vocabulary)
    else:
        report(args.runs, args.json)


if __name__ == "__main__":
    main()
