"""The ``clinnlp`` command line: one file per command, each registering on ``_app.app``."""

from __future__ import annotations

from clinnlp.cli._app import app

# Each import registers its command on the app.
from clinnlp.cli import (  # noqa: E402  isort: skip
    annotate as annotate,
    build_kb as build_kb,
    card as card,
    convert as convert,
    cv as cv,
    evaluate as evaluate,
    review as review,
    stats as stats,
    train as train,
)


def main() -> None:
    """Console-script entry point."""
    app()


__all__ = ["app", "main"]
