"""A self-contained HTML report of annotated documents, for a clinician to open.

One file: a summary (notes that report an adverse drug event, entities per label, adverse
effects per drug) and every document rendered by displaCy with a colour per label, the notes
that report an adverse drug event first, each marked with the note-level answer. No external
CSS, script or font, and a Content-Security-Policy that forbids loading any. Every piece of
text is HTML-escaped.
"""

from __future__ import annotations

import html
from bisect import bisect_right
from collections import Counter, defaultdict
from collections.abc import Iterable, Iterator, Sequence
from typing import Any

from clinnlp.about import __version__
from clinnlp.events import CAUSES, adverse_drug_events, concept_name, event_lists
from clinnlp.schema import Document, Entity, is_asserted

DRUG, EFFECT = "Drug", "Adverse-Effect"
#: Colours of the known labels; others take :data:`PALETTE` colours in label order.
COLORS = {DRUG: "#9fd3f5", EFFECT: "#ffb3a7", "Dose": "#bfe8b0"}
PALETTE = ("#ffe29a", "#d9c2f0", "#f7c6e0", "#c9e4de", "#f2d0a9", "#cfd8dc")

# displaCy's entity template with a tooltip; every field is escaped before it is filled in.
# An entity the note does not assert (negated, hypothetical...) is drawn dashed and faded,
# its status written after its label.
_ENT = (
    '<mark class="entity{status_class}" title="{tip}" style="background: {bg}; '
    'padding: 0.2em 0.4em; margin: 0 0.15em; line-height: 1; border-radius: 0.35em;">{text}'
    '<span class="label">{label}{status}</span></mark>'
)

_PAGE = """<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{title}</title>
<style>
body {{ font-family: system-ui, sans-serif; margin: 2em auto; max-width: 60em; padding: 0 1em;
       color: #1a1a1a; background: #fff; }}
h1 {{ font-size: 1.6em; }} h2 {{ font-size: 1.2em; margin-top: 2em; }}
table {{ border-collapse: collapse; margin: 0.5em 0 1em; }}
th, td {{ border: 1px solid #ccc; padding: 0.3em 0.7em; text-align: left; vertical-align: top; }}
th {{ background: #f3f3f3; }}
.note {{ color: #555; font-size: 0.9em; }}
.doc {{ border-top: 1px solid #ddd; padding-top: 0.5em; }}
.entities {{ line-height: 2.2 !important; white-space: normal; }}
.label {{ font-size: 0.7em; font-weight: bold; margin-left: 0.4em; vertical-align: middle; }}
.swatch {{ display: inline-block; padding: 0.1em 0.5em; border-radius: 0.3em; }}
.unasserted {{ opacity: 0.7; outline: 2px dashed #555; outline-offset: -2px; }}
.verdict {{ font-weight: bold; margin: 0.3em 0; }}
.verdict.ade {{ color: #a01818; }} .verdict.none {{ color: #555; font-weight: normal; }}
</style>
</head>
<body>
<h1>{title}</h1>
<p class="note">{subtitle}</p>
{summary}
<h2>Documents</h2>
{documents}
</body>
</html>
"""


def _esc(value: Any) -> str:
    return html.escape(str(value), quote=True)


def label_colors(labels: Iterable[str]) -> dict[str, str]:
    """A colour for each label: :data:`COLORS` for known ones, :data:`PALETTE` for others."""
    others = sorted(set(labels) - set(COLORS))
    extra = {label: PALETTE[i % len(PALETTE)] for i, label in enumerate(others)}
    return {**COLORS, **extra}


def _norm(text: str) -> str:
    return " ".join(text.lower().split())


def events_per_drug(docs: Sequence[Document]) -> tuple[dict[str, Counter[str]], bool]:
    """Adverse drug events counted per drug (names lowercased), and whether they come from
    relations.

    When any document has drug -> event relations (``Causes``), the pairs are the adverse
    drug events of :func:`clinnlp.events.adverse_drug_events`: asserted events and the drugs
    linked to them, each named by its concept when it has one ("Zestril" and "lisinopril"
    count as Lisinopril, "hives" and "urticaria" as Urticaria). Without relations, a drug and
    an asserted adverse effect count as a pair when they share a sentence
    (:func:`clinnlp.text.sentence_spans`). Negated, hypothetical, possible and family-member
    events never count (:func:`clinnlp.schema.is_asserted`).
    """
    linked = any(rel.label in CAUSES for doc in docs for rel in doc.relations)
    pairs: dict[str, Counter[str]] = defaultdict(Counter)
    for doc in docs:
        if linked:
            for event in adverse_drug_events(doc)["asserted"]:
                for drug in event["drugs"]:
                    pairs[concept_name(drug)][concept_name(event, "event")] += 1
        else:
            for drug, effect in _sentence_pairs(doc):
                if is_asserted(effect):
                    pairs[_norm(drug.text)][_norm(effect.text)] += 1
    return dict(pairs), linked


def unasserted_events(docs: Sequence[Document]) -> list[tuple[str, dict[str, Any]]]:
    """Drug-linked events that the notes do not assert (negated, hypothetical...), with
    their document ids, in document order."""
    out = []
    for doc in docs:
        for status, events in event_lists(adverse_drug_events(doc)).items():
            if status != "asserted":
                out += [(doc.id, event) for event in events]
    return out


def _sentence_pairs(doc: Document) -> Iterator[tuple[Entity, Entity]]:
    from clinnlp.text import sentence_spans

    starts = [start for start, _ in sentence_spans(doc.text)]
    by_sentence: dict[int, list[Entity]] = defaultdict(list)
    for ent in doc.entities:
        by_sentence[bisect_right(starts, ent.start)].append(ent)
    for ents in by_sentence.values():
        for drug in (e for e in ents if e.label == DRUG):
            for effect in (e for e in ents if e.label == EFFECT):
                yield drug, effect


def _verdict(doc: Document) -> str:
    """The note-level answer as one line: its adverse drug events, or that it reports none."""
    events = adverse_drug_events(doc)["asserted"]
    if not events:
        return '<p class="verdict none">No adverse drug event reported.</p>'
    pairs = "; ".join(
        f"{_esc(e['event'])} &larr; " + ", ".join(_esc(d["text"]) for d in e["drugs"])
        for e in events
    )
    return f'<p class="verdict ade">Reports an adverse drug event: {pairs}</p>'


def _summary(docs: Sequence[Document], colors: dict[str, str]) -> str:
    labels = Counter(ent.label for doc in docs for ent in doc.entities)
    reporting = sum(1 for doc in docs if adverse_drug_events(doc)["reports_ade"])
    rows = "".join(
        f'<tr><td><span class="swatch" style="background: {_esc(colors[label])}">'
        f"{_esc(label)}</span></td><td>{count}</td></tr>"
        for label, count in sorted(labels.items())
    )
    parts = [
        "<h2>Notes that report an adverse drug event</h2>",
        f"<p>{reporting:,} of {len(docs):,} (listed first below).</p>",
        "<h2>Entities per label</h2>",
        f"<table><tr><th>Label</th><th>Mentions</th></tr>{rows}</table>"
        if rows
        else "<p>None.</p>",
    ]
    pairs, linked = events_per_drug(docs)
    how = (
        "from the relation model's drug&rarr;event links (Causes)"
        if linked
        else "a drug and an adverse effect mentioned in the same sentence (no relation model: "
        "co-mention is not causation)"
    )
    assessed = any("assertion" in e.attributes for doc in docs for e in doc.entities)
    how += (
        "; only events the note asserts (negated, hypothetical, possible and family-member "
        "events are listed apart below)"
        if assessed
        else "; assertion is not detected, so denied symptoms are counted too"
    )
    parts.append("<h2>Adverse drug events per drug</h2>")
    parts.append(f'<p class="note">Counted {how}.</p>')
    if pairs:
        rows = "".join(
            f"<tr><td>{_esc(drug)}</td><td>{sum(effects.values())}</td><td>"
            + ", ".join(f"{_esc(e)} ({n})" for e, n in effects.most_common())
            + "</td></tr>"
            for drug, effects in sorted(pairs.items(), key=lambda kv: (-sum(kv[1].values()), kv[0]))
        )
        parts.append(
            f"<table><tr><th>Drug</th><th>Events</th><th>Adverse effects</th></tr>{rows}</table>"
        )
    else:
        parts.append("<p>None found.</p>")
    apart = unasserted_events(docs)
    if linked:
        parts.append("<h2>Drug-linked events the notes do not assert</h2>")
        if apart:
            rows = "".join(
                f"<tr><td>{_esc(event['event'])}</td><td>{_esc(event['status'])}</td><td>"
                + ", ".join(_esc(d["text"]) for d in event["drugs"])
                + f"</td><td>{_esc(doc_id)}</td></tr>"
                for doc_id, event in apart
            )
            parts.append(
                "<table><tr><th>Event</th><th>Status</th><th>Drug</th><th>Document</th></tr>"
                f"{rows}</table>"
            )
        else:
            parts.append("<p>None.</p>")
    return "\n".join(parts)


def _displacy_doc(doc: Document) -> dict[str, Any]:
    """displaCy's manual input for a document: sorted, non-overlapping spans, escaped labels."""
    ents, end = [], 0
    for ent in sorted(doc.entities, key=lambda e: (e.start, -e.end)):
        if ent.start < end:
            continue  # displaCy cannot draw overlaps; the first, longest span wins
        status = str(ent.attributes.get("assertion", "present"))
        tip = ent.label if status == "present" else f"{ent.label}, {status}"
        if "confidence" in ent.attributes:
            tip += f"; confidence {float(ent.attributes['confidence']):.2f}"
        if ent.concepts:
            best = ent.concepts[0]
            tip += f"; concept {best.id} {best.name}"
            if best.score is not None:
                tip += f" (match {best.score:.2f})"
        shown = status != "present"
        params = {
            "tip": _esc(tip),
            "status": _esc(f" · {status}") if shown else "",
            "status_class": " unasserted" if shown else "",
        }
        ents.append(
            {"start": ent.start, "end": ent.end, "label": _esc(ent.label), "params": params}
        )
        end = ent.end
    return {"text": doc.text, "ents": ents, "title": _esc(doc.id)}


def render_report(
    docs: Iterable[Document],
    title: str = "clinnlp annotations",
    failed: int = 0,
    notes: Sequence[str] = (),
) -> str:
    """Return the report page for ``docs`` (see the module docstring); ``failed``: how many
    documents of the run could not be annotated (named in its errors.jsonl); ``notes``: what
    the reader must know about the run (shown under the title: no concepts linked...)."""
    from spacy import displacy

    docs = sorted(docs, key=lambda d: not adverse_drug_events(d)["reports_ade"])  # stable
    colors = label_colors(ent.label for doc in docs for ent in doc.entities)
    options = {"colors": {_esc(k): v for k, v in colors.items()}, "template": _ENT}
    rendered = [
        '<section class="doc">'
        + _verdict(doc)
        + displacy.render(
            _displacy_doc(doc), style="ent", manual=True, page=False, jupyter=False, options=options
        )
        + "</section>"
        for doc in docs
    ]
    entities = sum(len(doc.entities) for doc in docs)
    missing = f" {failed:,} more could not be annotated: see errors.jsonl." if failed else ""
    subtitle = (
        f"{len(docs):,} documents, {entities:,} entities.{missing} Generated offline by clinnlp "
        f"{__version__}; automatic annotations, to be checked against the record."
        + "".join(f" {note}" for note in notes)
    )
    return _PAGE.format(
        title=_esc(title),
        subtitle=_esc(subtitle),
        summary=_summary(docs, colors),
        documents="\n".join(rendered) or "<p>No documents.</p>",
    )


__all__ = ["COLORS", "events_per_drug", "label_colors", "render_report", "unasserted_events"]
