"""Score predicted documents against gold ones: entities (strict and lenient) and relations.

Plain functions returning dicts; :func:`format_report` prints them. The rules:

* Documents are matched by id. A gold document with no prediction counts as predicting
  nothing. A predicted id that gold lacks, an id twice on one side, or a predicted text that
  differs from its gold text raises :class:`~clinnlp.errors.EvaluationError`.
* Annotations are sets. An entity is ``(start, end, label)``, so the same span and label
  twice counts once, on either side (one TP if gold has it, else one FP). A duplicate adds no
  information, token taggers cannot emit one, and set-based scoring is what the brat, CoNLL
  and seqeval scorers do, so figures stay comparable. The number dropped is reported under
  ``"duplicates"`` so that a span model emitting duplicates does not go unnoticed.
* **strict**: same span, same label.
* **lenient**: same label and overlapping spans (at least one character in common; touching
  spans do not overlap), matched one-to-one: candidate pairs are taken greedily by decreasing
  overlap length, an exact match first at equal overlap, then by position
  (:func:`lenient_matches`). Hence lenient TP >= strict TP, and a prediction covering two
  gold spans matches one of them only.
* **relations**, strict: relation label, head span and label, tail span and label all
  right, in that direction (head and tail swapped is wrong); lenient: relation label and
  argument labels right, and each argument overlapping its gold span, matched one-to-one
  greedily (by total overlap) as entities are.
* **asserted**: for each label in ``asserted``, a derived label ``"<label> asserted"`` holds
  the entities of that label that :func:`~clinnlp.schema.is_asserted` (not negated,
  hypothetical or a family member's), scored like any label: an asserted-ADE figure.
* Zero division gives 0.0: precision without predictions, recall without gold, F1 when
  P + R = 0 (scikit-learn's ``zero_division=0``).
* ``micro`` comes from the counts summed over labels; ``macro`` is the unweighted mean of the
  per-label precision, recall and F1 over the labels scored: those passed in ``labels``, or
  else every label found in gold or predictions (a label only predicted scores 0).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable
from typing import Any

from clinnlp.errors import (
    E_EVAL_DUPLICATE_DOC,
    E_EVAL_RELATION_ARG,
    E_EVAL_TEXT,
    E_EVAL_UNKNOWN_DOC,
    EvaluationError,
)
from clinnlp.schema import Document, is_asserted

Span = tuple[int, int, str]  # start, end, label
RelationKey = tuple[str, Span, Span]  # label, head, tail
Counts = dict[str, list[int]]  # label -> [tp, fp, fn]


def prf(tp: int, fp: int, fn: int) -> dict[str, Any]:
    """Precision, recall and F1 of the counts (0.0 where undefined), with the counts."""
    precision = tp / (tp + fp) if tp + fp else 0.0
    recall = tp / (tp + fn) if tp + fn else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return {
        "precision": precision,
        "recall": recall,
        "f1": f1,
        "tp": tp,
        "fp": fp,
        "fn": fn,
        "support": tp + fn,
    }


def lenient_matches(
    gold: Iterable[tuple[int, int]], pred: Iterable[tuple[int, int]]
) -> list[tuple[tuple[int, int], tuple[int, int]]]:
    """One-to-one ``(gold, pred)`` pairs of overlapping spans (of one label).

    Pairs are taken greedily: larger overlap first, then exact matches, then by gold and
    predicted position; a span already matched is skipped. Duplicate spans count once.
    """
    candidates = []
    for g in set(gold):
        for p in set(pred):
            overlap = min(g[1], p[1]) - max(g[0], p[0])
            if overlap > 0:
                candidates.append((-overlap, g != p, g, p))
    matched_gold: set[tuple[int, int]] = set()
    matched_pred: set[tuple[int, int]] = set()
    pairs = []
    for _, _, g, p in sorted(candidates):
        if g not in matched_gold and p not in matched_pred:
            matched_gold.add(g)
            matched_pred.add(p)
            pairs.append((g, p))
    return pairs


def evaluate(
    gold: Iterable[Document],
    pred: Iterable[Document],
    labels: Iterable[str] | None = None,
    relation_labels: Iterable[str] | None = None,
    asserted: Iterable[str] = (),
) -> dict[str, Any]:
    """Score ``pred`` against ``gold`` (the rules are in the module docstring).

    Args:
        gold: the reference documents.
        pred: the predicted documents, with the same ids and texts.
        labels: entity labels to score (others are ignored on both sides); all when omitted.
        relation_labels: relation labels to score; all when omitted.
        asserted: entity labels also scored on their asserted entities only, as
            ``"<label> asserted"``.

    Returns:
        ``{"documents", "missing", "entities": {"strict", "lenient"}, "relations",
        "relations_lenient", "duplicates"}``, where each score table is
        ``{"per_label": {label: scores},
        "micro": scores, "macro": {"precision", "recall", "f1"}}`` and ``scores`` holds
        ``precision``, ``recall``, ``f1`` (fractions) and ``tp``, ``fp``, ``fn``, ``support``.

    Raises:
        EvaluationError: a predicted id not in gold, an id twice on one side, a predicted
            text differing from gold, or a relation referring to an absent entity.
    """
    gold_docs = _by_id(gold, "gold")
    pred_docs = _by_id(pred, "predicted")
    unknown = [doc_id for doc_id in pred_docs if doc_id not in gold_docs]
    if unknown:
        raise EvaluationError(E_EVAL_UNKNOWN_DOC.format(count=len(unknown), doc_id=unknown[0]))
    asserted = list(asserted)
    keep = set(labels) if labels is not None else None
    if keep is not None:
        keep |= {f"{label} asserted" for label in asserted}
    keep_rel = set(relation_labels) if relation_labels is not None else None
    strict: Counts = {}
    lenient: Counts = {}
    relations: Counts = {}
    relations_lenient: Counts = {}
    duplicates = Counter[str]()
    for doc_id, g in gold_docs.items():
        p = pred_docs.get(doc_id) or Document(doc_id, g.text)
        if p.text != g.text:
            raise EvaluationError(
                E_EVAL_TEXT.format(doc_id=doc_id, n_pred=len(p.text), n_gold=len(g.text))
            )
        g_ents, g_dups = _entities(g, keep, asserted)
        p_ents, p_dups = _entities(p, keep, asserted)
        duplicates["gold_entities"] += g_dups
        duplicates["pred_entities"] += p_dups
        _count(strict, g_ents, p_ents, lambda span: span[2])
        for label in {s[2] for s in g_ents | p_ents}:
            g_spans = [s[:2] for s in g_ents if s[2] == label]
            p_spans = [s[:2] for s in p_ents if s[2] == label]
            tp = len(lenient_matches(g_spans, p_spans))
            row = lenient.setdefault(label, [0, 0, 0])
            row[0] += tp
            row[1] += len(p_spans) - tp
            row[2] += len(g_spans) - tp
        g_rels, g_dups = _relations(g, "gold", keep_rel)
        p_rels, p_dups = _relations(p, "predicted", keep_rel)
        duplicates["gold_relations"] += g_dups
        duplicates["pred_relations"] += p_dups
        _count(relations, g_rels, p_rels, lambda key: key[0])
        for label in {key[0] for key in g_rels | p_rels}:
            g_keys = [key for key in g_rels if key[0] == label]
            p_keys = [key for key in p_rels if key[0] == label]
            tp = len(_lenient_relation_matches(g_keys, p_keys))
            row = relations_lenient.setdefault(label, [0, 0, 0])
            row[0] += tp
            row[1] += len(p_keys) - tp
            row[2] += len(g_keys) - tp
    return {
        "documents": len(gold_docs),
        "missing": sum(1 for doc_id in gold_docs if doc_id not in pred_docs),
        "entities": {"strict": _table(strict, keep), "lenient": _table(lenient, keep)},
        "relations": _table(relations, keep_rel),
        "relations_lenient": _table(relations_lenient, keep_rel),
        "duplicates": {
            key: duplicates[key]
            for key in ("gold_entities", "pred_entities", "gold_relations", "pred_relations")
        },
    }


def _by_id(docs: Iterable[Document], side: str) -> dict[str, Document]:
    out: dict[str, Document] = {}
    for doc in docs:
        if doc.id in out:
            raise EvaluationError(E_EVAL_DUPLICATE_DOC.format(doc_id=doc.id, side=side))
        out[doc.id] = doc
    return out


def _lenient_relation_matches(
    gold: Iterable[RelationKey], pred: Iterable[RelationKey]
) -> list[tuple[RelationKey, RelationKey]]:
    """One-to-one pairs of relations (of one label) whose argument labels agree and whose
    arguments each overlap, taken greedily by total overlap, then by position."""

    def overlap(a: Span, b: Span) -> int:
        return min(a[1], b[1]) - max(a[0], b[0]) if a[2] == b[2] else 0

    candidates = []
    for g in set(gold):
        for p in set(pred):
            head, tail = overlap(g[1], p[1]), overlap(g[2], p[2])
            if head > 0 and tail > 0:
                candidates.append((-(head + tail), g != p, g, p))
    used_gold: set[RelationKey] = set()
    used_pred: set[RelationKey] = set()
    pairs = []
    for _, _, g, p in sorted(candidates):
        if g not in used_gold and p not in used_pred:
            used_gold.add(g)
            used_pred.add(p)
            pairs.append((g, p))
    return pairs


def _entities(
    doc: Document, keep: set[str] | None, asserted: Iterable[str] = ()
) -> tuple[set[Span], int]:
    """The entity set of a document (with the ``"<label> asserted"`` copies) and how many
    duplicates it dropped."""
    derived = set(asserted)
    spans = [(e.start, e.end, e.label) for e in doc.entities]
    spans += [
        (e.start, e.end, f"{e.label} asserted")
        for e in doc.entities
        if e.label in derived and is_asserted(e)
    ]
    spans = [s for s in spans if keep is None or s[2] in keep]
    unique = set(spans)
    return unique, len(spans) - len(unique)


def _relations(doc: Document, side: str, keep: set[str] | None) -> tuple[set[RelationKey], int]:
    by_id = {e.id: (e.start, e.end, e.label) for e in doc.entities}
    keys = []
    for rel in doc.relations:
        if keep is not None and rel.label not in keep:
            continue
        for arg in (rel.head, rel.tail):
            if arg not in by_id:
                name = rel.id or rel.label
                raise EvaluationError(
                    E_EVAL_RELATION_ARG.format(doc_id=doc.id, side=side, rel=name, arg=arg)
                )
        keys.append((rel.label, by_id[rel.head], by_id[rel.tail]))
    unique = set(keys)
    return unique, len(keys) - len(unique)


def _count(counts: Counts, gold: set[Any], pred: set[Any], label: Callable[[Any], str]) -> None:
    """Add the exact-match counts of two sets of keys to ``counts``, by ``label(key)``."""
    for key in gold | pred:
        row = counts.setdefault(label(key), [0, 0, 0])
        if key in gold and key in pred:
            row[0] += 1
        elif key in pred:
            row[1] += 1
        else:
            row[2] += 1


def _table(counts: Counts, keep: set[str] | None) -> dict[str, Any]:
    labels = sorted(keep if keep is not None else counts)
    per_label = {label: prf(*counts.get(label, [0, 0, 0])) for label in labels}
    micro = prf(*(sum(row[key] for row in per_label.values()) for key in ("tp", "fp", "fn")))
    macro = {
        key: sum(row[key] for row in per_label.values()) / len(per_label) if per_label else 0.0
        for key in ("precision", "recall", "f1")
    }
    return {"per_label": per_label, "micro": micro, "macro": macro}


def format_report(result: dict[str, Any]) -> str:
    """A plain-text table of an :func:`evaluate` result, scores in percent."""
    strict, lenient = result["entities"]["strict"], result["entities"]["lenient"]
    width = max([14, *(len(label) for label in strict["per_label"])])
    width = max([width, *(len(label) for label in result["relations"]["per_label"])])
    missing = f" ({result['missing']} without predictions)" if result["missing"] else ""
    lines = [f"Documents: {result['documents']}{missing}", ""]
    head = f"{'':<{width}}  {'strict':^23}  {'lenient':^23}"
    cols = f"{'P':>7}{'R':>8}{'F1':>8}"
    lines += [
        "Entities",
        head,
        f"{'label':<{width}}  {cols}  {cols}{'gold':>8}",
    ]
    rows = [*strict["per_label"], "micro", "macro"]
    for row in rows:
        s = _row(strict, row)
        le = _row(lenient, row)
        support = "" if row == "macro" else str(_scores(strict, row)["support"])
        lines.append(f"{row:<{width}}  {s}  {le}{support:>8}")
    relations = result["relations"]
    rel_lenient = result.get("relations_lenient", relations)
    lines += [
        "",
        "Relations (strict: label, both argument spans and labels, direction; "
        "lenient: arguments overlap)",
        f"{'':<{width}}  {'strict':^23}  {'lenient':^23}",
        f"{'label':<{width}}  {cols}  {cols}{'gold':>8}",
    ]
    for row in [*relations["per_label"], "micro", "macro"]:
        support = "" if row == "macro" else str(_scores(relations, row)["support"])
        lenient_row = (
            _row(rel_lenient, row)
            if row in rel_lenient["per_label"]
            or row
            in (
                "micro",
                "macro",
            )
            else ""
        )
        lines.append(f"{row:<{width}}  {_row(relations, row)}  {lenient_row}{support:>8}")
    dups = result.get("duplicates", {})
    if any(dups.values()):
        lines += ["", "Duplicates counted once: " + ", ".join(f"{k} {v}" for k, v in dups.items())]
    return "\n".join(line.rstrip() for line in lines)


def _scores(table: dict[str, Any], row: str) -> dict[str, Any]:
    return table[row] if row in ("micro", "macro") else table["per_label"][row]


def _row(table: dict[str, Any], row: str) -> str:
    s = _scores(table, row)
    return f"{100 * s['precision']:>7.2f}{100 * s['recall']:>8.2f}{100 * s['f1']:>8.2f}"


__all__ = ["evaluate", "format_report", "lenient_matches", "prf"]
