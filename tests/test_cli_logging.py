"""The command line logs clinnlp's progress, not other libraries' chatter."""

from __future__ import annotations

import logging
from collections.abc import Iterator

import pytest

from clinnlp.cli._app import _main


@pytest.fixture
def _levels() -> Iterator[None]:
    loggers = [logging.getLogger(), logging.getLogger("clinnlp")]
    before = [lg.level for lg in loggers]
    yield
    for lg, level in zip(loggers, before, strict=True):
        lg.setLevel(level)


@pytest.mark.usefixtures("_levels")
@pytest.mark.parametrize(
    ("verbose", "quiet", "ours", "theirs"),
    [
        (False, False, logging.INFO, logging.WARNING),
        (True, False, logging.DEBUG, logging.DEBUG),
        (False, True, logging.ERROR, logging.ERROR),
    ],
)
def test_cli_logs_other_libraries_info_only_when_verbose(verbose, quiet, ours, theirs):
    _main(verbose=verbose, quiet=quiet, version=False)
    clinnlp, nmslib = logging.getLogger("clinnlp.batch.local"), logging.getLogger("nmslib")
    assert clinnlp.getEffectiveLevel() == ours
    assert nmslib.getEffectiveLevel() == theirs  # nmslib logs ~60 INFO lines on import
