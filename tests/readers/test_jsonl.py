from __future__ import annotations

import json
from pathlib import Path

import pytest

from clinnlp.errors import InputError
from clinnlp.readers.jsonl import read_jsonl, write_jsonl
from clinnlp.schema import Concept, Document, Entity, Relation

DOC = Document(
    "n1",
    "Rash after aspirin.\u2028Line two \u00b5g.",
    [
        Entity(
            "T1",
            "Adverse-Effect",
            0,
            4,
            "Rash",
            {"negated": False},
            [Concept("HP:0000988", "Skin rash", 0.91, ["UMLS:C0015230"])],
        )
    ],
    [],
    {"pmid": "1"},
)


def test_jsonl_round_trip(tmp_path: Path) -> None:
    second = Document(
        "n2",
        "Aspirin, then rash.",
        [Entity("T1", "Drug", 0, 7, "Aspirin"), Entity("T2", "Adverse-Effect", 14, 18, "rash")],
        [Relation("ADE", "T1", "T2", "R1", {"confidence": 0.5})],
    )
    path = tmp_path / "c.jsonl"
    assert write_jsonl([DOC, second], path) == 2
    assert path.read_text(encoding="utf-8").count("\n") == 2  # U+2028 stays inside its line
    assert [d.to_dict() for d in read_jsonl(path)] == [DOC.to_dict(), second.to_dict()]


def _line(**changes: object) -> str:
    data = DOC.to_dict()
    data.update(changes)
    return json.dumps(data)


@pytest.mark.parametrize(
    ("bad", "needle"),
    [
        ('{"id": "n2", "text": "Rash after aspirin."', "not valid JSON"),
        ('["Rash after aspirin."]', "not an object"),
        (json.dumps({"text": "Rash after aspirin."}), "misses key 'id'"),
        (_line(entities=[{"id": "T1", "label": "AE", "start": 0, "end": 4}]), "misses key 'text'"),
        (
            _line(entities=[{"id": "T1", "label": "AE", "start": 1, "end": 5, "text": "ash!"}]),
            "T1 text differs",
        ),
        (
            _line(entities=[{"id": "T1", "label": "AE", "start": 0, "end": 400, "text": "x"}]),
            "outside text",
        ),
        (_line(relations=[{"label": "ADE", "head": "T1", "tail": "T9"}]), "unknown entity T9"),
        (
            _line(entities=[{"id": "T1", "label": "AE", "start": "x", "end": 4, "text": "Rash"}]),
            "wrong type",
        ),
    ],
)
def test_jsonl_bad_line(tmp_path: Path, bad: str, needle: str, names_error) -> None:
    path = tmp_path / "bad.jsonl"
    path.write_text(json.dumps(DOC.to_dict()) + "\n\n" + bad + "\n", encoding="utf-8")
    with pytest.raises(InputError) as info:
        list(read_jsonl(path))
    names_error(info.value, path, 3, secret="aspirin")
    assert needle in str(info.value)


def test_jsonl_empty_and_invalid_utf8(tmp_path: Path, names_error) -> None:
    path = tmp_path / "c.jsonl"
    path.write_text("", encoding="utf-8")
    with pytest.raises(InputError, match="empty") as info:
        list(read_jsonl(path))
    names_error(info.value, path, None)
    path.write_bytes(b'{"id": "a", "text": "caf\xe9"}\n')
    with pytest.raises(InputError, match="UTF-8 at byte 24") as info:
        list(read_jsonl(path))
    names_error(info.value, path, None)


def test_jsonl_reads_concepts_written_as_bare_ids(tmp_path: Path) -> None:
    data = DOC.to_dict()
    data["entities"][0]["concepts"] = ["UMLS:C0015230"]  # the layout before concept records
    path = tmp_path / "old.jsonl"
    path.write_text(json.dumps(data) + "\n", encoding="utf-8")
    (doc,) = read_jsonl(path)
    assert doc.entities[0].concepts == [Concept("UMLS:C0015230")]
