"""A short real-model run: the packaged MiniLM fine-tuned for a few steps on CPU."""

import json

import pytest

from clinnlp.modeling.tagger import Tagger
from clinnlp.schema import Document, Entity
from clinnlp.training.features import IGNORE, allowed_masks, build_features
from clinnlp.training.losses import partial_label_loss
from clinnlp.training.train import TrainConfig, save_model, train

SENTENCES = [
    (
        "Severe hepatotoxicity developed after starting isoniazid.",
        [("Adverse-Effect", "hepatotoxicity"), ("Drug", "isoniazid")],
    ),
    ("She developed a rash on amoxicillin.", [("Adverse-Effect", "rash"), ("Drug", "amoxicillin")]),
    (
        "Lithium toxicity presented as confusion.",
        [("Drug", "Lithium"), ("Adverse-Effect", "confusion")],
    ),
    (
        "Angioedema was attributed to lisinopril.",
        [("Adverse-Effect", "Angioedema"), ("Drug", "lisinopril")],
    ),
    (
        "Warfarin caused gastrointestinal bleeding.",
        [("Drug", "Warfarin"), ("Adverse-Effect", "gastrointestinal bleeding")],
    ),
    (
        "Hyperkalemia followed spironolactone therapy.",
        [("Adverse-Effect", "Hyperkalemia"), ("Drug", "spironolactone")],
    ),
]


def make_doc(i: int, text: str, spans: list[tuple[str, str]]) -> Document:
    ents = []
    for j, (label, surface) in enumerate(spans, 1):
        start = text.index(surface)
        ents.append(Entity(f"T{j}", label, start, start + len(surface), surface))
    return Document(f"d{i}", text, ents)


@pytest.fixture(scope="module")
def docs() -> list[Document]:
    return [make_doc(i, t, s) for i, (t, s) in enumerate(SENTENCES)]


def test_train_features_label_first_subwords_only(docs):
    from clinnlp.modeling.tagger import new_model

    tagger = new_model(["Adverse-Effect", "Drug"])
    rows, lost = build_features(tagger, docs[:1], window=256)
    assert lost == 0
    allowed = rows[0]["allowed"]
    single = {1 << i: t for i, t in enumerate(tagger.tags)}
    labelled = [single[a] for a in allowed if a != IGNORE]
    assert labelled.count("B-Drug") == 1 and labelled.count("B-Adverse-Effect") == 1
    assert allowed[0] == IGNORE and allowed[-1] == IGNORE
    assert len(rows[0]["input_ids"]) == len(allowed)


def test_train_allowed_masks_leave_unannotated_labels_open():
    tags = ["O", "B-AE", "I-AE", "B-Drug", "I-Drug"]
    word_tags = ["B-AE", "O", "I-AE"]
    # Drug unannotated: an outside word may be O or any Drug tag; an AE word only its tag.
    assert allowed_masks(tags, word_tags, {"AE"}) == [0b00010, 0b11001, 0b00100]
    assert allowed_masks(tags, word_tags, {"AE", "Drug"}) == [0b00010, 0b00001, 0b00100]


def test_train_unannotated_token_adds_no_loss_for_its_label():
    """A token whose source does not annotate Drug costs the same whether the model puts its
    mass on O or on B-Drug, and its gradient never pushes between them; an annotated one
    does."""
    import torch

    tags = ["O", "B-AE", "I-AE", "B-Drug", "I-Drug"]
    (open_o,) = allowed_masks(tags, ["O"], {"AE"})
    (closed_o,) = allowed_masks(tags, ["O"], {"AE", "Drug"})
    as_o = torch.tensor([[[4.0, 0.0, 0.0, -4.0, 0.0]]])
    as_drug = torch.tensor([[[-4.0, 0.0, 0.0, 4.0, 0.0]]])
    unannotated = torch.tensor([[open_o]])
    annotated = torch.tensor([[closed_o]])
    assert partial_label_loss(as_o, unannotated) == pytest.approx(
        float(partial_label_loss(as_drug, unannotated)), abs=1e-6
    )
    assert float(partial_label_loss(as_drug, annotated)) > 7.0  # taught O: B-Drug is wrong
    logits = as_o.clone().requires_grad_(True)
    partial_label_loss(logits, unannotated).backward()
    grad = logits.grad[0, 0]
    # the gradient treats O and the Drug tags alike (softmax shares them by their own mass)
    assert grad[0] / torch.softmax(as_o[0, 0], -1)[0] == pytest.approx(
        float(grad[3] / torch.softmax(as_o[0, 0], -1)[3]), rel=1e-4
    )
    # ignored positions add nothing
    both = torch.cat([as_drug, as_o], dim=1)
    mask = torch.tensor([[IGNORE, closed_o]])
    assert float(partial_label_loss(both, mask)) == pytest.approx(
        float(partial_label_loss(as_o, annotated)), abs=1e-6
    )


def test_train_long_documents_are_windowed(docs):
    from clinnlp.modeling.tagger import new_model

    tagger = new_model(["Adverse-Effect", "Drug"])
    long_doc = Document("long", " ".join(d.text for d in docs) * 20)
    rows, _ = build_features(tagger, [long_doc], window=64)
    assert len(rows) > 1 and all(len(r["input_ids"]) <= 64 for r in rows)


def test_train_save_load_and_tag_character_exact(docs, tmp_path):
    cfg = TrainConfig(
        epochs=40, max_steps=36, lr=3e-4, batch_size=6, dev_fraction=0, warmup=0.05, seed=1
    )
    tagger, metrics = train(docs, cfg)
    assert metrics["history"][-1]["loss"] < metrics["history"][0]["loss"]
    path = save_model(tagger, tmp_path / "model", card="# card\n")
    meta = json.loads((path / "clinnlp.json").read_text())
    assert meta["labels"] == ["Adverse-Effect", "Drug"] and meta["config"]["lr"] == 3e-4
    assert (path / "model.safetensors").is_file() and not list(path.glob("*.bin"))

    loaded = Tagger.load(path, device="cpu")
    assert loaded.labels == ["Adverse-Effect", "Drug"]
    texts = [d.text for d in docs] + [
        "Two weeks later the patient developed a rash on amoxicillin again."
    ]
    preds = loaded.predict(texts)
    for text, spans in zip(texts, preds, strict=True):
        for s in spans:
            assert 0 <= s.start < s.end <= len(text)
            assert text[s.start : s.end] == text[s.start : s.end].strip()
            assert 0.0 <= s.confidence <= 1.0
    found = {(s.label, texts[1][s.start : s.end]) for s in preds[1]}
    assert ("Drug", "amoxicillin") in found


def test_train_dev_split_early_stopping_keeps_the_best_epoch(docs, tiny_encoder, monkeypatch):
    """With a dev split, training stops after `patience` epochs without a better dev F1 and
    returns the weights of the best epoch, not the last."""
    import torch

    import clinnlp.training.train as tr

    scripted = iter([0.5, 0.7, 0.6, 0.65, 0.9])
    snapshots = []

    def fake_predict(tagger, dev, batch_size=64, constrained=True):
        snapshots.append({k: v.clone() for k, v in tagger.model.state_dict().items()})
        return list(dev)

    monkeypatch.setattr(tr, "predict_documents", fake_predict)
    monkeypatch.setattr(tr, "strict_f1", lambda gold, pred, labels=None: next(scripted))
    cfg = TrainConfig(
        base=str(tiny_encoder), epochs=10, lr=1e-3, batch_size=2, dev_fraction=0.34, patience=2
    )
    tagger, metrics = train(docs, cfg)
    assert [h["dev_f1"] for h in metrics["history"]] == [0.5, 0.7, 0.6, 0.65]
    assert metrics["best_dev_f1"] == 0.7 and metrics["dev_documents"] == 2
    assert metrics["train_documents"] == 4
    best, last = snapshots[1], snapshots[3]
    state = tagger.model.state_dict()
    assert all(torch.equal(state[k], best[k]) for k in best)
    assert not all(torch.equal(state[k], last[k]) for k in last)
