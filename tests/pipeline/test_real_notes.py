"""What real notes say, end to end through the default pipeline (model, rules, patterns,
ConText), each kind of error the real-notes issue lists on a sentence written for the test."""

from __future__ import annotations

from typing import Any

import pytest

from clinnlp.events import adverse_drug_events


@pytest.fixture(scope="module")
def nlp() -> Any:
    import clinnlp

    return clinnlp.load(linker=False)


def reported(nlp: Any, text: str) -> dict[str, list[tuple[str, list[str]]]]:
    from clinnlp.pipeline import to_document

    summary = adverse_drug_events(to_document(nlp(text), "t"))
    return {
        status: [(e["event"], [d["text"] for d in e["drugs"]]) for e in events]
        for status, events in summary.items()
        if isinstance(events, list) and events
    }


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        # reactions in allergy lines
        (
            "ALLERGIES: SULFA (HIVES), CODEINE (NAUSEA).",
            [("HIVES", ["SULFA"]), ("NAUSEA", ["CODEINE"])],
        ),
        (
            "ALLERGIES: Morphine, Demerol and Dilaudid all cause itching.",
            [("itching", ["Morphine", "Demerol", "Dilaudid"])],
        ),
        (
            "ALLERGIES: VANCOMYCIN CAUSES IV SITE SWELLING.",
            [("IV SITE SWELLING", ["VANCOMYCIN"])],
        ),
        # intolerance with its reason; "X caused Y"; toxicity on this medication
        (
            "She could not tolerate citalopram because of vivid dreams.",
            [("vivid dreams", ["citalopram"])],
        ),
        ("Oxybutynin caused excessive dry mouth.", [("dry mouth", ["Oxybutynin"])]),
        (
            "He was started on lithium last spring. He then had symptoms of toxicity "
            "(confusion) on this medication.",
            [("confusion", ["lithium"])],
        ),
        # an effect named in a diagnosis line; dechallenge
        (
            "Assessment: 1. Oral thrush secondary to inhaled steroid use.",
            [("Oral thrush", ["steroid"])],
        ),
        ("2. Peripheral neuropathy related to chemotherapy.", [("neuropathy", ["chemotherapy"])]),
        ("Since stopping the lithium, the tremor is gone.", [("tremor", ["lithium"])]),
    ],
)
def test_real_notes_attributed_events_are_reported(
    nlp: Any, text: str, expected: list[tuple[str, list[str]]]
) -> None:
    found = reported(nlp, text).get("asserted", [])
    for event, drugs in expected:
        assert any(event in e and d == drugs for e, d in found), (text, found)


@pytest.mark.parametrize(
    "text",
    [
        "Ondansetron 4 mg q6h p.r.n. vomiting.",  # an indication
        "Hydroxyzine 25 mg p.o. if needed for itching.",
        "Her migraines are well controlled on topiramate.",  # the disease a drug treats
        "Amiodarone is known to cause hepatitis.",  # a general warning: hypothetical
        "The patient reports nausea. Denies rash on lisinopril.",  # no link across a negation
        "Penicillin allergy. Allergies: codeine (allergy).",  # generic reaction words
    ],
)
def test_real_notes_what_is_no_adverse_drug_event_is_not_reported(nlp: Any, text: str) -> None:
    assert "asserted" not in reported(nlp, text), reported(nlp, text)


def test_real_notes_a_syndrome_is_one_event_not_its_signs(nlp: Any) -> None:
    text = "Serotonin syndrome with agitation and tremor after tramadol was added to sertraline."
    events = [e for e, _ in reported(nlp, text).get("asserted", [])]
    assert events == ["Serotonin syndrome"]


def test_real_notes_lab_analytes_and_lab_values_are_no_drugs_or_doses(nlp: Any) -> None:
    text = (
        "Lipitor - 2 months\n\nmy cholesterol went from 260 to 190 and my HDL and "
        "triglycerides are fine. SpO2 98%, A1c 6.9%.\n"
    )
    doc = nlp(text)
    drugs = {e.text.lower() for e in doc.ents if e.label_ == "Drug"}
    assert drugs == {"lipitor"}, drugs
    assert not [e.text for e in doc.ents if e.label_ == "Dose"]
