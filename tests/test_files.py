"""Shared file helpers: safe relative paths and the folder walk that reports what it cannot read."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from clinnlp._files import safe_relpath, walk_files
from clinnlp.errors import InputError
from clinnlp.readers.plaintext import text_files


@pytest.mark.parametrize(
    ("doc_id", "name"),
    [
        ("ü", "ü"),
        ("é", "é"),
        ("e\u0301", "é"),  # decomposed: normalised to NFC
        ("患者-42", "患者-42"),
        ("हिन्दी", "हिन्दी"),  # combining vowel signs kept
        ("notes/ok sub", "notes/ok_sub"),
        ("a?*b", "a_b"),  # a run of unsafe characters: one _
        ("a\x00b\x1fc\u202ed", "a_b_c_d"),  # control and format characters
        ("x\\y", "x_y"),
        ("c:\\win", "c_win"),
        ("../../evil", "evil"),
        ("..", "document"),
        ("a/./b/../c", "a/b/c"),
        ("a／b∕c", "a_b_c"),  # look-alike slashes
    ],
)
def test_files_safe_relpath(doc_id: str, name: str) -> None:
    assert safe_relpath(doc_id) == name


def test_files_safe_relpath_ascii_unchanged() -> None:
    assert safe_relpath("mts-0001_allergy.v2") == "mts-0001_allergy.v2"
    assert safe_relpath("a__?b") == "a___b"


def test_files_walk_order_links_and_failures(tmp_path: Path) -> None:
    root = tmp_path / "in"
    (root / "a").mkdir(parents=True)
    for name in ("a/b.txt", "a.txt", "c.txt", "skip.md"):
        (root / name).write_text("x", "utf-8")
    (root / "c.dir").mkdir()
    (root / "loop").symlink_to(root, target_is_directory=True)
    (root / "dangling").symlink_to(root / "nowhere")
    os.mkfifo(root / "fifo.txt")
    os.mkfifo(root / "fifo.other")  # not a .txt: ignored like any other file
    found = [(p.relative_to(root).as_posix(), problem) for p, problem in walk_files(root, ".txt")]
    assert [name for name, _ in found] == [
        "a/b.txt",
        "a.txt",
        "c.txt",
        "dangling",
        "fifo.txt",
        "loop",
    ]
    problems = dict(found)
    assert problems["a/b.txt"] is None and problems["c.txt"] is None
    assert "does not exist" in problems["dangling"]
    assert "named pipe" in problems["fifo.txt"]
    assert "leads back" in problems["loop"]


def test_files_walk_excludes_a_folder(tmp_path: Path) -> None:
    root = tmp_path / "in"
    (root / "out" / "brat").mkdir(parents=True)
    (root / "out" / "brat" / "x.txt").write_text("x", "utf-8")
    (root / "y.txt").write_text("y", "utf-8")
    assert [p.name for p, _ in walk_files(root, ".txt", (root / "out").resolve())] == ["y.txt"]


def test_files_text_files_raises_on_what_it_cannot_read(tmp_path: Path) -> None:
    (tmp_path / "a.txt").write_text("x", "utf-8")
    (tmp_path / "b.txt").symlink_to(tmp_path / "missing.txt")
    with pytest.raises(InputError, match=r"b\.txt: is a symbolic link whose target"):
        list(text_files(tmp_path))
