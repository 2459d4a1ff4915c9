"""Model inputs from documents for training: the partial-label targets of every word (see
:mod:`clinnlp.training.train` for what they mean) and the relation candidates of each window.
Nothing here imports torch."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from clinnlp.errors import ConfigError
from clinnlp.modeling.align import OUTSIDE, encode_bio, windows
from clinnlp.modeling.relations import candidate_pairs, distance_bucket, gap
from clinnlp.modeling.tagger import Tagger, encode_texts, token_range
from clinnlp.schema import Document


def corpus_labels(docs: Sequence[Document]) -> list[str]:
    """Sorted entity labels present in ``docs``."""
    return sorted({e.label for d in docs for e in d.entities})


#: ``allowed`` value of a subword that has no target (special tokens, later subwords).
IGNORE = 0


def allowed_masks(tags: Sequence[str], word_tags: Sequence[str], annotated: set[str]) -> list[int]:
    """The target of each word as a bit mask over ``tags`` (bit ``i``: tag ``i`` allowed).

    A word inside an entity allows exactly its tag. A word outside every entity allows ``O``
    and the tags of every label not in ``annotated`` (see the module docstring).
    """
    bit = {t: 1 << i for i, t in enumerate(tags)}
    outside = bit[OUTSIDE]
    for i, tag in enumerate(tags):
        if tag != OUTSIDE and tag[2:] not in annotated:
            outside |= 1 << i
    return [outside if t == OUTSIDE else bit[t] for t in word_tags]


def build_features(
    tagger: Tagger, docs: Sequence[Document], window: int
) -> tuple[list[dict[str, Any]], int]:
    """Tokenize documents into model inputs: the first subword of each word gets its target
    (a bit mask of allowed tags, :func:`allowed_masks`), the rest none (``IGNORE``). Long
    documents are cut into consecutive windows. With a relation head, each row also lists
    its entities (``[start, end, label index]`` in row positions) and candidate pairs
    (``[head, tail, type index, distance bucket, target]``) of the relations its document
    annotates (``metadata["relations_annotated"]``; all when absent).

    Returns:
        The feature rows and the number of entities BIO could not hold (nested or
        overlapping ones; see :func:`clinnlp.modeling.align.encode_bio`).
    """
    tok = tagger.tokenizer
    tags = tagger.tags
    if len(tags) > 62:
        raise ConfigError(f"{len(tags)} tags is more than the 62 a target mask can hold")
    known = {t[2:] for t in tags if t != OUTSIDE}
    types = tagger.relation_types
    rows, lost = [], 0
    for doc, enc in zip(docs, encode_texts(tok, [d.text for d in docs]), strict=True):
        if not enc.ids:
            continue
        annotated = set(doc.metadata.get("annotated", known)) & known
        ents = [(e.label, e.start, e.end) for e in doc.entities if e.label in known]
        word_tags, n_lost = encode_bio(enc.words, ents)
        lost += n_lost
        masks = allowed_masks(tags, word_tags, annotated)
        allowed = [IGNORE] * len(enc.ids)
        for w, t in enumerate(enc.first_subwords()):
            allowed[t] = masks[w]
        for s, e in (
            windows(len(enc.ids), window - 2, 0)
            if len(enc.ids) > window - 2
            else [(0, len(enc.ids))]
        ):
            row: dict[str, Any] = {
                "input_ids": [tok.cls_token_id, *enc.ids[s:e], tok.sep_token_id],
                "allowed": [IGNORE, *allowed[s:e], IGNORE],
                "kind": str(doc.metadata.get("corpus", "")).partition(":")[0],
            }
            if types:
                row["entities"], row["pairs"] = relation_targets(tagger, doc, enc, s, e)
            rows.append(row)
    return rows, lost


def relation_targets(
    tagger: Tagger, doc: Document, enc: Any, start: int, end: int
) -> tuple[list[list[int]], list[list[int]]]:
    """The entities inside the window ``[start, end)`` of a document's subwords and the
    candidate pairs among them, each with its target (1: the document holds the relation)."""
    config = tagger.meta["relations"]
    label_index = {label: i for i, label in enumerate(config["labels"])}
    type_index = {name: i for i, name in enumerate(sorted(config["types"]))}
    wanted = set(doc.metadata.get("relations_annotated", type_index))
    types = {k: v for k, v in tagger.relation_types.items() if k in wanted}
    inside = []
    for ent in doc.entities:
        first, last = token_range(enc.offsets, ent.start, ent.end)
        if ent.label in label_index and start <= first < last <= end:
            inside.append((ent, (first, last)))
    gold = {(r.head, r.tail, r.label) for r in doc.relations}
    entities = [[a - start + 1, b - start + 1, label_index[e.label]] for e, (a, b) in inside]
    pairs = [
        [
            i,
            j,
            type_index[name],
            distance_bucket(gap(inside[i][1], inside[j][1])),
            int((inside[i][0].id, inside[j][0].id, name) in gold),
        ]
        for i, j, name in candidate_pairs(
            [e.label for e, _ in inside],
            [r for _, r in inside],
            types,
            int(config["max_distance"]),
        )
    ]
    return (entities if pairs else []), pairs
