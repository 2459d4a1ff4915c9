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

import re
import warnings
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import numpy as np
import spacy
from scispacy.abbreviation import AbbreviationDetector
from scispacy.custom_tokenizer import combined_rule_tokenizer
from spacy.attrs import IDX, NORM, SENT_START
from spacy.language import Language
from spacy.symbols import ORTH
from spacy.tokenizer import Tokenizer
from spacy.tokens import Doc
from spacy.util import compile_infix_regex
from spacy.vocab import Vocab

from clinnlp.errors import E_TEXT_SURROGATE, TextError

#: The registered tokenizer (``[nlp.tokenizer]`` in the config).
TOKENIZER = "clinnlp.ClinicalTokenizer.v1"

#: A hyphen before a causal or relational suffix splits, so the drug in
#: ``oxaliplatin-induced`` is a token of its own (scispaCy keeps hyphenated words whole).
CAUSAL_HYPHEN = (
    r"(?<=[A-Za-z0-9])-(?=(?:induced|related|associated|mediated|dependent|resistant|"
    r"sensitive|refractory|naive|exposed|treated|containing|based|free|toxicity)\b)"
)
#: Pipe names, in pipeline order.
SENTENCIZER = "clinnlp_sentencizer"
SECTIONS = "clinnlp_sections"
ABBREVIATIONS = "abbreviation_detector"
#: The factory of the abbreviations pipe: scispaCy's detector, quiet (:class:`QuietAbbreviations`).
ABBREVIATIONS_FACTORY = "clinnlp_abbreviation_detector"

# --- sentence rules (pure functions of the text) ----------------------------------------------

# Words whose final period does not end a sentence even before a capital ("Dr. Smith",
# "e.g. Tylenol", "Jan. 5"); compared lowercased, without the period.
NO_SPLIT_AFTER = frozenset(
    "dr drs mr mrs ms messrs prof st sr vs v e.g eg i.e ie cf approx ca fig figs no nos al "
    "jan feb mar apr jun jul aug sep sept oct nov dec".split()
)

# Starts only at the first mark of a run, so scanning stays linear on "......" runs.
_SENT_END = re.compile(r"(?<![.?!])[.?!]+[\"')\]]*\s+(?=[\"'(\[]?[A-Z0-9])")
_GLUED_NUMBER = re.compile(r",\d{1,2}$")
_BLANK_LINE = re.compile(r"\n[ \t\r]*\n\s*")
_MARKER = r"(?:\d{1,2}[.)]|[-*\u2022])[ \t]+(?=\S)"
_LIST_ITEM = re.compile(rf"(?:(?:^|(?<=\n))[ \t]*|(?<=\D,))({_MARKER})")
# A line end MTSamples turned into a comma: punctuation then a comma (but not "etc., and"),
# or a comma glued to a capitalised word ("narcotics,In May").
_RUN_ON = re.compile(
    r"(?:[.?!:;][\"')\]]?[ \t]*,(?![ \t]+[a-z])|(?<=[\w%)\]]),(?=[A-Z][A-Za-z]))[ \t,]*"
)
_CONTENT = r"(?=[^\s\d]|\d{1,2}[.)][ \t])"  # header content, unless a bare value ("BP: 120/80")
_CAPS_HEADER = re.compile(
    r"(?:^[ \t]*|(?<=\n)[ \t]*|(?<=[.?!])[ \t]+|(?<=,))"
    rf"([A-Z][A-Z0-9/&()' -]{{0,58}}[A-Z0-9)])[ \t]*:[ \t,]*({_CONTENT})?"
)
_LINE_HEADER = re.compile(
    r"(?:^|(?<=\n))[ \t]*([A-Z][A-Za-z0-9/&()'-]*(?: [A-Za-z0-9/&()'-]+){0,3}):[ \t,]*"
    rf"({_CONTENT})?"
)


def punctuation_boundaries(text: str) -> list[int]:
    """Offsets where a sentence starts after ``.``, ``?`` or ``!`` (sorted).

    A boundary needs whitespace and then a capital letter or digit (an opening quote or
    bracket may come first), and the word before the punctuation must not be a title or Latin
    abbreviation (:data:`NO_SPLIT_AFTER`) or a single capital (an initial).
    """
    out = []
    for m in _SENT_END.finditer(text):
        word = _word_before(text, m.start())
        bare = word.rsplit(",", 1)[-1].lstrip("\"'([").lower()
        if bare in NO_SPLIT_AFTER or (len(bare) == 1 and bare.isalpha()):
            continue
        if _is_list_number(text, m.start() - len(word), word):
            continue
        out.append(m.end())
    return out


def _word_before(text: str, end: int) -> str:
    """The non-space run ending at ``end`` (at most 40 characters)."""
    before = text[max(0, end - 40) : end]
    return "" if not before or before[-1].isspace() else before.split()[-1]


def _is_list_number(text: str, start: int, word: str) -> bool:
    """Whether ``word`` (at ``start``) is a list number: "1" at a line start or after a comma."""
    if _GLUED_NUMBER.search(word):
        return True
    if not (word.isdigit() and len(word) <= 2):
        return False
    while start > 0 and text[start - 1] in " \t":
        start -= 1
    return start == 0 or text[start - 1] == "\n"


def section_boundaries(text: str) -> list[int]:
    """Offsets where a sentence starts for layout reasons (sorted, unique).

    * before a section header in capitals followed by a colon (``MEDICATIONS:``), at the start
      of a line, after a sentence end or after a joining comma; and after the header, unless
      a bare value follows (``BP: 120/80`` stays whole). At a line start the header may be
      in mixed case (``History of Present Illness:``, up to four words).
    * at a list item: ``1.``, ``2)``, ``-``, ``*`` or a bullet at a line start or after a comma.
    * after a blank line.
    * after the commas MTSamples put for line ends: ``.,``/``:,`` (not ``etc., were``) and a
      comma glued to a capitalised word (``12/07,FAMILY``).
    """
    found: set[int] = set()
    for m in _BLANK_LINE.finditer(text):
        found.add(m.end())
    for m in _LIST_ITEM.finditer(text):
        found.add(m.start(1))
    for m in _RUN_ON.finditer(text):
        found.add(m.end())
    for regex in (_CAPS_HEADER, _LINE_HEADER):
        for m in regex.finditer(text):
            found.add(m.start(1))
            if m.group(2) is not None:
                found.add(m.start(2))
    n = len(text)
    return sorted(i for i in found if 0 < i < n and not text[i].isspace())


def sentence_boundaries(text: str) -> list[int]:
    """Offsets where a sentence starts, other than 0: punctuation and layout rules together."""
    return sorted(set(punctuation_boundaries(text)).union(section_boundaries(text)))


def sentence_spans(text: str) -> list[tuple[int, int]]:
    """Character spans ``(start, end)`` of the sentences of ``text``, whitespace trimmed.

    The spans are in order, do not overlap, and cover every non-space character; they match
    the sentences of :func:`make_text_pipeline` (trimmed) wherever the boundaries fall on token
    starts, which the tokenizer rules here ensure for the patterns above.
    """
    cuts = [0, *sentence_boundaries(text), len(text)]
    spans = []
    for start, end in zip(cuts, cuts[1:], strict=False):
        piece = text[start:end]
        lead = len(piece) - len(piece.lstrip())
        trail = len(piece) - len(piece.rstrip())
        if lead < len(piece):
            spans.append((start + lead, end - trail))
    return spans


# --- tokenizer ---------------------------------------------------------------------------------

# Latin dosing abbreviations kept whole ("b.i.d." not "b.i.d" + "."), as written and in capitals.
DOSING_ABBREVIATIONS = (
    "a.c. p.c. h.s. b.i.d. t.i.d. q.i.d. q.d. q.o.d. q.h. q.h.s. q.a.m. q.p.m. p.r.n. "
    "p.o. p.r. i.v. i.m. s.c. s.q. s.l. o.d. o.s. o.u. stat."
).split() + [f"q.{n}h." for n in (1, 2, 3, 4, 6, 8, 12, 24)]

# A comma glued to the next word: in MTSamples each line end became one ("speech.,HX",
# "STUDY,1."). Not between digits ("1,000", "2,4-D").
_GLUED_COMMA = re.compile(r"(?<=[^\s\d]),(?=\S)|(?<=\d),(?=[^\s\d])")


#: A lone surrogate: not Unicode text (a JSON "\\ud83d" escape without its pair).
_SURROGATE = re.compile("[\ud800-\udfff]")


class ClinicalTokenizer:
    """scispaCy's ``combined_rule_tokenizer`` that also reads a glued comma as a line break.

    The text is tokenized as if a space stood before each glued comma, so ``(NSAIDs).,PLAN``
    gives ``(`` ``NSAIDs`` ``)`` ``.`` ``,`` ``PLAN`` as ``(NSAIDs). ,PLAN`` would, and
    layout boundaries fall on token starts; the doc keeps the original text and offsets.
    Serialises as the wrapped tokenizer.
    """

    def __init__(self, tokenizer: Tokenizer) -> None:
        self.tokenizer = tokenizer

    @property
    def vocab(self) -> Vocab:
        return self.tokenizer.vocab

    def __call__(self, text: str) -> Doc:
        bad = _SURROGATE.search(text)  # spaCy's string store would raise UnicodeEncodeError
        if bad is not None:
            raise TextError(E_TEXT_SURROGATE.format(code=ord(bad.group()), offset=bad.start()))
        cuts = [m.start() for m in _GLUED_COMMA.finditer(text)]
        if not cuts:
            return self.tokenizer(text)
        pieces = [text[a:b] for a, b in zip([0, *cuts], [*cuts, len(text)], strict=True)]
        spaced = self.tokenizer(" ".join(pieces))
        added = {cut + n for n, cut in enumerate(cuts)}  # the added spaces, in the spaced text
        words = [t.text for t in spaced]
        spaces = [bool(t.whitespace_) and t.idx + len(t) not in added for t in spaced]
        doc = Doc(self.vocab, words=words, spaces=spaces)
        doc.from_array([NORM], spaced.to_array([NORM]))
        return doc

    def __reduce__(self) -> tuple[Any, ...]:
        # Rebuild from bytes, sharing the pickled vocab, so unpickling compiles quietly.
        return _restore, (self.vocab, self.tokenizer.to_bytes(exclude=["vocab"]))

    def to_bytes(self, **kwargs: Any) -> bytes:
        return self.tokenizer.to_bytes(**kwargs)

    def from_bytes(self, data: bytes, **kwargs: Any) -> ClinicalTokenizer:
        with _quiet_regex():
            self.tokenizer.from_bytes(data, **kwargs)
        return self

    def to_disk(self, path: str | Path, **kwargs: Any) -> None:
        self.tokenizer.to_disk(path, **kwargs)

    def from_disk(self, path: str | Path, **kwargs: Any) -> ClinicalTokenizer:
        with _quiet_regex():
            self.tokenizer.from_disk(path, **kwargs)
        return self


def _restore(vocab: Vocab, data: bytes) -> ClinicalTokenizer:
    return ClinicalTokenizer(Tokenizer(vocab)).from_bytes(data, exclude=["vocab"])


@contextmanager
def _quiet_regex() -> Iterator[None]:
    """Silence the FutureWarning of `re` that scispaCy's character classes trip on compile."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FutureWarning)
        yield


def clinical_tokenizer(nlp: Language) -> ClinicalTokenizer:
    """scispaCy's ``combined_rule_tokenizer`` with dosing abbreviations kept whole and glued
    commas read as line breaks (:class:`ClinicalTokenizer`)."""
    with _quiet_regex():
        # Called while `nlp` is still being built (from the config), before it has a
        # tokenizer: give scispaCy the language defaults it reads.
        defaults = SimpleNamespace(token_match=nlp.Defaults.token_match)
        shim = SimpleNamespace(vocab=nlp.vocab, Defaults=nlp.Defaults, tokenizer=defaults)
        tokenizer = combined_rule_tokenizer(shim)  # type: ignore[arg-type]
    for abbr in DOSING_ABBREVIATIONS:
        for form in {abbr, abbr.upper()}:
            tokenizer.add_special_case(form, [{ORTH: form}])
    infixes = [tokenizer.infix_finditer.__self__.pattern, CAUSAL_HYPHEN]  # type: ignore[union-attr]
    tokenizer.infix_finditer = compile_infix_regex(infixes).finditer
    return ClinicalTokenizer(tokenizer)


@spacy.registry.tokenizers(TOKENIZER)
def create_clinical_tokenizer() -> Callable[[Language], ClinicalTokenizer]:
    """Config entry ``[nlp.tokenizer] @tokenizers = "clinnlp.ClinicalTokenizer.v1"``."""
    return clinical_tokenizer


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
