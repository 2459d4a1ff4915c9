"""Plain text files, one document each and no annotations (e.g. the MTSamples notes)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

from clinnlp._files import walk_files
from clinnlp.errors import E_NOT_FOUND, InputError
from clinnlp.readers.textfile import read_text
from clinnlp.schema import Document


def text_files(folder: Path, exclude: Path | None = None) -> Iterator[tuple[Path, str]]:
    """Each ``.txt`` file under ``folder`` (recursively, sorted, links followed) with its
    document id: its path relative to ``folder`` without the suffix (``notes/mts-0001-...``).

    Args:
        folder: the folder to walk.
        exclude: a resolved folder not to walk into (e.g. an output folder inside ``folder``).

    Raises:
        InputError: a path under ``folder`` that cannot be read (a folder that cannot be
            listed, a broken or looping link, a ``.txt`` that is a FIFO...); see
            :func:`clinnlp._files.walk_files`.
    """
    for file, problem in walk_files(folder, ".txt", exclude):
        if problem is not None:
            raise InputError(file, problem)
        yield file, file.relative_to(folder).with_suffix("").as_posix()


def read_plaintext(path: str | Path) -> Iterator[Document]:
    """Yield a document without annotations for each ``.txt`` file under ``path`` (searched
    recursively, sorted) or for ``path`` itself when it is a file.

    Document ids are paths relative to the folder without suffix (:func:`text_files`); a
    file's own id is its name without suffix.

    Raises:
        InputError: no ``.txt`` file; a file that is empty, binary or not UTF-8.
    """
    root = Path(path)
    if root.is_file():
        files = [(root, root.with_suffix("").name)]
    else:
        files = list(text_files(root)) if root.is_dir() else []
    if not files:
        raise InputError(root, E_NOT_FOUND.format(what="a .txt file or a folder of them"))
    for file, doc_id in files:
        yield Document(doc_id, read_text(file))
