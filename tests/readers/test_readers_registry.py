from __future__ import annotations

from pathlib import Path

import pytest

from clinnlp.errors import ConfigError, InputError
from clinnlp.readers import FORMATS, guess_format, guess_output_format, read, write
from clinnlp.readers.convert import convert
from clinnlp.readers.stats import corpus_stats, format_stats


def test_registry_guesses_formats(fixtures: Path, tmp_path: Path) -> None:
    assert guess_format(fixtures / "brat") == "brat"
    assert guess_format(fixtures / "brat" / "note1.ann") == "brat"
    assert guess_format(fixtures / "conll" / "sample.conll") == "conll"
    for name, fmt in [("a.jsonl", "jsonl"), ("b.bio", "conll"), ("c.PubTator.txt", "pubtator")]:
        (tmp_path / name).write_text("x", encoding="utf-8")
        assert guess_format(tmp_path / name) == fmt
    (tmp_path / "ade").mkdir()
    (tmp_path / "ade" / "DRUG-AE.rel").write_text("x", encoding="utf-8")
    assert guess_format(tmp_path / "ade") == "ade"
    assert guess_output_format(tmp_path / "out") == "brat"
    assert guess_output_format(tmp_path / "out.conll") == "conll"
    assert set(FORMATS) == {"brat", "jsonl", "conll", "ade", "pubtator", "text"}
    (tmp_path / "notes").mkdir()
    (tmp_path / "notes" / "n1.txt").write_text("Note one.", encoding="utf-8")
    assert guess_format(tmp_path / "notes") == "text"
    assert guess_format(tmp_path / "notes" / "n1.txt") == "text"
    (doc,) = read(tmp_path / "notes")
    assert (doc.id, doc.text, doc.entities) == ("n1", "Note one.", [])


def test_registry_errors(tmp_path: Path) -> None:
    (tmp_path / "notes.csv").write_text("x", encoding="utf-8")
    with pytest.raises(InputError, match="cannot be guessed"):
        guess_format(tmp_path / "notes.csv")
    (tmp_path / "empty").mkdir()
    with pytest.raises(InputError, match="cannot be guessed"):
        guess_format(tmp_path / "empty")
    with pytest.raises(InputError, match="a .txt file or a folder"):
        list(read(tmp_path / "empty", "text"))
    with pytest.raises(InputError, match="does not exist"):
        list(read(tmp_path / "missing.jsonl"))
    with pytest.raises(ConfigError, match="unknown corpus format 'xml'"):
        list(read(tmp_path / "notes.csv", "xml"))
    with pytest.raises(ConfigError, match="read but not written"):
        write([], tmp_path / "x", "ade")


def test_registry_read_write_and_convert(fixtures: Path, tmp_path: Path) -> None:
    docs = list(read(fixtures / "brat"))
    assert write(docs, tmp_path / "c.jsonl") == 3
    assert [d.to_dict() for d in read(tmp_path / "c.jsonl")] == [d.to_dict() for d in docs]
    result = convert(fixtures / "brat", tmp_path / "c.conll")
    output = str(tmp_path / "c.conll")
    assert result == {"documents": 3, "from": "brat", "to": "conll", "output": output}
    with pytest.raises(ConfigError, match="--force"):
        convert(fixtures / "brat", tmp_path / "c.conll")
    assert convert(fixtures / "brat", tmp_path / "c.conll", force=True)["documents"] == 3


def test_stats_table(fixtures: Path) -> None:
    stats = corpus_stats(read(fixtures / "brat"))
    assert stats["documents"] == 3
    assert stats["entities"] == {"Adverse-Effect": 3, "Dose": 2, "Drug": 4}
    assert stats["relations"] == {"ADE": 3, "Dose": 1, "Treats": 1}
    lines = format_stats(stats).splitlines()
    assert lines[0].split() == ["Documents", "3"]
    assert lines[2].split() == ["Entities", "9"]
    assert len({len(line) for line in lines}) == 1  # aligned columns
