"""The scispaCy text layer: clinical tokenization, sentences and abbreviations.

:func:`make_text_pipeline` builds ``spacy.blank("en")`` with scispaCy's
``combined_rule_tokenizer`` (plus a few clinical rules, below), two rule components of ours
that set sentence starts, and scispaCy's ``abbreviation_detector`` (made quiet:
:class:`QuietAbbreviations`).

Sentence boundaries come from pure functions on the text, so :func:`sentence_spans` (used to
window long notes for the transformer) and the pipeline's ``doc.sents`` agree:

* :func:`punctuation_boundaries`: ``.``/``?``/``!`` then whitespace then a capital, digit or
  opening bracket -- except after titles and Latin abbreviations (``Dr.``, ``e.g.``, ``vs.``)
  and initials. ``5 mg. daily`` is not split (lowercase follows).
* :func:`section_boundaries`: section headers (``MEDICATIONS:``, ``PMH:,``), list items
  (``1.``, ``-``, ``*`` at line start), blank lines, and the MTSamples line joins, where each
  newline became a comma (``speech.,HX , (primarily``).

We use our own punctuation rules rather than scispaCy's ``pysbd_sentencizer``: on the MTSamples
notes pysbd ran at about a tenth of the tokenizer's speed and never splits the ``.,`` joins.
The whole layer runs at about 0.9M characters a second on one core (the tokenizer is most of
it); :func:`sentence_spans` alone at about 4M. Importing this module adds nothing heavy to
``import spacy`` (which itself imports torch, through thinc, where torch is installed).
"""

from __future__ import annotations

import warnings
from collections.abc import Iterable

import numpy as np
import spacy
from scispacy.abbreviation import AbbreviationDetector
from spacy.attrs import IDX, SENT_START
from spacy.language import Language
from spacy.tokens import Doc

from clinnlp.text.sentences import (
    punctuation_boundaries,
    section_boundaries,
    sentence_boundaries,
    sentence_spans,
)
from clinnlp.text.tokenizer import (
    CAUSAL_HYPHEN,
    TOKENIZER,
    ClinicalTokenizer,
    clinical_tokenizer,
    create_clinical_tokenizer,
)

#: Pipe names, in pipeline order.
SENTENCIZER = "clinnlp_sentencizer"
SECTIONS = "clinnlp_sections"
ABBREVIATIONS = "abbreviation_detector"
#: The factory of the abbreviations pipe: scispaCy's detector, quiet (:class:`QuietAbbreviations`).
ABBREVIATIONS_FACTORY = "clinnlp_abbreviation_detector"


# --- components --------------------------------------------------------------------------------


def _token_indices(doc: Doc, offsets: Iterable[int]) -> list[int]:
    """Index of the first token starting at or after each offset."""
    starts = doc.to_array([IDX])
    return [i for i in np.searchsorted(starts, list(offsets)).tolist() if i < len(doc)]


def _mark_sent_starts(doc: Doc, indices: list[int], reset: bool) -> None:
    # Token.is_sent_start's setter scans the whole doc on each call; one array write does not.
    flags = doc.to_array([SENT_START]).astype(np.int64)
    if reset:
        flags[:] = -1
        flags[:1] = 1
    flags[indices] = 1
    doc.from_array([SENT_START], flags.astype(np.uint64).reshape(-1, 1))  # type: ignore[arg-type]


@Language.component(SENTENCIZER)
def clinnlp_sentencizer(doc: Doc) -> Doc:
    """Set ``token.is_sent_start`` on every token from :func:`punctuation_boundaries`."""
    _mark_sent_starts(doc, _token_indices(doc, punctuation_boundaries(doc.text)), reset=True)
    return doc


@Language.component(SECTIONS)
def clinnlp_sections(doc: Doc) -> Doc:
    """Also start sentences at :func:`section_boundaries` (headers, lists, blank lines, joins).

    Only sets ``token.is_sent_start = True``, so it can follow any sentencizer (ours,
    ``pysbd_sentencizer``, spaCy's ``sentencizer``) but not a parser.
    """
    _mark_sent_starts(doc, _token_indices(doc, section_boundaries(doc.text)), reset=False)
    return doc


class QuietAbbreviations(AbbreviationDetector):
    """scispaCy's ``abbreviation_detector`` without spaCy's warning W036: the detector runs a
    second matcher that has no patterns in most documents, and spaCy warns about that once a
    process, on every command. Only that warning, and only during this call, is silenced."""

    def __call__(self, doc: Doc) -> Doc:
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", message=r"\[W036\]", category=UserWarning)
            return super().__call__(doc)


# Registered as a class, like scispaCy's own: its signature (and config) is the detector's.
Language.factory(ABBREVIATIONS_FACTORY)(QuietAbbreviations)


def make_text_pipeline(nlp: Language | None = None) -> Language:
    """Return a pipeline with the clinical tokenizer, sentences and abbreviations.

    Args:
        nlp: a pipeline to extend (its tokenizer is replaced and the three components put
            first, unless already there; its config keeps naming its old tokenizer, so
            ``spacy.load`` of it saved would not restore ours); when omitted, a blank English
            pipeline whose config names :data:`TOKENIZER`.

    Returns:
        The pipeline. Its docs have ``doc.sents`` and ``doc._.abbreviations``: a list of
        dicts (``short_text``, ``short_start``, ``short_end``, ``long_text``, ``long_start``,
        ``long_end``; token offsets), the serialisable form scispaCy gives, so docs survive
        ``nlp.pipe(n_process=...)`` and ``DocBin``.
    """
    if nlp is None:
        nlp = spacy.blank("en", config={"nlp": {"tokenizer": {"@tokenizers": TOKENIZER}}})
    else:
        nlp.tokenizer = clinical_tokenizer(nlp)
    for position, name in enumerate((SENTENCIZER, SECTIONS, ABBREVIATIONS)):
        if name in nlp.pipe_names:
            continue
        factory, config = name, {}
        if name == ABBREVIATIONS:
            factory, config = ABBREVIATIONS_FACTORY, {"make_serializable": True}
        names = nlp.pipe_names
        before = names[position] if position < len(names) else None
        nlp.add_pipe(factory, name=name, config=config, before=before)
    return nlp


__all__ = [
    "ClinicalTokenizer",
    "QuietAbbreviations",
    "clinical_tokenizer",
    "make_text_pipeline",
    "punctuation_boundaries",
    "section_boundaries",
    "sentence_boundaries",
    "sentence_spans",
]


__all__ = [
    "ABBREVIATIONS",
    "CAUSAL_HYPHEN",
    "SECTIONS",
    "SENTENCIZER",
    "TOKENIZER",
    "ClinicalTokenizer",
    "QuietAbbreviations",
    "clinical_tokenizer",
    "clinnlp_sections",
    "clinnlp_sentencizer",
    "create_clinical_tokenizer",
    "make_text_pipeline",
    "punctuation_boundaries",
    "section_boundaries",
    "sentence_boundaries",
    "sentence_spans",
]
