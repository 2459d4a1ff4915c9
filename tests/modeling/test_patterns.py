"""Events a note attributes to a drug in so many words (clinnlp.modeling.patterns), each
kind on a sentence written for the test; the drugs come from the packaged vocabulary."""

from __future__ import annotations

import pytest

from clinnlp.lexicon.vocabulary import merge_drugs
from clinnlp.modeling.align import SpanPrediction
from clinnlp.modeling.patterns import apply_patterns, attributions


def pairs(text: str, spans: list[SpanPrediction] | None = None) -> list[tuple[str, str]]:
    spans = merge_drugs(text, spans or [])
    out, links = apply_patterns(text, spans)
    return [(text[out[d].start : out[d].end], text[out[e].start : out[e].end]) for d, e in links]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        # allergy lines that name their reaction
        ("ALLERGIES: AMOXICILLIN (HIVES), SULFA.", [("AMOXICILLIN", "HIVES")]),
        ("Allergies:, Cefaclor - joint swelling.,Meds:", [("Cefaclor", "joint swelling")]),
        (
            "ALLERGIES: , Codeine, tramadol and Vicodin all cause ITCHING.",
            [("Codeine", "ITCHING"), ("tramadol", "ITCHING"), ("Vicodin", "ITCHING")],
        ),
        ("ALLERGIES: VANCOMYCIN CAUSES IV SITE SWELLING.", [("VANCOMYCIN", "IV SITE SWELLING")]),
        # intolerance with its reason; "X caused Y" (severity left out)
        (
            "He could not tolerate paroxetine because of vivid dreams.",
            [("paroxetine", "vivid dreams")],
        ),
        ("Zolpidem caused excessive drowsiness at work.", [("Zolpidem", "drowsiness")]),
        (  # a list of findings ends where an item names no finding
            "Allergies: cefuroxime, which causes wheezing, and adhesive tape.",
            [("cefuroxime", "wheezing")],
        ),
        # an effect named in a diagnosis line
        (
            "2. Esophageal candidiasis secondary to inhaled steroid use.",
            [("steroid", "Esophageal candidiasis")],
        ),
        ("Sensory neuropathy related to chemotherapy.", [("chemotherapy", "Sensory neuropathy")]),
        ("Prednisone-induced hyperglycemia, on insulin.", [("Prednisone", "hyperglycemia")]),
        # the drug stopped or held for it; dechallenge
        ("Enalapril was stopped because of a persistent cough.", [("Enalapril", "cough")]),
        (
            "Hold cisplatin for cycle 4 because of the grade 2 ototoxicity.",
            [("cisplatin", "ototoxicity")],
        ),
        ("Since stopping valproate, the tremor is gone.", [("valproate", "tremor")]),
        # another cause named first; a copula between; "complicated by"
        (
            "3. Thrombocytopenia secondary to liver disease and valproate.",
            [("valproate", "Thrombocytopenia")],
        ),
        ("She became agitated, probably secondary to prednisone.", [("prednisone", "agitated")]),
        ("Her rash is likely due to the lamotrigine.", [("lamotrigine", "rash")]),
        (
            "The second cycle of docetaxel was complicated by mucositis despite mouthwash.",
            [("docetaxel", "mucositis")],
        ),
    ],
)
def test_patterns_find_what_real_notes_attribute(
    text: str, expected: list[tuple[str, str]]
) -> None:
    assert pairs(text) == expected


@pytest.mark.parametrize(
    "text",
    [
        "Ondansetron 8 mg q8h p.r.n. vomiting.",  # an indication
        "Hydroxyzine if needed for itching.",
        "Glipizide was changed for better control.",  # no finding after "for"
        "ALLERGIES: PENICILLIN, SULFA.",  # no reaction named
        "Allergies: codeine (allergy).",  # a generic word
        "Nausea after the first dose of metformin.",  # time alone is not attribution
        "Lisinopril 10 mg (for blood pressure).",  # not an allergy line
    ],
)
def test_patterns_leave_what_attributes_nothing(text: str) -> None:
    assert pairs(text) == []


def test_patterns_link_the_taggers_event_rather_than_making_a_second() -> None:
    text = "Amiodarone caused thyroid dysfunction."
    tagged = SpanPrediction("Adverse-Effect", text.index("thyroid"), len(text) - 1, 0.8)
    spans = merge_drugs(text, [tagged])
    out, links = apply_patterns(text, spans)
    assert len(out) == len(spans) and [out[e] for _, e in links] == [tagged]


def test_patterns_keep_to_their_sentence() -> None:
    text = "Metoprolol was continued. Dizziness, due to dehydration."
    assert attributions(text, merge_drugs(text, [])) == []


def test_patterns_tie_this_medication_to_the_drug_named_before() -> None:
    text = (
        "She was started on valproate in March. Since then she has had symptoms of toxicity "
        "(tremor and confusion) on this medication."
    )
    assert pairs(text) == [("valproate", "tremor"), ("valproate", "confusion")]
    assert pairs("Medications: lisinopril. No side effects from this medication.") == []
