"""The JSON a benchmark commits under results/: its command, the date and the machine first."""

from __future__ import annotations

import json
import platform
import time
from pathlib import Path
from typing import Any


def write_result(path: Path, command: str, record: dict[str, Any]) -> None:
    """Write ``record`` to ``path`` after the command, today's date and the machine."""
    meta = {"command": command, "date": time.strftime("%Y-%m-%d"), "machine": platform.machine()}
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps({**meta, **record}, indent=2) + "\n", "utf-8")
