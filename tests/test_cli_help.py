"""Every command's --help shows its options' text whole (rich markup eats "[...]")."""

from __future__ import annotations

import re

import pytest
from typer.testing import CliRunner

from clinnlp.cli import app

COMMANDS = ["annotate", "train", "cv", "evaluate", "card", "convert", "stats", "build-kb"]


@pytest.mark.parametrize("command", COMMANDS)
def test_cli_help_loses_no_text(command: str) -> None:
    result = CliRunner().invoke(app, [command, "--help"], env={"COLUMNS": "200"})
    assert result.exit_code == 0, result.output
    text = " ".join(line.strip(" │") for line in result.output.splitlines())
    assert not re.search(r"\w \.(\s|$)", text), text  # what a dropped "[default: ...]" leaves
    if command == "annotate":
        assert "clinnlp[spark]" in text
