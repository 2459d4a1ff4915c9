"""Bring the third-party corpora into ``corpora/data/`` and check them against known checksums.

The corpora are not part of the project. ``corpora/checksums.json`` lists, per corpus, the
sha256 of every expected file (MTSamples' 2,357 notes through the manifest
``corpora/mtsamples.sha256``). :func:`fetch_corpora` verifies a source copy and links (or
copies) each corpus folder to ``corpora/data/<name>/``.

Run from the repository root (``make corpora`` calls it)::

    python -m clinnlp.corpora [--source DIR] [--copy] [--only NAME ...]
    python -m clinnlp.corpora --check          # verify corpora/data as it stands
"""

from __future__ import annotations

import argparse
import hashlib
import json
import logging
import shutil
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from clinnlp.errors import E_CORPUS_CHECKSUM, E_CORPUS_MISSING, ClinnlpError, CorpusError

logger = logging.getLogger(__name__)

ROOT = Path(__file__).resolve().parent.parent
#: Where the checksums and per-corpus READMEs live.
CORPORA_DIR = ROOT / "corpora"
CHECKSUMS = CORPORA_DIR / "checksums.json"
#: Where ``make corpora`` puts the corpora (gitignored).
DATA_DIR = CORPORA_DIR / "data"
#: The shared copy next to the project, used when no source is given.
DEFAULT_SOURCE = ROOT.parent / "shared" / "corpora"
#: Gold sets whose annotations live in this repository and whose texts come from a fetched
#: corpus: ``{name: (corpus, folder of its texts)}``. ``corpora/<name>/*.ann`` plus the
#: ``.txt`` of the same names become ``corpora/data/<name>/`` (a BRAT folder).
ANNOTATED = {
    "mtsamples_dev": ("mtsamples", "notes"),
    "mtsamples_ade/train": ("mtsamples", "notes"),
    "mtsamples_ade/dev": ("mtsamples", "notes"),
    "mtsamples_ade/agreement/first": ("mtsamples", "notes"),
    "mtsamples_ade/agreement/second": ("mtsamples", "notes"),
}


def sha256(path: Path) -> str:
    """Hex sha256 of a file's bytes."""
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def load_checksums(path: Path = CHECKSUMS) -> dict[str, dict[str, str]]:
    """Return ``{corpus: {relative file path: sha256}}``, manifests expanded."""
    data = json.loads(path.read_text(encoding="utf-8"))
    expected: dict[str, dict[str, str]] = {}
    for name, entry in data["corpora"].items():
        files = dict(entry.get("files", {}))
        if "manifest" in entry:
            manifest = path.parent / entry["manifest"]
            found = sha256(manifest)
            if found != entry["manifest_sha256"]:
                message = E_CORPUS_CHECKSUM.format(
                    name=name, path=manifest, found=found, expected=entry["manifest_sha256"]
                )
                raise CorpusError(message)
            for line in manifest.read_text(encoding="utf-8").splitlines():
                digest, _, relpath = line.partition("  ")
                files[relpath] = digest
        expected[name] = files
    return expected


def verify_corpus(name: str, folder: Path, files: dict[str, str], source: Path) -> None:
    """Check that every expected file of ``name`` is in ``folder`` with its checksum.

    Raises:
        CorpusError: a file is missing or differs (the first such file is named).
    """
    for relpath, expected in sorted(files.items()):
        path = folder / relpath
        if not path.is_file():
            raise CorpusError(E_CORPUS_MISSING.format(name=name, path=path, source=source))
        found = sha256(path)
        if found != expected:
            message = E_CORPUS_CHECKSUM.format(name=name, path=path, found=found, expected=expected)
            raise CorpusError(message)


def fetch_corpora(
    source: Path = DEFAULT_SOURCE,
    dest: Path = DATA_DIR,
    names: Sequence[str] | None = None,
    copy: bool = False,
    checksums: Path = CHECKSUMS,
) -> dict[str, str]:
    """Verify each corpus under ``source`` and link (or copy) it to ``dest/<name>``.

    A corpus is checked before it is linked, so ``dest`` never points at a bad copy; an
    existing ``dest/<name>`` (an earlier link or copy) is replaced.

    Returns:
        ``{name: path of dest/<name>}``.

    Raises:
        CorpusError: a corpus folder or file is missing, or a checksum differs.
    """
    expected = load_checksums(checksums)
    chosen = list(names or expected)
    for name in chosen:
        if name not in expected:
            raise CorpusError(f"unknown corpus {name!r}; expected one of {', '.join(expected)}")
    done: dict[str, str] = {}
    for name in chosen:
        folder = (source / name).resolve()
        if not folder.is_dir():
            raise CorpusError(E_CORPUS_MISSING.format(name=name, path=folder, source=source))
        verify_corpus(name, folder, expected[name], source)
        target = dest / name
        dest.mkdir(parents=True, exist_ok=True)
        if target.is_symlink() or target.is_file():
            target.unlink()
        elif target.is_dir():
            shutil.rmtree(target)
        if copy:
            shutil.copytree(folder, target)
        else:
            target.symlink_to(folder, target_is_directory=True)
        logger.info(
            "%s: %d files verified, %s %s",
            name,
            len(expected[name]),
            "copied to" if copy else "linked at",
            target,
        )
        done[name] = str(target)
    for name, (corpus, texts) in ANNOTATED.items():
        if (dest / corpus).is_dir():
            done[name] = str(assemble_annotated(name, dest / corpus / texts, dest / name))
    return done


def assemble_annotated(name: str, texts: Path, target: Path) -> Path:
    """Build the BRAT folder ``target`` from the committed ``corpora/<name>/*.ann`` and the
    texts of the same names in ``texts`` (copied, so the folder stands alone).

    Raises:
        CorpusError: a text named by an annotation file is missing.
    """
    annotations = sorted((CORPORA_DIR / name).glob("*.ann"))
    if target.is_symlink() or target.is_file():
        target.unlink()
    elif target.is_dir():
        shutil.rmtree(target)
    target.mkdir(parents=True)  # a name may hold folders ("mtsamples_ade/train")
    for ann in annotations:
        text = texts / f"{ann.stem}.txt"
        if not text.is_file():
            raise CorpusError(E_CORPUS_MISSING.format(name=name, path=text, source=texts))
        shutil.copy2(text, target / text.name)
        shutil.copy2(ann, target / ann.name)
    logger.info("%s: %d annotated notes assembled at %s", name, len(annotations), target)
    return target


def check_corpora(dest: Path = DATA_DIR, checksums: Path = CHECKSUMS) -> list[str]:
    """Verify the corpora already under ``dest``; return the names checked."""
    expected = load_checksums(checksums)
    for name, files in expected.items():
        verify_corpus(name, dest / name, files, dest)
    return list(expected)


def record_checksums(source: Path, checksums: Path = CHECKSUMS) -> dict[str, Any]:
    """Rewrite ``checksums`` (and its manifests) from the corpora under ``source``.

    For maintainers, when a corpus is updated on purpose. MTSamples, with thousands of files,
    is recorded in a manifest in ``sha256sum`` format.
    """
    data = json.loads(checksums.read_text(encoding="utf-8"))
    for name, entry in data["corpora"].items():
        folder = source / name
        files = sorted(p for p in folder.rglob("*") if p.is_file())
        sums = {p.relative_to(folder).as_posix(): sha256(p) for p in files}
        if "manifest" in entry:
            manifest = checksums.parent / entry["manifest"]
            lines = "".join(f"{digest}  {rel}\n" for rel, digest in sums.items())
            manifest.write_text(lines, encoding="utf-8")
            entry["count"] = len(sums)
            entry["manifest_sha256"] = sha256(manifest)
        else:
            entry["files"] = sums
    checksums.write_text(json.dumps(data, indent=2) + "\n", encoding="utf-8")
    return data


def main(argv: Sequence[str] | None = None) -> int:
    """Command-line entry point (``python -m clinnlp.corpora``); returns the exit code."""
    parser = argparse.ArgumentParser(
        prog="python -m clinnlp.corpora", description=__doc__.split("\n\n")[0]
    )
    parser.add_argument(
        "--source",
        type=Path,
        default=DEFAULT_SOURCE,
        help="folder holding ade_corpus_v2/, bc5cdr/, mtsamples/ "
        "(default: ../shared/corpora next to the project)",
    )
    parser.add_argument("--dest", type=Path, default=DATA_DIR, help="default: corpora/data")
    parser.add_argument("--only", nargs="+", metavar="NAME", help="fetch only these corpora")
    parser.add_argument("--copy", action="store_true", help="copy instead of symlinking")
    parser.add_argument("--check", action="store_true", help="only verify DEST as it stands")
    parser.add_argument(
        "--record",
        action="store_true",
        help="maintainers: rewrite corpora/checksums.json from SOURCE",
    )
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    try:
        if args.record:
            record_checksums(args.source)
            print(f"Recorded checksums of {args.source} in {CHECKSUMS}")
        elif args.check:
            names = check_corpora(args.dest)
            print(f"Verified {', '.join(names)} under {args.dest}")
        else:
            done = fetch_corpora(args.source, args.dest, args.only, copy=args.copy)
            print(
                f"Verified and {'copied' if args.copy else 'linked'} {', '.join(done)} "
                f"into {args.dest}"
            )
    except ClinnlpError as err:
        print(f"Error: {err}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
