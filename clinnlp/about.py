"""What clinnlp is and where its files are: the version, the default model and knowledge bases.

A leaf module (it imports nothing of clinnlp), so every layer can read these constants without
importing the package root.
"""

from __future__ import annotations

import os
from pathlib import Path

__version__ = "0.1.0"

_HERE = Path(__file__).resolve().parent  # the package folder
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
