"""The training losses: the partial-label loss of the tags (marginal likelihood over the tags a
word may have) and the relation head's loss over its candidate pairs."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from clinnlp.training.features import IGNORE


def relation_loss(head: Any, states: Any, rows: Sequence[dict[str, Any]], device: str) -> Any:
    """Mean binary cross-entropy of every candidate pair of a batch (``None`` without
    pairs); ``states`` are the batch's last hidden states, one row per feature row."""
    import torch

    logits, targets = [], []
    for b, row in enumerate(rows):
        if not row.get("pairs"):
            continue
        entities = torch.tensor(row["entities"], device=device)
        pairs = torch.tensor(row["pairs"], device=device)
        logits.append(head(states[b].float(), entities, pairs[:, :4]))
        targets.append(pairs[:, 4].float())
    if not logits:
        return None
    return torch.nn.functional.binary_cross_entropy_with_logits(
        torch.cat(logits), torch.cat(targets)
    )


def partial_label_loss(logits: Any, allowed: Any) -> Any:
    """Mean over targeted tokens of ``-log P(tag in allowed set)``.

    Args:
        logits: ``(batch, tokens, tags)`` scores.
        allowed: ``(batch, tokens)`` integer bit masks of allowed tags; ``IGNORE`` (0) for
            tokens without a target.
    """
    import torch

    logits = logits.float()
    bits = torch.arange(logits.shape[-1], device=logits.device)
    ok = ((allowed.unsqueeze(-1) >> bits) & 1).bool()
    total = torch.logsumexp(logits, dim=-1)
    kept = torch.logsumexp(logits.masked_fill(~ok, float("-inf")), dim=-1)
    targeted = allowed != IGNORE
    if not bool(targeted.any()):
        return logits.sum() * 0.0
    return (total - kept)[targeted].mean()
