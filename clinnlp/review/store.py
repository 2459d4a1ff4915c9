"""The review of an annotate run: the reviewer's decisions over its notes, kept under
``RUN_DIR/review/`` and never in the run's own files.

Layout (every file written atomically; a killed server loses no decision it answered)::

    review/state.json     per note: version, done, and each entity's decision
    review/audit.jsonl    one line per decision: when, note, what, before and after
    review/<id>.txt       the note's text, and
    review/<id>.ann       its corrected annotation in BRAT (what the reviewer kept, edited or
                          added; rejected entities left out), for `clinnlp train --base`

A note's annotation starts as the run's (``annotations.jsonl``). Each decision names the
note's ``version``; a decision on an older version (another tab, a stale page) is refused,
so no edit overwrites one the reviewer has not seen. Entities keep their ids from the run
(``T1``...); added ones take new ids (``T101``...).
"""

from __future__ import annotations

import json
import os
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from clinnlp._files import safe_relpath, write_atomic
from clinnlp.batch.outdir import JSONL_FILE
from clinnlp.errors import ClinnlpError
from clinnlp.events import CAUSES, adverse_drug_events
from clinnlp.readers.brat import format_ann
from clinnlp.schema import Document, Entity, Relation

REVIEW_DIR = "review"
STATE_FILE = "state.json"
AUDIT_FILE = "audit.jsonl"
#: Labels a reviewer may give an entity, and the statuses of an event.
LABELS = ("Drug", "Adverse-Effect", "Dose")
STATUSES = ("present", "negated", "hypothetical", "possible", "historical", "family")
ACTIONS = ("accept", "reject", "edit", "add", "done")


class ReviewError(ClinnlpError):
    """A decision that cannot be taken: ``status`` is the HTTP status the server answers."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


@dataclass
class NoteState:
    """A note under review: its current annotation, version, decisions and whether done."""

    document: Document
    version: int = 0
    done: bool = False
    decisions: dict[str, str] = field(default_factory=dict)  # entity id -> accepted...

    def to_dict(self) -> dict[str, Any]:
        return {
            "version": self.version,
            "done": self.done,
            "decisions": dict(self.decisions),
            "document": self.document.to_dict(),
        }


class ReviewStore:
    """The notes of a run and the reviewer's decisions over them (see the module docstring).

    Raises:
        ReviewError: ``RUN_DIR`` holds no ``annotations.jsonl`` (404 for the server, a clear
            error for the command).
    """

    def __init__(self, run_dir: str | Path) -> None:
        self.run = Path(run_dir)
        source = self.run / JSONL_FILE
        if not source.is_file():
            raise ReviewError(
                404,
                f"{self.run}: no {JSONL_FILE}; give the --out folder of `clinnlp annotate` "
                "(formats jsonl, html or fhir keep it)",
            )
        self.folder = self.run / REVIEW_DIR
        self.originals: dict[str, Document] = {}
        with source.open(encoding="utf-8") as handle:
            for line in handle:
                if line.strip():
                    doc = Document.from_dict(json.loads(line))
                    self.originals[doc.id] = doc
        saved = self._read_state()
        self.notes: dict[str, NoteState] = {}
        for doc_id, original in self.originals.items():
            entry = saved.get(doc_id)
            if entry is None:
                self.notes[doc_id] = NoteState(_for_review(original))
            else:
                self.notes[doc_id] = NoteState(
                    Document.from_dict(entry["document"]),
                    int(entry["version"]),
                    bool(entry["done"]),
                    dict(entry["decisions"]),
                )

    # -- reading ----------------------------------------------------------------------------

    def _read_state(self) -> dict[str, Any]:
        path = self.folder / STATE_FILE
        if not path.is_file():
            return {}
        data = json.loads(path.read_text("utf-8"))
        return dict(data.get("notes", {}))

    def queue(self) -> list[dict[str, Any]]:
        """Every note, those that report an adverse drug event first (then by id), with what
        the reviewer needs to pick one."""
        rows = []
        for doc_id, state in self.notes.items():
            summary = adverse_drug_events(state.document)
            rows.append(
                {
                    "id": doc_id,
                    "reports_ade": bool(summary["reports_ade"]),
                    "events": len(summary["asserted"]),
                    "done": state.done,
                    "version": state.version,
                }
            )
        return sorted(rows, key=lambda r: (not r["reports_ade"], r["id"]))

    def progress(self) -> dict[str, int]:
        return {"done": sum(s.done for s in self.notes.values()), "total": len(self.notes)}

    def note(self, doc_id: str) -> dict[str, Any]:
        """A note for the page: its text, entities (with their decision), relations, the
        adverse drug events and their sentences, version and done flag."""
        state = self._state(doc_id)
        doc = state.document
        return {
            "id": doc_id,
            "text": doc.text,
            "version": state.version,
            "done": state.done,
            "entities": [
                {**e.to_dict(), "decision": state.decisions.get(e.id, "")} for e in doc.entities
            ],
            "relations": [r.to_dict() for r in doc.relations],
            "adverse_drug_events": adverse_drug_events(doc),
        }

    def _state(self, doc_id: str) -> NoteState:
        state = self.notes.get(doc_id)
        if state is None:
            raise ReviewError(404, "no such note in this run")
        return state

    # -- deciding ---------------------------------------------------------------------------

    def decide(self, doc_id: str, decision: dict[str, Any]) -> dict[str, Any]:
        """Apply one decision (see :data:`ACTIONS`) to a note and save it; return the note.

        Raises:
            ReviewError: an unknown note (404), a stale version (409), a malformed decision
                (422); nothing is written then.
        """
        state = self._state(doc_id)
        if not isinstance(decision, dict):
            raise ReviewError(422, "a decision is a JSON object")
        version = decision.get("version")
        if not isinstance(version, int) or isinstance(version, bool):
            raise ReviewError(422, "the decision must name the note's version (an integer)")
        if version != state.version:
            raise ReviewError(
                409, f"the note changed since this page read it (version {state.version}); reload"
            )
        action = decision.get("action")
        if action not in ACTIONS:
            raise ReviewError(422, f"unknown action; expected one of {', '.join(ACTIONS)}")
        before = state.to_dict()
        new, ident = _apply(state, action, decision)
        new.version = state.version + 1
        self._save(doc_id, new, action, {**decision, "entity": ident}, before)
        self.notes[doc_id] = new
        return self.note(doc_id)

    def _save(
        self,
        doc_id: str,
        state: NoteState,
        action: str,
        decision: dict[str, Any],
        before: dict[str, Any],
    ) -> None:
        """Write the note's BRAT files and the state atomically, then its audit line."""
        name = safe_relpath(doc_id)
        doc = _kept(state)
        write_atomic(self.folder / f"{name}.txt", doc.text.encode("utf-8"))
        write_atomic(self.folder / f"{name}.ann", format_ann(doc).encode("utf-8"))
        notes = {k: v.to_dict() for k, v in self.notes.items() if k != doc_id and _touched(v)}
        notes[doc_id] = state.to_dict()
        payload = json.dumps({"run": str(self.run.resolve()), "notes": notes}, ensure_ascii=False)
        write_atomic(self.folder / STATE_FILE, payload.encode("utf-8"))
        entity = decision.get("entity")
        line = {
            "when": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
            "note": doc_id,
            "action": action,
            "entity": entity if isinstance(entity, str) else None,
            "version": state.version,
            "before": _entity_view(before, decision),
            "after": _entity_view(state.to_dict(), decision),
        }
        with (self.folder / AUDIT_FILE).open("ab") as handle:
            handle.write((json.dumps(line, ensure_ascii=False) + "\n").encode("utf-8"))
            handle.flush()
            os.fsync(handle.fileno())


def _touched(state: NoteState) -> bool:
    return state.version > 0


def _for_review(doc: Document) -> Document:
    """The run's document as the reviewer starts from it: its entities and drug -> event
    links, with their status and without machine-only attributes."""
    entities = [
        Entity(
            e.id,
            e.label,
            e.start,
            e.end,
            e.text,
            {"assertion": e.attributes.get("assertion", "present")}
            if e.label == "Adverse-Effect"
            else {},
            list(e.concepts),
        )
        for e in doc.entities
    ]
    ids = {e.id for e in entities}
    relations = [
        Relation(r.label, r.head, r.tail, r.id)
        for r in doc.relations
        if r.head in ids and r.tail in ids
    ]
    return Document(doc.id, doc.text, entities, relations, {})


def _kept(state: NoteState) -> Document:
    """The note as BRAT keeps it: every entity but the rejected ones (and their links)."""
    doc = state.document
    rejected = {k for k, v in state.decisions.items() if v == "rejected"}
    entities = [e for e in doc.entities if e.id not in rejected]
    relations = [r for r in doc.relations if r.head not in rejected and r.tail not in rejected]
    return Document(doc.id, doc.text, entities, relations, {})


def _entity_view(state: dict[str, Any], decision: dict[str, Any]) -> Any:
    """What the audit records before and after: the entity decided on (with its links and
    decision), or the done flag."""
    if decision.get("action") == "done":
        return {"done": state["done"]}
    ident = decision.get("entity")
    doc = state["document"]
    entity = next((e for e in doc["entities"] if e["id"] == ident), None)
    links = [r for r in doc["relations"] if ident in (r["head"], r["tail"])]
    return {"entity": entity, "links": links, "decision": state["decisions"].get(ident, "")}


def _apply(state: NoteState, action: str, decision: dict[str, Any]) -> tuple[NoteState, str | None]:
    """A new state with ``decision`` applied (the old one untouched), and the id of the
    entity decided on (``None`` for the note's done flag)."""
    doc = Document.from_dict(state.document.to_dict())
    decisions = dict(state.decisions)
    done = state.done
    if action == "done":
        value = decision.get("done", True)
        if not isinstance(value, bool):
            raise ReviewError(422, "done is true or false")
        return NoteState(doc, state.version, value, decisions), None
    by_id = {e.id: e for e in doc.entities}
    if action in ("accept", "reject", "edit"):
        ident = decision.get("entity")
        if not isinstance(ident, str) or ident not in by_id:
            raise ReviewError(422, "the decision names no entity of this note")
        if action == "edit":
            _edit(doc, by_id[ident], decision, _rejected(decisions))
            decisions[ident] = "edited"
        else:
            decisions[ident] = "accepted" if action == "accept" else "rejected"
        return NoteState(doc, state.version, done, decisions), ident
    # add
    entity = _new_entity(doc, decision, _rejected(decisions))
    doc.entities.append(entity)
    doc.entities.sort(key=lambda e: (e.start, e.end))
    decisions[entity.id] = "added"
    _relink(doc, entity, decision)
    return NoteState(doc, state.version, done, decisions), entity.id


def _rejected(decisions: dict[str, str]) -> set[str]:
    return {k for k, v in decisions.items() if v == "rejected"}


def _span(doc: Document, decision: dict[str, Any], ignore: set[str]) -> tuple[int, int]:
    """The span a decision gives (within the note, not blank, overlapping no entity but those
    in ``ignore``: the one being moved, rejected ones)."""
    start, end = decision.get("start"), decision.get("end")
    if not all(isinstance(v, int) and not isinstance(v, bool) for v in (start, end)):
        raise ReviewError(422, "start and end are character offsets (integers)")
    assert isinstance(start, int) and isinstance(end, int)
    if not 0 <= start < end <= len(doc.text) or not doc.text[start:end].strip():
        raise ReviewError(422, f"span {start}-{end} is empty or outside the note")
    for other in doc.entities:
        if other.id not in ignore and other.start < end and start < other.end:
            raise ReviewError(422, f"span {start}-{end} overlaps {other.id}; spans never overlap")
    return start, end


def _label(decision: dict[str, Any], default: str | None = None) -> str:
    label = decision.get("label", default)
    if label not in LABELS:
        raise ReviewError(422, f"label must be one of {', '.join(LABELS)}")
    assert isinstance(label, str)
    return label


def _status(decision: dict[str, Any], default: str) -> str:
    status = decision.get("status", default)
    if status not in STATUSES:
        raise ReviewError(422, f"status must be one of {', '.join(STATUSES)}")
    assert isinstance(status, str)
    return status


def _new_entity(doc: Document, decision: dict[str, Any], ignore: set[str]) -> Entity:
    start, end = _span(doc, decision, ignore)
    label = _label(decision)
    numbers = [int(e.id[1:]) for e in doc.entities if e.id[1:].isdigit()]
    ident = f"T{max([100, *numbers]) + 1}"
    attrs = {"assertion": _status(decision, "present")} if label == "Adverse-Effect" else {}
    return Entity(ident, label, start, end, doc.text[start:end], attrs)


def _edit(doc: Document, entity: Entity, decision: dict[str, Any], ignore: set[str]) -> None:
    if "start" in decision or "end" in decision:
        entity.start, entity.end = _span(
            doc,
            {"start": decision.get("start", entity.start), "end": decision.get("end", entity.end)},
            ignore | {entity.id},
        )
        entity.text = doc.text[entity.start : entity.end]
    if "label" in decision:
        entity.label = _label(decision)
        entity.concepts = []
    if entity.label == "Adverse-Effect":
        entity.attributes["assertion"] = _status(
            decision, str(entity.attributes.get("assertion", "present"))
        )
    else:
        entity.attributes.pop("assertion", None)
    doc.entities.sort(key=lambda e: (e.start, e.end))
    if "drugs" in decision:
        _relink(doc, entity, decision)


def _relink(doc: Document, entity: Entity, decision: dict[str, Any]) -> None:
    """Set the drugs an event is linked to (``drugs``: entity ids; absent: unchanged)."""
    if "drugs" not in decision:
        return
    drugs = decision["drugs"]
    by_id = {e.id: e for e in doc.entities}
    if not isinstance(drugs, list) or not all(
        isinstance(d, str) and d in by_id and by_id[d].label == "Drug" for d in drugs
    ):
        raise ReviewError(422, "drugs lists the ids of Drug entities of this note")
    if entity.label != "Adverse-Effect" and drugs:
        raise ReviewError(422, "only an Adverse-Effect is linked to drugs")
    doc.relations = [r for r in doc.relations if not (r.tail == entity.id and r.label in CAUSES)]
    numbers = [int(r.id[1:]) for r in doc.relations if r.id[1:].isdigit()]
    for n, drug in enumerate(drugs, max([100, *numbers]) + 1):
        doc.relations.append(Relation("Causes", drug, entity.id, f"R{n}"))
