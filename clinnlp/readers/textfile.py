"""Reading one text file safely: every way a file can be bad becomes an :class:`InputError`.

:func:`check_text` holds the checks themselves, so a text read from a file and one taken from
a CSV or JSONL record are judged alike.
"""

from __future__ import annotations

import re
from pathlib import Path

from clinnlp.errors import (
    E_BINARY,
    E_EMPTY,
    E_ENCODING,
    E_TOO_LARGE,
    E_UNREADABLE,
    E_UTF16,
    InputError,
)

#: Default size limit for one document (bytes): far above any clinical note.
MAX_DOCUMENT_BYTES = 5_000_000

# A character no UTF-8 text holds: a byte kept by ``errors="surrogateescape"`` (U+DC80-U+DCFF)
# or a lone surrogate from a JSON ``\ud83d`` escape.
_SURROGATE = re.compile("[\ud800-\udfff]")


def _byte_offset(text: str, index: int) -> int:
    """The UTF-8 byte offset of ``text[index]`` (a byte kept by surrogateescape counts one)."""
    try:
        return len(text[:index].encode("utf-8", "surrogateescape"))
    except UnicodeEncodeError:  # a lone surrogate from a JSON escape
        return len(text[:index].encode("utf-8", "surrogatepass"))


def has_surrogates(text: str) -> bool:
    """Whether ``text`` holds a character no UTF-8 can hold (see :func:`check_text`)."""
    return _SURROGATE.search(text) is not None


def is_blank(text: str) -> bool:
    """Whether ``text`` holds nothing to annotate: only whitespace, or a byte-order mark."""
    return not text.removeprefix("\ufeff").strip()


def utf16_variant(text: str) -> str | None:
    """``"little-endian"`` or ``"big-endian"`` when ``text`` (bytes decoded as UTF-8 with
    surrogateescape) is UTF-16: a UTF-16 byte-order mark, or NULs in every other byte of
    mostly ASCII text; else ``None``."""
    head = text[:400].encode("utf-8", "surrogateescape")
    if head.startswith(b"\xff\xfe"):
        return "little-endian"
    if head.startswith(b"\xfe\xff"):
        return "big-endian"
    if len(head) >= 8:
        odd, even = head[1::2], head[0::2]
        if odd.count(0) >= 0.9 * len(odd) and even.count(0) == 0:
            return "little-endian"
        if even.count(0) >= 0.9 * len(even) and odd.count(0) == 0:
            return "big-endian"
    return None


def check_text(
    text: str, max_bytes: int | None = MAX_DOCUMENT_BYTES, what: str = "text"
) -> str | None:
    """Why ``text`` cannot be annotated, or ``None``.

    ``text`` fails when it is empty (only whitespace or a BOM), binary (holds a NUL), not
    UTF-8 (holds a surrogate: an undecodable byte read with ``errors="surrogateescape"``, or a
    lone surrogate escape of JSON) or larger than ``max_bytes`` in UTF-8. The reason names a
    byte offset, never the content.
    """
    if is_blank(text):
        return E_EMPTY.format(what=what)
    nul = text.find("\x00")
    if nul >= 0:
        variant = utf16_variant(text)
        if variant is not None:
            return E_UTF16.format(variant=variant)
        return E_BINARY.format(offset=_byte_offset(text, nul))
    bad = _SURROGATE.search(text)
    if bad is not None:
        return E_ENCODING.format(offset=_byte_offset(text, bad.start()))
    if max_bytes is not None:
        size = len(text.encode("utf-8"))
        if size > max_bytes:
            return E_TOO_LARGE.format(size=size, limit=max_bytes)
    return None


def read_text(
    path: str | Path, max_bytes: int | None = MAX_DOCUMENT_BYTES, what: str = "text"
) -> str:
    """Return the UTF-8 text of ``path`` (a leading BOM dropped, newlines kept as they are).

    Raises:
        InputError: the file is missing or unreadable, or fails :func:`check_text` (empty,
            binary, not valid UTF-8, larger than ``max_bytes``); the message names the file and
            the byte offset, never the content.
    """
    path = Path(path)
    try:
        size = path.stat().st_size
        if max_bytes is not None and size > max_bytes:  # before reading it all
            raise InputError(path, E_TOO_LARGE.format(size=size, limit=max_bytes))
        data = path.read_bytes()
    except OSError as err:
        raise InputError(
            path, E_UNREADABLE.format(reason=err.strerror or type(err).__name__)
        ) from None
    text = data.decode("utf-8", "surrogateescape")  # the BOM kept: offsets are the file's
    problem = check_text(text, None, what)  # the size was checked above
    if problem is not None:
        raise InputError(path, problem)
    return text.removeprefix("\ufeff")
