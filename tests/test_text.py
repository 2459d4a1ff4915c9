"""The scispaCy text layer: tokenizer, sentence rules, abbreviations, pickling, multiprocessing."""

from __future__ import annotations

import pickle
import subprocess
import sys

import pytest
from spacy.tokens import DocBin

from clinnlp.text import (
    make_text_pipeline,
    punctuation_boundaries,
    section_boundaries,
    sentence_boundaries,
    sentence_spans,
)

# Snippets written for these tests (no third-party text).
NOTE = (
    "CC:, Dizziness after a new drug.,HX , (per daughter): She started lisinopril 10 mg "
    "daily.,PMH:, Hypertension.,MEDICATIONS: , Lisinopril.,PLAN:,1.  Stop lisinopril.,"
    "2.  Recheck BP in 1 week."
)
NOTE_SENTENCES = [
    "CC:,",
    "Dizziness after a new drug.,",
    "HX , (per daughter): She started lisinopril 10 mg daily.,",
    "PMH:,",
    "Hypertension.,",
    "MEDICATIONS: ,",
    "Lisinopril.,",
    "PLAN:,",
    "1.  Stop lisinopril.,",
    "2.  Recheck BP in 1 week.",
]


@pytest.fixture(scope="module")
def nlp():
    return make_text_pipeline()


def texts(text: str, offsets: list[int]) -> list[str]:
    """The sentences that the boundary offsets make, trimmed."""
    cuts = [0, *offsets, len(text)]
    return [text[a:b].strip() for a, b in zip(cuts, cuts[1:], strict=False)]


def test_text_tokenizer_clinical_tokens(nlp):
    doc = nlp("Took 5mg b.i.d. and q.4h. prn; Na+ 131.")
    assert [t.text for t in doc] == [
        "Took", "5", "mg", "b.i.d.", "and", "q.4h.", "prn", ";", "Na+", "131", ".",
    ]  # fmt: skip


def test_text_tokenizer_splits_causal_hyphens_only(nlp):
    text = "Oxaliplatin-induced neuropathy; drug-related rash; COX-2, T-cell."
    words = [t.text for t in nlp(text)]
    assert words[:4] == ["Oxaliplatin", "-", "induced", "neuropathy"]
    assert ["drug", "-", "related"] == words[5:8]
    assert "COX-2" in words and "T-cell" in words


def test_text_tokenizer_reads_glued_comma_as_line_break(nlp):
    text = 'Stop drugs (NSAIDs).,PLAN:,1.  Rest.",HX,Given 12/07,FOLLOW-UP:'
    doc = nlp(text)
    assert doc.text == text
    assert [t.text for t in doc] == [
        "Stop", "drugs", "(", "NSAIDs", ")", ".", ",", "PLAN", ":", ",", "1", ".", " ", "Rest",
        ".", '"', ",", "HX", ",", "Given", "12/07", ",", "FOLLOW-UP", ":",
    ]  # fmt: skip
    assert [t.text for t in nlp("1,000 units of 2,4-D")] == ["1,000", "units", "of", "2,4-D"]


def test_text_punctuation_not_split_after_abbreviations():
    text = "Dr. Lee gave NSAIDs, e.g. Ibuprofen 400 mg. daily. Pain improved. J. Doe agreed."
    assert texts(text, punctuation_boundaries(text)) == [
        "Dr. Lee gave NSAIDs, e.g. Ibuprofen 400 mg. daily.",
        "Pain improved.",
        "J. Doe agreed.",
    ]


def test_text_punctuation_needs_capital_or_digit():
    text = 'Given 5 mg. then 10 mg. She said "better." (Seen again.) 3 days later fine?  Yes!'
    assert texts(text, punctuation_boundaries(text)) == [
        "Given 5 mg. then 10 mg.",
        'She said "better."',
        "(Seen again.)",
        "3 days later fine?",
        "Yes!",
    ]


def test_text_section_headers():
    text = "HISTORY OF PRESENT ILLNESS: Rash on day 3 of amoxicillin. MEDICATIONS: None."
    assert texts(text, section_boundaries(text)) == [
        "HISTORY OF PRESENT ILLNESS:",
        "Rash on day 3 of amoxicillin.",
        "MEDICATIONS:",
        "None.",
    ]


def test_text_section_header_keeps_bare_values():
    text = "VITALS: BP: 120/80, HR: 88.\nAllergies: penicillin (hives)."
    assert texts(text, section_boundaries(text)) == [
        "VITALS:",
        "BP: 120/80, HR: 88.",
        "Allergies:",
        "penicillin (hives).",
    ]


def test_text_section_lists_and_blank_lines():
    text = "Plan\n1. Stop drug\n2) Labs\n- CBC\n* BMP\n\nFollow up in 2 weeks"
    assert texts(text, section_boundaries(text)) == [
        "Plan", "1. Stop drug", "2) Labs", "- CBC", "* BMP", "Follow up in 2 weeks",
    ]  # fmt: skip
    assert texts("Rash\r\n \r\nfever", section_boundaries("Rash\r\n \r\nfever")) == [
        "Rash",
        "fever",
    ]


def test_text_boundaries_linear_on_long_runs():
    # Runs that would make a backtracking pattern quadratic; each must come back at once.
    for text in ("a" + "." * 100_000 + "b", "x" + "\n" * 100_000, "1," * 50_000, "A" * 100_000):
        assert len(sentence_spans(text)) >= 1


def test_text_section_joined_lines():
    text = "Alert.,Neck:  Supple.,Lungs:  Clear, etc., no wheeze.,given 12/07,FAMILY HX: , None"
    assert texts(text, section_boundaries(text)) == [
        "Alert.,",
        "Neck:  Supple.,",
        "Lungs:  Clear, etc., no wheeze.,",
        "given 12/07,",
        "FAMILY HX: ,",
        "None",
    ]


def test_text_no_boundaries_in_plain_sentence():
    text = "Patient on warfarin (INR 2.5) and aspirin 81 mg, i.e. two antithrombotics"
    assert sentence_boundaries(text) == []
    assert sentence_spans(text) == [(0, len(text))]


def test_text_sentence_spans_cover_note():
    spans = sentence_spans(NOTE)
    assert [NOTE[a:b] for a, b in spans] == NOTE_SENTENCES
    assert sentence_spans("") == []
    assert sentence_spans("  \n ") == []
    assert sentence_spans("\n\nRash.\n") == [(2, 7)]


def test_text_pipeline_sentences_match_spans(nlp):
    doc = nlp(NOTE)
    assert [s.text.strip() for s in doc.sents] == NOTE_SENTENCES
    assert nlp("").text == ""


def test_text_pipeline_abbreviations(nlp):
    doc = nlp("Avoid non-steroidal anti-inflammatory drugs (NSAIDs). NSAIDs raise INR.")
    found = {(a["short_text"], a["long_text"], a["short_start"]) for a in doc._.abbreviations}
    assert found == {
        ("NSAIDs", "non-steroidal anti-inflammatory drugs", 5),
        ("NSAIDs", "non-steroidal anti-inflammatory drugs", 8),
    }


def test_text_pipeline_abbreviation_before_joined_line(nlp):
    doc = nlp("Avoid non-steroidal anti-inflammatory drugs (NSAIDs).,PLAN:, Rest.")
    assert [a["short_text"] for a in doc._.abbreviations] == ["NSAIDs"]


def test_text_pipeline_extends_given_nlp():
    import spacy

    base = spacy.blank("en")
    base.add_pipe("sentencizer")
    nlp = make_text_pipeline(base)
    assert nlp.pipe_names[:3] == [
        "clinnlp_sentencizer",
        "clinnlp_sections",
        "abbreviation_detector",
    ]
    assert make_text_pipeline(nlp).pipe_names == nlp.pipe_names


def test_text_pipeline_pickle_and_bytes(nlp):
    sample = NOTE + " Took 5mg b.i.d. with drugs (NSAIDs).,PLAN:, Rest."
    expected = [(t.text, t.is_sent_start) for t in nlp(sample)]
    clone = pickle.loads(pickle.dumps(nlp))
    assert clone.vocab is clone.tokenizer.vocab
    assert [(t.text, t.is_sent_start) for t in clone(sample)] == expected
    again = make_text_pipeline().from_bytes(nlp.to_bytes())
    assert [(t.text, t.is_sent_start) for t in again(sample)] == expected


def test_text_pipeline_to_disk_and_load(nlp, tmp_path):
    import spacy

    nlp.to_disk(tmp_path / "text")
    loaded = spacy.load(tmp_path / "text")
    assert loaded.pipe_names == nlp.pipe_names
    assert [t.text for t in loaded(NOTE)] == [t.text for t in nlp(NOTE)]
    assert [s.text for s in loaded(NOTE).sents] == [s.text for s in nlp(NOTE).sents]


def test_text_docbin_roundtrip(nlp):
    doc = nlp("Stop non-steroidal anti-inflammatory drugs (NSAIDs).,PLAN:, Rest.")
    data = DocBin(docs=[doc], store_user_data=True).to_bytes()
    (back,) = DocBin().from_bytes(data).get_docs(nlp.vocab)
    assert [s.text for s in back.sents] == [s.text for s in doc.sents]
    assert doc._.abbreviations
    assert list(back._.abbreviations) == doc._.abbreviations


def test_text_pipe_two_processes(nlp):
    notes = [NOTE, "Avoid non-steroidal anti-inflammatory drugs (NSAIDs).", "Dr. Lee saw her."] * 2
    serial = [([s.text for s in d.sents], d._.abbreviations) for d in nlp.pipe(notes)]
    parallel = [
        ([s.text for s in d.sents], d._.abbreviations)
        for d in nlp.pipe(notes, n_process=2, batch_size=2)
    ]
    assert parallel == serial


def test_text_import_is_light():
    # `import spacy` already pulls torch in through thinc; this module must add nothing heavy.
    code = (
        "import sys, spacy; before = set(sys.modules); import clinnlp.text; "
        "print(sorted(m for m in set(sys.modules) - before "
        "if m.split('.')[0] in {'torch', 'transformers', 'datasets', 'pysbd'}))"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    assert result.stdout.strip() == "[]"
