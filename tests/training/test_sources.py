"""Training sources: what each kind reads and marks as annotated, label maps, weak drug labels
and the test-fold PMID filter."""

from __future__ import annotations

from pathlib import Path

import pytest

from clinnlp.errors import ConfigError
from clinnlp.schema import Document, Entity, Relation
from clinnlp.training.sources import Source, load_source, load_sources, map_labels, weak_drug_labels


def test_sources_parse_kind_and_plain_paths():
    assert Source.parse("bc5cdr:data/x.PubTator.txt") == Source("bc5cdr", "data/x.PubTator.txt")
    assert Source.parse("corpora/synthetic/train-a") == Source(None, "corpora/synthetic/train-a")
    assert str(Source.parse("ade-neg:corpora/ade")) == "ade-neg:corpora/ade"
    with pytest.raises(ConfigError, match="unknown kind 'cdr'"):
        Source.parse("cdr:corpora/x")


def test_sources_ade_kinds_mark_only_adverse_effects_annotated(ade_dir: Path):
    ade = load_source(Source("ade", str(ade_dir)))
    neg = load_source(Source("ade-neg", str(ade_dir)))
    assert len(ade) == 4272 and len(neg) == 16688
    assert all(d.metadata["annotated"] == ["Adverse-Effect"] for d in ade + neg)
    assert not any(d.entities for d in neg)
    plain = load_source(Source(None, str(ade_dir)))
    assert plain[0].metadata["annotated"] == ["Adverse-Effect", "Dose", "Drug"]


def test_sources_bc5cdr_chemicals_become_drugs(bc5cdr_dir: Path):
    docs = load_source(Source("bc5cdr", str(bc5cdr_dir / "CDR_TrainingSet.PubTator.txt")))
    assert len(docs) == 500
    assert {e.label for d in docs for e in d.entities} == {"Drug"}
    assert sum(len(d.entities) for d in docs) == 5203
    assert all(d.metadata["annotated"] == ["Drug"] for d in docs)


def test_sources_exclude_a_test_folds_pmids(ade_dir: Path):
    neg = load_sources([Source("ade-neg", str(ade_dir))])
    pmid = neg[0].metadata["pmid"]
    kept = load_sources([Source("ade-neg", str(ade_dir))], exclude_pmids={pmid})
    assert len(kept) < len(neg) and all(d.metadata["pmid"] != pmid for d in kept)


def test_sources_map_labels_renames_and_drops_with_relations():
    text = "Hives on penicillin."
    doc = Document(
        "d",
        text,
        [Entity("T1", "ADE", 0, 5, "Hives"), Entity("T2", "Chemical", 9, 19, "penicillin")],
        [Relation("Causes", "T2", "T1", "R1")],
    )
    mapped = map_labels(doc, {"ADE": "Adverse-Effect", "Chemical": "Drug"})
    assert [e.label for e in mapped.entities] == ["Adverse-Effect", "Drug"]
    assert len(mapped.relations) == 1
    dropped = map_labels(doc, {"Chemical": ""})
    assert [e.label for e in dropped.entities] == ["ADE"] and dropped.relations == []


def test_sources_weak_drug_labels_only_where_drugs_are_unmarked():
    text = "Warfarin-induced bleeding; also on metoprolol and Tylenol #3."
    effect = Entity("T1", "Adverse-Effect", 17, 25, "bleeding")
    unmarked = Document("a", text, [effect], metadata={"annotated": ["Adverse-Effect"]})
    marked = Document("b", text, [effect], metadata={"annotated": ["Adverse-Effect", "Drug"]})
    weak, same = weak_drug_labels([unmarked, marked])
    found = [(e.text, e.attributes) for e in weak.entities if e.label == "Drug"]
    assert found == [
        ("Warfarin", {"weak": True}),
        ("metoprolol", {"weak": True}),
        ("Tylenol", {"weak": True}),
    ]
    assert same is marked  # a corpus that marks every drug is left as it is


def test_sources_weak_dose_labels_make_dose_annotated():
    from clinnlp.training.sources import weak_dose_labels

    text = "Amoxicillin 500 mg TID; high-dose steroids; 2 puffs q4h; BP 120/80."
    gold = Entity("T1", "Dose", text.index("high-dose"), text.index("high-dose") + 9, "high-dose")
    partial = Document("a", text, [gold], metadata={"annotated": ["Adverse-Effect"]})
    full = Document("b", text, [], metadata={"annotated": ["Dose"]})
    weak, same = weak_dose_labels([partial, full])
    assert [e.text for e in weak.entities] == ["high-dose", "500 mg", "2 puffs"]
    assert weak.metadata["annotated"] == ["Adverse-Effect", "Dose"]
    assert same is full
