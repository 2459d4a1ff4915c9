"""Fixtures for the reader tests: the fixture folder, the shared corpora, error checks."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from clinnlp.errors import InputError


def _names(err: InputError, path: Path, line: int | None, secret: str = "") -> None:
    assert Path(err.path).name == path.name
    assert err.line == line
    where = f"{path.name}:{line}:" if line is not None else f"{path.name}:"
    assert where in str(err)
    if secret:
        assert secret not in str(err)


@pytest.fixture
def names_error() -> Callable[..., None]:
    """``names_error(err, path, line, secret="")``: the error names this file and line (or no
    line) and never quotes ``secret`` (a piece of the document text)."""
    return _names
