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
    # every reported event is one span with its drug; no generic word is an event and no lab
    # value a Dose (the real-note rules of clinnlp.modeling.rules)
    from clinnlp.modeling.rules import GENERIC_EVENTS

    for doc in docs.values():
        summary = doc["adverse_drug_events"]
        assert summary["reports_ade"] == bool(summary["asserted"]), doc["id"]
        events = sorted(
            (e for e in doc["entities"] if e["label"] == "Adverse-Effect"),
            key=lambda e: e["start"],
        )
        for a, b in zip(events, events[1:], strict=False):
            assert doc["text"][a["end"] : b["start"]].strip(" -"), (doc["id"], a["text"], b["text"])
        for e in events:
            assert e["text"].lower() not in GENERIC_EVENTS, (doc["id"], e["text"])
        for e in summary["asserted"]:
            assert e["drugs"] and len(e["event"].split()) >= 1, (doc["id"], e)
            assert e["event"].lower() not in {"drug", "eruption", "pruritic"}, (doc["id"], e)
        for e in doc["entities"]:
            if e["label"] == "Dose":
                assert not e["text"].rstrip().endswith("%"), (doc["id"], e["text"])
    reports = {doc_id: d["adverse_drug_events"]["reports_ade"] for doc_id, d in docs.items()}
    assert reports == {
        "note-01-rash-amoxicillin": True,
        "note-02-diabetes-follow-up": False,
        "note-03-ed-angioedema": True,
        "note-04-oncology-neuropathy": True,
    }
    rash = [e["event"] for e in docs["note-01-rash-amoxicillin"]["adverse_drug_events"]["asserted"]]
    assert "Drug eruption" in rash and "pruritic maculopapular rash" in rash, rash
    html = (out / "report.html").read_text()
    assert "3 of 4 (listed first below)" in html
    sections = html.split('<section class="doc">')[1:]
    assert "note-02-diabetes-follow-up" in sections[-1]  # the one note without an event, last
    assert html.count("Reports an adverse drug event:") == 3
    assert html.count("No adverse drug event reported.") == 1
    assert "amoxicillin" in html.lower() and "<script src=" not in html
    assert "relation model" in html and "Drug-linked events the notes do not assert" in html
    assert "<td>nausea</td><td>negated</td><td>metformin</td>" in html
