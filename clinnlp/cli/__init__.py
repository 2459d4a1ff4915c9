"""The ``clinnlp`` command line: one file per command, each registering on ``_app.app``."""

from __future__ import annotations

from clinnlp.cli._app import app

# Each import registers its command on the app.
from clinnlp.cli import convert, cv, evaluate, stats, train  # noqa: E402,F401  isort: skip


def main() -> None:
    """Console-script entry point."""
    app()


__all__ = ["app", "main"]
