"""Plain text files, one document each and no annotations (e.g. the MTSamples notes)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

from clinnlp.errors import E_NOT_FOUND, InputError
from clinnlp.readers.textfile import read_text
from clinnlp.schema import Document


def read_plaintext(path: str | Path) -> Iterator[Document]:
    """Yield a document without annotations for each ``.txt`` file under ``path`` (searched
    recursively, sorted) or for ``path`` itself when it is a file.

    Document ids are paths relative to the folder without suffix (``notes/mts-0001-...``).

    Raises:
        InputError: no ``.txt`` file; a file that is empty, binary or not UTF-8.
    """
    root = Path(path)
    if root.is_file():
        files, base = [root], root.parent
    else:
        files, base = (sorted(root.rglob("*.txt")), root) if root.is_dir() else ([], root)
    if not files:
        raise InputError(root, E_NOT_FOUND.format(what="a .txt file or a folder of them"))
    for file in files:
        doc_id = file.relative_to(base).with_suffix("").as_posix()
        yield Document(doc_id, read_text(file))
