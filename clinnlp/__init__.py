"""clinnlp: offline adverse drug event extraction from clinical text.

Importing this package is cheap: torch and transformers load only when a model does.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

logging.getLogger(__name__).addHandler(logging.NullHandler())

if TYPE_CHECKING:
    from spacy.language import Language

_HERE = Path(__file__).resolve().parent
#: The shipped default model: the copy packaged in the wheel (in a checkout,
#: ``clinnlp/models/ade-minilm`` is a link to the ``models/ade-minilm`` that ``make model``
#: writes), else the checkout's own folder.
DEFAULT_MODEL = (
    _HERE / "models" / "ade-minilm"
    if (_HERE / "models" / "ade-minilm").is_dir()
    else _HERE.parent / "models" / "ade-minilm"
)


def _default_kb() -> Path:
    """``$CLINNLP_KB``; in a checkout its ``models/kb``; else the user's data folder."""
    if os.environ.get("CLINNLP_KB"):
        return Path(os.environ["CLINNLP_KB"])
    if (_HERE.parent / "pyproject.toml").is_file():
        return _HERE.parent / "models" / "kb"
    data = os.environ.get("XDG_DATA_HOME") or Path.home() / ".local" / "share"
    return Path(data) / "clinnlp" / "kb"


#: Where ``clinnlp build-kb`` (``make kb``) writes the knowledge bases the linker loads:
#: ``$CLINNLP_KB`` when set, a checkout's ``models/kb``, else ``~/.local/share/clinnlp/kb``
#: (an installed wheel).
DEFAULT_KB = _default_kb()


def load(model: str | Path | None = None, **kwargs: Any) -> Language:
    """Return the full default pipeline: the scispaCy text layer and the transformer tagger.

    Args:
        model: a clinnlp model folder; the shipped default model when omitted.
        **kwargs: passed to :func:`clinnlp.pipeline.build_pipeline` (``device``, ``batch_size``...).
    """
    from clinnlp.pipeline import build_pipeline

    return build_pipeline(model, **kwargs)


__all__ = ["DEFAULT_KB", "DEFAULT_MODEL", "__version__", "load"]
