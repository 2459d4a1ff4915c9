"""The shipped default model: loads offline and tags long notes end to end."""

from clinnlp import DEFAULT_MODEL
from clinnlp.modeling.tagger import Tagger

SENTENCES = [
    "The patient developed a diffuse maculopapular rash three days after starting amoxicillin.",
    "Vital signs were stable and the abdomen was soft and non-tender.",
    "Lisinopril was stopped because of angioedema of the lips and tongue.",
    "She walked to the clinic and reported no new complaints today.",
    "Severe hyponatremia was attributed to hydrochlorothiazide.",
    "Follow-up in the office is planned in two weeks with repeat laboratory studies.",
]


def test_default_model_is_small_and_safetensors_only():
    files = {p.name for p in DEFAULT_MODEL.iterdir()}
    assert "model.safetensors" in files and "tokenizer.json" in files and "README.md" in files
    assert not {f for f in files if f.endswith((".bin", ".pt", ".pkl"))}
    size = sum(p.stat().st_size for p in DEFAULT_MODEL.rglob("*") if p.is_file())
    assert size <= 50 * 1024 * 1024


def test_default_model_loads_offline_and_tags_a_10000_word_note(no_network):
    tagger = Tagger.load(DEFAULT_MODEL, device="cpu")
    assert {"Drug", "Adverse-Effect"} <= set(tagger.labels)
    parts, words = [], 0
    while words < 10_000:
        for s in SENTENCES:
            parts.append(s)
            words += len(s.split())
    text = " ".join(parts)
    assert len(text.split()) >= 10_000
    (spans,) = tagger.predict([text])
    for s in spans:
        assert text[s.start : s.end].strip() == text[s.start : s.end]
    tenth = len(text) / 10
    deciles = {int(s.start // tenth) for s in spans if s.label == "Drug"}
    assert deciles == set(range(10)), f"drugs found only in tenths {sorted(deciles)}"
    drugs = {text[s.start : s.end].lower() for s in spans if s.label == "Drug"}
    assert {"amoxicillin", "lisinopril"} <= drugs
