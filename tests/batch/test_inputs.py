"""Reading batch inputs (clinnlp.batch.inputs): every CSV record that cannot be split cleanly
fails by line number, no failure quotes note text, and UTF-16 text is named as such."""

from __future__ import annotations

from pathlib import Path

from clinnlp.batch.inputs import iter_inputs

SECRET = "PATIENT-WORDS"


def items(path: Path) -> list[tuple[str, int | None, str, str | None]]:
    return [(i.id, i.line, i.text, i.reason) for i in iter_inputs([path])]


def write(tmp_path: Path, data: str, name: str = "notes.csv") -> Path:
    path = tmp_path / name
    path.write_bytes(data.encode("utf-8"))
    return path


def test_inputs_csv_unclosed_quote_fails_the_lines_it_swallows(tmp_path: Path) -> None:
    path = write(tmp_path, f'id,text\n1,"{SECRET} one\n2,{SECRET} two\n3,"three"\n4,four\n')
    found = items(path)
    assert [(i, line) for i, line, _, reason in found if reason] == [("notes.csv:2", 2)]
    assert "lines 2-4" in found[0][3]
    assert [(i, text) for i, _, text, reason in found if not reason] == [("4", "four")]


def test_inputs_csv_unclosed_quote_at_the_end_fails(tmp_path: Path) -> None:
    found = items(write(tmp_path, f'id,text\n1,ok\n2,"{SECRET}\n'))
    assert found[0][:3] == ("1", 2, "ok")
    assert found[1][0] == "notes.csv:3" and "unexpected end of data" in found[1][3]


def test_inputs_csv_unquoted_comma_fails_its_record(tmp_path: Path) -> None:
    path = write(tmp_path, f"id,text\n1,{SECRET}, more words\n2,fine\n")
    found = items(path)
    assert found[0][0] == "notes.csv:2" and "3 field(s), the header 2" in found[0][3]
    assert found[1][:3] == ("2", 3, "fine")


def test_inputs_csv_text_column_first_never_makes_note_text_an_id(tmp_path: Path) -> None:
    path = write(tmp_path, f"text,id\n{SECRET} and, {SECRET},a1\nfine,a2\n")
    found = items(path)
    assert found[0][0] == "notes.csv:2" and found[1][:3] == ("a2", 3, "fine")


def test_inputs_csv_bare_carriage_return_fails_the_record_it_cuts(tmp_path: Path) -> None:
    path = write(tmp_path, f"id,text\n1,first\n2,{SECRET}\rrest of note two\n3,third\n")
    found = items(path)
    assert found[0][:3] == ("1", 2, "first")
    assert found[1][0] == "notes.csv:3" and "carriage return" in found[1][3]
    assert found[2][0] == "notes.csv:4" and found[2][3]  # the cut-off rest: one field
    assert found[3][:3] == ("3", 5, "third")


def test_inputs_csv_old_mac_line_endings_still_read(tmp_path: Path) -> None:
    found = items(write(tmp_path, "id,text\r1,a\r2,b\r"))
    assert [(i, text, reason) for i, _, text, reason in found] == [
        ("1", "a", None),
        ("2", "b", None),
    ]


def test_inputs_csv_no_failure_quotes_note_text(tmp_path: Path) -> None:
    data = (
        f'id,text\n{SECRET} no delimiter\n1,"{SECRET}\n2,{SECRET}, x\n3,{SECRET}\r{SECRET}\n4,ok\n'
    )
    found = items(write(tmp_path, data))
    failures = [(i, reason) for i, _, _, reason in found if reason]
    assert failures and all(SECRET not in f"{i} {r}" for i, r in failures)


def test_inputs_utf16_text_is_named_utf16_not_binary(tmp_path: Path) -> None:
    for name, encoding in (("bom.txt", "utf-16"), ("le.txt", "utf-16-le"), ("be.txt", "utf-16-be")):
        path = tmp_path / name
        path.write_bytes("Rash after amoxicillin.\n".encode(encoding))
        ((_, _, _, reason),) = items(path)
        assert reason is not None and "UTF-16" in reason and "UTF-8" in reason, (name, reason)
        assert "binary" not in reason
    binary = tmp_path / "image.txt"
    binary.write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x10\x02\x03")
    ((_, _, _, reason),) = items(binary)
    assert reason is not None and "binary" in reason
