"""Small helpers shared by the corpus readers and writers."""

from __future__ import annotations

import re
from collections.abc import Iterator

_SAFE_NAME = re.compile(r"[^A-Za-z0-9._-]+")


def numbered_lines(text: str) -> Iterator[tuple[int, str]]:
    """Yield ``(1-based line number, line)``, splitting at ``\\n`` only (a ``\\r`` before it
    dropped): ``str.splitlines`` would also split at U+2028 and friends, which JSON strings
    and clinical text may hold."""
    for number, line in enumerate(text.split("\n"), 1):
        yield number, line.removesuffix("\r")


def safe_relpath(doc_id: str) -> str:
    """A relative file path for a document id: ``/`` keeps sub-folders, every other unsafe
    character becomes ``_``, and ``.``/``..`` parts cannot climb out of the output folder."""
    parts = [_SAFE_NAME.sub("_", part) for part in doc_id.split("/")]
    parts = [part for part in parts if part.strip(".")]
    return "/".join(parts) or "document"
