"""The drug vocabulary: cleaning rules and longest-match finding."""

from __future__ import annotations

from clinnlp.lexicon.vocabulary import DrugVocabulary, drug_vocabulary


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
        "import sys; from clinnlp.lexicon.vocabulary import drug_vocabulary as d; v = d(); "
        "t = 'Lisinopril and Zestril, amoxicillin, NSAIDs; more oxygen.'; "
        "print(len(v), [t[m.start:m.end] for m in v.find(t)], "
        "'torch' in sys.modules, 'spacy' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    size, rest = out.stdout.split(" ", 1)
    assert int(size) > 50_000
    assert rest.strip() == "['Lisinopril', 'Zestril', 'amoxicillin', 'NSAIDs'] False False"
    assert drug_vocabulary() is drug_vocabulary()  # built once a process


def test_guideline_drug_words_are_found_unless_their_neighbours_rule_them_out():
    from clinnlp.lexicon.vocabulary import drug_terms

    terms = drug_terms()
    text = (
        "In contrast, IV contrast was given; contrast-enhanced CT. ASA class II, on ASA 81 mg. "
        "Beta blockers, ACE inhibitors, abx and a PPI."
    )
    found = [(text[m.start : m.end], m.drug) for m in terms.find(text)]
    assert found == [
        ("contrast", "contrast agent"),
        ("ASA", "aspirin"),
        ("Beta blockers", "beta-blocker"),
        ("ACE inhibitors", "ACE inhibitor"),
        ("abx", "antibiotic"),
        ("PPI", "proton pump inhibitor"),
    ]
    assert [text[m.start : m.start + 8] for m in terms.find(text)][:2] == ["contrast", "ASA 81 m"]
    other = "Non-contrast CT; contrast CT; contrast-induced nephropathy; well versed; on Versed."
    assert [other[m.start : m.end] for m in terms.find(other)] == ["contrast", "Versed"]
    assert terms.find(other)[0].start == other.index("contrast-induced")


def test_guideline_drug_words_file_errors_name_the_line(tmp_path):
    import pytest

    from clinnlp.errors import ConfigError
    from clinnlp.lexicon.vocabulary import DrugTerms

    path = tmp_path / "terms.tsv"
    for body, line, message in [
        ("naming-nothing\n", 3, "expected a term, a tab and what it names"),
        ("Statins\tstatin\n", 3, "the term is given twice"),
        ("ab\tsomething\n", 3, "the term is too short or out of scope"),
    ]:
        path.write_text(f"# comment\nstatins\tstatin\n{body}", "utf-8")
        with pytest.raises(ConfigError, match=rf"terms\.tsv:{line}: {message}"):
            DrugTerms.read(path)


def test_merge_keeps_confident_or_named_drugs_adds_names_and_drops_events_inside_names():
    from clinnlp.lexicon.vocabulary import merge_drugs
    from clinnlp.modeling.align import SpanPrediction as Span

    vocabulary = DrugVocabulary.from_pairs([("cefotaxime", "cefotaxime"), ("heparin", "heparin")])
    text = "Cefotaxime given. Vicryl closure. Heparin drip, IV contrast; NSAID rash."

    def span(label: str, word: str, confidence: float) -> Span:
        return Span(label, text.index(word), text.index(word) + len(word), confidence)

    spans = [
        span("Adverse-Effect", "Cefotaxime", 0.6),  # a drug name read as an event
        span("Drug", "Vicryl", 0.9),  # not a vocabulary name, not confident
        span("Drug", "Heparin", 0.5),  # a name: kept at any confidence
        span("Adverse-Effect", "rash", 0.9),  # outside every name: kept
    ]
    merged = merge_drugs(text, spans, 0.95, vocabulary)
    assert [(p.label, text[p.start : p.end], p.confidence) for p in merged] == [
        ("Drug", "Cefotaxime", 1.0),
        ("Drug", "Heparin", 0.5),
        ("Drug", "contrast", 1.0),
        ("Drug", "NSAID", 1.0),
        ("Adverse-Effect", "rash", 0.9),
    ]
    without = merge_drugs(text, spans, 0.95, vocabulary, terms=False)
    assert [text[p.start : p.end] for p in without] == ["Cefotaxime", "Heparin", "rash"]


def test_merge_drops_what_the_guideline_puts_out_of_scope_however_confident():
    """Sutures and dressings are no drugs even when the vocabulary names them ("Coban" is a
    monensin brand there) or the tagger is sure; "luminal" is anatomy, not phenobarbital."""
    from clinnlp.lexicon.vocabulary import merge_drugs
    from clinnlp.modeling.align import SpanPrediction as Span

    text = (
        "Closed with 4-0 Vicryl, wrapped in Coban; luminal narrowing. Lidocaine given. "
        "Fluticasone nasal spray."
    )
    vicryl, spray = text.index("Vicryl"), text.index("Fluticasone nasal spray")
    spans = [Span("Drug", vicryl, vicryl + 6, 0.99), Span("Drug", spray, spray + 23, 0.99)]
    merged = merge_drugs(text, spans, 0.95)
    assert [(p.label, text[p.start : p.end]) for p in merged] == [
        ("Drug", "Lidocaine"),
        ("Drug", "Fluticasone"),  # the form left out, as the guideline's spans do
    ]
    without = merge_drugs(text, spans, 0.95, terms=False)
    assert [text[p.start : p.end] for p in without] == [
        "Vicryl",
        "Coban",
        "luminal",
        "Lidocaine",
        "Fluticasone nasal spray",
    ]


def test_cleaned_vocabulary_is_cached_rebuilt_when_unreadable_and_optional(tmp_path, monkeypatch):
    import clinnlp.lexicon.vocabulary as v

    built = v.cached_drug_vocabulary(tmp_path)
    (cached,) = tmp_path.glob("drug-vocabulary-*.tsv")
    monkeypatch.setattr(v, "build_drug_vocabulary", lambda: 1 / 0)  # must not be needed now
    again = v.cached_drug_vocabulary(tmp_path)
    assert again.names == built.names and list(again.names) == list(built.names)
    assert len(again) > 50_000 and again.longest == built.longest
    monkeypatch.undo()
    cached.write_text("a line without its drug\n", "utf-8")
    assert v.cached_drug_vocabulary(tmp_path).names == built.names  # rebuilt and rewritten
    assert v.cached_drug_vocabulary(tmp_path).names == built.names
    blocked = tmp_path / "a-file"
    blocked.write_text("", "utf-8")
    assert v.cached_drug_vocabulary(blocked / "cache").names == built.names  # not writable
