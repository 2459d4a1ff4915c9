"""The ConText algorithm (Harkema et al. 2009, J Biomed Inform 42:839) as pure functions.

A rule is a trigger literal with a category and a direction. In each sentence the triggers
are found (case-insensitive, on word boundaries, longest match first; a pseudo-trigger such as
"no change" or "history of present illness" takes its words so that no shorter trigger inside
it fires). Each trigger's scope runs from the trigger in its direction to the sentence's edge,
stopping early at a termination term ("but", "secondary to", ";"...), at a trigger of another
category two or more words on ("no history of X" stays negated; "no fever, history of X"
does not negate X), or after the rule's maximum number of words. A span inside a scope takes
the trigger's category; a span in several scopes takes the strongest by :data:`PRECEDENCE`.

Statuses: ``present`` (no trigger), ``negated``, ``possible`` (uncertain existence: "rule
out", "concern for"; uncertain *attribution* such as "possibly due to X" leaves the event
present, as the annotation guideline asks), ``hypothetical`` (risks, warnings, conditions,
patient education), ``historical`` and ``family``. The rules live in ``rules.tsv`` beside
this module; :func:`load_rules` reads it or a user's file of the same layout.
"""

from __future__ import annotations

import bisect
import functools
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from clinnlp.errors import E_RULES, InputError

RULES_FILE = Path(__file__).with_name("rules.tsv")
CATEGORIES = ("NEGATED", "POSSIBLE", "HYPOTHETICAL", "HISTORICAL", "FAMILY")
DIRECTIONS = ("forward", "backward", "both")
#: Statuses from strongest to weakest: a span in several scopes takes the first.
PRECEDENCE = ("negated", "possible", "hypothetical", "family", "historical")
#: One token: a word (with inner hyphens, apostrophes or slashes) or a punctuation mark.
TOKEN = re.compile(r"\w+(?:['/-]\w+)*|[^\w\s]")


@dataclass(frozen=True)
class Rule:
    """A trigger literal, its category (``NEGATED``... ``PSEUDO``, ``TERMINATE``), the
    direction of its scope and its longest scope in words (``None``: the sentence)."""

    literal: str
    category: str
    direction: str = "forward"
    max_scope: int | None = None


@dataclass(frozen=True)
class Modifier:
    """A trigger found in a text: its rule, its characters, and its scope's characters."""

    rule: Rule
    start: int
    end: int
    scope_start: int
    scope_end: int

    @property
    def status(self) -> str:
        return self.rule.category.lower()


def parse_rules(text: str, path: str | Path = RULES_FILE) -> list[Rule]:
    """Rules from ``rules.tsv`` lines: literal, category, direction, max scope (tab-separated;
    ``#`` comments and blank lines skipped).

    Raises:
        InputError: a line with an unknown category or direction, or a bad scope (the
            message names the file and line).
    """
    rules = []
    for number, line in enumerate(text.splitlines(), 1):
        if not line.strip() or line.startswith("#"):
            continue
        fields = line.split("\t")
        literal, category = fields[0].strip().lower(), fields[1].strip() if len(fields) > 1 else ""
        direction = fields[2].strip() if len(fields) > 2 and fields[2].strip() else "forward"
        scope = fields[3].strip() if len(fields) > 3 else ""
        known = category in (*CATEGORIES, "PSEUDO", "TERMINATE")
        if (
            not literal
            or not known
            or direction not in DIRECTIONS
            or not (scope.isdigit() or not scope)
        ):
            raise InputError(path, E_RULES, line=number)
        rules.append(Rule(literal, category, direction, int(scope) if scope else None))
    return rules


@functools.cache
def load_rules(path: str | None = None) -> tuple[Rule, ...]:
    """The rules of ``path`` (the packaged ``rules.tsv`` when ``None``), read once."""
    file = Path(path) if path else RULES_FILE
    try:
        text = file.read_text("utf-8")
    except (OSError, UnicodeDecodeError) as err:
        raise InputError(file, f"cannot read the ConText rules ({type(err).__name__})") from None
    return tuple(parse_rules(text, file))


@functools.cache
def _index(rules: tuple[Rule, ...]) -> dict[tuple[str, ...], Rule]:
    return {tuple(m.group(0) for m in TOKEN.finditer(r.literal)): r for r in rules}


def find_modifiers(
    text: str, sentences: Sequence[tuple[int, int]], rules: Sequence[Rule] | None = None
) -> list[Modifier]:
    """Every trigger of ``rules`` in ``text`` with its scope, sentence by sentence
    (``sentences``: character ranges; ``[(0, len(text))]`` for one)."""
    index = _index(tuple(rules) if rules is not None else load_rules())
    longest = max((len(k) for k in index), default=0)
    found: list[Modifier] = []
    for sent_start, sent_end in sentences:
        tokens = [
            (m.group(0).lower(), sent_start + m.start(), sent_start + m.end())
            for m in TOKEN.finditer(text[sent_start:sent_end])
        ]
        matches: list[tuple[Rule, int, int]] = []  # rule, first token, last token + 1
        i = 0
        while i < len(tokens):
            for n in range(min(longest, len(tokens) - i), 0, -1):
                rule = index.get(tuple(t for t, _, _ in tokens[i : i + n]))
                if rule is not None:
                    matches.append((rule, i, i + n))
                    i += n
                    break
            else:
                i += 1
        found += _scopes(tokens, matches, sent_start, sent_end)
    return found


def _scopes(
    tokens: list[tuple[str, int, int]],
    matches: list[tuple[Rule, int, int]],
    sent_start: int,
    sent_end: int,
) -> list[Modifier]:
    """The scope of each trigger among one sentence's matches."""
    stops = [(a, b, r) for r, a, b in matches if r.category != "PSEUDO"]
    out = []
    for rule, first, last in matches:
        if rule.category in ("PSEUDO", "TERMINATE"):
            continue
        lo, hi = first, last  # token range of the scope, extended below
        if rule.direction in ("forward", "both"):
            hi = _walk(tokens, stops, rule, last, +1)
        if rule.direction in ("backward", "both"):
            lo = _walk(tokens, stops, rule, first - 1, -1)
        scope_start = tokens[lo][1] if lo < len(tokens) else sent_end
        scope_end = tokens[hi - 1][2] if hi > 0 else sent_start
        out.append(Modifier(rule, tokens[first][1], tokens[last - 1][2], scope_start, scope_end))
    return out


def _walk(
    tokens: list[tuple[str, int, int]],
    stops: list[tuple[int, int, Rule]],
    rule: Rule,
    at: int,
    step: int,
) -> int:
    """Walk from token ``at`` in direction ``step`` until a terminating token, another
    category's trigger, the sentence edge or the rule's word limit; return the scope's
    outer token bound (exclusive going forward, inclusive going backward)."""
    words = 0
    starts = {a: (b, r) for a, b, r in stops}
    ends = {b - 1: (a, r) for a, b, r in stops}
    while 0 <= at < len(tokens):
        hit = starts.get(at) if step > 0 else ends.get(at)
        if hit is not None and hit[1].category == "TERMINATE":
            break
        # another category's trigger ends the scope, unless it comes first or after one word
        # ("no history of", "denies any history of" stay negated)
        if hit is not None and hit[1].category != rule.category and words >= 2:
            break
        if tokens[at][0][0].isalnum():
            words += 1
            if rule.max_scope is not None and words > rule.max_scope:
                break
        at += step
    return at if step > 0 else at + 1


def assert_spans(
    spans: Sequence[tuple[int, int]], modifiers: Sequence[Modifier]
) -> list[tuple[str, Modifier | None]]:
    """The status of each ``(start, end)`` span and the modifier that set it: the strongest
    (by :data:`PRECEDENCE`; the first of equals) of the scopes that hold the span and not
    its trigger. Only scopes that can hold a span are looked at (a scope lies in one
    sentence), so a long note costs in proportion to its spans."""
    rank = {status: i for i, status in enumerate(PRECEDENCE)}
    order = sorted(range(len(modifiers)), key=lambda i: modifiers[i].scope_start)
    starts = [modifiers[i].scope_start for i in order]
    widest = max((m.scope_end - m.scope_start for m in modifiers), default=0)
    out: list[tuple[str, Modifier | None]] = []
    for start, end in spans:
        lo, hi = bisect.bisect_left(starts, start - widest), bisect.bisect_right(starts, start)
        best: Modifier | None = None
        for i in sorted(order[lo:hi]):  # in the modifiers' own order, as before
            m = modifiers[i]
            inside = m.scope_start <= start and end <= m.scope_end
            on_trigger = start < m.end and m.start < end
            if inside and not on_trigger:
                if best is None or rank[m.status] < rank[best.status]:
                    best = m
        out.append((best.status, best) if best is not None else ("present", None))
    return out


def assertions(
    text: str,
    spans: Sequence[tuple[int, int]],
    sentences: Sequence[tuple[int, int]] | None = None,
    rules: Sequence[Rule] | None = None,
) -> list[str]:
    """The status of each span of ``text`` (one sentence when ``sentences`` is omitted)."""
    modifiers = find_modifiers(text, sentences or [(0, len(text))], rules)
    return [status for status, _ in assert_spans(spans, modifiers)]
