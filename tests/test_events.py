"""The adverse drug event decision (clinnlp.events): only asserted events linked to a drug,
each status apart, and the note-level answer."""

from __future__ import annotations

import pytest

from clinnlp.events import adverse_drug_events, event_lists
from clinnlp.schema import Document, Entity, Relation

TEXT = "Rash, cough, tremor and hives on lisinopril; fever."


def doc(statuses: dict[str, str], linked: tuple[str, ...]) -> Document:
    ents = [
        Entity("D", "Drug", TEXT.index("lisinopril"), TEXT.index("lisinopril") + 10, "lisinopril")
    ]
    for i, (word, status) in enumerate(statuses.items()):
        start = TEXT.index(word)
        attrs = {"assertion": status, "confidence": 0.9}
        ents.append(Entity(f"E{i}", "Adverse-Effect", start, start + len(word), word, attrs))
    by_word = {e.text: e.id for e in ents}
    rels = [Relation("Causes", "D", by_word[w], f"R{i}") for i, w in enumerate(linked)]
    return Document("n", TEXT, ents, rels)


def test_events_an_event_no_drug_is_linked_to_is_not_reported() -> None:
    summary = adverse_drug_events(doc({"Rash": "present", "fever": "present"}, ("Rash",)))
    assert [e["event"] for e in summary["asserted"]] == ["Rash"]
    assert all(e["drugs"] for events in event_lists(summary).values() for e in events)
    assert summary["reports_ade"] is True


@pytest.mark.parametrize("status", ["negated", "hypothetical", "possible", "family"])
def test_events_unasserted_statuses_are_listed_apart(status: str) -> None:
    summary = adverse_drug_events(
        doc({"cough": status, "tremor": "historical"}, ("cough", "tremor"))
    )
    assert [e["event"] for e in summary["asserted"]] == ["tremor"]  # historical is asserted
    assert [e["event"] for e in summary[status]] == ["cough"]


def test_events_a_note_with_only_unasserted_or_unlinked_events_reports_none() -> None:
    summary = adverse_drug_events(doc({"hives": "negated", "fever": "present"}, ("hives",)))
    assert summary["asserted"] == [] and summary["reports_ade"] is False
    assert event_lists(summary) == {"asserted": [], "negated": summary["negated"]}
