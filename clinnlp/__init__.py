"""clinnlp: offline adverse drug event extraction from clinical text.

Importing this package is cheap: torch and transformers load only when a model does.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import TYPE_CHECKING, Any

from clinnlp.about import DEFAULT_KB, DEFAULT_MODEL, __version__

logging.getLogger(__name__).addHandler(logging.NullHandler())

if TYPE_CHECKING:
    from spacy.language import Language


def load(model: str | Path | None = None, **kwargs: Any) -> Language:
    """Return the full default pipeline: the scispaCy text layer and the transformer tagger.

    Args:
        model: a clinnlp model folder; the shipped default model when omitted.
        **kwargs: passed to :func:`clinnlp.pipeline.build_pipeline` (``device``, ``batch_size``...).
    """
    from clinnlp.pipeline import build_pipeline

    return build_pipeline(model, **kwargs)


__all__ = ["DEFAULT_KB", "DEFAULT_MODEL", "__version__", "load"]
