from __future__ import annotations

import logging
from pathlib import Path

import pytest

from clinnlp.errors import InputError
from clinnlp.readers.conll import read_conll, to_bio, tokenize, write_conll
from clinnlp.schema import Document, Entity, validate


def _pairs(path: Path) -> list[list[tuple[str, str]]]:
    """Sentences of (token, tag), the way a CoNLL user sees the file."""
    blocks: list[list[tuple[str, str]]] = [[]]
    for line in path.read_text(encoding="utf-8").split("\n"):
        columns = line.split()
        if columns and columns[0] == "-DOCSTART-":
            continue
        if columns:
            blocks[-1].append((columns[0], columns[-1]))
        elif blocks[-1]:
            blocks.append([])
    return [b for b in blocks if b]


def test_conll_read(fixtures: Path) -> None:
    first, second = read_conll(fixtures / "conll" / "sample.conll")
    assert first.id == "sample-0" and second.id == "sample-1"
    assert first.text == "Patient developed severe hepatotoxicity on isoniazid 300 mg ."
    assert [(e.label, e.text) for e in first.entities] == [
        ("Adverse-Effect", "severe hepatotoxicity"),
        ("Drug", "isoniazid"),
        ("Dose", "300 mg"),
    ]
    assert [(e.label, e.text) for e in second.entities] == [
        ("Adverse-Effect", "Rash"),
        ("Drug", "co-trimoxazole"),
        ("Drug", "TMP/SMX"),
    ]
    assert all(validate(d) == [] for d in (first, second))


def test_conll_round_trip_keeps_tokens_and_tags(fixtures: Path, tmp_path: Path) -> None:
    source = fixtures / "conll" / "sample.conll"
    assert write_conll(read_conll(source), tmp_path / "out.conll") == 2
    assert _pairs(tmp_path / "out.conll") == _pairs(source)
    again = tmp_path / "again.conll"
    write_conll(read_conll(tmp_path / "out.conll"), again)
    assert again.read_bytes() == (tmp_path / "out.conll").read_bytes()


def test_conll_writer_cuts_at_entity_bounds() -> None:
    text = "Codeine-induced rash (5 mg/kg) after 1.5 days."
    doc = Document(
        "d",
        text,
        [
            Entity("T1", "Drug", 0, 7, "Codeine"),
            Entity("T2", "Adverse-Effect", 16, 20, "rash"),
            Entity("T3", "Dose", 22, 29, "5 mg/kg"),
            Entity("T4", "Drug", 0, 4, "Code"),  # overlaps T1: left out
        ],
    )
    assert to_bio(doc) == [
        ("Codeine", "B-Drug"),
        ("-", "O"),
        ("induced", "O"),
        ("rash", "B-Adverse-Effect"),
        ("(", "O"),
        ("5", "B-Dose"),
        ("mg", "I-Dose"),
        ("/", "I-Dose"),
        ("kg", "I-Dose"),
        (")", "O"),
        ("after", "O"),
        ("1.5", "O"),
        ("days", "O"),
        (".", "O"),
    ]
    inside = Document("d", "Paracetamolum", [Entity("T1", "Drug", 0, 11, "Paracetamol")])
    assert to_bio(inside) == [("Paracetamol", "B-Drug"), ("um", "O")]
    assert tokenize("a  b", whitespace=True) == [(0, 1), (3, 4)]


def test_conll_writer_warns_once_for_overlaps(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    doc = Document(
        "d",
        "codeine intoxication",
        [Entity("T1", "Drug", 0, 7, "codeine"), Entity("T2", "AE", 0, 20, "codeine intoxication")],
    )
    with caplog.at_level(logging.WARNING, logger="clinnlp.readers.conll"):
        write_conll([doc, doc], tmp_path / "o.conll")
    assert [r.getMessage().split(": ")[1] for r in caplog.records] == [
        "2 overlapping entities left out (BIO cannot nest)"
    ]
    assert _pairs(tmp_path / "o.conll")[0] == [("codeine", "B-AE"), ("intoxication", "I-AE")]


def test_conll_i_without_b_starts_an_entity(tmp_path: Path) -> None:
    (tmp_path / "x.bio").write_text("rash I-AE\nand O\nitch I-AE\nswelling I-AE\n", "utf-8")
    (doc,) = read_conll(tmp_path / "x.bio")
    assert [e.text for e in doc.entities] == ["rash", "itch swelling"]


@pytest.mark.parametrize(
    ("content", "line", "needle"),
    [
        ("Aspirin B-Drug\nrash\n", 2, "two or more columns"),
        ("Aspirin B-Drug\n\nrash X-AE\n", 3, "O, B-<label> or I-<label>"),
        ("Aspirin B-Drug\nrash B-\n", 2, "O, B-<label> or I-<label>"),
    ],
)
def test_conll_bad_line(tmp_path: Path, content: str, line: int, needle: str, names_error) -> None:
    path = tmp_path / "bad.conll"
    path.write_text(content, encoding="utf-8")
    with pytest.raises(InputError) as info:
        list(read_conll(path))
    names_error(info.value, path, line, secret="rash")
    assert needle in str(info.value)


def test_conll_empty_file(tmp_path: Path, names_error) -> None:
    path = tmp_path / "empty.conll"
    path.write_text("\n\n", encoding="utf-8")
    with pytest.raises(InputError, match="empty") as info:
        list(read_conll(path))
    names_error(info.value, path, None)
