"""The windowed tagger of ``clinnlp.modeling.tagger``: window stitching, decoding and precision."""

from __future__ import annotations

import shutil
from pathlib import Path
from types import SimpleNamespace

import pytest

from clinnlp.errors import ModelError
from clinnlp.modeling.tagger import Tagger, base_model_path

TAGS = ["O", "B-Drug", "I-Drug"]


class LookupModel:
    """A context-free stand-in for a transformer: each subword's logits depend on its id
    alone (``B-Drug`` for ``first``, ``I-Drug`` for ``rest``, else ``O``), so any windowing
    must give exactly the spans of one pass over the whole text."""

    def __init__(
        self, first: set[int], rest: set[int], rest_row: tuple[float, ...] = (0.5, 0.0, 2.5)
    ) -> None:
        import torch

        self.config = SimpleNamespace(
            id2label=dict(enumerate(TAGS)), num_labels=3, max_position_embeddings=512
        )
        self.first, self.rest, self.rest_row, self.torch = first, rest, rest_row, torch

    def to(self, *args, **kwargs):
        return self

    def eval(self):
        return self

    def __call__(self, input_ids, attention_mask):
        torch = self.torch
        logits = torch.zeros((*input_ids.shape, 3))
        logits[..., 0] = 2.0
        for i in self.first:
            logits[input_ids == i] = torch.tensor([0.0, 2.5, 0.0])
        for i in self.rest:
            logits[input_ids == i] = torch.tensor(self.rest_row)
        return SimpleNamespace(logits=logits)


def test_modeling_span_across_a_window_boundary_decodes_as_in_one_pass():
    from transformers import AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(base_model_path(), local_files_only=True)
    drug = "acetylsalicylic acid"
    first = tokenizer(drug, add_special_tokens=False)["input_ids"]
    words = tokenizer("acetylsalicylic", add_special_tokens=False)["input_ids"]
    model = LookupModel({words[0]}, set(first) - {words[0]})
    # the drug after 0, 1, 2... filler words, so its words fall on every window boundary
    parts = [" ".join(["then"] * k + [drug]) for k in range(12)]
    text = " and ".join(parts) + "."
    expected = []
    at = text.find(drug)
    while at >= 0:
        expected.append(("Drug", at, at + len(drug)))
        at = text.find(drug, at + 1)
    whole = Tagger(model, tokenizer, {"window": 512}, precision="fp32")
    assert whole.window > len(tokenizer(text, add_special_tokens=False)["input_ids"])
    (one_pass,) = whole.predict([text])
    assert [(s.label, s.start, s.end) for s in one_pass] == expected
    for window in (6, 7, 9, 12, 20):
        tagger = Tagger(model, tokenizer, {"window": window, "stride": 2}, precision="fp32")
        (spans,) = tagger.predict([text])
        assert [(s.label, s.start, s.end) for s in spans] == expected, window


TEXTS = [
    "Pt developed a rash after starting amoxicillin 500 mg TID.",
    "Denies nausea on metformin. Continue lisinopril 10 mg daily.",
    "Lithium toxicity presented as confusion and a coarse tremor. " * 12,
]
TRAIN = [
    ("She developed a rash after starting amoxicillin.", ["rash"], ["amoxicillin"]),
    ("Nausea on metformin was mild.", ["Nausea"], ["metformin"]),
    ("Cough attributed to lisinopril.", ["Cough"], ["lisinopril"]),
    ("Lithium toxicity presented as confusion and a coarse tremor.", ["tremor"], ["Lithium"]),
]


@pytest.fixture(scope="module")
def confident_model(tiny_encoder: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The tiny model trained until it is sure of its tags (as a real model is), so that
    the spans it predicts are stable: rounding must not be what the test measures."""
    from clinnlp.schema import Document, Entity
    from clinnlp.training.train import TrainConfig, train

    docs = []
    for i, (text, effects, drugs) in enumerate(TRAIN):
        ents = [
            Entity(f"T{j}", label, text.index(w), text.index(w) + len(w), w)
            for j, (label, w) in enumerate(
                [("Adverse-Effect", w) for w in effects] + [("Drug", w) for w in drugs]
            )
        ]
        docs.append(Document(f"d{i}", text, ents))
    cfg = TrainConfig(
        base=str(tiny_encoder),
        epochs=150,
        lr=3e-3,
        batch_size=4,
        dev_fraction=0,
        seed=0,
        precision="fp32",
    )
    tagger, _ = train(docs, cfg)
    path = tmp_path_factory.mktemp("confident")
    tagger.save(path, fp16=False)
    return path


def _spans(tagger: Tagger) -> list[list[tuple[str, int, int]]]:
    return [[(s.label, s.start, s.end) for s in doc] for doc in tagger.predict(TEXTS)]


def test_modeling_fp16_weights_and_bf16_inference_give_the_fp32_spans(confident_model, tmp_path):
    import torch

    reference = _spans(Tagger.load(confident_model, device="cpu", precision="fp32"))
    assert sum(len(doc) for doc in reference) >= 10  # a test of something
    bf16 = Tagger.load(confident_model, device="cpu", precision="bf16")
    assert bf16.use_bf16
    assert _spans(bf16) == reference
    saved = Tagger.load(confident_model, device="cpu", precision="fp32").save(tmp_path / "half")
    from safetensors import safe_open

    with safe_open(str(saved / "model.safetensors"), "pt") as weights:
        dtypes = {weights.get_tensor(k).dtype for k in weights.keys()}  # noqa: SIM118
    assert dtypes == {torch.float16}  # saved in half precision by default
    half = Tagger.load(saved, device="cpu", precision="fp32")
    assert next(half.model.parameters()).dtype == torch.float32  # loaded back as fp32
    assert _spans(half) == reference


def test_modeling_int8_inference_gives_the_fp32_spans(confident_model):
    """Dynamic int8 quantization of the linear layers keeps the spans of a confident model;
    an int8 tagger is for inference only (saving it is refused), and only on the CPU."""
    from clinnlp.errors import ModelError

    reference = _spans(Tagger.load(confident_model, device="cpu", precision="fp32"))
    int8 = Tagger.load(confident_model, device="cpu", precision="int8")
    assert int8.int8 and not int8.use_bf16
    linear = type(int8.model.bert.encoder.layer[0].attention.self.query)
    assert "quantized" in linear.__module__
    assert _spans(int8) == reference
    with pytest.raises(ModelError, match="int8"):
        int8.save(Path("/nowhere"))
    with pytest.raises(ModelError, match="precision must be one of"):
        Tagger.load(confident_model, device="cpu", precision="int4")


def test_modeling_pickled_weights_are_refused(tiny_model: Path, tmp_path: Path):
    folder = tmp_path / "pickled"
    folder.mkdir()
    for name in ("config.json", "tokenizer.json", "tokenizer_config.json"):
        shutil.copy2(tiny_model / name, folder / name)
    (folder / "pytorch_model.bin").write_bytes(b"not loaded: refused before any unpickling")
    with pytest.raises(ModelError, match="pickled weights are refused"):
        Tagger.load(folder)


def test_modeling_constrained_decoding_differs_from_argmax_where_bio_is_broken():
    """A word whose best tag is I-Drug with no Drug before it: argmax opens a span there,
    the BIO-constrained decoder does not (the README's decoding claim)."""
    from transformers import AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(base_model_path(), local_files_only=True)
    (acid,) = tokenizer("acid", add_special_tokens=False)["input_ids"]
    # "folic" is O (2.0 vs 0.0); "acid" prefers I-Drug (2.0) to O (1.0). The best legal
    # path is O, O: B-Drug, I-Drug would pay 2.0 on "folic" to gain 1.0 on "acid".
    model = LookupModel(first=set(), rest={acid}, rest_row=(1.0, 0.0, 2.0))
    tagger = Tagger(model, tokenizer, {}, precision="fp32")
    text = "folic acid daily"
    (argmax,) = tagger.predict([text], constrained=False)
    (viterbi,) = tagger.predict([text], constrained=True)
    assert [(s.label, text[s.start : s.end]) for s in argmax] == [("Drug", "acid")]
    assert viterbi == []
