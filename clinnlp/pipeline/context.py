"""The ``clinnlp_context`` component: ConText assertion (:mod:`clinnlp.assertion.context`)
on every entity. Holds no state but the rule file's path, so it pickles and serialises as
its config."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

from spacy.language import Language
from spacy.tokens import Doc

from clinnlp.assertion.context import assert_spans, find_modifiers, load_rules
from clinnlp.pipeline.document import SPAN_KEY, entities
from clinnlp.pipeline.extensions import ConfigOnly, install_extensions


class ContextComponent(ConfigOnly):
    """Set ``span._.clinnlp_assertion`` (present, negated, possible, hypothetical,
    historical, family) on each of clinnlp's entities (``doc.spans[span_key]``, else
    ``doc.ents``) whose label is in ``labels`` (all when empty), with scopes inside the
    sentences of ``doc.sents`` (the whole text when the pipeline sets none).

    Args:
        nlp: the pipeline (unused; spaCy's factory signature).
        name: the component's name.
        rules: a rules file in the layout of ``clinnlp/assertion/rules.tsv``; the packaged
            rules when ``None``.
        labels: entity labels to assert.
        span_key: the span group of the entities (``doc.ents`` when the doc has none).
    """

    def __init__(
        self,
        nlp: Language | None,
        name: str,
        rules: str | None = None,
        labels: Iterable[str] = (),
        span_key: str | None = SPAN_KEY,
    ) -> None:
        self.name = name
        self.span_key = span_key
        self.rules = str(Path(rules)) if rules else None
        self.labels = tuple(labels)
        load_rules(self.rules)  # a bad rules file fails when the pipeline is built
        install_extensions()

    def __call__(self, doc: Doc) -> Doc:
        ents = [
            e for e in entities(doc, self.span_key) if not self.labels or e.label_ in self.labels
        ]
        if not ents:
            return doc
        if doc.has_annotation("SENT_START"):
            sentences = [(s.start_char, s.end_char) for s in doc.sents]
        else:
            sentences = [(0, len(doc.text))]
        modifiers = find_modifiers(doc.text, sentences, load_rules(self.rules))
        spans = [(e.start_char, e.end_char) for e in ents]
        for ent, (status, _) in zip(ents, assert_spans(spans, modifiers), strict=True):
            ent._.clinnlp_assertion = status
        return doc
