"""Adverse events that a note attributes to a drug in so many words, found by pattern.

Real notes state many adverse events in a few fixed forms that a tagger trained on PubMed
sentences misses: an allergy line naming its reaction ("PENICILLIN (RASH)", "A, B and C all
cause HIVES"), "X caused excessive drowsiness", "could not tolerate X because of vivid dreams",
"oral thrush secondary to inhaled steroid use", "X-induced hyperglycemia", "X was stopped
because of the cough", and dechallenge ("since stopping X the tremor is gone"). Each pattern is
anchored on a ``Drug`` span already found and reads the finding beside it. Where the tagger has
an event there, the pattern only links it; where it has none, the pattern makes one, but only
from a short phrase whose last word names a finding in the Human Phenotype Ontology
(:data:`clinnlp.modeling.rules.WORDS_FILE`), with severity and time
words left out as the guideline says ("excessive drowsiness" -> "drowsiness").

Whether the note asserts the event (negated, hypothetical...) is left to ConText, as for every
event. Pure functions; nothing here imports torch.
"""

from __future__ import annotations

import bisect
import re
from collections.abc import Sequence
from dataclasses import dataclass

from clinnlp.modeling.align import SpanPrediction
from clinnlp.modeling.rules import EVENT, GENERIC_EVENTS, is_finding, sentence_bounds

DRUG = "Drug"
#: Confidence of an event a pattern makes, and of a link a pattern adds.
PATTERN_CONFIDENCE = 0.9
#: The longest finding phrase a pattern takes, in words.
MAX_WORDS = 4

#: Words that end a phrase read backwards or forwards (the finding stops before them).
_STOP = frozenset(
    """and or but with without in on at to for of from by as when while which that who
    after before since because if then than so also is was were are be been being has had
    have he she they it his her their him them this these those patient pt who whom whose
    not no denies denied due secondary related likely probably possibly caused causing
    induced given started taking took takes on off stopped discontinued continue despite
    although though requiring needing treated resolved improved""".split()
)
#: Words dropped from the start of a finding (severity, time, articles: guideline "Spans").
_DROP = frozenset(
    """a an the some any his her their my its severe mild moderate significant
    significantly excessive excess marked markedly slight slightly occasional intermittent
    persistent recurrent recurring new worsening worsened worse increasing increased
    transient temporary ongoing possible probable likely grade more much very extreme
    extremely profound acute sudden chronic frequent constant daily nightly bad terrible
    became become becomes got get gets getting felt feel feels feeling developed develops
    developing having experienced experiences experiencing noted reports reported
    complains complained appeared""".split()
)

_WORD = r"[A-Za-z][\w'/-]*"
#: Up to four words of a finding, then maybe ", X" / "and X" (a list of findings).
_NEXT = r"\w[\w'/-]*"  # a later word of a finding may start with a digit ("grade 2 rash")
_ONE = rf"{_WORD}(?:[ \t]+{_NEXT}){{0,7}}"
_FINDINGS = rf"{_ONE}(?:(?:,[ \t]*|[ \t]+(?:and|or)[ \t]+|,[ \t]*and[ \t]+){_ONE}){{0,3}}"
_ARTICLES = (
    r"(?:(?:the|his|her|their|an?|this|prior|recent|previous|long-term|chronic|inhaled|oral|"
    r"iv|intravenous|topical|systemic|high-dose|high|dose)[ \t]+)*"
)

#: After a drug: "caused/causes/made her feel/resulted in FINDINGS".
_DRUG_CAUSED = re.compile(
    r"^(?:[ \t]+(?:use|therapy|treatment|injections?|infusions?|administration))?"
    r"(?:[ \t]+(?:first|second|third|last|prior|previous)?[ \t]*(?:cycle|course|dose)s?)?"
    r"(?:[ \t]*,?[ \t]*(?:which|that)[ \t]+)?[ \t]*(?:has[ \t]+|had[ \t]+|have[ \t]+|all[ \t]+)?"
    r"(?:caused|causes|cause|causing|induced|induces|(?:gave|gives)[ \t]+(?:him|her|me|them)|"
    r"(?:made|makes)[ \t]+(?:him|her|me|them)(?:[ \t]+feel)?|resulted[ \t]+in|results[ \t]+in|"
    r"led[ \t]+to|leads[ \t]+to|produced|produces|(?:was[ \t]+|were[ \t]+)?complicated[ \t]+by)"
    rf"[ \t]+(?P<findings>{_FINDINGS})",
    re.IGNORECASE,
)
#: After a drug in an allergy line: "(RASH)", "- hives", ": nausea", "with swelling".
_ALLERGY_REACTION = re.compile(
    rf"^[ \t]*(?:\([ \t]*(?P<paren>{_FINDINGS})[ \t]*\)|(?:-|–|:)[ \t]*(?P<dash>{_FINDINGS}))",
    re.IGNORECASE,
)
_ALLERGY_CONTEXT = re.compile(r"allerg|intoleran|reactions?\b|adverse", re.IGNORECASE)
#: After a drug: "-induced FINDINGS" ("steroid-induced hyperglycemia").
_INDUCED = re.compile(
    rf"^(?:-|[ \t])(?:induced|associated|related)[ \t]+(?P<findings>{_FINDINGS})", re.IGNORECASE
)
#: Before a drug: "FINDINGS secondary to / due to / related to / from [the inhaled] ".
_CAUSE_WORDS = (
    r"secondary[ \t]+to|due[ \t]+to|related[ \t]+to|caused[ \t]+by|induced[ \t]+by|"
    r"attributed[ \t]+to|attributable[ \t]+to|from|because[ \t]+of|(?:likely|probably|possibly|"
    r"most[ \t]+likely|presumably)[ \t]+(?:from|due[ \t]+to|secondary[ \t]+to|related[ \t]+to|"
    r"caused[ \t]+by|because[ \t]+of)"
)
_EVENT_THEN_DRUG = re.compile(
    rf"(?P<findings>{_WORD}(?:[ \t]+{_WORD}){{0,5}}?)"
    r"(?:[ \t]+(?:is|was|are|were|has[ \t]+been|had[ \t]+been|being|felt[ \t]+to[ \t]+be|"
    r"thought[ \t]+to[ \t]+be|either|most|likely|probably|possibly|presumably|also|partly|"
    r"partially|in[ \t]+part))*"
    rf"[ \t]*,?[ \t]+(?:{_CAUSE_WORDS})[ \t]+"
    # other causes may come first: "secondary to renal insufficiency and chemotherapy"
    r"(?:(?:[\w-]+[ \t]+){1,4}?(?:and|or|,|and/or)[ \t]+)?"
    rf"{_ARTICLES}(?:[A-Za-z-]+[ \t]+)?$",  # one word may qualify the drug ("radioactive")
    re.IGNORECASE,
)
#: Before a drug: "could not tolerate [the]"; after it: "because of / due to FINDINGS".
_NOT_TOLERATE = re.compile(
    r"(?:not|n't|unable[ \t]+to|never)[ \t]+(?:able[ \t]+to[ \t]+)?tolerate[ \t]+"
    rf"{_ARTICLES}$",
    re.IGNORECASE,
)
_STOP_VERB = (
    r"stopped|stop|stopping|discontinued|discontinue|discontinuing|held|hold|holding|"
    r"reduced|reduce|decreased|decrease|lowered|tapered|taper|cut[ \t]+back|changed|switched|"
    r"weaned"
)
_BEFORE_STOPPED = re.compile(rf"(?:{_STOP_VERB})[ \t]+(?:off[ \t]+)?{_ARTICLES}$", re.IGNORECASE)
#: After a drug: "[... was stopped] because of / due to FINDINGS", else "... for FINDINGS".
_BECAUSE = [
    re.compile(
        rf"^(?:[ \t]+[\w/.-]+){{0,6}}?[ \t]*,?[ \t]+(?:{words})[ \t]+{_ARTICLES}"
        rf"(?P<findings>{_FINDINGS})",
        re.IGNORECASE,
    )
    for words in (
        r"because[ \t]+of|due[ \t]+to|secondary[ \t]+to|given|as[ \t]+it[ \t]+caused|as[ \t]+"
        r"(?:he|she)[ \t]+(?:had|developed)|which[ \t]+caused|causing",
        r"for",
    )
]
_AFTER_STOPPED = re.compile(
    r"^(?:[ \t]+(?:use|therapy|treatment|dose|dosage))?[ \t]+(?:was|were|has[ \t]+been|"
    rf"had[ \t]+been|is|will[ \t]+be|should[ \t]+be)[ \t]+(?:{_STOP_VERB})",
    re.IGNORECASE,
)
#: Dechallenge: "since stopping X[,] the FINDING is gone / has resolved".
_SINCE_STOPPING = re.compile(
    r"(?:since|after|once)[ \t]+(?:stopping|discontinuing|coming[ \t]+off|being[ \t]+taken"
    rf"[ \t]+off|holding|the[ \t]+discontinuation[ \t]+of)[ \t]+{_ARTICLES}$",
    re.IGNORECASE,
)
_IS_GONE = re.compile(
    rf"^[ \t]*,?[ \t]+{_ARTICLES}(?P<findings>{_WORD}(?:[ \t]+{_WORD}){{0,3}})[ \t]+"
    r"(?:is|are|has|have)?[ \t]*(?:gone|resolved|improved|better|disappeared|went[ \t]+away|"
    r"gone[ \t]+away|cleared|subsided|stopped)",
    re.IGNORECASE,
)


#: A finding blamed on "this medication" (the drug named just before): "symptoms of toxicity
#: (confusion) on this medication", "the rash from that drug".
_THIS_DRUG = re.compile(
    rf"(?P<findings>{_WORD}(?:[ \t]+{_WORD}){{0,5}}?)(?:[ \t]*\((?P<paren>[^()]{{1,60}})\))?"
    rf"[ \t]*,?[ \t]+(?:on|from|with|after[ \t]+starting|{_CAUSE_WORDS})[ \t]+"
    r"(?:this|that|the|these|those|her|his|the[ \t]+new)[ \t]+"
    r"(?:medications?|medicines?|drugs?|pills?|agents?)\b",
    re.IGNORECASE,
)
#: How far back "this medication" looks for its drug, in characters.
THIS_DRUG_REACH = 400


@dataclass(frozen=True)
class Attribution:
    """A finding a pattern tied to a drug: character span of the finding and the drug's index
    in the spans it was read from."""

    start: int
    end: int
    drug: int


def _trim(text: str, start: int, end: int, strict: bool = False) -> tuple[int, int] | None:
    """The finding inside ``text[start:end]``: leading severity, time and article words
    dropped, cut at the first stop word; ``None`` unless it ends in a finding word and is not
    generic. Words after the last finding word are dropped, unless ``strict`` (then the
    phrase must end in one: a later item of a list)."""
    words = [(m.start() + start, m.end() + start) for m in re.finditer(_WORD, text[start:end])]
    kept: list[tuple[int, int]] = []
    for s, e in words:
        word = text[s:e].lower()
        if word in _STOP:
            break
        if not kept and word in _DROP:
            continue
        kept.append((s, e))
    kept = kept[:MAX_WORDS]
    while kept and not is_finding(text[kept[-1][0] : kept[-1][1]].lower()):
        if strict:
            return None
        kept.pop()
    if not kept:
        return None
    phrase = " ".join(text[kept[0][0] : kept[-1][1]].lower().split())
    if phrase in GENERIC_EVENTS:
        return None
    return kept[0][0], kept[-1][1]


def _trim_back(text: str, start: int, end: int) -> tuple[int, int] | None:
    """As :func:`_trim`, reading backwards from ``end`` (the finding before a cause word)."""
    words = [(m.start() + start, m.end() + start) for m in re.finditer(_WORD, text[start:end])]
    kept: list[tuple[int, int]] = []
    for s, e in reversed(words):
        if text[s:e].lower() in _STOP:
            break
        kept.insert(0, (s, e))
    while kept and text[kept[0][0] : kept[0][1]].lower() in _DROP:
        kept.pop(0)
    if len(kept) > MAX_WORDS:
        kept = kept[-MAX_WORDS:]
    if not kept:
        return None
    return _trim(text, kept[0][0], kept[-1][1])


def _split_findings(text: str, start: int, end: int) -> list[tuple[int, int]]:
    """Each finding of a list ("nausea, vomiting and diarrhea") read forwards."""
    out: list[tuple[int, int]] = []
    pieces = re.split(r",[ \t]*(?:and[ \t]+|or[ \t]+)?|[ \t]+(?:and|or)[ \t]+", text[start:end])
    at = start
    for piece in pieces:
        at = text.index(piece, at) if piece else at
        found = _trim(text, at, at + len(piece), strict=bool(out))
        if found is None:
            break  # the list ended (the next piece is not a finding)
        out.append(found)
        at += len(piece)
    return out


def _drug_list(text: str, spans: Sequence[SpanPrediction], last: int) -> list[int]:
    """The drug at index ``last`` and the drugs listed just before it ("A, B and C")."""
    drugs = sorted(
        (i for i, s in enumerate(spans) if s.label == DRUG and s.end <= spans[last].start),
        key=lambda i: spans[i].start,
    )
    out = [last]
    for i in reversed(drugs):
        between = text[spans[i].end : spans[out[-1]].start]
        if re.fullmatch(r"[ \t]*(?:,|and|or|,[ \t]*and|,[ \t]*or)[ \t]*", between):
            out.append(i)
        else:
            break
    return out


def _in_allergy_line(text: str, at: int) -> bool:
    """Whether offset ``at`` is in an allergy line or section (its sentence, or the section
    header before it, speaks of allergies or reactions)."""
    start, _ = sentence_bounds(text, at)
    header = text[max(0, start - 40) : start]
    return bool(_ALLERGY_CONTEXT.search(text[start:at]) or re.search(r"ALLERG", header))


def attributions(text: str, spans: Sequence[SpanPrediction]) -> list[Attribution]:
    """Every finding a pattern of this module ties to a ``Drug`` of ``spans``, in text order
    (see the module docstring). A finding must lie in its drug's sentence."""
    found: list[Attribution] = []
    for i, drug in enumerate(spans):
        if drug.label != DRUG:
            continue
        sent_start, sent_end = sentence_bounds(text, drug.start)
        before, after = text[sent_start : drug.start], text[drug.end : sent_end]
        spots: list[tuple[int, int]] = []
        drugs = [i]
        caused = _DRUG_CAUSED.match(after) or _INDUCED.match(after)
        if caused:
            s = drug.end + caused.start("findings")
            spots += _split_findings(text, s, drug.end + caused.end("findings"))
            drugs = _drug_list(text, spans, i)
        allergy = _ALLERGY_REACTION.match(after)
        if allergy and _in_allergy_line(text, drug.start):
            group = "paren" if allergy.group("paren") else "dash"
            spots += _split_findings(
                text, drug.end + allergy.start(group), drug.end + allergy.end(group)
            )
        cause = _EVENT_THEN_DRUG.search(before)
        if cause:
            s = sent_start + cause.start("findings")
            one = _trim_back(text, s, sent_start + cause.end("findings"))
            spots += [one] if one else []
        if (
            _NOT_TOLERATE.search(before)
            or _BEFORE_STOPPED.search(before)
            or (_AFTER_STOPPED.match(after))
        ):
            because = _BECAUSE[0].match(after) or _BECAUSE[1].match(after)
            if because:
                s = drug.end + because.start("findings")
                spots += _split_findings(text, s, drug.end + because.end("findings"))
        if _SINCE_STOPPING.search(before):
            gone = _IS_GONE.match(after)
            if gone:
                s = drug.end + gone.start("findings")
                one = _trim(text, s, drug.end + gone.end("findings"))
                spots += [one] if one else []
        for start, end in spots:
            found += [Attribution(start, end, d) for d in drugs]
    found += _this_drug(text, spans)
    return sorted(set(found), key=lambda a: (a.start, a.end, a.drug))


def _this_drug(text: str, spans: Sequence[SpanPrediction]) -> list[Attribution]:
    """Findings blamed on "this medication", tied to the drug named last before (within
    :data:`THIS_DRUG_REACH` characters)."""
    drugs = sorted((s.end, i) for i, s in enumerate(spans) if s.label == DRUG)
    ends = [end for end, _ in drugs]
    out = []
    for m in _THIS_DRUG.finditer(text):
        last = bisect.bisect_right(ends, m.start())  # drugs ending before the phrase
        if not last or ends[last - 1] < m.start() - THIS_DRUG_REACH:
            continue
        drug = drugs[last - 1][1]
        group = "paren" if m.group("paren") else "findings"
        start, end = m.start(group), m.end(group)
        spots = (
            _split_findings(text, start, end)
            if group == "paren"
            else [_trim_back(text, start, end)]
        )
        out += [Attribution(s, e, drug) for spot in spots if spot for s, e in [spot]]
    return out


def apply_patterns(
    text: str, spans: Sequence[SpanPrediction]
) -> tuple[list[SpanPrediction], list[tuple[int, int]]]:
    """``spans`` with the events the patterns make (appended, so indices stay), and the
    ``(drug index, event index)`` pairs the patterns link. A finding that overlaps an event
    span links that span; one that overlaps a span of another label is left alone."""
    out = list(spans)
    links: list[tuple[int, int]] = []
    order = sorted(range(len(spans)), key=lambda k: spans[k].start)
    starts = [spans[k].start for k in order]
    longest = max((s.end - s.start for s in spans), default=0)
    made: dict[tuple[int, int], int] = {}  # events made here, by span

    def overlapping(start: int, end: int) -> list[int]:
        lo = bisect.bisect_left(starts, start - longest)
        hi = bisect.bisect_left(starts, end)
        near = [k for k in order[lo:hi] if spans[k].end > start]
        return sorted(near + [j for (s, e), j in made.items() if s < end and start < e])

    for att in attributions(text, spans):
        hit = overlapping(att.start, att.end)
        if not hit:
            out.append(SpanPrediction(EVENT, att.start, att.end, PATTERN_CONFIDENCE))
            made[(att.start, att.end)] = len(out) - 1
            hit = [len(out) - 1]
        for j in hit:
            if out[j].label == EVENT and (att.drug, j) not in links:
                links.append((att.drug, j))
    return out, links
