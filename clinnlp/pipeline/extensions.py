"""Every custom ``Doc``/``Span`` extension clinnlp sets, declared in one table.

Extensions hold plain values only (numbers, strings, lists of tuples): spaCy keeps them in
``doc.user_data``, so they survive ``DocBin``, pickling and ``nlp.pipe(n_process=...)``.
Span values are keyed by the span's character offsets. :func:`clinnlp.pipeline.document.to_document`
reads them into a Document.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import Any, TypeVar

from spacy.tokens import Doc, Span

#: ``{(kind, name): default}``; every clinnlp extension is declared here and nowhere else.
EXTENSIONS: dict[tuple[str, str], Any] = {
    # Mean probability of the tags of a predicted span (set by ``clinnlp_tagger``).
    ("span", "clinnlp_confidence"): None,
    # Relations between entities, as [head start, head end, tail start, tail end, label,
    # confidence) character offsets of ``doc.ents`` (set by ``clinnlp_tagger``); None: none.
    ("doc", "clinnlp_relations"): None,
    # ConText status of an entity: present, negated, possible, hypothetical, historical or
    # family (set by ``clinnlp_context``).
    ("span", "clinnlp_assertion"): None,
    # Concepts of an entity, best first: [[id, name, score, [cross-references]], ...] (set by
    # ``clinnlp_linker``).
    ("span", "clinnlp_concepts"): None,
    # The caller's document id (set by :func:`clinnlp.batch.core.annotate_records`).
    ("doc", "clinnlp_id"): None,
}

_CLASSES: dict[str, type[Doc] | type[Span]] = {"doc": Doc, "span": Span}


def install_extensions() -> None:
    """Declare every extension of :data:`EXTENSIONS`; a no-op for those already declared."""
    for (kind, name), default in EXTENSIONS.items():
        cls = _CLASSES[kind]
        if not cls.has_extension(name):
            cls.set_extension(name, default=default)


_C = TypeVar("_C", bound="ConfigOnly")


class ConfigOnly:
    """Serialisation of a component whose whole state is its config (a file or folder path):
    ``to_disk`` writes nothing, ``from_disk`` reads nothing, and unpickling (``n_process``
    workers) installs the extensions again."""

    def to_disk(self, path: str | Path, *, exclude: Iterable[str] = ()) -> None:
        """Nothing to write: what the component reads is named in its config."""

    def from_disk(self: _C, path: str | Path, *, exclude: Iterable[str] = ()) -> _C:
        return self

    def __getstate__(self) -> dict[str, Any]:
        return dict(self.__dict__)

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)
        install_extensions()
