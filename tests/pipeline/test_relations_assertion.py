"""The full pipeline with relations and assertion: clinnlp.load() with a tiny relation model,
serialisation (pickle, to_disk/from_disk, DocBin), n_process=2, and the ADE decision."""

from __future__ import annotations

import pickle
from pathlib import Path

import pytest
import spacy
from spacy.language import Language
from spacy.tokens import DocBin

from clinnlp.events import adverse_drug_events
from clinnlp.pipeline import to_document
from clinnlp.schema import Document, Entity, Relation

TEXTS = [
    "Rash after amoxicillin; lisinopril was continued.",
    "No rash or itching. Cough on lisinopril; metformin unchanged.",
    "Hives due to penicillin, aspirin tolerated.",
]


@pytest.fixture(scope="module")
def nlp(related_model: Path) -> Language:
    from clinnlp import load

    return load(related_model, device="cpu", precision="fp32", linker=False)


def _view(doc) -> tuple:
    ents = tuple((e.label_, e.start_char, e.end_char, e._.clinnlp_assertion) for e in doc.ents)
    return ents, tuple(tuple(r) for r in doc._.clinnlp_relations or [])


def test_pipeline_sets_relations_and_assertions(nlp: Language) -> None:
    assert nlp.pipe_names[-2:] == ["clinnlp_tagger", "clinnlp_context"]
    doc = nlp(TEXTS[0])
    record = to_document(doc, "n1")
    words = {e.id: e.text for e in record.entities}
    assert ("Causes", "amoxicillin", "Rash") in {
        (r.label, words[r.head], words[r.tail]) for r in record.relations
    }
    assert all("assertion" in e.attributes for e in record.entities)
    assert all(0 < r.attributes["confidence"] <= 1 for r in record.relations)


def test_pipeline_pickle_docbin_disk_and_two_processes_agree(nlp: Language, tmp_path: Path) -> None:
    docs = list(nlp.pipe(TEXTS))
    expected = [_view(d) for d in docs]
    assert any(rels for _, rels in expected)
    restored = list(
        DocBin(docs=docs, store_user_data=True)
        .from_bytes(DocBin(docs=docs, store_user_data=True).to_bytes())
        .get_docs(nlp.vocab)
    )
    assert [_view(d) for d in restored] == expected
    assert [_view(d) for d in pickle.loads(pickle.dumps(docs))] == expected
    again = pickle.loads(pickle.dumps(nlp))
    assert [_view(again(t)) for t in TEXTS] == expected
    nlp.to_disk(tmp_path / "pipeline")
    loaded = spacy.load(tmp_path / "pipeline")
    assert [_view(loaded(t)) for t in TEXTS] == expected
    assert [_view(d) for d in nlp.pipe(TEXTS, n_process=2, batch_size=1)] == expected


def test_pipeline_context_component_in_a_blank_pipeline() -> None:
    nlp = spacy.blank("en")
    nlp.add_pipe("sentencizer")
    ruler = nlp.add_pipe("entity_ruler")
    ruler.add_patterns([{"label": "Adverse-Effect", "pattern": w} for w in ("rash", "nausea")])
    nlp.add_pipe("clinnlp_context")
    doc = nlp("Denies nausea. She has a rash.")
    assert [(e.text, e._.clinnlp_assertion) for e in doc.ents] == [
        ("nausea", "negated"),
        ("rash", "present"),
    ]


def test_events_negated_and_hypothetical_are_never_adverse_drug_events() -> None:
    text = "No rash on amoxicillin. Warfarin can cause bleeding. Cough on lisinopril."

    def ent(i: int, label: str, word: str, **attrs: object) -> Entity:
        start = text.index(word)
        return Entity(f"T{i}", label, start, start + len(word), word, dict(attrs))

    doc = Document(
        "d",
        text,
        [
            ent(1, "Adverse-Effect", "rash", assertion="negated", confidence=0.9),
            ent(2, "Drug", "amoxicillin"),
            ent(3, "Drug", "Warfarin"),
            ent(4, "Adverse-Effect", "bleeding", assertion="hypothetical"),
            ent(5, "Adverse-Effect", "Cough", assertion="present", confidence=0.8),
            ent(6, "Drug", "lisinopril"),
        ],
        [
            Relation("Causes", "T2", "T1", "R1", {"confidence": 0.9}),
            Relation("Causes", "T3", "T4", "R2", {"confidence": 0.9}),
            Relation("Causes", "T6", "T5", "R3", {"confidence": 0.5}),
        ],
    )
    summary = adverse_drug_events(doc)
    assert [e["event"] for e in summary["asserted"]] == ["Cough"]
    assert summary["asserted"][0]["drugs"][0]["text"] == "lisinopril"
    assert summary["asserted"][0]["confidence"] == pytest.approx(0.4)
    assert [e["event"] for e in summary["negated"]] == ["rash"]
    assert [e["event"] for e in summary["hypothetical"]] == ["bleeding"]
