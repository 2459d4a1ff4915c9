"""Fixtures shared by every test module."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from pathlib import Path

import pytest

from clinnlp.schema import Document, Entity, Relation

ROOT = Path(__file__).resolve().parents[1]


def _corpus(name: str, marker: str) -> Path:
    """A shared corpus, from `make corpora` or beside the checkout; the test skips when absent."""
    for base in (ROOT / "corpora" / "data", ROOT / ".." / "shared" / "corpora"):
        if (base / name / marker).is_file():
            return base / name
    pytest.skip(f"corpus {name} not available (run make corpora)")


@pytest.fixture(scope="session")
def fixtures() -> Path:
    return ROOT / "tests" / "fixtures"


@pytest.fixture(scope="session")
def ade_dir() -> Path:
    return _corpus("ade_corpus_v2", "DRUG-AE.rel")


@pytest.fixture(scope="session")
def bc5cdr_dir() -> Path:
    return _corpus("bc5cdr", "CDR_TrainingSet.PubTator.txt")


@pytest.fixture(scope="session")
def mtsamples_dir() -> Path:
    return _corpus("mtsamples", "notes/mts-0001-allergy-immunology.txt") / "notes"


@pytest.fixture
def no_network(monkeypatch):
    """Any attempt to open a network connection fails the test."""
    opened = []

    def refuse(*args, **kwargs):
        opened.append(args)
        raise AssertionError("network access attempted")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket.socket, "connect_ex", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)
    monkeypatch.setattr(socket, "getaddrinfo", refuse)
    yield opened
    assert not opened


#: Labels of the tiny test model (those of the ADE corpus).
TINY_LABELS = ["Adverse-Effect", "Dose", "Drug"]


@pytest.fixture(scope="session")
def tiny_model(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """Folder of a tiny *untrained* tagger (1 layer, hidden size 32, random weights) over the
    packaged tokenizer: it loads in milliseconds and predicts arbitrary spans, which is all a
    test of plumbing needs. Built once per session."""
    import torch
    from transformers import AutoTokenizer, BertConfig, BertForTokenClassification

    from clinnlp.modeling.align import bio_tags
    from clinnlp.modeling.tagger import Tagger, base_model_path

    tokenizer = AutoTokenizer.from_pretrained(base_model_path(), local_files_only=True)
    tags = bio_tags(TINY_LABELS)
    config = BertConfig(
        vocab_size=len(tokenizer),
        hidden_size=32,
        num_hidden_layers=1,
        num_attention_heads=2,
        intermediate_size=64,
        max_position_embeddings=512,
        id2label=dict(enumerate(tags)),
        label2id={t: i for i, t in enumerate(tags)},
    )
    torch.manual_seed(0)
    model = BertForTokenClassification(config)
    path = tmp_path_factory.mktemp("tiny-model")
    Tagger(model, tokenizer, {}, device="cpu", precision="fp32").save(path)
    yield path


@pytest.fixture(scope="session")
def tiny_encoder(tiny_model: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The tiny model's folder without ``clinnlp.json``: a plain encoder to train from, fast
    enough for tests of the training and cv plumbing."""
    import shutil

    path = tmp_path_factory.mktemp("tiny-encoder")
    for file in tiny_model.iterdir():
        if file.name != "clinnlp.json":
            shutil.copy2(file, path / file.name)
    return path


#: Sentences of the tiny relation model: (text, the drug that caused the event, the event, a
#: drug that did not).
CAUSES = [
    ("Rash after amoxicillin; lisinopril was continued.", "amoxicillin", "Rash", "lisinopril"),
    ("Cough on lisinopril; metformin unchanged.", "lisinopril", "Cough", "metformin"),
    ("Metformin kept; nausea from doxycycline.", "doxycycline", "nausea", "Metformin"),
    ("Hives due to penicillin, aspirin tolerated.", "penicillin", "Hives", "aspirin"),
    ("Warfarin stopped for bleeding; digoxin continued.", "Warfarin", "bleeding", "digoxin"),
    ("Atorvastatin continued, myalgia from simvastatin.", "simvastatin", "myalgia", "Atorvastatin"),
]


@pytest.fixture(autouse=True, scope="session")
def _private_cache(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """clinnlp's cache (the cleaned drug vocabulary) in a temporary folder, not the user's."""
    import os

    old = os.environ.get("CLINNLP_CACHE")
    os.environ["CLINNLP_CACHE"] = str(tmp_path_factory.mktemp("cache"))
    yield
    if old is None:
        os.environ.pop("CLINNLP_CACHE", None)
    else:
        os.environ["CLINNLP_CACHE"] = old


@pytest.fixture(scope="session")
def related_cases() -> list[tuple[str, str, str, str]]:
    return list(CAUSES)


def related_doc(i: int, text: str, cause: str, effect: str, other: str) -> Document:
    def ent(ident: str, label: str, word: str) -> Entity:
        start = text.index(word)
        return Entity(ident, label, start, start + len(word), word)

    ents = [ent("T1", "Drug", cause), ent("T2", "Adverse-Effect", effect), ent("T3", "Drug", other)]
    return Document(f"d{i}", text, ents, [Relation("Causes", "T1", "T2", "R1")])


@pytest.fixture(scope="session")
def related_docs() -> list[Document]:
    """The :data:`CAUSES` sentences with their Drug, Adverse-Effect and Causes annotations."""
    return [related_doc(i, *row) for i, row in enumerate(CAUSES)]


@pytest.fixture(scope="session")
def related_model(
    tiny_encoder: Path, related_docs: list[Document], tmp_path_factory: pytest.TempPathFactory
) -> Path:
    """A tiny model trained to link each event to the drug that caused it (relation head)."""
    from clinnlp.training.train import TrainConfig, save_model, train

    docs = related_docs
    cfg = TrainConfig(
        base=str(tiny_encoder),
        epochs=200,
        lr=3e-3,
        batch_size=6,
        dev_fraction=0,
        seed=0,
        precision="fp32",
    )
    tagger, _ = train(docs, cfg)
    assert tagger.relation_types == {"Causes": ("Drug", "Adverse-Effect")}
    return save_model(tagger, tmp_path_factory.mktemp("related") / "model", fp16=False)
