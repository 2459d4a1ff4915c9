"""The ``clinnlp_linker`` component: concepts for entities from knowledge bases on disk.

Knowledge bases are the folders ``clinnlp build-kb`` writes (scispaCy's files); they load on
first use, from disk only: a missing folder is an error, never a download. An entity that is
a short form the abbreviation detector resolved ("HFS") is linked by its long form.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from spacy.language import Language
from spacy.tokens import Doc

from clinnlp.pipeline.document import SPAN_KEY, entities
from clinnlp.pipeline.extensions import ConfigOnly, install_extensions

#: Which knowledge base links which label, with its similarity threshold.
DEFAULT_LABELS: dict[str, tuple[str, float]] = {
    "Drug": ("drugs", 0.7),
    "Adverse-Effect": ("hpo", 0.6),
}


@functools.cache
def _knowledge_base(folder: str) -> tuple[Any, dict[str, list[str]]]:
    from clinnlp.linking.index import load

    return load(folder)


class LinkerComponent(ConfigOnly):
    """Set ``span._.clinnlp_concepts`` on each of clinnlp's entities (``doc.spans[span_key]``,
    else ``doc.ents``) whose label has a knowledge base: a
    list of ``[id, name, score, xrefs]``, best first (empty when nothing passes the
    threshold).

    Args:
        nlp: the pipeline (unused; spaCy's factory signature).
        name: the component's name.
        kb: the folder holding the knowledge bases (``drugs/``, ``hpo/``...); clinnlp's
            default, ``models/kb``, when ``None``.
        labels: ``{label: [knowledge base folder name, threshold]}``.
        k: concepts kept per entity.
        span_key: the span group of the entities (``doc.ents`` when the doc has none).
    """

    def __init__(
        self,
        nlp: Language | None,
        name: str,
        kb: str | None = None,
        labels: Mapping[str, list[Any]] | None = None,
        k: int = 3,
        span_key: str | None = SPAN_KEY,
    ) -> None:
        self.name = name
        self.kb = kb
        self.span_key = span_key
        chosen: Mapping[str, Any] = labels or DEFAULT_LABELS
        self.labels = {key: (str(v[0]), float(v[1])) for key, v in chosen.items()}
        self.k = k
        install_extensions()

    def folder(self, label: str) -> Path:
        from clinnlp.about import DEFAULT_KB

        return Path(self.kb or DEFAULT_KB) / self.labels[label][0]

    def __call__(self, doc: Doc) -> Doc:
        from clinnlp.linking.link import link

        long_forms = (
            {a["short_text"]: a["long_text"] for a in doc._.abbreviations or []}
            if Doc.has_extension("abbreviations")
            else {}
        )
        by_label: dict[str, list[Any]] = {}
        for ent in entities(doc, self.span_key):
            if ent.label_ in self.labels:
                by_label.setdefault(ent.label_, []).append(ent)
        for label, ents in by_label.items():
            generator, xrefs = _knowledge_base(str(self.folder(label)))
            texts = [long_forms.get(e.text, e.text) for e in ents]
            found = link(generator, xrefs, texts, self.k, self.labels[label][1])
            for ent, concepts in zip(ents, found, strict=True):
                ent._.clinnlp_concepts = [[c.id, c.name, c.score, c.xrefs] for c in concepts]
        return doc
