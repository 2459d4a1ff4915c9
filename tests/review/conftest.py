"""A small annotate run to review (two notes, one reporting an adverse drug event)."""

from __future__ import annotations

import json
from pathlib import Path

from clinnlp.schema import Document, Entity, Relation

RASH = "Rash after amoxicillin. Continue lisinopril. Nausea noted."
CALM = "Metformin 500 mg daily. No complaints."


def _ent(text: str, ident: str, label: str, words: str, **attrs) -> Entity:
    start = text.index(words)
    return Entity(ident, label, start, start + len(words), words, dict(attrs))


def make_run(folder: Path) -> Path:
    """An annotate run folder with two notes (one reporting an adverse drug event)."""
    rash = Document(
        "clinic/rash",
        RASH,
        [
            _ent(RASH, "T1", "Adverse-Effect", "Rash", assertion="present", confidence=0.9),
            _ent(RASH, "T2", "Drug", "amoxicillin", confidence=1.0),
            _ent(RASH, "T3", "Drug", "lisinopril", confidence=1.0),
            _ent(RASH, "T4", "Adverse-Effect", "Nausea", assertion="present", confidence=0.6),
        ],
        [Relation("Causes", "T2", "T1", "R1", {"confidence": 0.9})],
    )
    calm = Document("calm", CALM, [_ent(CALM, "T1", "Drug", "Metformin")])
    folder.mkdir(parents=True)
    lines = "".join(json.dumps(d.to_dict()) + "\n" for d in (calm, rash))
    (folder / "annotations.jsonl").write_text(lines, "utf-8")
    return folder
