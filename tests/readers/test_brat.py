from __future__ import annotations

import logging
from pathlib import Path

import pytest

from clinnlp.errors import InputError
from clinnlp.readers.brat import format_ann, read_brat, write_brat
from clinnlp.readers.jsonl import read_jsonl, write_jsonl
from clinnlp.schema import Concept, Document, Entity, Relation, validate


def _files(folder: Path) -> dict[str, bytes]:
    return {
        p.relative_to(folder).as_posix(): p.read_bytes()
        for p in sorted(folder.rglob("*"))
        if p.is_file()
    }


def test_brat_round_trip_through_jsonl_is_byte_exact(fixtures: Path, tmp_path: Path) -> None:
    source = fixtures / "brat"
    write_jsonl(read_brat(source), tmp_path / "corpus.jsonl")
    assert write_brat(read_jsonl(tmp_path / "corpus.jsonl"), tmp_path / "out") == 3
    assert _files(tmp_path / "out") == _files(source)


def test_brat_read_mapping(fixtures: Path) -> None:
    docs = {d.id: d for d in read_brat(fixtures / "brat")}
    assert sorted(docs) == ["clinic/note2", "note1", "note3"]
    assert all(validate(d) == [] for d in docs.values())
    assert docs["note3"].entities == [] and docs["note3"].relations == []

    note1 = docs["note1"]
    rash = note1.entity("T3")
    assert rash.label == "Adverse-Effect"
    assert rash.attributes == {
        "Severity": "Moderate",
        "Certain": True,
        "note": "onset within 48 hours",
    }
    assert rash.concepts == [Concept("UMLS:C0042109", "Urticaria")]
    assert note1.relations[1].attributes == {"Confirmed": True}
    assert [(r.label, r.head, r.tail) for r in note1.relations] == [
        ("Dose", "T1", "T2"),
        ("ADE", "T1", "T3"),
    ]

    note2 = docs["clinic/note2"]
    assert [e.id for e in note2.entities] == ["T1", "T5", "T2", "T3", "T4"]  # by offset
    nausea = note2.entity("T3")
    first, second = nausea.attributes["fragments"]
    assert nausea.start == first[0] and nausea.end == second[1]
    assert nausea.text == note2.text[nausea.start : nausea.end]
    assert note2.relations[2].attributes == {"roles": ["Drug", "Problem"]}
    assert note2.entity("T2").concepts == [Concept("UMLS:C0238021")]


def test_brat_single_ann_file(fixtures: Path) -> None:
    (doc,) = read_brat(fixtures / "brat" / "note1.ann")
    assert doc.id == "note1"


def _doc(tmp_path: Path, ann: str, text: str = "Aspirin caused a rash.\n") -> Path:
    (tmp_path / "d.txt").write_text(text, encoding="utf-8")
    (tmp_path / "d.ann").write_text(ann, encoding="utf-8")
    return tmp_path


GOOD = "T1\tDrug 0 7\tAspirin\nT2\tAdverse-Effect 17 21\trash\n"


def test_brat_m_lines_events_and_equivalences(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    ann = GOOD + (
        "T3\tCause 8 14\tcaused\n"
        "E1\tCause:T3 Agent:T1 Theme:T2\n"
        "R1\tADE Arg1:T1 Arg2:T2\n"
        "R2\tLink Arg1:E1 Arg2:T2\n"
        "*\tEquiv T1 T3\n"
        "*\tEquiv T1 T2\n"
        "M1\tNegation T2\n"
        "A1\tLevel E1 High\n"
    )
    with caplog.at_level(logging.WARNING, logger="clinnlp.readers.brat"):
        (doc,) = read_brat(_doc(tmp_path, ann))
    assert [r.id for r in doc.relations] == ["R1"]
    assert doc.entity("T2").attributes == {"Negation": True}
    assert len(caplog.records) == 5  # event, 2 equivalences, and two lines on the event
    assert all("Aspirin" not in r.getMessage() for r in caplog.records)


def test_brat_writer_renumbers_foreign_ids(tmp_path: Path) -> None:
    text = "Aspirin caused a rash."
    doc = Document(
        "../../escape me",
        text,
        [Entity("drug-1", "Drug", 0, 7, "Aspirin"), Entity("ae", "Adverse Effect", 17, 21, "rash")],
        [Relation("ADE", "drug-1", "ae", attributes={"confidence": 0.9})],
    )
    assert format_ann(doc) == (
        "T1\tDrug 0 7\tAspirin\nT2\tAdverse_Effect 17 21\trash\n"
        "R1\tADE Arg1:T1 Arg2:T2\nA1\tconfidence R1 0.9\n"
    )
    write_brat([doc], tmp_path / "out")
    assert _files(tmp_path / "out").keys() == {"escape_me.ann", "escape_me.txt"}


def test_brat_writer_refuses_clashing_names(tmp_path: Path) -> None:
    docs = [Document("a b", "x"), Document("a_b", "y")]
    with pytest.raises(InputError, match="both map"):
        write_brat(docs, tmp_path)


@pytest.mark.parametrize(
    ("ann", "line", "needle"),
    [
        ("X1\tDrug 0 7\tAspirin\n", 1, "annotation id is malformed"),
        ("T1 Drug 0 7 Aspirin\n", 1, "annotation id is malformed"),
        ("T1\n", 1, "a tab after the id"),
        ("T1\tDrug 0 7\n" + GOOD[GOOD.index("T2") :], 1, "LABEL START END<TAB>TEXT"),
        (GOOD + "T3\tDrug zero 7\tAspirin\n", 3, "integer 'start end'"),
        (GOOD + "T3\tDrug 0 700\tAspirin\n", 3, "outside the text"),
        (GOOD + "T3\tDrug 1 8\tAspirin\n", 3, "does not match the text file"),
        (GOOD + "T1\tDrug 0 7\tAspirin\n", 3, "defined twice"),
        (GOOD + "R1\tADE Arg1:T1 Arg2:T9\n", 3, "T9"),
        (GOOD + "R1\tADE Arg1:T1 Arg2:Aspirin\n", 3, "refers to a malformed id"),
        (GOOD + "R1\tADE Arg1:T1\n", 3, "Arg1:ID Arg2:ID"),
        (GOOD + "A1\tNegated\n", 3, "NAME ID [VALUE]"),
        (GOOD + "A1\tNegated T7\n", 3, "T7"),
        (GOOD + "N1\tReference T1\tAspirin\n", 3, "Reference ID DB:CONCEPT"),
        (GOOD + "#1\tAnnotatorNotes\tnote\n", 3, "AnnotatorNotes ID"),
    ],
)
def test_brat_bad_ann_line(tmp_path: Path, ann: str, line: int, needle: str, names_error) -> None:
    folder = _doc(tmp_path, ann)
    with pytest.raises(InputError) as info:
        list(read_brat(folder))
    names_error(info.value, folder / "d.ann", line, secret="Aspirin")
    assert needle in str(info.value)


def test_brat_missing_txt(tmp_path: Path, names_error) -> None:
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "lonely.ann").write_text(GOOD, encoding="utf-8")
    with pytest.raises(InputError, match="lonely.txt") as info:
        list(read_brat(tmp_path))
    names_error(info.value, tmp_path / "sub" / "lonely.ann", None)


def test_brat_invalid_utf8(tmp_path: Path, names_error) -> None:
    folder = _doc(tmp_path, GOOD)
    (folder / "d.txt").write_bytes(b"Aspirin caused a \xff rash.\n")
    with pytest.raises(InputError, match="UTF-8 at byte 17") as info:
        list(read_brat(folder))
    names_error(info.value, folder / "d.txt", None)
    (folder / "d.txt").write_text("Aspirin caused a rash.\n", encoding="utf-8")
    (folder / "d.ann").write_bytes(GOOD.encode() + b"#1\tAnnotatorNotes T1\t\xc3\n")
    with pytest.raises(InputError, match="UTF-8") as info:
        list(read_brat(folder))
    names_error(info.value, folder / "d.ann", None)


def test_brat_empty_txt(tmp_path: Path, names_error) -> None:
    folder = _doc(tmp_path, "", text="")
    with pytest.raises(InputError, match="empty") as info:
        list(read_brat(folder))
    names_error(info.value, folder / "d.txt", None)


def test_brat_no_ann_files(tmp_path: Path) -> None:
    with pytest.raises(InputError, match=".ann files"):
        list(read_brat(tmp_path))
