"""The output folder: --force removes only what a run wrote; the user's files and links
are never touched; BRAT names are safe."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from local_run import (
    NOTE,
    _contents,
    _errors,
    _killed_before_the_last_commit,
    _notes,
    _output_ids,
    _user_files,
)
from typer.testing import CliRunner

from clinnlp.batch.local import annotate
from clinnlp.batch.outdir import DONE_FILE, JSONL_FILE, PENDING_FILE
from clinnlp.cli import app
from clinnlp.errors import ConfigError, InputError


def test_annotate_names_cannot_escape_out(
    tiny_model: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    work = tmp_path / "a" / "b"
    work.mkdir(parents=True)
    (tmp_path / "x.txt").write_text(NOTE, "utf-8")
    table = tmp_path / "ids.csv"
    ids = ["../../evil", "/etc/passwd", "a/../../../b", "..", "ok/sub", "c:\\win"]
    table.write_text("id,text\n" + "".join(f'"{i}",{NOTE.splitlines()[0]}\n' for i in ids), "utf-8")
    monkeypatch.chdir(work)
    out = tmp_path / "out"
    before = {p for p in tmp_path.rglob("*") if p.is_file()}
    result = annotate([Path("../../x.txt"), table], out, model=tiny_model, fmt="brat")
    assert result["done"] == len(ids) + 1
    written = {p for p in tmp_path.rglob("*") if p.is_file()} - before
    assert written and all(p.resolve().is_relative_to(out.resolve()) for p in written)
    assert (out / "brat" / "x.txt").read_text("utf-8") == NOTE
    assert not (tmp_path / "evil.txt").exists() and (out / "brat" / "ok" / "sub.ann").is_file()


def test_annotate_brat_name_clash_is_an_error(tiny_model: Path, tmp_path: Path) -> None:
    table = tmp_path / "ids.csv"
    table.write_text("id,text\na?b,One.\na*b,Two.\n", "utf-8")
    result = annotate([table], tmp_path / "out", model=tiny_model, fmt="brat")
    assert (result["done"], result["failed"]) == (1, 1)
    assert "both map to this file name" in _errors(tmp_path / "out")["a*b"]


def test_annotate_refuses_to_overwrite_without_force(tiny_model: Path, tmp_path: Path) -> None:
    notes = _notes(tmp_path / "notes", 2)
    out = tmp_path / "out"
    annotate([notes], out, model=tiny_model)
    with pytest.raises(ConfigError, match="format"):
        annotate([notes], out, model=tiny_model, fmt="brat")
    with pytest.raises(ConfigError, match="inputs"):
        annotate([notes / "note-000.txt"], out, model=tiny_model)
    result = annotate([notes], out, model=tiny_model, fmt="brat", force=True)
    assert result["done"] == 2 and not (out / JSONL_FILE).exists()
    foreign = tmp_path / "foreign"
    foreign.mkdir()
    (foreign / "keep.txt").write_text("mine", "utf-8")
    with pytest.raises(ConfigError, match="not empty"):
        annotate([notes], foreign, model=tiny_model)
    annotate([notes], foreign, model=tiny_model, force=True)
    assert (foreign / "keep.txt").read_text("utf-8") == "mine"


def test_annotate_out_and_inputs_may_not_overlap(tiny_model: Path, tmp_path: Path) -> None:
    notes = _notes(tmp_path / "notes", 2)
    annotate([notes], notes / "out", model=tiny_model, fmt="brat")
    result = annotate([notes], notes / "out", model=tiny_model, fmt="brat")
    assert (result["done"], result["skipped"]) == (0, 2)  # its own brat/*.txt never read
    with pytest.raises(ConfigError, match="overlap"):
        annotate([notes / "out" / "brat"], notes / "out", model=tiny_model)
    with pytest.raises(InputError, match="does not exist"):
        annotate([tmp_path / "absent"], tmp_path / "o", model=tiny_model)


def test_annotate_brat_unwritable_names_are_errors(tiny_model: Path, tmp_path: Path) -> None:
    """Ids too long for a file name, or whose files and folders would clash, fail on every run
    and the others are written."""
    table = tmp_path / "ids.csv"
    ids = ["x" * 300, "a", "a.txt/b", "p.ann/q", "p", "ok/sub"]
    table.write_text("id,text\n" + "".join(f"{i},Rash.\n" for i in ids), "utf-8")
    out = tmp_path / "out"
    for run in range(2):
        result = annotate([table], out, model=tiny_model, fmt="brat")
        assert (result["done"] + result["skipped"], result["failed"]) == (3, 3)
        assert result["skipped"] == (3 if run else 0)
        errors = _errors(out)
        assert "too long" in errors["x" * 300]
        assert "one's file name is the other's folder name" in errors["a.txt/b"]
        assert "one's file name is the other's folder name" in errors["p"]
    assert (out / "brat" / "a.ann").is_file() and (out / "brat" / "p.ann" / "q.ann").is_file()


@pytest.mark.parametrize("fmt", ["jsonl", "brat", "spacy", "html"])
def test_annotate_force_never_deletes_what_no_run_wrote(
    tiny_model: Path, tmp_path: Path, fmt: str
) -> None:
    notes = _notes(tmp_path / "notes", 2)
    out = tmp_path / "u"
    before = _user_files(out)
    name = {"jsonl": "annotations.jsonl", "brat": "brat", "spacy": "docs", "html": "annotations"}
    with pytest.raises(ConfigError, match=f"{name[fmt]}.* no clinnlp run recorded") as caught:
        annotate([notes], out, model=tiny_model, fmt=fmt, force=True)
    assert "--force" not in str(caught.value)
    assert _contents(out) == before


def test_annotate_force_cli_names_the_file_and_keeps_it(tiny_model: Path, tmp_path: Path) -> None:
    notes = _notes(tmp_path / "notes", 2)
    out = tmp_path / "u"
    before = _user_files(out)
    args = ["annotate", str(notes), "--out", str(out), "--model", str(tiny_model), "--force"]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 1 and "annotations.jsonl" in result.output
    assert "--force" not in result.output.replace(str(out), "")
    assert _contents(out) == before
    (out / "annotations.jsonl").unlink()  # the one name a jsonl run writes: then it may run
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    recorded = json.loads((out / "run.json").read_text("utf-8"))["outputs"]
    assert recorded == ["annotations.jsonl", "done.jsonl", "errors.jsonl", "run.json"]
    mine = {k: v for k, v in before.items() if k != "annotations.jsonl"}
    assert {k: v for k, v in _contents(out).items() if k in mine} == mine


def test_annotate_force_removes_only_the_recorded_outputs(tiny_model: Path, tmp_path: Path) -> None:
    notes = _notes(tmp_path / "notes", 2)
    out = tmp_path / "out"
    annotate([notes], out, model=tiny_model)  # jsonl: records its four files
    (out / "docs").mkdir()
    (out / "docs" / "mine.txt").write_text("mine", "utf-8")
    result = annotate([notes], out, model=tiny_model, fmt="html", force=True)
    assert result["done"] == 2 and (out / "report.html").is_file()
    assert (out / "docs" / "mine.txt").read_text("utf-8") == "mine"
    with pytest.raises(ConfigError, match="docs.* no clinnlp run recorded"):
        annotate([notes], out, model=tiny_model, fmt="spacy", force=True)
    assert (out / "docs" / "mine.txt").read_text("utf-8") == "mine"
    annotate([notes], out, model=tiny_model, fmt="brat", force=True)  # the html run's removed
    assert not (out / "report.html").exists() and not (out / JSONL_FILE).exists()
    assert (out / "docs" / "mine.txt").read_text("utf-8") == "mine"
    (out / "run.json").write_text("{not json", "utf-8")  # no run's record any more
    with pytest.raises(ConfigError, match="brat exists but no clinnlp run recorded"):
        annotate([notes], out, model=tiny_model, fmt="brat", force=True)
    assert (out / "brat").is_dir()


@pytest.mark.parametrize(
    ("fmt", "name"), [("brat", "brat"), ("spacy", "docs"), ("jsonl", JSONL_FILE)]
)
def test_annotate_never_follows_a_linked_output(
    tiny_model: Path, tmp_path: Path, fmt: str, name: str
) -> None:
    """An output folder or file that is a link is refused, on resume and on a fresh run, with
    or without --force, and nothing behind it is touched."""
    notes = _notes(tmp_path / "notes", 4)
    out = tmp_path / "out"
    annotate([notes], out, model=tiny_model, fmt=fmt, batch_size=2)
    log = (out / DONE_FILE).read_bytes().splitlines(keepends=True)
    (out / DONE_FILE).write_bytes(log[0])  # the second chunk uncommitted: resume would clean
    victim = tmp_path / "elsewhere"  # the run's own output moved away, plus the user's files
    shutil.move(out / name, victim)
    if victim.is_dir():
        (victim / "unrelated.txt").write_text("unrelated", "utf-8")
    else:
        with victim.open("a", encoding="utf-8") as handle:
            handle.write("unrelated\n")
    before = _contents(victim) if victim.is_dir() else victim.read_bytes()
    (out / name).symlink_to(victim, target_is_directory=victim.is_dir())
    fresh = tmp_path / "fresh"
    fresh.mkdir()
    (fresh / name).symlink_to(victim, target_is_directory=victim.is_dir())
    refusals = []
    for folder, force in ((out, False), (out, True), (fresh, True)):
        try:
            annotate([notes], folder, model=tiny_model, fmt=fmt, batch_size=2, force=force)
        except ConfigError as err:
            refusals.append(str(err))
        after = _contents(victim) if victim.is_dir() else victim.read_bytes()
        assert after == before, f"files behind the link changed (force={force})"
    assert len(refusals) == 3 and all("is a symbolic link" in r for r in refusals), refusals
    assert (out / name).is_symlink() and (fresh / name).is_symlink()


def test_annotate_brat_names_keep_utf8(tiny_model: Path, tmp_path: Path) -> None:
    notes = tmp_path / "notes"
    notes.mkdir()
    for name in ("ü", "é", "Müller-Lüdenscheidt", "患者", "e\u0301"):  # the last: é decomposed
        (notes / f"{name}.txt").write_text(NOTE, "utf-8")
    table = tmp_path / "ids.csv"
    rows = ["é" * 100, "é" * 101, "a\x07b", "x\\y"]  # 200 bytes fit; 202 do not
    table.write_text("id,text\n" + "".join(f"{i},Rash.\n" for i in rows), "utf-8")
    out = tmp_path / "out"
    for _ in range(2):
        result = annotate([notes, table], out, model=tiny_model, fmt="brat")
        assert (result["done"] + result["skipped"], result["failed"]) == (7, 2), _errors(out)
    names = sorted(p.name for p in (out / "brat").glob("*.txt"))
    assert names == sorted(
        ["ü.txt", "é.txt", "Müller-Lüdenscheidt.txt", "患者.txt", "é" * 100 + ".txt"]
        + ["a_b.txt", "x_y.txt"]
    )
    errors = _errors(out)
    # é composed and decomposed: one name once normalised (NFC), so the second one fails
    assert "both map to this file name" in (errors.get("é") or errors["e\u0301"])
    assert "too long (202 bytes" in errors["é" * 101]


@pytest.mark.parametrize(("fmt", "folder"), [("brat", "brat"), ("spacy", "docs")])
def test_annotate_resume_and_force_keep_the_users_files_in_output_folders(
    tiny_model: Path, tmp_path: Path, fmt: str, folder: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Resuming (after a torn commit too) and --force delete only what clinnlp wrote."""
    notes, out = _killed_before_the_last_commit(tiny_model, tmp_path, fmt, monkeypatch)
    mine = {f"{folder}/README.md": "mine", f"{folder}/sub/keep.txt": "kept", f"{folder}/x.md": ""}
    for name, text in mine.items():
        (out / name).parent.mkdir(parents=True, exist_ok=True)
        (out / name).write_text(text, "utf-8")
    (out / folder / "empty").mkdir()
    result = annotate([notes], out, model=tiny_model, batch_size=2, fmt=fmt)
    assert (result["done"], result["skipped"]) == (2, 2)
    result = annotate([notes], out, model=tiny_model, batch_size=2, fmt=fmt)
    assert (result["done"], result["skipped"]) == (0, 4)
    assert not (out / folder / PENDING_FILE).exists()  # a finished run leaves no record
    assert _output_ids(out, fmt) == {f"note-{i:03d}": 1 for i in range(4)}
    assert {n: (out / n).read_text("utf-8") for n in mine} == mine
    assert (out / folder / "empty").is_dir()
    other = "jsonl"
    annotate([notes], out, model=tiny_model, fmt=other, force=True)
    assert {n: (out / n).read_text("utf-8") for n in mine} == mine  # the user's stay
    left = {p.relative_to(out).as_posix() for p in (out / folder).rglob("*") if p.is_file()}
    assert left == set(mine)  # clinnlp's own files, and its record of them, are gone
    with pytest.raises(ConfigError, match="no clinnlp run recorded"):  # now the user's folder
        annotate([notes], out, model=tiny_model, fmt=fmt, force=True)


def test_annotate_brat_never_overwrites_a_users_file(tiny_model: Path, tmp_path: Path) -> None:
    notes = _notes(tmp_path / "notes", 1)
    out = tmp_path / "out"
    annotate([notes], out, model=tiny_model, fmt="brat")
    (out / "brat" / "note-001.ann").write_text("my own annotation", "utf-8")
    (notes / "note-001.txt").write_text(NOTE, "utf-8")  # a new note for the same run
    result = annotate([notes], out, model=tiny_model, fmt="brat")
    assert (result["done"], result["skipped"], result["failed"]) == (0, 1, 1)
    assert "brat/note-001.ann" in _errors(out)["note-001"]
    assert (out / "brat" / "note-001.ann").read_text("utf-8") == "my own annotation"
    assert not (out / "brat" / "note-001.txt").exists()


def test_annotate_brat_fails_a_document_whose_path_a_users_file_or_link_takes(
    tiny_model: Path, tmp_path: Path
) -> None:
    """A user's file where a document needs a folder, or a dangling link where its file goes,
    fails that document (not the run) and stays as it was."""
    notes = _notes(tmp_path / "notes", 1)
    out = tmp_path / "out"
    annotate([notes], out, model=tiny_model, fmt="brat")
    (out / "brat" / "z").write_text("mine", "utf-8")
    (out / "brat" / "note-001.ann").symlink_to(tmp_path / "nowhere")
    (notes / "z").mkdir()
    (notes / "z" / "y.txt").write_text(NOTE, "utf-8")
    (notes / "note-001.txt").write_text(NOTE, "utf-8")
    (notes / "note-002.txt").write_text(NOTE, "utf-8")
    result = annotate([notes], out, model=tiny_model, fmt="brat")
    assert (result["done"], result["skipped"], result["failed"]) == (1, 1, 2)
    errors = _errors(out)
    assert "brat/z is in the output folder" in errors["z/y"]
    assert "brat/note-001.ann is in the output folder" in errors["note-001"]
    assert (out / "brat" / "z").read_text("utf-8") == "mine"
    assert (out / "brat" / "note-001.ann").is_symlink() and not (tmp_path / "nowhere").exists()


def test_annotate_force_deletes_nothing_through_a_linked_folder(
    tiny_model: Path, tmp_path: Path
) -> None:
    table = tmp_path / "ids.csv"
    table.write_text("id,text\nsub/a,Rash.\n", "utf-8")
    out = tmp_path / "out"
    annotate([table], out, model=tiny_model, fmt="brat")
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    (elsewhere / "a.txt").write_text("precious", "utf-8")
    shutil.rmtree(out / "brat" / "sub")
    (out / "brat" / "sub").symlink_to(elsewhere, target_is_directory=True)
    annotate([table], out, model=tiny_model, fmt="jsonl", force=True)
    assert (elsewhere / "a.txt").read_text("utf-8") == "precious"
