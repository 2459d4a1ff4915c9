from __future__ import annotations

import logging
from collections import Counter
from pathlib import Path

import pytest

from clinnlp.errors import InputError
from clinnlp.readers.ade import find_sentence_offset, overlapping_entities, read_ade
from clinnlp.readers.stats import corpus_stats, format_stats
from clinnlp.schema import Document, Entity, validate


@pytest.fixture(scope="module")
def ade_docs(ade_dir: Path) -> list[Document]:
    return list(read_ade(ade_dir))


def test_ade_counts(ade_docs: list[Document]) -> None:
    stats = corpus_stats(ade_docs)
    assert stats["documents"] == 4272
    assert stats["entities"] == {"Adverse-Effect": 5776, "Dose": 230, "Drug": 5063}
    assert stats["relations"] == {"ADE": 6821, "Dose": 279}
    assert len({d.metadata["pmid"] for d in ade_docs}) == 1644
    table = format_stats(stats)
    assert "4,272" in table and "6,821" in table and "5,776" in table


def test_ade_spans_match_text(ade_docs: list[Document]) -> None:
    for doc in ade_docs:
        assert validate(doc) == []
        for ent in doc.entities:
            assert ent.text == doc.text[ent.start : ent.end]
            assert ent.text == ent.text.strip()
        assert [(e.start, e.end) for e in doc.entities] == sorted(
            (e.start, e.end) for e in doc.entities
        )


def test_ade_relations_typed(ade_docs: list[Document]) -> None:
    for doc in ade_docs:
        labels = {e.id: e.label for e in doc.entities}
        for rel in doc.relations:
            assert labels[rel.head] == "Drug"
            assert labels[rel.tail] == {"ADE": "Adverse-Effect", "Dose": "Dose"}[rel.label]
        spans = Counter((e.label, e.start, e.end) for e in doc.entities)
        assert max(spans.values()) == 1  # deduplicated


def test_ade_ids_stable(ade_dir: Path, ade_docs: list[Document]) -> None:
    assert len({d.id for d in ade_docs}) == 4272
    assert ade_docs[0].id == "10030778-0"
    assert ade_docs[0].metadata == {
        "pmid": "10030778",
        "source": "DRUG-AE.rel",
        "sentence_offset": 10,  # after "PMID\n\n"
    }
    again = list(read_ade(ade_dir))
    assert [d.to_dict() for d in again] == [d.to_dict() for d in ade_docs]


def test_ade_no_alignment_warnings(ade_dir: Path, caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING, logger="clinnlp.readers.ade"):
        assert sum(1 for _ in read_ade(ade_dir)) == 4272
    assert caplog.records == []  # no sentence whose offset is ambiguous


def test_ade_remove_overlapping(ade_dir: Path, ade_docs: list[Document]) -> None:
    docs = list(read_ade(ade_dir, remove_overlapping=True))
    stats = corpus_stats(docs)
    assert stats["documents"] == 4272
    assert stats["entities"] == {"Adverse-Effect": 5656, "Dose": 229, "Drug": 4943}
    assert stats["relations"] == {"ADE": 6582, "Dose": 274}
    assert sum(len(overlapping_entities(d)) for d in ade_docs) == 241
    for doc in docs:
        assert validate(doc) == []
        spans = sorted((e.start, e.end) for e in doc.entities)
        assert all(a[1] <= b[0] for a, b in zip(spans, spans[1:], strict=False))


def test_ade_include_negative(ade_dir: Path) -> None:
    docs = list(read_ade(ade_dir, include_negative=True))
    negative = [d for d in docs if d.metadata["source"] == "ADE-NEG.txt"]
    assert len(docs) == 4272 + 16688  # 16,695 lines less 7 exact duplicates
    assert len(negative) == 16688
    assert all(not d.entities and not d.relations for d in negative)
    assert negative[0].id.split("-")[1] == "neg"
    assert len({d.id for d in docs}) == len(docs)


def test_ade_overlap_rule_spares_protocol_entities_for_dose() -> None:
    doc = Document(
        "d",
        "suicidal overdose deaths with codeine intoxication",
        [
            Entity("T1", "Adverse-Effect", 0, 24, "suicidal overdose deaths"),
            Entity("T2", "Dose", 9, 17, "overdose"),
            Entity("T3", "Drug", 30, 37, "codeine"),
            Entity("T4", "Adverse-Effect", 30, 50, "codeine intoxication"),
        ],
    )
    assert overlapping_entities(doc) == {"T2", "T3", "T4"}


def test_ade_find_sentence_offset_uses_both_spans() -> None:
    sentence = "Drug X then drug X again caused rash."
    # "X" occurs twice; only the shift that also puts "rash" right is kept.
    assert find_sentence_offset(sentence, [(117, 118, "X"), (132, 136, "rash")]) == {100}
    assert find_sentence_offset(sentence, [(117, 118, "X")]) == {100, 112}
    assert find_sentence_offset(sentence, [(0, 4, "none")]) == set()


def _corpus(tmp_path: Path, ae: str, dose: str = "", neg: str = "") -> Path:
    (tmp_path / "DRUG-AE.rel").write_text(ae, encoding="utf-8")
    if dose:
        (tmp_path / "DRUG-DOSE.rel").write_text(dose, encoding="utf-8")
    if neg:
        (tmp_path / "ADE-NEG.txt").write_text(neg, encoding="utf-8")
    return tmp_path


GOOD = "1|Rash after aspirin.|Rash|10|14|aspirin|21|28\n"


def test_ade_small_corpus(tmp_path: Path) -> None:
    dose = "1|Rash after aspirin.|after|15|20|aspirin|21|28\n"
    folder = _corpus(tmp_path, GOOD + GOOD, dose=dose, neg="2 NEG Fine.\n2 NEG Fine.\n")
    (doc,) = read_ade(folder)
    assert [(e.id, e.label, e.start, e.end) for e in doc.entities] == [
        ("T1", "Adverse-Effect", 0, 4),
        ("T2", "Dose", 5, 10),
        ("T3", "Drug", 11, 18),
    ]
    assert [(r.label, r.head, r.tail) for r in doc.relations] == [
        ("ADE", "T3", "T1"),
        ("Dose", "T3", "T2"),
    ]
    docs = list(read_ade(folder, include_negative=True))
    assert [d.id for d in docs] == ["1-0", "2-neg-0"]


def test_ade_dose_sentence_must_be_in_drug_ae(tmp_path: Path, names_error) -> None:
    dose = "1|Other sentence.|Other|10|15|sentence|16|24\n"
    folder = _corpus(tmp_path, GOOD, dose=dose)
    with pytest.raises(InputError) as info:
        list(read_ade(folder))
    names_error(info.value, folder / "DRUG-DOSE.rel", 1, secret="Other")


@pytest.mark.parametrize(
    ("line", "needle"),
    [
        ("1|Rash after aspirin.|Rash|10|14|aspirin|21\n", "8 '|'-separated fields"),
        ("1|Rash after aspirin.|Rash|ten|14|aspirin|21|28\n", "integer begin/end"),
        ("1|Rash after aspirin.|Rash|10|15|aspirin|21|28\n", "end - begin"),
        ("1|Rash after aspirin.|Rash|10|14|aspirin|22|29\n", "no sentence offset"),
        ("x|Rash after aspirin.|Rash|10|14|aspirin|21|28\n", "numeric PMID"),
    ],
)
def test_ade_bad_row(tmp_path: Path, line: str, needle: str, names_error) -> None:
    folder = _corpus(tmp_path, GOOD + line)
    with pytest.raises(InputError) as info:
        list(read_ade(folder))
    names_error(info.value, folder / "DRUG-AE.rel", 2, secret="aspirin")
    assert needle in str(info.value)


def test_ade_bad_negative_line(tmp_path: Path, names_error) -> None:
    folder = _corpus(tmp_path, GOOD, neg="2 NEG Fine.\n3 POS Wrong tag here.\n")
    with pytest.raises(InputError) as info:
        list(read_ade(folder, include_negative=True))
    names_error(info.value, folder / "ADE-NEG.txt", 2, secret="Wrong tag")


def test_ade_missing_folder(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="DRUG-AE.rel"):
        list(read_ade(tmp_path))


def test_ade_empty_file(tmp_path: Path, names_error) -> None:
    (tmp_path / "DRUG-AE.rel").write_text("", encoding="utf-8")
    with pytest.raises(InputError, match="empty") as info:
        list(read_ade(tmp_path))
    names_error(info.value, tmp_path / "DRUG-AE.rel", None)
