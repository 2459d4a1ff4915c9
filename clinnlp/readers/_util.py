"""Small helpers shared by the corpus readers and writers."""

from __future__ import annotations

from collections.abc import Iterator


def numbered_lines(text: str) -> Iterator[tuple[int, str]]:
    """Yield ``(1-based line number, line)``, splitting at ``\\n`` only (a ``\\r`` before it
    dropped): ``str.splitlines`` would also split at U+2028 and friends, which JSON strings
    and clinical text may hold."""
    for number, line in enumerate(text.split("\n"), 1):
        yield number, line.removesuffix("\r")
