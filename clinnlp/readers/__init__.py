"""Corpus readers and writers, one module per format, and a registry over them.

Every reader is ``read_x(path) -> Iterator[Document]`` and every writer
``write_x(docs, path) -> int`` (documents written). :func:`read` and :func:`write` pick the
module by name or guess it from the path, so commands can take any corpus listed in
:data:`FORMATS`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from clinnlp.errors import (
    E_FORMAT_NAME,
    E_FORMAT_READ_ONLY,
    E_FORMAT_UNKNOWN,
    E_NOT_FOUND,
    ConfigError,
    InputError,
)
from clinnlp.readers.ade import read_ade
from clinnlp.readers.brat import read_brat, write_brat
from clinnlp.readers.conll import read_conll, write_conll
from clinnlp.readers.jsonl import read_jsonl, write_jsonl
from clinnlp.readers.plaintext import read_plaintext
from clinnlp.readers.pubtator import read_pubtator
from clinnlp.schema import Document


@dataclass(frozen=True)
class Format:
    """A corpus format: its reader, its writer (``None`` when read-only) and what it is."""

    name: str
    reader: Callable[..., Iterator[Document]]
    writer: Callable[[Iterable[Document], Path], int] | None
    description: str


FORMATS: dict[str, Format] = {
    f.name: f
    for f in (
        Format("brat", read_brat, write_brat, "BRAT standoff folder (.txt + .ann)"),
        Format("jsonl", read_jsonl, write_jsonl, "one Document.to_dict() JSON object a line"),
        Format("conll", read_conll, write_conll, "token<TAB>tag BIO lines, sentences apart"),
        Format("ade", read_ade, None, "ADE-Corpus-V2 folder (DRUG-AE.rel...), read-only"),
        Format("pubtator", read_pubtator, None, "PubTator file (BC5CDR), read-only"),
        Format("text", read_plaintext, None, ".txt file or folder of them, no annotations"),
    )
}

WRITABLE = tuple(name for name, f in FORMATS.items() if f.writer is not None)


def get_format(name: str) -> Format:
    """Return the :class:`Format` called ``name`` (ConfigError listing the known ones)."""
    try:
        return FORMATS[name.lower()]
    except KeyError:
        raise ConfigError(E_FORMAT_NAME.format(name=name, formats=", ".join(FORMATS))) from None


def guess_format(path: str | Path) -> str:
    """Guess an existing corpus's format from its path.

    A folder holding ``DRUG-AE.rel`` is ``ade``, one holding ``.ann`` files (at any depth)
    ``brat``, else one holding ``.txt`` files ``text``; a file ending ``.PubTator.txt`` is
    ``pubtator``, ``.jsonl`` ``jsonl``, ``.conll``/``.bio`` ``conll``, ``.ann`` ``brat``,
    ``.txt`` ``text``.

    Raises:
        InputError: the path does not exist or matches none of these.
    """
    path = Path(path)
    if not path.exists():
        raise InputError(path, E_NOT_FOUND.format(what="a corpus file or folder"))
    if path.is_dir():
        if (path / "DRUG-AE.rel").is_file():
            return "ade"
        if next(path.rglob("*.ann"), None) is not None:
            return "brat"
        if next(path.rglob("*.txt"), None) is not None:
            return "text"
    else:
        name = path.name.lower()
        if name.endswith(".pubtator.txt") or name.endswith(".pubtator"):
            return "pubtator"
        suffix = path.suffix.lower()
        by_suffix = {
            ".jsonl": "jsonl",
            ".conll": "conll",
            ".bio": "conll",
            ".ann": "brat",
            ".txt": "text",
        }
        if suffix in by_suffix:
            return by_suffix[suffix]
    raise InputError(path, E_FORMAT_UNKNOWN.format(formats=", ".join(FORMATS)))


def guess_output_format(path: str | Path) -> str:
    """``.jsonl`` -> jsonl, ``.conll``/``.bio`` -> conll, anything else (a folder) -> brat."""
    suffix = Path(path).suffix.lower()
    return {".jsonl": "jsonl", ".conll": "conll", ".bio": "conll"}.get(suffix, "brat")


def read(path: str | Path, fmt: str | None = None, **options: Any) -> Iterator[Document]:
    """Yield the documents of the corpus at ``path``.

    Args:
        path: a corpus file or folder.
        fmt: a name in :data:`FORMATS`; guessed with :func:`guess_format` when omitted.
        **options: passed to the reader (``include_negative=True`` for ``ade``...).
    """
    name = fmt or guess_format(path)
    return get_format(name).reader(Path(path), **options)


def write(docs: Iterable[Document], path: str | Path, fmt: str | None = None) -> int:
    """Write ``docs`` to ``path`` in ``fmt`` (guessed from the path when omitted).

    Returns:
        the number of documents written.

    Raises:
        ConfigError: an unknown or read-only format.
    """
    name = fmt or guess_output_format(path)
    writer = get_format(name).writer
    if writer is None:
        raise ConfigError(E_FORMAT_READ_ONLY.format(name=name, formats=", ".join(WRITABLE)))
    return writer(docs, Path(path))


__all__ = [
    "FORMATS",
    "Format",
    "get_format",
    "guess_format",
    "guess_output_format",
    "read",
    "read_ade",
    "read_brat",
    "read_conll",
    "read_jsonl",
    "read_plaintext",
    "read_pubtator",
    "write",
    "write_brat",
    "write_conll",
    "write_jsonl",
]
