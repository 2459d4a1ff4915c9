"""The drug vocabulary: cleaning rules and longest-match finding."""

from __future__ import annotations

from clinnlp.modeling.vocabulary import DrugVocabulary, drug_vocabulary


def _found(vocabulary: DrugVocabulary, text: str) -> list[tuple[str, str]]:
    return [(text[m.start : m.end], m.drug) for m in vocabulary.find(text)]


def test_vocabulary_cleans_names():
    pairs = [
        ("co-trimoxazole", "co-trimoxazole"),
        ("5-fluorouracil", "fluorouracil"),
        ("insulin glargine", "insulin glargine"),
        ("insulin", "insulin"),
        ("more", "junk"),  # a stop word
        ("he", "helium"),  # two letters
        ("at 10", "junk"),  # starts with a stop word
        ("title=dapril", "junk"),  # markup left in the source
        ("normal saline", "saline"),  # out of scope for Drug
        ("hepatitis b vaccine", "vaccine"),
    ]
    vocabulary = DrugVocabulary.from_pairs(pairs, stop={"more", "at"})
    assert set(vocabulary.names) == {
        ("co", "-", "trimoxazole"),
        ("5", "-", "fluorouracil"),
        ("insulin", "glargine"),
        ("insulin",),
    }


def test_vocabulary_finds_longest_names_at_word_boundaries():
    vocabulary = DrugVocabulary.from_pairs(
        [("insulin", "insulin"), ("insulin glargine", "glargine"), ("warfarin", "warfarin")]
    )
    text = "Insulin glargine; warfarin-induced INR rise; insulinoma; insulin."
    assert _found(vocabulary, text) == [
        ("Insulin glargine", "glargine"),
        ("warfarin", "warfarin"),
        ("insulin", "insulin"),
    ]


def test_vocabulary_packaged_names_load_without_torch_or_spacy():
    import subprocess
    import sys

    code = (
        "import sys; from clinnlp.modeling.vocabulary import drug_vocabulary as d; v = d(); "
        "t = 'Lisinopril and Zestril, amoxicillin, NSAIDs; more oxygen.'; "
        "print(len(v), [t[m.start:m.end] for m in v.find(t)], "
        "'torch' in sys.modules, 'spacy' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    size, rest = out.stdout.split(" ", 1)
    assert int(size) > 50_000
    assert rest.strip() == "['Lisinopril', 'Zestril', 'amoxicillin', 'NSAIDs'] False False"
    assert drug_vocabulary() is drug_vocabulary()  # built once a process
