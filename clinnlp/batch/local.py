"""The local batch run behind ``clinnlp annotate``: walk the inputs, stream them through the
pipeline (:func:`clinnlp.batch.core.annotate_records`), write the output so that a killed run
resumes where it stopped.

The output folder (``--out``) holds::

    run.json            the run's configuration: the same command again resumes
    done.jsonl          the commit log: a line {"ids": [...], "files": {name: size}} per chunk
    errors.jsonl        documents that failed in the latest run: id, path, line, reason
    annotations.jsonl   jsonl and html formats: one Document.to_dict() a line
    report.html         html format: the displaCy report of clinnlp.batch.report
    brat/<id>.txt|.ann  brat format
    docs/part-NNNNN.spacy  spacy format: one DocBin a chunk (user data kept)

Resume and atomicity: documents are committed in chunks of ``batch_size``. A chunk's output is
written and fsync'd first (new files under a temporary name, then ``os.replace``;
``annotations.jsonl`` by appending), then one line naming its ids and the size of every file
it touched is appended to ``done.jsonl`` and fsync'd: that line is the commit. A run killed at
any moment leaves at most one uncommitted chunk (and possibly a torn last log line). The next
run with the same configuration drops the torn line, truncates the data files to their
committed sizes, deletes the uncommitted files it wrote and skips every id in the log: no
document is written twice and none that was reported done is lost. In ``brat/`` and ``docs/`` a
chunk's file names are recorded (``.clinnlp-uncommitted.json``, removed once the chunk is
committed) before its files are written, so what is deleted there is only what clinnlp wrote:
files of the user's own in those folders stay, and a document whose file name is taken by one
fails in errors.jsonl.

What is never touched: ``run.json`` records the outputs the run writes (``"outputs"``), and
``--force`` removes only the outputs an earlier run recorded there (in a folder output,
only the files that run wrote). A file or folder of an
output name that no ``run.json`` claims (the user's own ``docs/``, say) is refused even with
``--force``, and an output name that is a symbolic link is always refused: nothing is
written or deleted through a link. ``--out`` itself may be a link (it is resolved once).
"""

from __future__ import annotations

import hashlib
import json
import logging
import shutil
import sys
import time
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from clinnlp._files import write_atomic
from clinnlp.about import DEFAULT_KB, DEFAULT_MODEL, __version__
from clinnlp.batch.core import Annotated, Failure, Record, annotate_records
from clinnlp.batch.inputs import Item, iter_inputs
from clinnlp.batch.sinks import (
    DONE_FILE,
    ERRORS_FILE,
    FOLDERS,
    FORMATS,
    OUTPUTS,
    RUN_FILE,
    SINKS,
    append_durably,
    read_commits,
    remove_written,
)
from clinnlp.errors import (
    E_ANNOTATE_FORMAT,
    E_BATCH_COUNTS,
    E_DUPLICATE_ID,
    E_ENGINE,
    E_NO_DOCUMENTS,
    E_NOT_FOUND,
    E_OUT_FILE,
    E_OUT_LINK,
    E_OUT_NOT_EMPTY,
    E_OUT_OTHER_RUN,
    E_OUT_OVERLAP,
    E_OUT_UNCLAIMED,
    E_PATH_ENCODING,
    E_SPARK_FORMAT,
    E_SPARK_MISSING,
    E_SPARK_PROCESSES,
    NO_KB,
    ConfigError,
    InputError,
)
from clinnlp.readers.textfile import MAX_DOCUMENT_BYTES, has_surrogates

if TYPE_CHECKING:
    from spacy.language import Language
    from spacy.tokens import Doc

    from clinnlp.schema import Document

logger = logging.getLogger(__name__)


def _run_outputs(fmt: str) -> list[str]:
    """The files and folders of ``--out`` that a run of format ``fmt`` writes."""
    return sorted({RUN_FILE, DONE_FILE, ERRORS_FILE, *SINKS[fmt].outputs})


def model_digest(model_dir: Path) -> str:
    """The sha256 of a model folder's weights and settings (``clinnlp.json``,
    ``config.json``, the safetensors files), so a model retrained in place is a different
    model."""
    digest = hashlib.sha256()
    for name in ("clinnlp.json", "config.json", "model.safetensors", "relations.safetensors"):
        path = model_dir / name
        if path.is_file():
            digest.update(name.encode() + b"\0")
            with path.open("rb") as handle:
                for block in iter(lambda: handle.read(1 << 20), b""):
                    digest.update(block)
    return digest.hexdigest()


def _knowledge_bases(nlp: Language | None) -> dict[str, str] | str:
    """The knowledge bases the run links concepts with (``{name: sha256 of its meta.json}``),
    or :data:`clinnlp.errors.NO_KB` when it links none. Spark executors build their own
    pipeline with the default folder, so without ``nlp`` that folder is what counts."""
    if nlp is not None and "clinnlp_linker" not in nlp.pipe_names:
        return NO_KB
    folder = DEFAULT_KB
    if nlp is not None:
        folder = Path(getattr(nlp.get_pipe("clinnlp_linker"), "kb", None) or DEFAULT_KB)
    metas = sorted(folder.glob("*/meta.json"))
    if not metas:
        return NO_KB
    return {m.parent.name: hashlib.sha256(m.read_bytes()).hexdigest() for m in metas}


def _read_run(run_file: Path) -> dict[str, Any] | None:
    """The run recorded in ``run_file``: None when there is none, ``{}`` when it is no clinnlp
    run's (unreadable, or not ``clinnlp annotate``'s)."""
    if not run_file.is_file():
        return None
    try:
        previous = json.loads(run_file.read_text("utf-8"))
    except (OSError, ValueError):
        return {}
    if not isinstance(previous, dict) or previous.get("command") != "annotate":
        return {}
    if "outputs" not in previous and previous.get("format") in SINKS:
        # a run.json of the first clinnlp 0.1.0 recorded no outputs: those of its format
        previous["outputs"] = _run_outputs(previous["format"])
    return previous


def _committed_files(out: Path) -> dict[str, int]:
    """Every file the commit log of ``out`` names, read leniently (for ``--force``: a torn
    or unreadable line ends it, and nothing is checked or cut)."""
    files: dict[str, int] = {}
    try:
        lines = (out / DONE_FILE).read_bytes().splitlines()
    except OSError:
        return files
    for line in lines:
        try:
            files.update({str(k): int(v) for k, v in json.loads(line)["files"].items()})
        except (ValueError, KeyError, TypeError, AttributeError):
            break
    return files


def _prepare_out(out: Path, config: dict[str, Any], force: bool) -> None:
    """Make ``out`` ready: keep it to resume the same run, else refuse or (``force``) remove
    what the earlier run recorded in its ``run.json``; then record ``config``.

    Nothing clinnlp did not write is ever removed or written over: a file or folder of the
    run's output names that no ``run.json`` claims is refused even with ``force``, and so is
    a link among the names it would write or remove (nothing is written or deleted through
    a link).
    """
    if out.exists() and not out.is_dir():
        raise ConfigError(E_OUT_FILE.format(path=out))
    previous = _read_run(out / RUN_FILE)
    outputs = (previous or {}).get("outputs")
    claimed = {n for n in outputs if n in OUTPUTS} if isinstance(outputs, list) else set()
    for name in sorted({*config["outputs"], *claimed}):  # what this run writes or removes
        if (out / name).is_symlink():
            raise ConfigError(E_OUT_LINK.format(path=out / name))
    if previous == config and not force:
        return
    for name in config["outputs"]:
        if (out / name).exists() and name not in claimed:
            raise ConfigError(E_OUT_UNCLAIMED.format(path=out / name, run_file=RUN_FILE))
    if not force:
        if previous is not None:
            keys = sorted(k for k in {*config, *previous} if config.get(k) != previous.get(k))
            raise ConfigError(E_OUT_OTHER_RUN.format(path=out, keys=", ".join(keys)))
        if out.is_dir() and any(out.iterdir()):
            raise ConfigError(E_OUT_NOT_EMPTY.format(path=out))
    _remove_outputs(out, sorted(claimed), _committed_files(out) if claimed else {})
    out.mkdir(parents=True, exist_ok=True)
    write_atomic(
        out / RUN_FILE, (json.dumps(config, indent=2, sort_keys=True) + "\n").encode("utf-8")
    )


def annotate(
    inputs: Sequence[str | Path],
    out: str | Path,
    *,
    fmt: str = "jsonl",
    model: str | Path | None = None,
    device: str | None = None,
    batch_size: int = 32,
    n_process: int = 1,
    max_bytes: int | None = MAX_DOCUMENT_BYTES,
    text_col: str = "text",
    id_col: str = "id",
    force: bool = False,
    nlp: Language | None = None,
    progress: bool | None = None,
    engine: str = "local",
    spark_master: str | None = None,
    spark_ui: bool = False,
) -> dict[str, Any]:
    """Annotate every input document into ``out`` (see the module docstring for the layout).

    A document that cannot be read (missing, empty, binary, not UTF-8, over ``max_bytes``,
    without id or text, a duplicate id), whose output name cannot be written, or on which the
    pipeline raises, is recorded in ``errors.jsonl`` (on every run) and the run goes on.

    Args:
        inputs: folders, ``.txt``, ``.csv`` and ``.jsonl`` files.
        out: the output folder.
        fmt: ``jsonl``, ``brat``, ``spacy`` or ``html``.
        model: a clinnlp model folder (the default model when omitted).
        device: ``cpu``, ``cuda``...; CUDA when present if omitted.
        batch_size: documents per batch through the pipeline and per commit.
        n_process: worker processes for ``nlp.pipe``.
        max_bytes: larger documents fail (``None``: no limit).
        text_col: text column or key of CSV/JSONL records.
        id_col: id column or key of CSV/JSONL records.
        force: replace the output of an earlier, different run (or start this one afresh):
            remove what that run recorded in its ``run.json``, and nothing else.
        nlp: a ready pipeline to use instead of building one from ``model``.
        progress: show a progress bar; by default only when stderr is a terminal.
        engine: ``local`` (``nlp.pipe`` here) or ``spark``: the executors of a Spark session
            annotate (:func:`clinnlp.batch.spark.annotate_records`); inputs, output, resume
            and errors stay as here. Not with ``fmt="spacy"`` or ``n_process > 1``; the
            executors build their own pipeline on the CPU (``nlp`` and ``device`` unused).
        spark_master: the Spark master URL (``local[2]``, ``yarn``...); by default the one
            ``spark-submit`` gave, else ``local[*]``.
        spark_ui: open Spark's web UI (off by default; see
            :func:`clinnlp.batch.spark.session`).

    Returns:
        ``done`` (annotated now), ``skipped`` (done by an earlier run), ``failed``,
        ``seconds``, ``docs_per_second`` (annotated now / seconds), ``out``, ``errors``.

    Raises:
        ConfigError: an unknown format, an output folder holding other output (without
            ``force``), files or folders of the output names that no clinnlp run recorded
            (even with ``force``), a link among the output names, or an output folder
            overlapping an input.
        InputError: an input that does not exist.
        ModelError: the model folder is missing or incomplete.
    """
    from tqdm import tqdm

    from clinnlp.modeling.tagger import check_model_dir
    from clinnlp.pipeline import build_pipeline, install_extensions

    if fmt not in FORMATS:
        raise ConfigError(E_ANNOTATE_FORMAT.format(name=fmt, formats=", ".join(FORMATS)))
    if batch_size < 1 or n_process < 1:
        raise ConfigError(E_BATCH_COUNTS.format(batch_size=batch_size, n_process=n_process))
    if engine not in ("local", "spark"):
        raise ConfigError(E_ENGINE.format(name=engine))
    if engine == "spark":
        _check_spark(fmt, n_process)
    paths = [Path(p) for p in inputs]
    out = Path(out).resolve()
    for path in paths:
        if not path.exists():
            raise InputError(path, E_NOT_FOUND.format(what="a folder, .txt, .csv or .jsonl file"))
        if path.resolve() == out or path.resolve().is_relative_to(out):
            raise ConfigError(E_OUT_OVERLAP.format(input=path, out=out))
    model_dir = Path(model) if model is not None else DEFAULT_MODEL
    config: dict[str, Any] = {
        "command": "annotate",
        "inputs": [str(p.resolve()) for p in paths],
        "format": fmt,
        "model": str(model_dir.resolve()),
        "text_col": text_col,
        "id_col": id_col,
        "max_bytes": max_bytes,
        # what --force may remove later: exactly the files and folders this run writes
        "outputs": _run_outputs(fmt),
    }
    if engine == "spark":  # the executors build their pipelines; the model is checked here
        check_model_dir(model_dir)
    elif nlp is None:  # before touching --out: a wrong model path must not leave a run behind
        nlp = build_pipeline(model_dir, device=device)
    # what makes the output what it is: a resume that differs in any of it is refused
    config |= {
        "batch_size": batch_size,
        "clinnlp": __version__,
        "model_digest": model_digest(model_dir),
        "knowledge_bases": _knowledge_bases(nlp),
    }
    if nlp is not None:
        # spaCy refuses texts over nlp.max_length characters (E088); max_bytes is the limit
        nlp.max_length = max(nlp.max_length, sys.maxsize if max_bytes is None else max_bytes)
    install_extensions()
    session = None
    if engine == "spark":  # before touching --out: a Spark that cannot start leaves no run
        from clinnlp.batch import spark

        session = spark.session(spark_master, ui=spark_ui)
    fresh = not out.exists() or (out.is_dir() and not any(out.iterdir()))
    _prepare_out(out, config, force)

    done, files = read_commits(out)
    sink = SINKS[fmt](out, files)
    counts = {"done": 0, "skipped": 0, "failed": 0}
    seen: dict[str, str] = {}
    show = sys.stderr.isatty() if progress is None else progress
    bar = tqdm(desc="annotate", unit="doc", disable=not show, dynamic_ncols=True)

    with (out / ERRORS_FILE).open("wb") as errors, (out / DONE_FILE).open("ab") as log:

        def fail(doc_id: str, metadata: dict[str, Any], reason: str) -> None:
            counts["failed"] += 1
            record = {"id": doc_id, **metadata, "reason": reason}
            # backslashreplace: an undecodable byte of a file name stays a JSON \udcxx escape
            line = json.dumps(record, ensure_ascii=False) + "\n"
            append_durably(errors, line.encode("utf-8", "backslashreplace"))
            logger.debug("%s failed: %s", metadata.get("path", doc_id), reason)
            bar.set_postfix(failed=counts["failed"], refresh=False)

        def records() -> Iterator[Record]:
            """The documents to annotate; the others recorded as failed or counted skipped."""
            items = iter_inputs(
                paths, text_col=text_col, id_col=id_col, max_bytes=max_bytes, done=done, exclude=out
            )
            for item in items:
                reason = _rejected(item, seen)
                if item.skipped and reason is None:
                    seen[item.id] = item.path
                    counts["skipped"] += 1
                    continue
                reason = reason or sink.check(item.id)
                if reason is not None:
                    fail(item.id, item.metadata, reason)
                    continue
                seen[item.id] = item.path
                yield item.record()

        def commit(part: list[tuple[Document, Doc | None]]) -> None:
            sizes = sink.write(part)
            ids = [document.id for document, _ in part]
            entry = json.dumps({"ids": ids, "files": sizes}, ensure_ascii=False) + "\n"
            append_durably(log, entry.encode("utf-8"))
            sink.committed()
            counts["done"] += len(part)
            bar.update(len(part))

        start = time.perf_counter()
        chunk: list[tuple[Document, Doc | None]] = []
        results: Iterator[Annotated | Failure]
        if session is not None:
            from clinnlp.batch import spark

            results = spark.annotate_records(
                session,
                records(),
                model=str(model_dir.resolve()),
                batch_size=batch_size,
            )
        else:
            assert nlp is not None
            results = annotate_records(nlp, records(), batch_size=batch_size, n_process=n_process)
        for result in results:
            if not isinstance(result, Annotated):
                fail(result.id, result.metadata, result.reason)
                continue
            chunk.append((result.document, result.doc))
            if len(chunk) >= batch_size:
                commit(chunk)
                chunk = []
        if chunk:
            commit(chunk)
        sink.close()
        seconds = time.perf_counter() - start
    bar.close()
    if not any(counts.values()):
        if fresh:  # leave no run behind that would refuse the inputs the user gives next
            _remove_outputs(out, _run_outputs(fmt), {})
            if not any(out.iterdir()):
                out.rmdir()
        raise InputError(", ".join(str(p) for p in paths), E_NO_DOCUMENTS)
    return {
        **counts,
        "seconds": round(seconds, 3),
        "docs_per_second": round(counts["done"] / seconds, 2) if seconds > 0 else 0.0,
        "out": str(out),
        "errors": str(out / ERRORS_FILE),
    }


def _remove_outputs(out: Path, names: Sequence[str], written: dict[str, int]) -> None:
    """Remove the output files ``names`` of ``out`` and, in its output folders, the files a run
    wrote there (``written``: the committed ones; the pending ones are found by
    :func:`clinnlp.batch.sinks.remove_written`), then those folders if that emptied them.
    Nothing is removed through a link, and the user's own files in the folders stay."""
    for name in names:
        target = out / name
        if target.is_symlink():
            continue
        if name in FOLDERS and target.is_dir():
            remove_written(out, name, written, keep=set())
            if not any(target.iterdir()):
                target.rmdir()
        elif target.is_file():
            target.unlink()


def _check_spark(fmt: str, n_process: int) -> None:
    """Refuse what the Spark engine cannot do, before anything is written."""
    import importlib.util
    import os

    java = shutil.which("java") or os.environ.get("JAVA_HOME")
    if importlib.util.find_spec("pyspark") is None or not java:
        raise ConfigError(E_SPARK_MISSING)
    if fmt == "spacy":
        raise ConfigError(E_SPARK_FORMAT)
    if n_process > 1:
        raise ConfigError(E_SPARK_PROCESSES)


def _rejected(item: Item, seen: dict[str, str]) -> str | None:
    """Why ``item`` fails before the pipeline sees it (its own reason, a duplicate id, an
    undecodable name), or None."""
    if item.reason is not None:
        return item.reason
    if item.id in seen:  # before the skip: a duplicate fails on every run
        return E_DUPLICATE_ID.format(first=seen[item.id])
    if not item.skipped and has_surrogates(item.id + item.path):
        return E_PATH_ENCODING
    return None


__all__ = ["FORMATS", "annotate"]
