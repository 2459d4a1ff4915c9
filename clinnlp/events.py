"""The adverse drug event decision, as a pure function of an annotated document.

An adverse drug event is an event (``Adverse-Effect``) that the note asserts (its assertion
is neither negated, hypothetical, possible nor a family member's; see
:func:`clinnlp.schema.is_asserted`) and that a ``Causes`` relation links to at least one
drug. Events linked to a drug but not asserted are listed apart, by status, so a reviewer sees
"no rash on amoxicillin" and "can cause bleeding" without taking them for events.

The note-level answer, whether the note reports an adverse drug event at all (the question a
reviewer triages by), is ``reports_ade``: true when at least one event is asserted.
"""

from __future__ import annotations

from typing import Any

from clinnlp.schema import Document, is_asserted

EVENT, DRUG = "Adverse-Effect", "Drug"
#: Relation labels that mean "the drug caused the event" (the guideline's, ADE-Corpus-V2's).
CAUSES = ("Causes", "ADE")


def adverse_drug_events(doc: Document) -> dict[str, Any]:
    """``{"reports_ade": bool, "asserted": [...], "negated": [...], "hypothetical": [...],
    ...}``: whether the note reports an adverse drug event (an asserted one), then each linked
    event once, by status, with its text, offsets, status, confidence (the event's tag
    confidence times the best link's), its best concept when linked, and its drugs (text,
    offsets, link confidence, concept), in text order. ``asserted`` is always there; a status
    with no event is left out."""
    by_id = {e.id: e for e in doc.entities}
    drugs: dict[str, list[tuple[Any, float]]] = {}
    for rel in doc.relations:
        head, tail = by_id.get(rel.head), by_id.get(rel.tail)
        if rel.label in CAUSES and head is not None and tail is not None:
            if head.label == DRUG and tail.label == EVENT:
                conf = float(rel.attributes.get("confidence", 1.0))
                drugs.setdefault(tail.id, []).append((head, conf))
    out: dict[str, Any] = {"reports_ade": False, "asserted": []}
    for event in sorted((by_id[i] for i in drugs), key=lambda e: (e.start, e.end)):
        status = "asserted" if is_asserted(event) else _status(event)
        links = sorted(drugs[event.id], key=lambda d: (d[0].start, d[0].end))
        confidence = float(event.attributes.get("confidence", 1.0)) * max(c for _, c in links)
        out.setdefault(status, []).append(
            {
                "event": event.text,
                "start": event.start,
                "end": event.end,
                "status": str(event.attributes.get("assertion", "present")),
                "confidence": round(confidence, 4),
                **_concept(event),
                "drugs": [
                    {
                        "text": d.text,
                        "start": d.start,
                        "end": d.end,
                        "confidence": round(c, 4),
                        **_concept(d),
                    }
                    for d, c in links
                ],
            }
        )
    out["reports_ade"] = bool(out["asserted"])
    return out


def event_lists(summary: dict[str, Any]) -> dict[str, list[dict[str, Any]]]:
    """The per-status event lists of an :func:`adverse_drug_events` summary (its note-level
    answer left out)."""
    return {k: v for k, v in summary.items() if isinstance(v, list)}


def _concept(entity: Any) -> dict[str, Any]:
    """``{"concept": {"id", "name"}}`` of the entity's best concept, or nothing."""
    if not entity.concepts:
        return {}
    best = entity.concepts[0]
    return {"concept": {"id": best.id, "name": best.name}}


def concept_name(item: dict[str, Any], text_key: str = "text") -> str:
    """What a summary item is grouped by: its concept's name, else its text (lowercased)."""
    concept = item.get("concept")
    if concept and concept.get("name"):
        return str(concept["name"]).lower()
    return " ".join(str(item[text_key]).lower().split())


def _status(event: Any) -> str:
    status = str(event.attributes.get("assertion", "")).lower()
    if status:
        return status
    flags = [k.lower() for k, v in event.attributes.items() if v is True]
    return next(
        (f for f in ("negated", "hypothetical", "possible", "family") if f in flags), "negated"
    )
