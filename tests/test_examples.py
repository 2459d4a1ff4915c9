"""The README's main command: the shipped model on examples/ gives JSONL and HTML with the
events written into the notes."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from clinnlp.cli import app

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"


def test_examples_main_command_finds_the_written_events(tmp_path: Path) -> None:
    out = tmp_path / "examples"
    result = CliRunner().invoke(
        app, ["annotate", str(EXAMPLES), "--out", str(out), "--format", "html"]
    )
    assert result.exit_code == 0, result.output
    docs = {
        d["id"]: d for d in map(json.loads, (out / "annotations.jsonl").read_text().splitlines())
    }
    assert len(docs) == len(list(EXAMPLES.glob("*.txt")))

    def found(doc_id: str, label: str) -> set[str]:
        return {e["text"].lower() for e in docs[doc_id]["entities"] if e["label"] == label}

    assert "amoxicillin" in found("note-01-rash-amoxicillin", "Drug")
    assert any("rash" in t for t in found("note-01-rash-amoxicillin", "Adverse-Effect"))
    assert "lisinopril" in found("note-03-ed-angioedema", "Drug")
    assert any("angioedema" in t for t in found("note-03-ed-angioedema", "Adverse-Effect"))
    assert any("neuropathy" in t for t in found("note-04-oncology-neuropathy", "Adverse-Effect"))
    # every drug of the four notes, medication lists and plans included
    every = {
        "note-01-rash-amoxicillin": {
            "amoxicillin",
            "diphenhydramine",
            "albuterol",
            "fluticasone",
            "penicillin",
            "doxycycline",
            "cetirizine",
        },
        "note-02-diabetes-follow-up": {"metformin", "lisinopril", "atorvastatin", "aspirin"},
        "note-03-ed-angioedema": {
            "lisinopril",
            "hctz",
            "omeprazole",
            "methylprednisolone",
            "diphenhydramine",
            "famotidine",
            "amlodipine",
        },
        "note-04-oncology-neuropathy": {"oxaliplatin", "ondansetron", "duloxetine"},
    }
    for doc_id, drugs in every.items():
        assert drugs <= found(doc_id, "Drug"), (doc_id, drugs - found(doc_id, "Drug"))
    # the relation model links the events, and the negated ones stay apart
    asserted = docs["note-01-rash-amoxicillin"]["adverse_drug_events"]["asserted"]
    assert any(
        "rash" in e["event"] and any(d["text"].lower() == "amoxicillin" for d in e["drugs"])
        for e in asserted
    )
    diabetes = docs["note-02-diabetes-follow-up"]["adverse_drug_events"]
    assert not diabetes["asserted"]  # "denies nausea, vomiting or diarrhea on metformin"
    assert {e["event"] for e in diabetes["negated"]} >= {"nausea", "vomiting", "diarrhea"}
    # every drug and event carries a concept (DrugBank / HPO) from the default knowledge bases
    from clinnlp import DEFAULT_KB

    if DEFAULT_KB.is_dir():  # `make test` builds them first (`make kb`)
        for doc in docs.values():
            for e in doc["entities"]:
                if e["label"] in ("Drug", "Adverse-Effect"):
                    assert e.get("concepts"), (doc["id"], e["label"])
        amoxicillin = next(
            e
            for e in docs["note-01-rash-amoxicillin"]["entities"]
            if e["label"] == "Drug" and e["text"].lower() == "amoxicillin"
        )
        assert amoxicillin["concepts"][0]["id"] == "DB01060"
    html = (out / "report.html").read_text()
    assert "amoxicillin" in html.lower() and "<script src=" not in html
    assert "relation model" in html and "Drug-linked events the notes do not assert" in html
    assert "<td>nausea</td><td>negated</td><td>metformin</td>" in html
