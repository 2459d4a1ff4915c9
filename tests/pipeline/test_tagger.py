"""The ``clinnlp_tagger`` component, with the tiny untrained model of ``conftest.py``."""

from __future__ import annotations

import pickle
import subprocess
import sys
import textwrap
import warnings
from pathlib import Path

import pytest
import spacy
from spacy.language import Language
from spacy.tokens import DocBin

from clinnlp.modeling.align import SpanPrediction
from clinnlp.pipeline import TaggerComponent, to_document

TEXTS = [
    "Pt developed a rash after starting amoxicillin 500 mg TID.",
    "Denies nausea on metformin. Continue lisinopril 10 mg daily.",
    "No known drug allergies.",
    "",
]


def _spans(doc) -> list[tuple[str, int, int, float]]:
    return [(e.label_, e.start_char, e.end_char, e._.clinnlp_confidence) for e in doc.ents]


def _run(code: str) -> str:
    """Run ``code`` in a fresh interpreter (nothing imported yet); return its stdout."""
    result = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)], capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stderr[-2000:]
    return result.stdout


@pytest.fixture(scope="module")
def nlp(tiny_model: Path) -> Language:
    nlp = spacy.blank("en")
    nlp.add_pipe(
        "clinnlp_tagger", config={"model": str(tiny_model), "span_key": "clinnlp", "ents": True}
    )
    return nlp


def test_tagger_sets_ents_with_confidence(nlp: Language) -> None:
    doc = nlp(TEXTS[0])
    assert doc.ents, "the random tiny model tags something in every sentence"
    for ent in doc.ents:
        assert ent.label_ in ("Adverse-Effect", "Dose", "Drug")
        assert 0.0 < ent._.clinnlp_confidence <= 1.0
    assert list(doc.spans["clinnlp"]) == list(doc.ents)
    assert nlp("").ents == ()


def test_tagger_pipe_matches_call(nlp: Language) -> None:
    piped = [_spans(doc) for doc in nlp.pipe(TEXTS, batch_size=3)]
    assert piped == [_spans(nlp(text)) for text in TEXTS]


def test_tagger_set_annotations_expands_and_filters() -> None:
    nlp = spacy.blank("en")
    component = TaggerComponent(nlp, "clinnlp_tagger", model="/nowhere", span_key="sc", ents=True)
    doc = nlp.make_doc("amoxicillin 500 mg rash")
    predictions = [
        SpanPrediction("Drug", 2, 6, 0.9),  # inside "amoxicillin": widened to the token
        SpanPrediction("Dose", 12, 18, 0.8),
        SpanPrediction("Drug", 16, 18, 0.7),  # overlaps the dose: filtered out of doc.ents
        SpanPrediction("Adverse-Effect", 18, 19, 0.6),  # only whitespace: dropped
    ]
    component.set_annotations([doc], [predictions])
    assert [(e.text, e.label_, e._.clinnlp_confidence) for e in doc.ents] == [
        ("amoxicillin", "Drug", 0.9),
        ("500 mg", "Dose", 0.8),
    ]
    assert [s.text for s in doc.spans["sc"]] == ["amoxicillin", "500 mg"]  # the same entities


def test_tagger_builds_without_loading_weights(tmp_path: Path) -> None:
    nlp = spacy.blank("en")
    component = nlp.add_pipe("clinnlp_tagger", config={"model": str(tmp_path / "absent")})
    assert component._tagger is None
    assert component.labels == ()


def test_tagger_labels_read_from_config(nlp: Language) -> None:
    component = TaggerComponent(nlp, "t", model=nlp.get_pipe("clinnlp_tagger").model_path)
    assert component.labels == ("Adverse-Effect", "Dose", "Drug")
    assert component._tagger is None


def test_tagger_docbin_and_pickle_keep_confidence(nlp: Language) -> None:
    docs = list(nlp.pipe(TEXTS))
    restored = list(
        DocBin(docs=docs, store_user_data=True)
        .from_bytes(DocBin(docs=docs, store_user_data=True).to_bytes())
        .get_docs(nlp.vocab)
    )
    assert [_spans(d) for d in restored] == [_spans(d) for d in docs]
    assert [_spans(d) for d in pickle.loads(pickle.dumps(docs))] == [_spans(d) for d in docs]


def test_tagger_pickle_component_and_pipeline(nlp: Language) -> None:
    expected = _spans(nlp(TEXTS[1]))
    component = pickle.loads(pickle.dumps(nlp.get_pipe("clinnlp_tagger")))
    assert component._tagger is None  # travels as its model path
    assert _spans(component(nlp.make_doc(TEXTS[1]))) == expected
    assert _spans(pickle.loads(pickle.dumps(nlp))(TEXTS[1])) == expected


def test_tagger_pickle_in_memory_model(nlp: Language) -> None:
    from clinnlp.modeling.tagger import Tagger

    source = nlp.get_pipe("clinnlp_tagger")
    component = TaggerComponent(None, "t", ents=True)
    component.tagger = Tagger.load(source.model_path, precision="fp32")
    restored = pickle.loads(pickle.dumps(component))  # carries the weights' bytes
    assert restored.model_path is None and restored._tagger is not None
    doc = nlp.make_doc(TEXTS[0])
    assert _spans(restored(doc)) == _spans(nlp(TEXTS[0]))


def test_tagger_to_disk_from_disk(nlp: Language, tmp_path: Path) -> None:
    nlp.to_disk(tmp_path / "pipeline")
    assert (tmp_path / "pipeline" / "clinnlp_tagger" / "model" / "model.safetensors").is_file()
    loaded = spacy.load(tmp_path / "pipeline")
    assert (
        loaded.get_pipe("clinnlp_tagger").model_path
        == tmp_path / "pipeline" / "clinnlp_tagger" / "model"
    )
    assert [_spans(d) for d in loaded.pipe(TEXTS)] == [_spans(d) for d in nlp.pipe(TEXTS)]
    loaded.to_disk(tmp_path / "pipeline")  # saving onto its own folder is a no-op for the model
    assert _spans(spacy.load(tmp_path / "pipeline")(TEXTS[0])) == _spans(nlp(TEXTS[0]))


def test_tagger_n_process_2(nlp: Language) -> None:
    texts = TEXTS * 4
    multi = [_spans(doc) for doc in nlp.pipe(texts, n_process=2, batch_size=2)]
    single = [_spans(doc) for doc in nlp.pipe(texts)]
    assert [[s[:3] for s in spans] for spans in multi] == [
        [s[:3] for s in spans] for spans in single
    ]
    # workers run torch on one thread: sums in another order, the last bits may differ
    confidences = [s[3] for spans in multi for s in spans]
    assert confidences == pytest.approx([s[3] for spans in single for s in spans], abs=1e-4)


def test_tagger_to_document(nlp: Language) -> None:
    doc = nlp(TEXTS[0])
    record = to_document(doc, "note-1", {"path": "a.txt"}).to_dict()
    assert record["id"] == "note-1" and record["text"] == TEXTS[0]
    assert len(record["entities"]) == len(doc.ents)
    first = record["entities"][0]
    assert first["text"] == TEXTS[0][first["start"] : first["end"]]
    assert 0 < first["attributes"]["confidence"] <= 1


def test_tagger_entry_point_in_fresh_process(tiny_model: Path, tmp_path: Path) -> None:
    """spaCy finds the factory through the entry point: the user never imports clinnlp."""
    out = _run(
        f"""
        import sys
        import spacy
        nlp = spacy.blank("en")
        nlp.add_pipe("clinnlp_tagger", config={{"model": {str(tiny_model)!r}}})
        assert "transformers" not in sys.modules  # building loads no weights
        doc = nlp("Rash after amoxicillin.")
        found = doc.spans["clinnlp"]
        assert found and all(e._.clinnlp_confidence > 0 for e in found) and not doc.ents
        nlp.to_disk({str(tmp_path / "p")!r})
        again = spacy.load({str(tmp_path / "p")!r})
        second = again("Rash after amoxicillin.")
        texts = [e.text for e in second.spans["clinnlp"]]
        assert texts == [e.text for e in found]
        print("ok")
        """
    )
    assert out.strip() == "ok"


def test_tagger_factory_import_needs_no_torch() -> None:
    """Reading the entry points and building the component import neither torch nor
    transformers (thinc imports torch itself when installed, so they are blocked here)."""
    out = _run(
        """
        import sys

        class Block:
            def find_spec(self, name, path=None, target=None):
                if name.split(".")[0] in ("torch", "transformers"):
                    raise ImportError(f"blocked: {name}")
                return None

        sys.meta_path.insert(0, Block())
        import spacy
        from spacy.util import registry
        registry.factories.get_all()
        nlp = spacy.blank("en")
        nlp.add_pipe("clinnlp_tagger", config={"model": "/not/loaded"})
        assert "clinnlp.pipeline" in sys.modules
        print("ok")
        """
    )
    assert out.strip() == "ok"


def test_tagger_default_device_is_auto(tmp_path: Path) -> None:
    nlp = spacy.blank("en")
    component = nlp.add_pipe("clinnlp_tagger", config={"model": str(tmp_path / "absent")})
    assert component.device is None and TaggerComponent(None, "t").device is None
    assert nlp.config["components"]["clinnlp_tagger"]["device"] is None
    again = spacy.blank("en").from_config(spacy.util.load_config_from_str(nlp.config.to_str()))
    assert again.get_pipe("clinnlp_tagger").device is None


def test_build_pipeline_hides_scispacy_w036(tiny_model: Path) -> None:
    """scispaCy's abbreviation detector makes spaCy warn (W036) on most documents."""
    from clinnlp import load

    nlp = load(tiny_model, device="cpu", linker=False)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        nlp("No abbreviation here.")
        list(nlp.pipe(["Avoid non-steroidal anti-inflammatory drugs (NSAIDs).", "Rash."]))
    assert not [w for w in caught if "W036" in str(w.message)]


def test_build_pipeline(tiny_model: Path) -> None:
    from clinnlp import load

    nlp = load(tiny_model, device="cpu", span_key="sc", linker=False)
    assert nlp.pipe_names[-2:] == ["clinnlp_tagger", "clinnlp_context"]
    doc = nlp("MEDICATIONS: lisinopril 10 mg daily.\nDenies nausea.")
    assert doc.ents and len(list(doc.sents)) >= 2
    assert all(e._.clinnlp_assertion is not None for e in doc.ents)
    assert nlp.get_pipe("clinnlp_tagger").model_path == tiny_model.resolve()


def test_tagger_passes_its_drug_threshold_to_the_merge(
    tiny_model: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import clinnlp.lexicon.vocabulary as vocabulary
    from clinnlp.pipeline import build_pipeline

    seen: list[float] = []
    merge = vocabulary.merge_drugs

    def spy(text, spans, min_confidence=vocabulary.MIN_CONFIDENCE, *args, **kwargs):
        seen.append(min_confidence)
        return merge(text, spans, min_confidence, *args, **kwargs)

    monkeypatch.setattr(vocabulary, "merge_drugs", spy)
    build_pipeline(tiny_model, device="cpu", linker=False)(TEXTS[0])
    build_pipeline(tiny_model, device="cpu", linker=False, drug_vocabulary=0.5)(TEXTS[0])
    build_pipeline(tiny_model, device="cpu", linker=False, drug_vocabulary=None)(TEXTS[0])
    assert seen == [0.95, 0.5]  # the default, then the one asked for; None merges nothing


def test_tagger_is_a_good_guest_in_a_pipeline_with_its_own_entities(tiny_model: Path) -> None:
    """Inside a host pipeline whose EntityRuler sets entities, clinnlp's components write
    doc.spans["clinnlp"] (assertion and concepts on those spans) and leave the host's
    doc.ents as they were; ``ents: true`` keeps the old behaviour (clinnlp's entities in
    doc.ents)."""
    from clinnlp.pipeline import entities

    def host(**config) -> Language:
        nlp = spacy.blank("en")
        nlp.add_pipe("sentencizer")
        ruler = nlp.add_pipe("entity_ruler")
        ruler.add_patterns([{"label": "HOSPITAL", "pattern": "St Mary"}])
        nlp.add_pipe("clinnlp_tagger", config={"model": str(tiny_model), **config})
        nlp.add_pipe("clinnlp_context")
        return nlp

    text = "Seen at St Mary for a rash after amoxicillin; no nausea."
    doc = host()(text)
    assert [(e.text, e.label_) for e in doc.ents] == [("St Mary", "HOSPITAL")]
    mine = entities(doc)
    assert mine and list(doc.spans["clinnlp"]) == mine
    assert all(e._.clinnlp_assertion is not None for e in mine)
    document = to_document(doc, "x")
    assert [e.label for e in document.entities] == [s.label_ for s in mine]
    replaced = host(ents=True)(text)
    assert list(replaced.ents) == list(replaced.spans["clinnlp"])  # the host's entity is gone
    with pytest.raises(Exception, match="go nowhere"):
        host(span_key=None)
