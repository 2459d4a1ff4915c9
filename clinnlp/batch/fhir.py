"""FHIR R4 output: a note's adverse drug events as a Bundle of ``AdverseEvent`` resources.

One Bundle (``type: collection``) a note. Each adverse drug event of
:func:`clinnlp.events.adverse_drug_events` the note asserts, or only hypothesises, is an
``AdverseEvent``:

* ``actuality``: ``actual`` for an asserted event, ``potential`` for a hypothetical or
  possible one (a negated or family member's event is not the patient's and is left out);
* ``event``: the event's concept (HPO) with the cross-references its knowledge base carries
  (UMLS, SNOMED CT, MedDRA), and the note's words as ``text``;
* ``suspectEntity``: a ``Medication`` per drug, contained in the AdverseEvent and coded with
  its DrugBank id where it has one;
* ``subject``: the note, as a logical reference (clinnlp does not know the patient: map
  ``urn:clinnlp:note`` identifiers to your Patient resources);
* an extension with clinnlp's confidence.

Every Bundle is validated with ``fhir.resources`` (its R4B models: AdverseEvent is the same in
R4 and R4B: structure, cardinality and data types; value-set bindings are not checked there,
and the codes clinnlp writes are its own constants) before it is written. Pure functions but
for that import.
"""

from __future__ import annotations

import re
from typing import Any

from clinnlp.schema import Document

#: Code systems by the prefix of a concept id or cross-reference (HL7's registered URIs; the
#: UMLS CUI by the UMLS pattern; DrugBank has no HL7 URI and takes its own site's).
SYSTEMS = {
    "HP": "http://human-phenotype-ontology.org",
    "UMLS": "http://www.nlm.nih.gov/research/umls",
    "SNOMEDCT_US": "http://snomed.info/sct",
    "MEDDRA": "http://terminology.hl7.org/CodeSystem/mdr",
    "DB": "http://www.drugbank.ca",
}
#: The note a resource came from (a logical reference's identifier system).
NOTE_SYSTEM = "urn:clinnlp:note"
CONFIDENCE_URL = "urn:clinnlp:confidence"
#: Statuses of ``adverse_drug_events`` written, and their FHIR actuality.
ACTUALITY = {"asserted": "actual", "hypothetical": "potential", "possible": "potential"}


def _coding(code: str, display: str = "") -> dict[str, Any] | None:
    """A FHIR Coding of ``HP:0001025``, ``UMLS:C0042109``, ``DB00722``... (None when the
    prefix names no known system)."""
    if re.fullmatch(r"DB\d{5}", code):
        system, value = SYSTEMS["DB"], code
    elif code.startswith("HP:"):
        system, value = SYSTEMS["HP"], code
    else:
        prefix, _, value = code.partition(":")
        if prefix not in SYSTEMS or not value:
            return None
        system = SYSTEMS[prefix]
    coding: dict[str, Any] = {"system": system, "code": value}
    if display:
        coding["display"] = display
    return coding


def _concept(item: dict[str, Any], xrefs: list[str], text: str) -> dict[str, Any]:
    """A CodeableConcept: the item's concept, then its cross-references, and ``text``."""
    codings = []
    concept = item.get("concept")
    if concept:
        first = _coding(str(concept["id"]), str(concept.get("name") or ""))
        codings += [first] if first else []
    codings += [c for c in (_coding(x) for x in xrefs) if c is not None]
    out: dict[str, Any] = {"text": text}
    if codings:
        out["coding"] = codings
    return out


def _resource_id(value: str) -> str:
    """A FHIR id (letters, digits, '-' and '.', at most 64) from any string."""
    cleaned = re.sub(r"[^A-Za-z0-9.\-]", "-", value)[:64]
    return cleaned or "note"


def adverse_event_bundle(doc: Document) -> dict[str, Any]:
    """The Bundle of a note (see the module docstring), as a JSON-ready dict."""
    from clinnlp.events import adverse_drug_events

    xrefs = {(e.start, e.end): (e.concepts[0].xrefs if e.concepts else []) for e in doc.entities}
    summary = adverse_drug_events(doc)
    note = {"identifier": {"system": NOTE_SYSTEM, "value": doc.id}}
    entries = []
    for status, actuality in ACTUALITY.items():
        for n, event in enumerate(summary.get(status, []), 1):
            ident = f"{_resource_id(doc.id)}-{status[0]}{n}"[:64]
            meds = [
                {
                    "resourceType": "Medication",
                    "id": f"med{k}",
                    "code": _concept(drug, [], drug["text"]),
                }
                for k, drug in enumerate(event["drugs"], 1)
            ]
            resource = {
                "resourceType": "AdverseEvent",
                "id": ident,
                "actuality": actuality,
                "subject": note,
                "event": _concept(
                    event, xrefs.get((event["start"], event["end"]), []), event["event"]
                ),
                "suspectEntity": [{"instance": {"reference": f"#{m['id']}"}} for m in meds],
                "contained": meds,
                "extension": [{"url": CONFIDENCE_URL, "valueDecimal": event["confidence"]}],
            }
            entries.append({"fullUrl": f"urn:clinnlp:{ident}", "resource": resource})
    return {
        "resourceType": "Bundle",
        "id": _resource_id(doc.id),
        "type": "collection",
        "identifier": {"system": NOTE_SYSTEM, "value": doc.id},
        "entry": entries,
    }


def validate_bundle(bundle: dict[str, Any]) -> None:
    """Raise ``pydantic.ValidationError`` unless ``bundle`` is a valid FHIR Bundle (every
    resource in it checked against its FHIR model)."""
    from fhir.resources.R4B.bundle import Bundle

    Bundle.model_validate(bundle)
