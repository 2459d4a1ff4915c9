"""Evaluation figures checked against counts worked out by hand."""

from __future__ import annotations

import pytest

from clinnlp.errors import EvaluationError
from clinnlp.schema import Document, Entity, Relation
from clinnlp.training.evaluate import evaluate, format_report, lenient_matches, prf

TEXT = "Aspirin caused gastric bleeding and rash; ibuprofen too."


def ent(ident: str, phrase: str, label: str, text: str = TEXT) -> Entity:
    start = text.index(phrase)
    return Entity(ident, label, start, start + len(phrase), phrase)


def gold_doc() -> Document:
    return Document(
        "d1",
        TEXT,
        entities=[
            ent("T1", "Aspirin", "Drug"),
            ent("T2", "gastric bleeding", "Adverse-Effect"),
            ent("T3", "rash", "Adverse-Effect"),
            ent("T4", "ibuprofen", "Drug"),
        ],
        relations=[Relation("ADE", "T1", "T2", "R1"), Relation("ADE", "T4", "T3", "R2")],
    )


def pred_doc() -> Document:
    return Document(
        "d1",
        TEXT,
        entities=[
            ent("T1", "Aspirin", "Drug"),
            ent("T2", "Aspirin", "Drug"),  # duplicate: counts once
            ent("T3", "bleeding", "Adverse-Effect"),  # partial overlap with "gastric bleeding"
            ent("T4", "rash", "Drug"),  # right span, wrong label
        ],
    )


def scores(table: dict, label: str) -> tuple[float, float, float]:
    row = table[label] if label in ("micro", "macro") else table["per_label"][label]
    return (row["precision"], row["recall"], row["f1"])


def test_evaluate_prf_zero_division():
    assert prf(0, 0, 0) == {
        "precision": 0.0, "recall": 0.0, "f1": 0.0, "tp": 0, "fp": 0, "fn": 0, "support": 0,
    }  # fmt: skip
    assert prf(0, 3, 0)["precision"] == 0.0
    assert prf(2, 2, 0)["f1"] == pytest.approx(2 * 0.5 * 1 / 1.5)


def test_evaluate_lenient_matches_greedy_by_overlap():
    # (5, 15) overlaps (0, 10) by 5 and (12, 20) by 3: the larger overlap wins.
    assert lenient_matches([(0, 10), (12, 20)], [(5, 15)]) == [((0, 10), (5, 15))]
    # Exact match first at equal overlap; the longer prediction is then unmatched.
    assert lenient_matches([(0, 4)], [(0, 10), (0, 4)]) == [((0, 4), (0, 4))]
    # A tie goes to the earlier gold span; touching spans do not overlap.
    assert lenient_matches([(10, 20), (0, 10)], [(5, 15)]) == [((0, 10), (5, 15))]
    assert lenient_matches([(0, 5)], [(5, 9)]) == []
    # One prediction over two gold spans, and two predictions in one gold span: one pair each.
    assert len(lenient_matches([(0, 3), (4, 8)], [(0, 8)])) == 1
    assert len(lenient_matches([(0, 8)], [(0, 3), (4, 8)])) == 1


def test_evaluate_entities_strict_by_hand():
    result = evaluate([gold_doc()], [pred_doc()])
    strict = result["entities"]["strict"]
    # Drug: Aspirin TP, "rash" as Drug FP, ibuprofen FN.
    assert strict["per_label"]["Drug"] == {
        "precision": 0.5, "recall": 0.5, "f1": 0.5, "tp": 1, "fp": 1, "fn": 1, "support": 2,
    }  # fmt: skip
    # Adverse-Effect: "bleeding" FP; "gastric bleeding" and "rash" FN.
    assert scores(strict, "Adverse-Effect") == (0.0, 0.0, 0.0)
    assert strict["per_label"]["Adverse-Effect"]["fp"] == 1
    assert strict["per_label"]["Adverse-Effect"]["fn"] == 2
    # micro: TP 1, FP 2, FN 3 -> P 1/3, R 1/4, F1 2/7.
    assert scores(strict, "micro") == pytest.approx((1 / 3, 1 / 4, 2 / 7))
    assert scores(strict, "macro") == pytest.approx((0.25, 0.25, 0.25))
    assert result["duplicates"]["pred_entities"] == 1


def test_evaluate_entities_lenient_by_hand():
    lenient = evaluate([gold_doc()], [pred_doc()])["entities"]["lenient"]
    # Drug as strict; Adverse-Effect: "bleeding" ~ "gastric bleeding" TP, "rash" FN.
    assert scores(lenient, "Drug") == (0.5, 0.5, 0.5)
    assert scores(lenient, "Adverse-Effect") == pytest.approx((1.0, 0.5, 2 / 3))
    # micro: TP 2, FP 1, FN 2 -> P 2/3, R 1/2, F1 4/7.
    assert scores(lenient, "micro") == pytest.approx((2 / 3, 1 / 2, 4 / 7))
    assert scores(lenient, "macro") == pytest.approx((0.75, 0.5, 7 / 12))


def test_evaluate_duplicates_count_once():
    doc = gold_doc()
    twice = Document("d1", TEXT, entities=[ent("T1", "rash", "Drug"), ent("T2", "rash", "Drug")])
    drug = evaluate([doc], [twice])["entities"]["strict"]["per_label"]["Drug"]
    assert (drug["tp"], drug["fp"], drug["fn"]) == (0, 1, 2)
    result = evaluate([doc], [doc])
    assert scores(result["entities"]["strict"], "micro") == (1.0, 1.0, 1.0)
    assert result["duplicates"] == dict.fromkeys(
        ("gold_entities", "pred_entities", "gold_relations", "pred_relations"), 0
    )


def test_evaluate_empty_predictions():
    result = evaluate([gold_doc()], [Document("d1", TEXT)])
    for table in (result["entities"]["strict"], result["entities"]["lenient"], result["relations"]):
        assert scores(table, "micro") == (0.0, 0.0, 0.0)
        assert scores(table, "macro") == (0.0, 0.0, 0.0)
    assert result["entities"]["strict"]["micro"]["fn"] == 4
    assert result["relations"]["per_label"]["ADE"]["fn"] == 2


def test_evaluate_missing_document_predicts_nothing():
    other = Document("d2", "Rash.", entities=[ent("T1", "Rash", "Adverse-Effect", "Rash.")])
    result = evaluate([gold_doc(), other], [gold_doc()])
    assert (result["documents"], result["missing"]) == (2, 1)
    ae = result["entities"]["strict"]["per_label"]["Adverse-Effect"]
    assert (ae["tp"], ae["fp"], ae["fn"]) == (2, 0, 1)
    assert evaluate([], [])["entities"]["strict"] == {
        "per_label": {},
        "micro": prf(0, 0, 0),
        "macro": {"precision": 0.0, "recall": 0.0, "f1": 0.0},
    }


def test_evaluate_relations_by_hand():
    pred = Document(
        "d1",
        TEXT,
        entities=[
            ent("T1", "Aspirin", "Drug"),
            ent("T2", "gastric bleeding", "Adverse-Effect"),
            ent("T3", "rash", "Adverse-Effect"),
            ent("T4", "ibuprofen", "Adverse-Effect"),  # right span, wrong argument label
        ],
        relations=[
            Relation("ADE", "T1", "T2", "R1"),  # TP
            Relation("ADE", "T1", "T2", "R9"),  # duplicate: counts once
            Relation("ADE", "T4", "T3", "R2"),  # right spans, head labelled wrong: FP (+ FN)
            Relation("ADE", "T2", "T1", "R3"),  # reversed: FP
            Relation("Dose", "T1", "T3", "R4"),  # label absent from gold: FP
        ],
    )
    rel = evaluate([gold_doc()], [pred])["relations"]
    # ADE: TP 1, FP 2, FN 1 -> P 1/3, R 1/2, F1 0.4.  Dose: TP 0, FP 1, FN 0 -> 0, 0, 0.
    assert scores(rel, "ADE") == pytest.approx((1 / 3, 1 / 2, 0.4))
    assert scores(rel, "Dose") == (0.0, 0.0, 0.0)
    # micro: TP 1, FP 3, FN 1 -> P 1/4, R 1/2, F1 1/3; macro over ADE and Dose.
    assert scores(rel, "micro") == pytest.approx((0.25, 0.5, 1 / 3))
    assert scores(rel, "macro") == pytest.approx((1 / 6, 0.25, 0.2))


def test_evaluate_label_filters():
    result = evaluate([gold_doc()], [pred_doc()], labels=["Drug", "Dose"], relation_labels=[])
    strict = result["entities"]["strict"]
    assert list(strict["per_label"]) == ["Dose", "Drug"]
    assert strict["per_label"]["Dose"]["support"] == 0
    assert scores(strict, "micro") == (0.5, 0.5, 0.5)
    assert scores(strict, "macro") == (0.25, 0.25, 0.25)
    assert result["relations"]["per_label"] == {}


def test_evaluate_errors():
    with pytest.raises(EvaluationError, match="not in the gold corpus, e.g. id d9"):
        evaluate([gold_doc()], [Document("d9", "x")])
    with pytest.raises(EvaluationError, match="d1 occurs twice in the gold"):
        evaluate([gold_doc(), gold_doc()], [])
    with pytest.raises(EvaluationError, match="differs from the gold text") as err:
        evaluate([gold_doc()], [Document("d1", TEXT.upper())])
    assert TEXT not in str(err.value)
    bad = Document("d1", TEXT, relations=[Relation("ADE", "T1", "T7", "R1")])
    with pytest.raises(EvaluationError, match="R1 refers to entity T1"):
        evaluate([gold_doc()], [bad])


def test_evaluate_format_report():
    report = format_report(evaluate([gold_doc()], [pred_doc()]))
    lines = report.splitlines()
    assert lines[0] == "Documents: 1"
    drug = next(line for line in lines if line.startswith("Drug"))
    assert drug.split() == ["Drug", "50.00", "50.00", "50.00", "50.00", "50.00", "50.00", "2"]
    micro = next(line for line in lines if line.startswith("micro"))
    assert micro.split()[:4] == ["micro", "33.33", "25.00", "28.57"]
    assert "Relations" in report and "ADE" in report
    assert "pred_entities 1" in report


def test_evaluate_lenient_relation_matches_one_gold_relation_per_prediction():
    """One predicted relation whose event overlaps two gold events matches one of them: tp 1,
    fp 0, fn 1 (a many-to-one match would count tp 2 and fp -1)."""
    text = "Aspirin caused nausea vomiting."
    gold = Document(
        "d1",
        text,
        [
            ent("T1", "Aspirin", "Drug", text),
            ent("T2", "nausea", "Adverse-Effect", text),
            ent("T3", "vomiting", "Adverse-Effect", text),
        ],
        [Relation("ADE", "T1", "T2", "R1"), Relation("ADE", "T1", "T3", "R2")],
    )
    pred = Document(
        "d1",
        text,
        [ent("T1", "Aspirin", "Drug", text), ent("T2", "nausea vomiting", "Adverse-Effect", text)],
        [Relation("ADE", "T1", "T2", "R1")],
    )
    row = evaluate([gold], [pred])["relations_lenient"]["per_label"]["ADE"]
    assert (row["tp"], row["fp"], row["fn"]) == (1, 0, 1)
    assert scores(evaluate([gold], [pred])["relations_lenient"], "ADE") == pytest.approx(
        (1.0, 0.5, 2 / 3)
    )
