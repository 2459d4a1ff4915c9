from __future__ import annotations

from pathlib import Path

import pytest

from clinnlp.errors import InputError
from clinnlp.readers.pubtator import read_pubtator
from clinnlp.readers.stats import corpus_stats
from clinnlp.schema import validate

SMALL = (
    "11|t|Lisinopril cough.\n"
    "11|a|A dry cough and angioedema followed lisinopril.\n"
    "11\t0\t10\tLisinopril\tChemical\tD017706\n"
    "11\t24\t29\tcough\tDisease\tD003371\n"
    "11\t34\t44\tangioedema\tDisease\t-1\n"
    "11\t24\t44\tcough and angioedema\tDisease\tD003371|D000799\tcough|angioedema\n"
    "11\tCID\tD017706\tD003371\n"
    "\n"
    "12|t|Second.\n"
    "12|a|Nothing here.\n"
)


def test_pubtator_read(tmp_path: Path) -> None:
    path = tmp_path / "small.PubTator.txt"
    path.write_text(SMALL, encoding="utf-8")
    first, second = read_pubtator(path)
    assert first.id == "11" and first.text.startswith("Lisinopril cough. A dry cough")
    assert [(e.label, e.text, [c.id for c in e.concepts]) for e in first.entities] == [
        ("Chemical", "Lisinopril", ["MESH:D017706"]),
        ("Disease", "cough", ["MESH:D003371"]),
        ("Disease", "cough and angioedema", ["MESH:D003371", "MESH:D000799"]),
        ("Disease", "angioedema", []),
    ]
    assert first.entities[2].attributes == {"parts": ["cough", "angioedema"]}
    assert first.metadata == {"pmid": "11", "cid": [["MESH:D017706", "MESH:D003371"]]}
    assert second.entities == [] and second.metadata["cid"] == []
    assert validate(first) == []


@pytest.mark.parametrize(
    ("old", "new", "line", "needle"),
    [
        ("11|a|A dry", "11|x|A dry", 2, "'11|a|...'"),
        ("11\t0\t10\tLisinopril", "11\t1\t11\tLisinopril", 3, "does not match"),
        ("11\t0\t10\tLisinopril", "11\t0\tten\tLisinopril", 3, "integer start and end"),
        ("11\t0\t10\tLisinopril", "11\t0\t999\tLisinopril", 3, "outside the text"),
        ("11\t0\t10\tLisinopril\tChemical\tD017706", "11\t0\t10\tLisinopril", 3, "or a CID line"),
        ("11\tCID\tD017706\tD003371", "13\tCID\tD017706\tD003371", 7, "PMID 11"),
        ("12|t|Second.", "12|Second.", 9, "'PMID|t|...'"),
    ],
)
def test_pubtator_bad_line(
    tmp_path: Path, old: str, new: str, line: int, needle: str, names_error
) -> None:
    path = tmp_path / "bad.PubTator.txt"
    path.write_text(SMALL.replace(old, new), encoding="utf-8")
    with pytest.raises(InputError) as info:
        list(read_pubtator(path))
    names_error(info.value, path, line, secret="angioedema")
    assert needle in str(info.value)


def test_pubtator_bc5cdr_counts(bc5cdr_dir: Path) -> None:
    docs = list(read_pubtator(bc5cdr_dir / "CDR_TrainingSet.PubTator.txt"))
    stats = corpus_stats(docs)
    assert stats["documents"] == 500
    assert stats["entities"] == {"Chemical": 5203, "Disease": 4182}
    assert sum(len(d.metadata["cid"]) for d in docs) == 1038
    assert all(validate(d) == [] for d in docs)
