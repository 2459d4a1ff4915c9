"""Reading one text file safely: every way a file can be bad becomes an :class:`InputError`."""

from __future__ import annotations

from pathlib import Path

from clinnlp.errors import E_BINARY, E_EMPTY, E_ENCODING, E_TOO_LARGE, InputError

#: Default size limit for one document (bytes): far above any clinical note.
MAX_DOCUMENT_BYTES = 5_000_000


def read_text(
    path: str | Path, max_bytes: int | None = MAX_DOCUMENT_BYTES, what: str = "text"
) -> str:
    """Return the UTF-8 text of ``path`` (a leading BOM dropped, newlines kept as they are).

    Raises:
        InputError: the file is missing or unreadable, empty, larger than ``max_bytes``,
            binary (contains a NUL byte) or not valid UTF-8; the message names the file and
            the byte offset, never the content.
    """
    path = Path(path)
    try:
        size = path.stat().st_size
        if max_bytes is not None and size > max_bytes:
            raise InputError(path, E_TOO_LARGE.format(size=size, limit=max_bytes))
        data = path.read_bytes()
    except OSError as err:
        raise InputError(path, f"cannot be read ({err.strerror or type(err).__name__})") from None
    if not data.strip():
        raise InputError(path, E_EMPTY.format(what=what))
    nul = data.find(b"\x00")
    if nul >= 0:
        raise InputError(path, E_BINARY.format(offset=nul))
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as err:
        raise InputError(path, E_ENCODING.format(offset=err.start)) from None
    return text.removeprefix("\ufeff")
