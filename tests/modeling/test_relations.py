"""The relation head: candidate pairs, type inference, and a tiny model that learns which of
two drugs caused an event, through training, saving, loading and windowed extraction."""

from __future__ import annotations

from pathlib import Path

import pytest

from clinnlp.modeling.relations import candidate_pairs, distance_bucket, gap, infer_types
from clinnlp.schema import Document, Entity

TYPES = {"Causes": ("Drug", "Adverse-Effect"), "Dose-of": ("Dose", "Drug")}


def test_relations_candidates_follow_types_and_distance():
    labels = ["Drug", "Adverse-Effect", "Dose", "Drug"]
    ranges = [(0, 2), (5, 6), (2, 3), (40, 41)]
    assert candidate_pairs(labels, ranges, TYPES, max_distance=10) == [
        (0, 1, "Causes"),
        (2, 0, "Dose-of"),
    ]
    assert (3, 1, "Causes") in candidate_pairs(labels, ranges, TYPES, max_distance=40)
    assert gap((0, 2), (5, 6)) == 3 and gap((5, 6), (0, 2)) == 3 and gap((0, 3), (2, 4)) == 0
    assert [distance_bucket(g) for g in (0, 1, 5, 100, 1000)] == [0, 1, 4, 13, 15]


def test_relations_types_from_the_most_frequent_arguments():
    triples = [("Causes", "Drug", "ADE")] * 3 + [
        ("Causes", "ADE", "Drug"),
        ("Dose-of", "Dose", "Drug"),
    ]
    types, odd = infer_types(triples)
    assert types == {"Causes": ("Drug", "ADE"), "Dose-of": ("Dose", "Drug")} and odd == 1


def _found(tagger, texts):
    out = []
    for text, (spans, relations) in zip(texts, tagger.extract(texts), strict=True):
        words = [text[s.start : s.end] for s in spans]
        out.append({(r.label, words[r.head], words[r.tail]) for r in relations})
    return out


def test_relations_tiny_model_learns_which_drug_caused_the_event(
    related_model: Path, related_cases
):
    from clinnlp.modeling.tagger import Tagger

    tagger = Tagger.load(related_model, device="cpu", precision="fp32")
    texts = [row[0] for row in related_cases]
    found = _found(tagger, texts)
    for (_, cause, effect, other), rels in zip(related_cases, found, strict=True):
        assert ("Causes", cause, effect) in rels, rels
        assert ("Causes", other, effect) not in rels, rels


def test_relations_survive_saving_in_fp16_and_windowing(
    related_model: Path, related_cases, tmp_path: Path
):
    """The head is saved beside the encoder (fp16 by default) and reloaded; a pair inside a
    long text is scored in a window that holds both spans, as in a short one."""
    from clinnlp.modeling.tagger import RELATIONS_FILE, Tagger

    tagger = Tagger.load(related_model, device="cpu", precision="fp32")
    half = Tagger.load(tagger.save(tmp_path / "half"), device="cpu", precision="fp32")
    assert (tmp_path / "half" / RELATIONS_FILE).is_file()
    texts = [row[0] for row in related_cases]
    assert _found(half, texts) == _found(tagger, texts)
    long_text = " ".join(texts * 4)  # ~200 subwords: several windows of 64
    small = Tagger(
        tagger.model,
        tagger.tokenizer,
        {**tagger.meta, "window": 64, "stride": 16},
        precision="fp32",
        relations=tagger.relations,
    )
    assert len(small.tokenizer(long_text)["input_ids"]) > 3 * 64
    (rels,) = _found(small, [long_text])
    for _, cause, effect, _ in related_cases:  # every pair, wherever the window edges fall
        assert ("Causes", cause, effect) in rels, rels


def test_relations_head_needs_relations_in_the_corpus(tiny_encoder: Path):
    from clinnlp.training.train import TrainConfig, train

    docs = [Document("d", "Rash on amoxicillin.", [Entity("T1", "Drug", 8, 19, "amoxicillin")])]
    cfg = TrainConfig(base=str(tiny_encoder), epochs=1, dev_fraction=0, precision="fp32")
    tagger, _ = train(docs, cfg)
    assert tagger.relations is None and "relations" not in tagger.meta
    assert tagger.extract(["Rash on amoxicillin."])[0][1] == []


def test_relations_a_model_missing_its_relation_head_file_is_refused(
    related_model: Path, tmp_path: Path
) -> None:
    import shutil

    from clinnlp.errors import ModelError
    from clinnlp.modeling.tagger import RELATIONS_FILE, Tagger

    broken = tmp_path / "model"
    shutil.copytree(related_model, broken)
    (broken / RELATIONS_FILE).unlink()
    with pytest.raises(ModelError, match=RELATIONS_FILE):
        Tagger.load(broken)


def test_relations_inference_keeps_max_distance_and_reads_real_distances(
    related_model: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """At inference the head scores only pairs at most ``max_distance`` subwords apart, each
    with the bucket of its own distance (not bucket 0 for all)."""
    import json
    import shutil

    from clinnlp.modeling.align import SpanPrediction
    from clinnlp.modeling.tagger import Tagger, encode_texts, token_range

    model = tmp_path / "model"
    shutil.copytree(related_model, model)
    meta = json.loads((model / "clinnlp.json").read_text())
    meta["relations"]["max_distance"] = 6
    (model / "clinnlp.json").write_text(json.dumps(meta))
    tagger = Tagger.load(model, device="cpu", precision="fp32")
    text = "Rash after amoxicillin; lisinopril was continued for years and years, then hives."
    words = ["Rash", "amoxicillin", "lisinopril", "hives"]
    labels = ["Adverse-Effect", "Drug", "Drug", "Adverse-Effect"]
    spans = [
        SpanPrediction(label, text.index(w), text.index(w) + len(w), 1.0)
        for w, label in zip(words, labels, strict=True)
    ]
    seen: list[list[int]] = []
    head = tagger.relations

    def spy(states, entities, pairs):
        seen.extend(pairs.tolist())
        return head(states, entities, pairs)

    monkeypatch.setattr(tagger, "relations", spy)
    (enc,) = encode_texts(tagger.tokenizer, [text])
    plan = [(0, len(enc.ids))]
    states = [s for _, s in tagger._forward([enc.ids], 8, states=True)]
    tagger._relations(enc, plan, states, spans)
    ranges = [token_range(enc.offsets, s.start, s.end) for s in spans]
    expected = {
        (i, j): distance_bucket(gap(ranges[i], ranges[j]))
        for i, j, _ in candidate_pairs(labels, ranges, tagger.relation_types, 6)
    }
    assert expected and len(expected) < 4  # some drug-event pairs lie farther than 6 apart
    # rows are [head, tail, type, bucket] over the window's entities: compare buckets as a set
    assert len(set(expected.values())) > 1  # the text holds pairs at different distances
    assert sorted(row[3] for row in seen) == sorted(expected.values())


def test_relations_are_scored_not_given_to_the_nearest_drug(
    related_model: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The head's scores decide the link: a head that scores only the farther drug's pair
    links the event to it, though another drug stands nearer."""
    import torch

    from clinnlp.modeling.align import SpanPrediction
    from clinnlp.modeling.tagger import Tagger

    tagger = Tagger.load(related_model, device="cpu", precision="fp32")
    text = "Lisinopril for years; metformin, then angioedema."
    words, labels = ["Lisinopril", "metformin", "angioedema"], ["Drug", "Drug", "Adverse-Effect"]
    spans = [
        SpanPrediction(label, text.index(w), text.index(w) + len(w), 1.0)
        for w, label in zip(words, labels, strict=True)
    ]

    def far_drug_only(states, entities, pairs):
        starts = entities[:, 0]
        first = starts.argmin()  # the entity that starts first: Lisinopril
        return torch.where(pairs[:, 0] == first, 5.0, -5.0)

    monkeypatch.setattr(tagger, "relations", far_drug_only)
    from clinnlp.modeling.tagger import encode_texts

    (enc,) = encode_texts(tagger.tokenizer, [text])
    states = [s for _, s in tagger._forward([enc.ids], 8, states=True)]
    found = tagger._relations(enc, [(0, len(enc.ids))], states, spans)
    assert [(spans[r.head].start, spans[r.tail].start) for r in found] == [
        (text.index("Lisinopril"), text.index("angioedema"))
    ]
