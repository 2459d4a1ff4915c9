"""Sentence boundaries as pure functions of the text: punctuation, section headers, list
items, blank lines and the MTSamples line joins (see :mod:`clinnlp.text`)."""

from __future__ import annotations

import re

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
