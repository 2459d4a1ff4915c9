"""JSON Lines: one :meth:`Document.to_dict` object a line, the serialisation of the schema."""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from pathlib import Path

from clinnlp.errors import E_DOCUMENT, E_JSONL_JSON, E_JSONL_KEY, InputError
from clinnlp.readers._util import numbered_lines
from clinnlp.readers.textfile import read_text
from clinnlp.schema import Document, validate


def read_jsonl(path: str | Path) -> Iterator[Document]:
    """Yield the documents of a JSONL file, each checked with :func:`clinnlp.schema.validate`.

    Blank lines are skipped.

    Raises:
        InputError: the file is missing, empty or not UTF-8, or a line is not a JSON object,
            misses a key (``id``, ``text``; ``label``, ``start``... of an entity) or holds an
            inconsistent document (span outside the text, span text differing from the
            text, duplicate or unknown ids); the message names the file and line.
    """
    path = Path(path)
    text = read_text(path, max_bytes=None, what="one JSON document a line")
    for number, line in numbered_lines(text):
        if not line.strip():
            continue
        try:
            data = json.loads(line)
        except json.JSONDecodeError as err:
            reason = f"{err.msg} at column {err.colno}"
            raise InputError(path, E_JSONL_JSON.format(reason=reason), line=number) from None
        if not isinstance(data, dict):
            reason = f"a JSON {type(data).__name__}, not an object"
            raise InputError(path, E_JSONL_JSON.format(reason=reason), line=number)
        try:
            doc = Document.from_dict(data)
        except KeyError as err:
            raise InputError(path, E_JSONL_KEY.format(key=err.args[0]), line=number) from None
        except (TypeError, ValueError, AttributeError) as err:
            reason = f"a field has the wrong type: {type(err).__name__}"
            raise InputError(path, E_JSONL_JSON.format(reason=reason), line=number) from None
        problems = validate(doc)
        if problems:
            message = E_DOCUMENT.format(doc_id=doc.id, problems="; ".join(problems[:3]))
            raise InputError(path, message, line=number)
        yield doc


def write_jsonl(docs: Iterable[Document], path: str | Path) -> int:
    """Write one ``Document.to_dict()`` a line (UTF-8, ``\\n`` line ends); return the count."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    count = 0
    with path.open("w", encoding="utf-8", newline="\n") as out:
        for doc in docs:
            out.write(json.dumps(doc.to_dict(), ensure_ascii=False) + "\n")
            count += 1
    return count
