"""FHIR R4 output (``--format fhir``): a Bundle of AdverseEvent resources a note, validated
with fhir.resources; the four example notes' bundles validate."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from pydantic import ValidationError
from typer.testing import CliRunner

from clinnlp.batch.fhir import SYSTEMS, adverse_event_bundle, validate_bundle
from clinnlp.cli import app
from clinnlp.schema import Concept, Document, Entity, Relation

ROOT = Path(__file__).resolve().parents[2]


def note() -> Document:
    text = "Hives and cough on lisinopril; may cause angioedema; no rash."

    def ent(ident, label, words, status="present", concepts=()):
        start = text.index(words)
        attrs = {"assertion": status, "confidence": 0.8}
        return Entity(ident, label, start, start + len(words), words, attrs, list(concepts))

    hives = Concept("HP:0001025", "Urticaria", 1.0, ["UMLS:C0042109", "MEDDRA:10046735"])
    drug = Concept("DB00722", "Lisinopril", 1.0, ["MESH_CLASS:D000806"])
    ents = [
        ent("T1", "Adverse-Effect", "Hives", concepts=[hives]),
        ent("T2", "Drug", "lisinopril", concepts=[drug]),
        ent("T3", "Adverse-Effect", "angioedema", "hypothetical"),
        ent("T4", "Adverse-Effect", "rash", "negated"),
        ent("T5", "Adverse-Effect", "cough"),  # linked to no drug
    ]
    rels = [Relation("Causes", "T2", t, f"R{i}") for i, t in enumerate(("T1", "T3", "T4"))]
    return Document("clinic/note 1", text, ents, rels)


def test_fhir_bundle_of_a_note_codes_events_and_suspect_drugs() -> None:
    bundle = adverse_event_bundle(note())
    validate_bundle(bundle)
    events = [e["resource"] for e in bundle["entry"]]
    assert [(e["event"]["text"], e["actuality"]) for e in events] == [
        ("Hives", "actual"),
        ("angioedema", "potential"),
    ]  # the negated rash is no patient's event; the unlinked cough no drug's
    codings = {(c["system"], c["code"]) for c in events[0]["event"]["coding"]}
    assert codings == {
        (SYSTEMS["HP"], "HP:0001025"),
        (SYSTEMS["UMLS"], "C0042109"),
        (SYSTEMS["MEDDRA"], "10046735"),
    }
    (med,) = events[0]["contained"]
    assert med["code"]["coding"] == [
        {"system": SYSTEMS["DB"], "code": "DB00722", "display": "Lisinopril"}
    ]
    assert events[0]["suspectEntity"] == [{"instance": {"reference": "#med1"}}]
    assert bundle["id"] == "clinic-note-1" and bundle["identifier"]["value"] == "clinic/note 1"


def test_fhir_validation_refuses_a_bad_bundle() -> None:
    bundle = adverse_event_bundle(note())
    del bundle["entry"][0]["resource"]["subject"]  # AdverseEvent.subject is 1..1
    with pytest.raises(ValidationError):
        validate_bundle(bundle)
    bundle = adverse_event_bundle(note())
    bundle["entry"][1]["resource"]["event"]["coding"] = "HP:0100665"  # not a list of Coding
    with pytest.raises(ValidationError):
        validate_bundle(bundle)


def test_fhir_the_example_notes_give_valid_bundles(tmp_path: Path) -> None:
    out = tmp_path / "fhir"
    result = CliRunner().invoke(
        app, ["annotate", str(ROOT / "examples"), "--out", str(out), "--format", "fhir"]
    )
    assert result.exit_code == 0, result.output
    bundles = [json.loads(line) for line in (out / "fhir.ndjson").read_text().splitlines()]
    assert len(bundles) == 4
    for bundle in bundles:
        validate_bundle(bundle)
    actual = {
        b["identifier"]["value"]: [
            e["resource"]["event"]["text"]
            for e in b["entry"]
            if e["resource"]["actuality"] == "actual"
        ]
        for b in bundles
    }
    assert actual["note-02-diabetes-follow-up"] == []
    assert any("rash" in t for t in actual["note-01-rash-amoxicillin"])
    assert any("ngioedema" in t for t in actual["note-03-ed-angioedema"])
