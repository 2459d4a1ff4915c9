"""ConText: each status on the phrases the issue names, scopes, pseudo-triggers, rule files."""

from __future__ import annotations

from pathlib import Path

import pytest

from clinnlp.assertion.context import (
    Rule,
    assertions,
    find_modifiers,
    load_rules,
    parse_rules,
)
from clinnlp.errors import InputError


def statuses(text: str, *words: str) -> dict[str, str]:
    spans = [(text.index(w), text.index(w) + len(w)) for w in words]
    return dict(zip(words, assertions(text, spans), strict=True))


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            "Denies nausea, vomiting or diarrhea on metformin.",
            {"nausea": "negated", "vomiting": "negated", "diarrhea": "negated"},
        ),
        ("No rash or itching.", {"rash": "negated", "itching": "negated"}),
        ("No cough or dizziness reported.", {"cough": "negated", "dizziness": "negated"}),
        ("Discussed the risk of bleeding with warfarin.", {"bleeding": "hypothetical"}),
        ("Hold the gabapentin if she develops drowsiness.", {"drowsiness": "hypothetical"}),
        ("Rule out drug-induced hepatitis.", {"hepatitis": "possible"}),
        ("History of angioedema on lisinopril.", {"angioedema": "historical"}),
        ("Her mother had a reaction to penicillin.", {"reaction": "family"}),
        (
            "She no longer has the rash since stopping amoxicillin.",
            {"rash": "historical"},  # historical, not negated
        ),
        ("Counseled that warfarin can cause bleeding.", {"bleeding": "hypothetical"}),
        (
            "Toxicities discussed including alopecia and neuropathy.",
            {"alopecia": "hypothetical", "neuropathy": "hypothetical"},
        ),
        ("Not on insulin.", {"insulin": "negated"}),
        ("Tolerated the contrast without any hives.", {"hives": "negated"}),
        # negation that looks back (a forward-only ConText would call these present)
        ("Rash absent.", {"Rash": "negated"}),
        ("Cultures negative.", {"Cultures": "negated"}),
        ("Pneumonia was ruled out.", {"Pneumonia": "negated"}),
        ("Rash was not seen.", {"Rash": "negated"}),
        ("Nausea: denied.", {"Nausea": "negated"}),
        ("Nausea, vomiting: denied.", {"Nausea": "negated", "vomiting": "negated"}),
        ("Chest pain - denied.", {"Chest pain": "negated"}),
        ("She had nausea but denied vomiting.", {"nausea": "present", "vomiting": "negated"}),
        # general statements of what a drug can do (the real-notes issue)
        ("Amiodarone is known to cause pulmonary fibrosis.", {"fibrosis": "hypothetical"}),
        ("Valproate has been associated with pancreatitis.", {"pancreatitis": "hypothetical"}),
        ("Chronic steroids can lead to osteoporosis.", {"osteoporosis": "hypothetical"}),
    ],
)
def test_context_statuses_of_the_issue_phrases(text, expected):
    assert statuses(text, *expected) == expected


def test_context_present_when_nothing_modifies():
    assert statuses("Developed hives after amoxicillin.", "hives") == {"hives": "present"}
    # uncertain attribution leaves the event itself present (guideline decision 2)
    text = "Myalgias, possibly a side effect of the atorvastatin."
    assert statuses(text, "Myalgias") == {"Myalgias": "present"}


def test_context_scope_ends_at_termination_and_sentence():
    text = "No rash, but she has itching on amoxicillin."
    assert statuses(text, "rash", "itching") == {"rash": "negated", "itching": "present"}
    text = "No fever. Nausea on metformin."
    sentences = [(0, 9), (10, len(text))]
    spans = [(text.index("Nausea"), text.index("Nausea") + 6)]
    assert assertions(text, spans, sentences) == ["present"]
    text = "Developed hives after amoxicillin; no wheezing."
    assert statuses(text, "hives", "wheezing") == {"hives": "present", "wheezing": "negated"}


def test_context_pseudo_triggers_block_shorter_triggers():
    text = "No change in her rash since amoxicillin was stopped."
    assert statuses(text, "rash") == {"rash": "present"}
    text = "Mother reports she developed hives after amoxicillin."
    assert statuses(text, "hives") == {"hives": "present"}  # the mother is the informant


def test_context_strongest_status_wins_and_triggers_are_not_targets():
    text = "No history of angioedema."
    assert statuses(text, "angioedema") == {"angioedema": "negated"}
    (modifier,) = [m for m in find_modifiers(text, [(0, len(text))]) if m.status == "negated"]
    assert text[modifier.start : modifier.end] == "No"


def test_context_max_scope_counts_words():
    rules = [Rule("without", "NEGATED", "forward", 2)]
    text = "Without any fever or rash."
    spans = [
        (text.index("fever"), text.index("fever") + 5),
        (text.index("rash"), text.index("rash") + 4),
    ]
    assert assertions(text, spans, rules=rules) == ["negated", "present"]


def test_context_rule_file_is_checked(tmp_path: Path):
    assert len(load_rules()) > 200 and load_rules() is load_rules()
    bad = tmp_path / "rules.tsv"
    bad.write_text("# comment\nno\tNEGATED\tforward\nmaybe\tUNSURE\tforward\n", "utf-8")
    with pytest.raises(InputError, match=r"rules.tsv:3"):
        parse_rules(bad.read_text("utf-8"), bad)
    assert parse_rules("no\tNEGATED\n") == [Rule("no", "NEGATED", "forward", None)]
