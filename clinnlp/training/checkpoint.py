"""Training state saved after every epoch, so that a stopped run resumes where it stopped.

A checkpoint holds the weights, the optimizer and scheduler, every random generator the loop
draws from, and the epoch history; a run resumed from it goes on exactly as the uninterrupted
run would have. It is tied to one recipe and one training corpus by a fingerprint of the
config and the feature rows: a checkpoint of anything else is refused, never overwritten.
"""

from __future__ import annotations

import hashlib
import json
import random
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from clinnlp.errors import E_CHECKPOINT_OTHER, E_CHECKPOINT_UNREADABLE, ConfigError


def fingerprint(
    config: dict[str, Any], rows: Sequence[dict[str, Any]], dev: Sequence[Any] = ()
) -> str:
    """A digest of the recipe, the training rows (inputs, targets, relation pairs), the dev
    documents of early stopping, and the versions of clinnlp, torch and transformers."""
    import torch
    import transformers

    from clinnlp.about import __version__

    versions = [__version__, torch.__version__, transformers.__version__]
    digest = hashlib.sha256(json.dumps([config, versions], sort_keys=True, default=str).encode())
    for row in rows:
        digest.update(json.dumps([row.get(k) for k in sorted(row)]).encode())
    for doc in dev:
        digest.update(json.dumps(doc.to_dict(), sort_keys=True).encode())
    return digest.hexdigest()


def random_state(rng: random.Random) -> dict[str, Any]:
    """The state of the loop's generator and of Python's, NumPy's and torch's global ones."""
    import torch

    kind, keys, pos, has_gauss, gauss = np.random.get_state(legacy=True)
    state = {
        "loop": rng.getstate(),
        "python": random.getstate(),
        "numpy": [kind, np.asarray(keys).tolist(), pos, has_gauss, gauss],
        "torch": torch.get_rng_state(),
    }
    if torch.cuda.is_available() and torch.cuda.is_initialized():
        state["cuda"] = torch.cuda.get_rng_state_all()
    return state


def restore_random_state(rng: random.Random, state: dict[str, Any]) -> None:
    """Puts back what :func:`random_state` recorded."""
    import torch

    def tuples(x: Any) -> Any:  # getstate() gives nested tuples; the file keeps lists
        return tuple(tuples(v) for v in x) if isinstance(x, list) else x

    rng.setstate(tuples(state["loop"]))
    random.setstate(tuples(state["python"]))
    kind, keys, pos, has_gauss, gauss = state["numpy"]
    np.random.set_state((kind, np.array(keys, dtype=np.uint32), pos, has_gauss, gauss))
    torch.set_rng_state(state["torch"])
    if "cuda" in state and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["cuda"])


def save(path: Path, state: dict[str, Any]) -> None:
    """Writes ``state`` to ``path`` whole or not at all (:func:`clinnlp._files.write_atomic`)."""
    import io

    import torch

    from clinnlp._files import write_atomic

    buffer = io.BytesIO()
    torch.save(state, buffer)
    write_atomic(path, buffer.getvalue())


def load(path: Path, expected: str) -> dict[str, Any] | None:
    """The state saved at ``path`` (``None`` when there is none), refused when its
    fingerprint is not ``expected``."""
    import torch

    if not path.exists():
        return None
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
        found = state["fingerprint"]
    except Exception:  # any unreadable file: say which, never delete it
        raise ConfigError(E_CHECKPOINT_UNREADABLE.format(path=path)) from None
    if found != expected:
        raise ConfigError(E_CHECKPOINT_OTHER.format(path=path))
    return dict(state)
