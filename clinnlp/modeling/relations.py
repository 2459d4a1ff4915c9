"""The relation head: which drug caused which event (and which dose goes with which drug).

A span-pair classifier on the tagger's own encoder pass (as SpERT, Eberts and Ulges 2020): an
entity is the max-pool of its subword states plus a label embedding; a candidate pair is
``[head, tail, context, labels, distance]``, where the context is the mean of the states
between the two spans and the distance is the bucketed number of subwords between them; a
small MLP scores the pair for the one relation type its argument labels allow. A relation
type is ``label: (head label, tail label)``, learnt from the training corpus (the shipped
model: ``Causes: (Drug, Adverse-Effect)`` and ``Dose-of: (Dose, Drug)``).

Candidates are type-compatible pairs at most ``max_distance`` subwords apart (so a pair may
cross sentences, as "leg cramps at night ... She noticed them after starting simvastatin"),
scored inside one window that holds both. The pure parts (candidates, buckets) are plain
functions; :class:`RelationHead` imports torch when built.
"""

from __future__ import annotations

import bisect
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

#: Upper bounds (exclusive) of the distance buckets, in subwords between the two spans.
DISTANCE_BUCKETS = (1, 2, 3, 4, 6, 8, 12, 16, 24, 32, 48, 64, 96, 128, 192)
N_BUCKETS = len(DISTANCE_BUCKETS) + 1


@dataclass(frozen=True)
class RelationPrediction:
    """A predicted relation between two predicted spans of one text (indices into them)."""

    label: str
    head: int
    tail: int
    confidence: float


def distance_bucket(gap: int) -> int:
    """The bucket of a gap of ``gap`` subwords (0 for adjacent or overlapping spans)."""
    for i, bound in enumerate(DISTANCE_BUCKETS):
        if gap < bound:
            return i
    return len(DISTANCE_BUCKETS)


def gap(a: tuple[int, int], b: tuple[int, int]) -> int:
    """Subwords strictly between two token ranges ``[start, end)`` (0 when they touch)."""
    return max(0, max(a[0], b[0]) - min(a[1], b[1]))


def candidate_pairs(
    labels: Sequence[str],
    ranges: Sequence[tuple[int, int]],
    types: Mapping[str, tuple[str, str]],
    max_distance: int,
) -> list[tuple[int, int, str]]:
    """Every ``(head, tail, relation)`` whose argument labels fit the relation type and whose
    token ranges are at most ``max_distance`` subwords apart, ordered by head then tail.

    Only spans near each other are compared (a search over the spans sorted by start), so a
    long note costs in proportion to its spans, not their square."""
    by_args = {args: name for name, args in sorted(types.items())}
    order = sorted(range(len(ranges)), key=lambda k: ranges[k][0])
    starts = [ranges[k][0] for k in order]
    longest = max((e - s for s, e in ranges), default=0)
    out = []
    for i, head in enumerate(labels):
        lo = bisect.bisect_left(starts, ranges[i][0] - max_distance - longest)
        hi = bisect.bisect_right(starts, ranges[i][1] + max_distance)
        for j in sorted(order[lo:hi]):
            name = by_args.get((head, labels[j]))
            if i != j and name is not None and gap(ranges[i], ranges[j]) <= max_distance:
                out.append((i, j, name))
    return out


def infer_types(
    relations: Sequence[tuple[str, str, str]],
) -> tuple[dict[str, tuple[str, str]], int]:
    """Relation types from ``(relation, head label, tail label)`` triples of a corpus: each
    relation's most frequent argument labels. Returns the types and how many triples
    disagree with their relation's type (they are not learnt)."""
    counts: dict[str, dict[tuple[str, str], int]] = {}
    for name, head, tail in relations:
        slot = counts.setdefault(name, {})
        slot[(head, tail)] = slot.get((head, tail), 0) + 1
    types = {
        name: max(sorted(args), key=lambda a: args[a]) for name, args in sorted(counts.items())
    }
    odd = sum(n for name, args in counts.items() for a, n in args.items() if a != types[name])
    return types, odd


def build_head(config: Mapping[str, Any], hidden: int) -> Any:
    """A :class:`RelationHead` (torch module) from its saved ``config``."""
    import torch

    class RelationHead(torch.nn.Module):
        """Scores candidate pairs from one window's hidden states."""

        def __init__(self) -> None:
            super().__init__()
            width, inner = int(config["width"]), int(config["inner"])
            self.labels = list(config["labels"])
            self.types = sorted(config["types"])
            self.label_emb = torch.nn.Embedding(len(self.labels), width)
            self.distance_emb = torch.nn.Embedding(N_BUCKETS, width)
            self.mlp = torch.nn.Sequential(
                torch.nn.Linear(3 * hidden + 3 * width, inner),
                torch.nn.ReLU(),
                torch.nn.Dropout(float(config.get("dropout", 0.1))),
                torch.nn.Linear(inner, len(self.types)),
            )

        def forward(self, states: Any, entities: Any, pairs: Any) -> Any:
            """Logits of ``pairs`` (``(P, 4)``: head, tail, type index, distance bucket) over
            ``entities`` (``(E, 3)``: start, end, label index) in ``states`` (``(T, H)``)."""
            positions = torch.arange(states.shape[0], device=states.device)
            inside = (positions >= entities[:, :1]) & (positions < entities[:, 1:2])  # (E, T)
            pooled = states.unsqueeze(0).masked_fill(~inside.unsqueeze(-1), float("-inf"))
            reps = pooled.max(dim=1).values  # (E, H)
            head, tail = entities[pairs[:, 0]], entities[pairs[:, 1]]
            lo = torch.minimum(head[:, 1], tail[:, 1]).unsqueeze(1)
            hi = torch.maximum(head[:, 0], tail[:, 0]).unsqueeze(1)
            between = ((positions >= lo) & (positions < hi)).to(states.dtype)  # (P, T)
            context = (between @ states) / between.sum(1, keepdim=True).clamp(min=1.0)
            features = torch.cat(
                [
                    reps[pairs[:, 0]],
                    reps[pairs[:, 1]],
                    context,
                    self.label_emb(head[:, 2]),
                    self.label_emb(tail[:, 2]),
                    self.distance_emb(pairs[:, 3]),
                ],
                dim=-1,
            )
            logits = self.mlp(features)
            return logits.gather(1, pairs[:, 2:3]).squeeze(1)

    return RelationHead()
