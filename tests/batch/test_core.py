"""The pure core of batch annotation: records in, Documents or failures out."""

from __future__ import annotations

import pytest
import spacy
from spacy.language import Language
from spacy.tokens import Doc, Span

from clinnlp.batch.core import Annotated, Failure, Record, annotate_records
from clinnlp.pipeline.document import to_document


@Language.component("test_core_bomb")
def _bomb(doc: Doc) -> Doc:
    if "KABOOM" in doc.text:
        raise ValueError(f"cannot handle {doc.text!r}")
    doc.ents = [Span(doc, 0, 1, label="Drug")]
    return doc


def _nlp() -> Language:
    nlp = spacy.blank("en")
    nlp.add_pipe("test_core_bomb")
    return nlp


def test_core_annotate_records_in_order_with_failures() -> None:
    texts = ["Rash one.", "KABOOM two.", "Cough three.", "Hives four.", "KABOOM five."]
    records = [Record(f"d{i}", t, {"line": i}) for i, t in enumerate(texts)]
    results = list(annotate_records(_nlp(), records, batch_size=2))
    assert [r.id if isinstance(r, Failure) else r.document.id for r in results] == [
        "d0",
        "d1",
        "d2",
        "d3",
        "d4",
    ]
    failures = [r for r in results if isinstance(r, Failure)]
    assert [f.id for f in failures] == ["d1", "d4"] and failures[0].metadata == {"line": 1}
    assert all("raised ValueError" in f.reason and "KABOOM" not in f.reason for f in failures)
    good = [r for r in results if isinstance(r, Annotated)]
    assert [r.document.entities[0].text for r in good] == ["Rash", "Cough", "Hives"]
    assert good[0].doc._.clinnlp_id == "d0" and good[0].document.metadata == {"line": 0}


def test_core_record_stream_errors_propagate() -> None:
    def records():
        yield Record("a", "Rash.")
        raise OSError("disk gone")

    with pytest.raises(OSError, match="disk gone"):
        list(annotate_records(_nlp(), records()))


def test_core_to_document_is_the_pipelines() -> None:
    from clinnlp import pipeline

    assert pipeline.to_document is to_document
    doc = _nlp()("Rash here.")
    assert to_document(doc, "x").entities[0].label == "Drug"
