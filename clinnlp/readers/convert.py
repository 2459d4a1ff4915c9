"""Convert a corpus from one format to another (the library side of ``clinnlp convert``)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from clinnlp.errors import E_FORMAT_READ_ONLY, E_OUTPUT_EXISTS, ConfigError
from clinnlp.readers import WRITABLE, get_format, guess_format, guess_output_format, read, write


def convert(
    source: str | Path,
    target: str | Path,
    from_format: str | None = None,
    to_format: str | None = None,
    force: bool = False,
) -> dict[str, Any]:
    """Read the corpus at ``source`` and write it to ``target``.

    The whole input is read (and so checked) before anything is written: bad input leaves no
    half-written output. With ``force`` an existing output file is replaced; into an existing
    BRAT folder, files of the same names are replaced and other files are left alone.

    Args:
        source: corpus file or folder.
        target: output file (jsonl, conll) or folder (brat).
        from_format: a format name; guessed from ``source`` when omitted.
        to_format: ``brat``, ``jsonl`` or ``conll``; guessed from ``target`` when omitted.
        force: overwrite an existing ``target``.

    Returns:
        ``{"documents", "from", "to", "output"}``.

    Raises:
        ConfigError: an unknown or read-only output format, or ``target`` exists without
            ``force``.
        InputError: the input cannot be read (the message names the file and line).
    """
    source, target = Path(source), Path(target)
    to_name = get_format(to_format or guess_output_format(target)).name
    if get_format(to_name).writer is None:
        raise ConfigError(E_FORMAT_READ_ONLY.format(name=to_name, formats=", ".join(WRITABLE)))
    if target.exists() and not force:
        raise ConfigError(E_OUTPUT_EXISTS.format(path=target))
    from_name = get_format(from_format or guess_format(source)).name
    docs = list(read(source, from_name))
    count = write(docs, target, to_name)
    return {"documents": count, "from": from_name, "to": to_name, "output": str(target)}
