"""The real-note rules over predicted spans and relations (clinnlp.modeling.rules), each on a
sentence written for the test."""

from __future__ import annotations

from clinnlp.modeling.align import SpanPrediction
from clinnlp.modeling.relations import RelationPrediction
from clinnlp.modeling.rules import (
    clean_spans,
    drop_analytes,
    drop_generic_events,
    drop_indications,
    drop_lab_values,
    indication_of,
    join_fragments,
    sentence_bounds,
)

EVENT, DRUG, DOSE = "Adverse-Effect", "Drug", "Dose"


def span(text: str, label: str, words: str, nth: int = 0) -> SpanPrediction:
    at = -1
    for _ in range(nth + 1):
        at = text.index(words, at + 1)
    return SpanPrediction(label, at, at + len(words), 0.9)


def texts(text: str, spans: list[SpanPrediction]) -> list[tuple[str, str]]:
    return [(s.label, text[s.start : s.end]) for s in spans]


def test_rules_join_fragments_makes_one_event_of_a_modifier_and_its_noun() -> None:
    text = "Impression: drug eruption from cefdinir; an itchy urticarial wheal; nausea vomiting."
    spans = [
        span(text, EVENT, "drug"),
        span(text, EVENT, "eruption"),
        span(text, DRUG, "cefdinir"),
        span(text, EVENT, "urticarial"),
        span(text, EVENT, "wheal"),
        span(text, EVENT, "nausea"),
        span(text, EVENT, "vomiting"),
    ]
    assert texts(text, join_fragments(text, spans)) == [
        (EVENT, "drug eruption"),
        (DRUG, "cefdinir"),
        (EVENT, "urticarial wheal"),
        (EVENT, "nausea"),  # a list written without commas stays two events
        (EVENT, "vomiting"),
    ]


def test_rules_generic_reaction_words_are_not_events() -> None:
    text = "Side effects of the statin and an allergic reaction to dye; intolerance; myalgia."
    spans = [
        span(text, EVENT, "Side effects"),
        span(text, EVENT, "allergic reaction"),
        span(text, EVENT, "intolerance"),
        span(text, EVENT, "myalgia"),
    ]
    assert texts(text, drop_generic_events(text, spans)) == [(EVENT, "myalgia")]


def test_rules_a_percentage_away_from_a_drug_is_a_lab_value_not_a_dose() -> None:
    text = "Sat 96% on room air, A1c 8.4%. Infiltrated with 2% lidocaine and bupivacaine 0.5%."
    spans = [
        span(text, DOSE, "96%"),
        span(text, DOSE, "8.4%"),
        span(text, DOSE, "2%"),
        span(text, DRUG, "lidocaine"),
        span(text, DRUG, "bupivacaine"),
        span(text, DOSE, "0.5%"),
    ]
    assert texts(text, drop_lab_values(text, spans)) == [
        (DOSE, "2%"),
        (DRUG, "lidocaine"),
        (DRUG, "bupivacaine"),
        (DOSE, "0.5%"),
    ]


def test_rules_analytes_are_drugs_only_when_given() -> None:
    text = (
        "Her LDL was 190 and triglycerides high; potassium 3.1 this morning, so potassium "
        "chloride 20 mEq and IV magnesium were given. Cholesterol down on the statin."
    )
    spans = [
        span(text, DRUG, "LDL"),
        span(text, DRUG, "triglycerides"),
        span(text, DRUG, "potassium"),
        span(text, DRUG, "potassium chloride"),
        span(text, DRUG, "magnesium"),
        span(text, DRUG, "Cholesterol"),
        span(text, DRUG, "statin"),
    ]
    assert texts(text, drop_analytes(text, spans)) == [
        (DRUG, "potassium chloride"),
        (DRUG, "magnesium"),
        (DRUG, "statin"),
    ]


def test_rules_sentence_bounds_read_mtsamples_commas_and_keep_abbreviations() -> None:
    text = "MEDS:, Zofran 4 mg p.r.n. nausea.,ALLERGIES:, None."
    start, end = sentence_bounds(text, text.index("nausea"))
    assert start <= text.index("Zofran") and end <= text.index("ALLERGIES")


def test_rules_indications_are_not_adverse_events_of_their_drug() -> None:
    text = (
        "Ondansetron 4 mg IV q6h p.r.n. vomiting. Hydroxyzine 25 mg if needed for itching. "
        "Diphenhydramine for the hives from penicillin. Amiodarone caused hypothyroidism."
    )
    spans = [
        span(text, DRUG, "Ondansetron"),
        span(text, EVENT, "vomiting"),
        span(text, DRUG, "Hydroxyzine"),
        span(text, EVENT, "itching"),
        span(text, DRUG, "Diphenhydramine"),
        span(text, EVENT, "hives"),
        span(text, DRUG, "penicillin"),
        span(text, DRUG, "Amiodarone"),
        span(text, EVENT, "hypothyroidism"),
    ]
    assert indication_of(text, spans[0], spans[1])
    assert indication_of(text, spans[2], spans[3])
    assert not indication_of(text, spans[7], spans[8])
    relations = [
        RelationPrediction("Causes", 0, 1, 0.9),  # indication
        RelationPrediction("Causes", 2, 3, 0.9),  # indication
        RelationPrediction("Causes", 4, 5, 0.9),  # diphenhydramine is given for the hives
        RelationPrediction("Causes", 6, 5, 0.9),  # the hives are penicillin's
        RelationPrediction("Causes", 7, 1, 0.9),  # an indication linked across sentences
        RelationPrediction("Causes", 7, 8, 0.9),
    ]
    kept = [(r.head, r.tail) for r in drop_indications(text, spans, relations)]
    assert kept == [(6, 5), (7, 8)]


def test_rules_clean_spans_chains_the_span_rules() -> None:
    text = "Drug eruption, SpO2 97%, and an allergy."
    spans = [
        span(text, EVENT, "Drug"),
        span(text, EVENT, "eruption"),
        span(text, DOSE, "97%"),
        span(text, EVENT, "allergy"),
    ]
    assert texts(text, clean_spans(text, spans)) == [(EVENT, "Drug eruption")]


def test_rules_words_that_name_no_drug_are_not_drugs() -> None:
    from clinnlp.modeling.rules import drop_non_drugs

    text = "my severe nausea on Lexapro; the pills and metformin."
    spans = [
        span(text, DRUG, "my"),
        span(text, DRUG, "severe"),
        span(text, DRUG, "nausea"),
        span(text, DRUG, "Lexapro"),
        span(text, DRUG, "pills"),
        span(text, DRUG, "metformin"),
    ]
    assert texts(text, drop_non_drugs(text, spans)) == [(DRUG, "Lexapro"), (DRUG, "metformin")]
    # a route alone names no drug either
    text = "Oral thrush secondary to inhaled steroid use; IV vancomycin."
    spans = [span(text, DRUG, w) for w in ("Oral", "inhaled", "steroid", "IV", "vancomycin")]
    assert texts(text, drop_non_drugs(text, spans)) == [(DRUG, "steroid"), (DRUG, "vancomycin")]


def test_rules_signs_listed_beside_their_syndrome_are_not_events_of_their_own() -> None:
    from clinnlp.modeling.rules import drop_syndrome_signs

    text = (
        "Serotonin syndrome with agitation, clonus and hyperthermia on linezolid. "
        "Fever, rash and eosinophilia consistent with DRESS from carbamazepine. "
        "Nausea and headache on sildenafil."
    )
    spans = [
        span(text, EVENT, "Serotonin syndrome"),
        span(text, EVENT, "agitation"),
        span(text, EVENT, "clonus"),
        span(text, EVENT, "hyperthermia"),
        span(text, EVENT, "Fever"),
        span(text, EVENT, "rash"),
        span(text, EVENT, "eosinophilia"),
        span(text, EVENT, "DRESS"),
        span(text, EVENT, "Nausea"),
        span(text, EVENT, "headache"),
    ]
    assert texts(text, drop_syndrome_signs(text, spans)) == [
        (EVENT, "Serotonin syndrome"),
        (EVENT, "DRESS"),
        (EVENT, "Nausea"),  # no syndrome named: each sign is an event
        (EVENT, "headache"),
    ]


def test_rules_the_disease_a_drug_treats_is_its_indication() -> None:
    text = "Her migraines are well controlled on topiramate. Gout flares treated with colchicine."
    migraine, topiramate = span(text, EVENT, "migraines"), span(text, DRUG, "topiramate")
    gout, colchicine = span(text, EVENT, "Gout flares"), span(text, DRUG, "colchicine")
    assert indication_of(text, topiramate, migraine)
    assert indication_of(text, colchicine, gout)
    assert not indication_of(text, colchicine, migraine)  # another sentence


def test_rules_a_short_text_about_one_drug_owns_its_unlinked_events() -> None:
    from clinnlp.modeling.rules import narrative_links, subject_drug

    text = (
        "Lexapro - two months in\n\nstarted lexapro 10mg for anxiety. first week: headaches "
        "and yawning all day. also took ibuprofen once. my anxiety is way better now.\n"
    )
    spans = [
        span(text, DRUG, "Lexapro"),
        span(text, DRUG, "lexapro"),
        span(text, EVENT, "headaches"),
        span(text, EVENT, "yawning"),
        span(text, DRUG, "ibuprofen"),
    ]
    assert subject_drug(text, spans) == "lexapro"
    links = narrative_links(text, spans, [RelationPrediction("Causes", 1, 2, 0.9)])
    assert [(r.head, r.tail) for r in links] == [(1, 2), (1, 3)]
    note = "MEDICATIONS: lisinopril, metformin, aspirin. Cough and headache for two days. " * 30
    many = [span(note, DRUG, "lisinopril"), span(note, EVENT, "Cough")]
    assert subject_drug(note, many) is None  # a long note with a medication list
    assert narrative_links(note, many, []) == []


def test_rules_a_drug_about_its_own_event_is_not_linked_across_sentences() -> None:
    from clinnlp.modeling.rules import drop_crossed_links

    text = "She reports nausea. Denies rash on lisinopril. Headache. Started on nitrates."
    spans = [
        span(text, EVENT, "nausea"),
        span(text, EVENT, "rash"),
        span(text, DRUG, "lisinopril"),
        span(text, EVENT, "Headache"),
        span(text, DRUG, "nitrates"),
    ]
    relations = [
        RelationPrediction("Causes", 2, 0, 0.8),  # across a sentence about its own event
        RelationPrediction("Causes", 2, 1, 0.9),
        RelationPrediction("Causes", 4, 3, 0.7),  # across, but nitrates' sentence has none
    ]
    kept = [(r.head, r.tail) for r in drop_crossed_links(text, spans, relations)]
    assert kept == [(2, 1), (4, 3)]


def test_rules_trim_spans_to_the_guidelines_edges() -> None:
    from clinnlp.modeling.rules import trim_spans

    text = "Allergies: Keflex, Norco and Ultram. inhaled steroid use; Zoloft - week 3. (hives)"
    spans = [
        span(text, DRUG, "Keflex,"),
        span(text, DRUG, "Norco and"),
        span(text, DRUG, "steroid use"),
        span(text, DRUG, "Zoloft -"),
        span(text, EVENT, "(hives)"),
        span(text, DRUG, ", "),
    ]
    assert texts(text, trim_spans(text, spans)) == [
        (DRUG, "Keflex"),
        (DRUG, "Norco"),
        (DRUG, "steroid"),
        (DRUG, "Zoloft"),
        (EVENT, "hives"),
    ]


def test_rules_a_list_of_events_tagged_in_part_is_completed() -> None:
    from clinnlp.modeling.rules import complete_lists

    text = "Denies nausea, vomiting or diarrhea on metformin."
    spans = [
        span(text, EVENT, "vomiting"),
        span(text, EVENT, "diarrhea"),
        span(text, DRUG, "metformin"),
    ]
    assert texts(text, complete_lists(text, spans)) == [
        (EVENT, "nausea"),  # "Denies" is no finding word: it stays out
        (EVENT, "vomiting"),
        (EVENT, "diarrhea"),
        (DRUG, "metformin"),
    ]
    text = "Good adherence, vomiting and diarrhea, rash."
    spans = [span(text, EVENT, "vomiting"), span(text, EVENT, "diarrhea")]
    assert texts(text, complete_lists(text, spans)) == [
        (EVENT, "vomiting"),
        (EVENT, "diarrhea"),
        (EVENT, "rash"),  # after the list, too; "adherence" names no finding
    ]
    # one tagged event is no list; an item already tagged is left alone
    text = "Nausea, vomiting on metformin, rash."
    alone = [span(text, EVENT, "vomiting")]
    assert complete_lists(text, alone) == alone
    spans = [span(text, EVENT, "Nausea"), span(text, EVENT, "vomiting")]
    assert complete_lists(text, spans) == spans


def test_rules_difficulty_takes_the_act_it_names() -> None:
    from clinnlp.modeling.rules import complete_difficulties

    text = "Mild difficulty swallowing; trouble with walking; difficulty."
    spans = [span(text, EVENT, "difficulty"), span(text, EVENT, "trouble")]
    spans.append(span(text, EVENT, "difficulty", nth=1))
    assert [t for _, t in texts(text, complete_difficulties(text, spans))] == [
        "difficulty swallowing",
        "trouble with walking",
        "difficulty",
    ]
