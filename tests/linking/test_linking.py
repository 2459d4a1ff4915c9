"""Concept linking on tiny knowledge bases built here: the index, the component, its
serialisation and outputs, the command, and no network anywhere."""

from __future__ import annotations

import json
import pickle
from pathlib import Path

import pytest
import spacy
from spacy.tokens import DocBin
from typer.testing import CliRunner

from clinnlp.errors import ModelError
from clinnlp.linking import index
from clinnlp.linking.link import link
from clinnlp.pipeline import to_document
from clinnlp.readers.brat import format_ann, read_brat

DRUGS = [
    (
        {
            "concept_id": "DB00722",
            "canonical_name": "Lisinopril",
            "aliases": ["lisinopril", "zestril", "prinivil"],
            "types": ["Drug"],
        },
        ["MESH_CLASS:D000806"],
    ),
    (
        {
            "concept_id": "DB00331",
            "canonical_name": "Metformin",
            "aliases": ["metformin", "glucophage"],
            "types": ["Drug"],
        },
        ["MESH_CLASS:D007004"],
    ),
    (
        {
            "concept_id": "DB01060",
            "canonical_name": "Amoxicillin",
            "aliases": ["amoxicillin", "amoxil"],
            "types": ["Drug"],
        },
        [],
    ),
]
EVENTS = [
    (
        {
            "concept_id": "HP:0001025",
            "canonical_name": "Urticaria",
            "aliases": ["urticaria", "hives"],
            "types": ["Phenotype"],
        },
        ["UMLS:C0042109"],
    ),
    (
        {
            "concept_id": "HP:0100665",
            "canonical_name": "Angioedema",
            "aliases": ["angioedema"],
            "types": ["Phenotype"],
        },
        [],
    ),
    (
        {
            "concept_id": "HP:0012735",
            "canonical_name": "Cough",
            "aliases": ["cough", "coughing"],
            "types": ["Phenotype"],
        },
        [],
    ),
]


@pytest.fixture(scope="module")
def kb_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("kb")
    index.build(iter(DRUGS), root / "drugs", "drugs")
    index.build(iter(EVENTS), root / "hpo", "hpo")
    return root


def test_linking_index_finds_brands_and_misspellings_offline(kb_dir: Path, no_network) -> None:
    generator, xrefs = index.load(kb_dir / "drugs")
    found = link(generator, xrefs, ["Zestril", "metformn", "Amoxil"], k=2, threshold=0.7)
    assert [c[0].id for c in found] == ["DB00722", "DB00331", "DB01060"]
    assert found[0][0].name == "Lisinopril" and found[0][0].score == 1.0
    assert found[0][0].xrefs == ["MESH_CLASS:D000806"]  # the class, kept as a cross-reference
    assert all(len(c) == 1 for c in found)  # the runner-up is under the threshold
    assert json.loads((kb_dir / "drugs" / "meta.json").read_text())["concepts"] == 3


def test_linking_refuses_an_incomplete_folder(tmp_path: Path) -> None:
    (tmp_path / "kb.jsonl").write_text("")
    with pytest.raises(ModelError, match="clinnlp build-kb"):
        index.load(tmp_path)


def _nlp(kb_dir: Path):
    nlp = spacy.blank("en")
    ruler = nlp.add_pipe("entity_ruler")
    ruler.add_patterns(
        [{"label": "Drug", "pattern": w} for w in ("Zestril", "metformin")]
        + [{"label": "Adverse-Effect", "pattern": w} for w in ("hives", "angioedema")]
    )
    nlp.add_pipe("clinnlp_linker", config={"kb": str(kb_dir)})
    return nlp


def _concepts(doc) -> list:
    return [(e.text, [c[0] for c in e._.clinnlp_concepts or []]) for e in doc.ents]


def test_linking_component_sets_concepts_that_travel(
    kb_dir: Path, tmp_path: Path, no_network
) -> None:
    nlp = _nlp(kb_dir)
    doc = nlp("Zestril was stopped for angioedema; hives on metformin.")
    expected = [
        ("Zestril", ["DB00722"]),
        ("angioedema", ["HP:0100665"]),
        ("hives", ["HP:0001025"]),
        ("metformin", ["DB00331"]),
    ]
    assert _concepts(doc) == expected
    data = DocBin(docs=[doc], store_user_data=True).to_bytes()
    (restored,) = DocBin(store_user_data=True).from_bytes(data).get_docs(nlp.vocab)
    assert _concepts(restored) == expected
    assert _concepts(pickle.loads(pickle.dumps(nlp))(doc.text)) == expected
    nlp.to_disk(tmp_path / "pipeline")
    assert _concepts(spacy.load(tmp_path / "pipeline")(doc.text)) == expected
    record = to_document(doc, "n1")
    zestril = record.entities[0].concepts[0]
    assert (zestril.id, zestril.name, zestril.score) == ("DB00722", "Lisinopril", 1.0)
    # BRAT keeps id and name (N lines) and reads them back
    folder = tmp_path / "brat"
    folder.mkdir()
    (folder / "n1.txt").write_text(doc.text, "utf-8")
    (folder / "n1.ann").write_text(format_ann(record), "utf-8")
    (back,) = read_brat(folder)
    assert [(c.id, c.name) for e in back.entities for c in e.concepts] == [
        (c.id, c.name) for e in record.entities for c in e.concepts
    ]


def test_linking_long_forms_link_short_forms(kb_dir: Path) -> None:
    from clinnlp.text import make_text_pipeline

    nlp = make_text_pipeline()
    ruler = nlp.add_pipe("entity_ruler")
    ruler.add_patterns([{"label": "Drug", "pattern": "AMX"}])
    nlp.add_pipe("clinnlp_linker", config={"kb": str(kb_dir)})
    doc = nlp("She was given amoxicillin (AMX) for otitis. AMX was stopped.")
    assert [c for _, c in _concepts(doc)] == [["DB01060"], ["DB01060"]]
    # a short form that shares no letters with its long form links only through it: the
    # concept is right and its score is the long form's (1.0), not the short form's own
    ruler.add_patterns([{"label": "Drug", "pattern": "GP"}])
    doc = nlp("She takes Glucophage (GP) daily. GP was continued.")
    found = [e._.clinnlp_concepts for e in doc.ents if e.text == "GP"]
    assert found and all(c[0][0] == "DB00331" and c[0][2] == 1.0 for c in found), found


def test_linking_build_kb_command_replaces_only_knowledge_bases(
    tmp_path: Path, monkeypatch
) -> None:
    from clinnlp.cli import app
    from clinnlp.linking import kb

    monkeypatch.setattr(kb, "SOURCES", {"drugs": lambda: iter(DRUGS), "hpo": lambda: iter(EVENTS)})
    out = tmp_path / "kb"
    result = CliRunner().invoke(app, ["build-kb", "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert index.check(out / "drugs") and index.check(out / "hpo")
    again = CliRunner().invoke(app, ["build-kb", "--out", str(out), "--only", "drugs"])
    assert again.exit_code == 0, again.output
    mine = tmp_path / "other"
    (mine / "hpo").mkdir(parents=True)
    (mine / "hpo" / "notes.txt").write_text("the user's own file")
    refused = CliRunner().invoke(app, ["build-kb", "--out", str(mine), "--only", "hpo"])
    assert refused.exit_code == 1 and (mine / "hpo" / "notes.txt").is_file()
    bad = CliRunner().invoke(app, ["build-kb", "--out", str(out), "--only", "umls"])
    assert bad.exit_code == 1 and "expected one of drugs, hpo" in bad.output


def test_linking_char_trigrams_match_scikit_learn(kb_dir: Path) -> None:
    import joblib
    import numpy as np

    from clinnlp.linking.index import CharTrigrams

    stored = json.loads((kb_dir / "hpo" / "tfidf_vocabulary.json").read_text())
    mine = CharTrigrams(stored["vocabulary"], stored["idf"])
    reference = joblib.load(kb_dir / "hpo" / "tfidf_vectorizer.joblib")  # built here, by us
    texts = ["Hives", "coughing  fits", "a", "angio-oedema", "ÉDÈME", "", "x y z"]
    difference = mine.transform(texts).toarray() - reference.transform(texts).toarray()
    assert np.abs(difference).max() < 1e-6


def test_linking_loads_without_importing_scikit_learn(kb_dir: Path) -> None:
    """In a fresh interpreter the linker links without scikit-learn (0.8 s and 100 MB saved
    at its first use), and a later import of scikit-learn gets the real module."""
    import subprocess
    import sys

    script = f"""
import sys
from clinnlp.linking import index
from clinnlp.linking.link import link
generator, xrefs = index.load({str(kb_dir / "drugs")!r})
assert [c[0].id for c in link(generator, xrefs, ["Zestril"], k=1, threshold=0.7)] == ["DB00722"]
assert not [m for m in sys.modules if m.startswith("sklearn")], "scikit-learn was imported"
from sklearn.feature_extraction.text import TfidfVectorizer
assert TfidfVectorizer.__module__ == "sklearn.feature_extraction.text"
import scispacy.candidate_generation as cg
try:
    cg.TfidfVectorizer()
except ImportError as err:
    assert "scikit-learn" in str(err)
else:
    raise AssertionError("the placeholder built a vectorizer")
"""
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr[-2000:]


def test_linking_uses_scikit_learn_when_it_is_already_imported() -> None:
    import subprocess
    import sys

    script = """
import sklearn.feature_extraction.text as real
from clinnlp.linking.index import candidate_generator_class
candidate_generator_class()
import scispacy.candidate_generation as cg
assert cg.TfidfVectorizer is real.TfidfVectorizer
"""
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr[-2000:]
