"""The clinical tokenizer: scispaCy's ``combined_rule_tokenizer`` with a few clinical rules,
registered as ``clinnlp.ClinicalTokenizer.v1`` (see :mod:`clinnlp.text`)."""

from __future__ import annotations

import re
import warnings
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import spacy
from scispacy.custom_tokenizer import combined_rule_tokenizer
from spacy.attrs import NORM
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
