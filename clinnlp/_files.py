"""File helpers shared by the batch engine, the readers and training (imports nothing heavy):
durable writes, safe relative paths, and a folder walk that reports what it cannot read."""

from __future__ import annotations

import errno
import os
import stat
import unicodedata
from collections.abc import Iterator
from itertools import groupby
from pathlib import Path

from clinnlp.errors import (
    E_UNREADABLE,
    E_WALK_FOLDER_LOOP,
    E_WALK_LINK_DANGLING,
    E_WALK_LINK_LOOP,
    E_WALK_NOT_FILE,
)


def fsync_dir(path: Path) -> None:
    """Flush a folder's entry table, so a rename inside it survives a power cut."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def temporary_path(path: Path) -> Path:
    """The temporary name :func:`write_atomic` writes ``path`` under before replacing it."""
    return path.with_name(f".{path.name}.tmp")


def write_atomic(path: Path, data: bytes, sync_dir: bool = True) -> None:
    """Replace ``path`` with ``data`` all at once: a temporary file, fsync, ``os.replace``.

    A crash leaves either the old file or the new one, never a mix.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = temporary_path(path)
    with tmp.open("wb") as handle:
        handle.write(data)
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(tmp, path)
    if sync_dir:
        fsync_dir(path.parent)


def _kept(char: str) -> bool:
    # letters, digits and marks of any script; "." "_" "-"
    return char in "._-" or unicodedata.category(char)[0] in "LNM"


def safe_relpath(doc_id: str) -> str:
    """A relative file path for a document id, safe on common file systems.

    ``/`` keeps sub-folders; letters, digits and combining marks of any script (UTF-8 names,
    NFC-normalised so that ids differing only in Unicode normalisation get the same name and
    clash visibly) and ``.``, ``_``, ``-`` are kept; every run of other characters (other path
    separators, control and format characters, spaces, punctuation that Windows refuses)
    becomes one ``_``; empty, ``.`` and ``..`` parts are dropped, so no name climbs out of the
    output folder.
    """
    parts = []
    for part in unicodedata.normalize("NFC", doc_id).split("/"):
        part = "".join("".join(run) if kept else "_" for kept, run in groupby(part, _kept))
        if part.strip("."):
            parts.append(part)
    return "/".join(parts) or "document"


#: What the walk calls a file that is neither a regular file nor a folder.
_KINDS = {
    stat.S_IFIFO: "named pipe (FIFO)",
    stat.S_IFSOCK: "socket",
    stat.S_IFCHR: "character device",
    stat.S_IFBLK: "block device",
}


def _unreachable(path: Path, err: OSError) -> str:
    """Why the walk cannot tell what ``path`` is (``os.stat`` raised ``err``)."""
    if path.is_symlink():
        if err.errno == errno.ELOOP:
            return E_WALK_LINK_LOOP
        if err.errno == errno.ENOENT:
            return E_WALK_LINK_DANGLING
    return E_UNREADABLE.format(reason=err.strerror or type(err).__name__)


def walk_files(
    folder: Path, suffix: str, exclude: Path | None = None
) -> Iterator[tuple[Path, str | None]]:
    """Every file named ``*suffix`` under ``folder`` and every path the walk cannot read.

    Yields ``(path, None)`` for each regular file (or link to one) whose name ends in
    ``suffix``, and ``(path, reason)`` for each path met that cannot be read: a folder that
    cannot be listed, a link whose target is missing or that loops, a link back to a folder
    above it (not entered again), and a ``*suffix`` entry that is not a regular file (a FIFO
    is never opened: reading it could wait forever). Links to folders are followed. Entries
    come depth first in name order (as ``sorted(folder.rglob(...))``); the reason names no
    file content.

    Args:
        folder: the folder to walk.
        suffix: the file names to yield, e.g. ``".txt"``.
        exclude: a resolved folder not to walk into (e.g. an output folder inside ``folder``).
    """

    def excluded(path: Path) -> bool:
        return exclude is not None and path.resolve().is_relative_to(exclude)

    def listing(path: Path) -> list[os.DirEntry[str]] | str:
        try:
            with os.scandir(path) as entries:
                return sorted(entries, key=lambda entry: entry.name)
        except OSError as err:
            return E_UNREADABLE.format(reason=err.strerror or type(err).__name__)

    try:
        top = folder.stat()
    except OSError as err:
        yield folder, _unreachable(folder, err)
        return
    first = listing(folder)
    if isinstance(first, str):
        yield folder, first
        return
    # each level: its remaining entries and the (device, inode) of every folder above them
    stack: list[tuple[Iterator[os.DirEntry[str]], tuple[tuple[int, int], ...]]] = [
        (iter(first), ((top.st_dev, top.st_ino),))
    ]
    while stack:
        entries, above = stack[-1]
        entry = next(entries, None)
        if entry is None:
            stack.pop()
            continue
        path = Path(entry.path)
        try:
            info = entry.stat()  # follows links
        except OSError as err:
            yield path, _unreachable(path, err)
            continue
        if stat.S_ISDIR(info.st_mode):
            if excluded(path):
                continue
            key = (info.st_dev, info.st_ino)
            if key in above:
                yield path, E_WALK_FOLDER_LOOP
                continue
            found = listing(path)
            if isinstance(found, str):
                yield path, found
            else:
                stack.append((iter(found), (*above, key)))
        elif entry.name.endswith(suffix) and not excluded(path):
            kind = stat.S_IFMT(info.st_mode)
            if kind == stat.S_IFREG:
                yield path, None
            else:
                yield path, E_WALK_NOT_FILE.format(kind=_KINDS.get(kind, "special file"))
