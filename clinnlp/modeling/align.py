"""Pure functions between character offsets, words, subword tokens and BIO tags.

A *word* here is what the tokenizer's pre-tokenizer yields (split at whitespace and
punctuation); training labels the first subword of each word and decoding reads them back, as
in Hugging Face's ``run_ner.py``. Nothing here imports torch.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

OUTSIDE = "O"


@dataclass(frozen=True)
class SpanPrediction:
    """A decoded span: label, character offsets and the mean probability of its tags."""

    label: str
    start: int
    end: int
    confidence: float


def bio_tags(labels: Sequence[str]) -> list[str]:
    """Return the tag set ``["O", "B-x", "I-x", ...]`` for entity labels, sorted for stability."""
    tags = [OUTSIDE]
    for label in sorted(set(labels)):
        tags += [f"B-{label}", f"I-{label}"]
    return tags


def word_offsets(
    token_offsets: Sequence[tuple[int, int]], word_ids: Sequence[int | None]
) -> list[tuple[int, int]]:
    """Character span of each word from its subword tokens' offsets (special tokens skipped)."""
    spans: dict[int, tuple[int, int]] = {}
    for (start, end), wid in zip(token_offsets, word_ids, strict=True):
        if wid is None:
            continue
        if wid in spans:
            spans[wid] = (spans[wid][0], max(spans[wid][1], end))
        else:
            spans[wid] = (start, end)
    return [spans[i] for i in sorted(spans)]


def encode_bio(
    words: Sequence[tuple[int, int]], entities: Sequence[tuple[str, int, int]]
) -> tuple[list[str], int]:
    """Tag words from character-offset entities ``(label, start, end)``.

    A word belongs to an entity when their character spans overlap, so an entity boundary
    inside a word widens the entity to the whole word. Entities are placed longest first and
    never overwrite a word already tagged (BIO cannot nest).

    Returns:
        The tags, one per word, and how many entities could not be placed (no word, or all
        their words taken by another entity).
    """
    tags = [OUTSIDE] * len(words)
    lost = 0
    for label, start, end in sorted(entities, key=lambda e: (-(e[2] - e[1]), e[1])):
        idx = [i for i, (ws, we) in enumerate(words) if ws < end and start < we]
        if not idx or any(tags[i] != OUTSIDE for i in idx):
            lost += 1
            continue
        tags[idx[0]] = f"B-{label}"
        for i in idx[1:]:
            tags[i] = f"I-{label}"
    return tags, lost


def allowed_transition(prev: str, tag: str) -> bool:
    """BIO grammar: ``I-x`` may only follow ``B-x`` or ``I-x``."""
    if not tag.startswith("I-"):
        return True
    return prev[2:] == tag[2:] and prev != OUTSIDE


def viterbi(log_probs: np.ndarray, tags: Sequence[str]) -> list[int]:
    """Most probable tag sequence under the BIO grammar (constrained decoding).

    Args:
        log_probs: ``(words, tags)`` per-tag log probabilities.
        tags: the tag names, in column order.

    Returns:
        The chosen tag index for every word.
    """
    n, k = log_probs.shape
    if n == 0:
        return []
    banned = np.array([[0.0 if allowed_transition(a, b) else -np.inf for b in tags] for a in tags])
    start = np.array([-np.inf if t.startswith("I-") else 0.0 for t in tags])
    score = log_probs[0] + start
    back = np.empty((n, k), dtype=np.int64)
    for t in range(1, n):
        cand = score[:, None] + banned  # (prev, next)
        back[t] = cand.argmax(axis=0)
        score = cand.max(axis=0) + log_probs[t]
    path = [int(score.argmax())]
    for t in range(n - 1, 0, -1):
        path.append(int(back[t, path[-1]]))
    return path[::-1]


def decode_bio(
    words: Sequence[tuple[int, int]],
    tag_ids: Sequence[int],
    tags: Sequence[str],
    probs: Sequence[float] | None = None,
) -> list[SpanPrediction]:
    """Turn per-word tags into character spans.

    A span starts at ``B-x`` (or at an ``I-x`` that does not continue ``x``: lenient for
    unconstrained decoding) and extends over following ``I-x`` words. Its confidence is the
    mean probability of its words' chosen tags (1.0 when ``probs`` is not given).
    """
    spans: list[SpanPrediction] = []
    cur: list[int] = []
    cur_label = ""

    def close() -> None:
        if cur:
            conf = sum(probs[i] for i in cur) / len(cur) if probs is not None else 1.0
            spans.append(SpanPrediction(cur_label, words[cur[0]][0], words[cur[-1]][1], conf))

    for i, tid in enumerate(tag_ids):
        tag = tags[tid]
        if tag.startswith("I-") and cur and tag[2:] == cur_label:
            cur.append(i)
            continue
        close()
        cur = []
        if tag != OUTSIDE:
            cur, cur_label = [i], tag[2:]
    close()
    return spans


def windows(n_tokens: int, size: int, stride: int) -> list[tuple[int, int]]:
    """Cover ``range(n_tokens)`` with windows of at most ``size`` tokens overlapping by
    ``stride`` tokens; the last window ends exactly at ``n_tokens``."""
    if size <= stride:
        raise ValueError(f"window size {size} must exceed the stride {stride}")
    if n_tokens <= size:
        return [(0, n_tokens)]
    out, start = [], 0
    while start + size < n_tokens:
        out.append((start, start + size))
        start += size - stride
    out.append((max(0, n_tokens - size), n_tokens))
    return out


def window_owner(n_tokens: int, spans: Sequence[tuple[int, int]]) -> list[int]:
    """For each token, the window in which it sits farthest from an edge (most context).

    Windows come from :func:`windows`, sorted by start, so a token's candidates are the
    windows just around it: a linear sweep, not a search over every window.
    """
    owner, first = [], 0
    for t in range(n_tokens):
        while spans[first][1] <= t:  # windows that ended before t never return
            first += 1
        best, best_margin, w = first, -1, first
        while w < len(spans) and spans[w][0] <= t:
            s, e = spans[w]
            if t < e and min(t - s, e - 1 - t) > best_margin:
                best, best_margin = w, min(t - s, e - 1 - t)
            w += 1
        owner.append(best)
    return owner
