"""The local batch run behind ``clinnlp annotate``: walk the inputs, stream them through the
pipeline (:func:`clinnlp.batch.core.annotate_records`), write the output so that a killed run
resumes where it stopped.

The output folder, its commit log, what a run records and how it is resumed or replaced are
:mod:`clinnlp.batch.outdir`'s; the formats are :mod:`clinnlp.batch.sinks`'.
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

from clinnlp.about import DEFAULT_KB, DEFAULT_MODEL, __version__
from clinnlp.batch.core import Annotated, Failure, Record, annotate_records
from clinnlp.batch.inputs import Item, iter_inputs
from clinnlp.batch.outdir import (
    DONE_FILE,
    ERRORS_FILE,
    FORMATS,
    append_durably,
    prepare_out,
    read_commits,
    remove_outputs,
    run_outputs,
)
from clinnlp.batch.sinks import SINKS
from clinnlp.errors import (
    E_ANNOTATE_FORMAT,
    E_BATCH_COUNTS,
    E_DUPLICATE_ID,
    E_ENGINE,
    E_NO_DOCUMENTS,
    E_NOT_FOUND,
    E_OUT_OVERLAP,
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


def annotate(
    inputs: Sequence[str | Path],
    out: str | Path,
    *,
    fmt: str = "jsonl",
    model: str | Path | None = None,
    device: str | None = None,
    precision: str = "auto",
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
        precision: ``auto``, ``bf16``, ``fp32`` or ``int8``
            (:class:`clinnlp.modeling.tagger.Tagger`).
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
    from clinnlp.modeling.tagger import check_model_dir
    from clinnlp.pipeline import build_pipeline, install_extensions

    _check_options(fmt, batch_size, n_process, engine)
    paths = [Path(p) for p in inputs]
    out = Path(out).resolve()
    _check_inputs(paths, out)
    model_dir = Path(model) if model is not None else DEFAULT_MODEL
    if engine == "spark":  # the executors build their pipelines; the model is checked here
        check_model_dir(model_dir)
    elif nlp is None:  # before touching --out: a wrong model path must not leave a run behind
        nlp = build_pipeline(model_dir, device=device, precision=precision)
    config = _run_config(paths, fmt, model_dir, nlp, text_col, id_col, max_bytes, batch_size)
    config["precision"] = precision
    if nlp is not None:
        # spaCy refuses texts over nlp.max_length characters (E088); max_bytes is the limit
        nlp.max_length = max(nlp.max_length, sys.maxsize if max_bytes is None else max_bytes)
    install_extensions()
    session = None
    if engine == "spark":  # before touching --out: a Spark that cannot start leaves no run
        from clinnlp.batch import spark

        session = spark.session(spark_master, ui=spark_ui)
    fresh = not out.exists() or (out.is_dir() and not any(out.iterdir()))
    prepare_out(out, config, force)
    done, files = read_commits(out)
    run = _Run(out, SINKS[fmt](out, files), batch_size, progress)
    items = iter_inputs(
        paths, text_col=text_col, id_col=id_col, max_bytes=max_bytes, done=done, exclude=out
    )
    with run:
        records = run.records(items)
        results: Iterator[Annotated | Failure]
        if session is not None:
            from clinnlp.batch import spark

            model_path = str(model_dir.resolve())
            results = spark.annotate_records(
                session, records, model=model_path, batch_size=batch_size, precision=precision
            )
        else:
            assert nlp is not None
            results = annotate_records(nlp, records, batch_size=batch_size, n_process=n_process)
        run.consume(results)
    if not any(run.counts.values()):
        if fresh:  # leave no run behind that would refuse the inputs the user gives next
            remove_outputs(out, run_outputs(fmt), {})
            if not any(out.iterdir()):
                out.rmdir()
        raise InputError(", ".join(str(p) for p in paths), E_NO_DOCUMENTS)
    return {
        **run.counts,
        "seconds": round(run.seconds, 3),
        "docs_per_second": round(run.counts["done"] / run.seconds, 2) if run.seconds > 0 else 0.0,
        "out": str(out),
        "errors": str(out / ERRORS_FILE),
    }


def _check_options(fmt: str, batch_size: int, n_process: int, engine: str) -> None:
    """Refuse options that cannot work, before anything is read or written."""
    if fmt not in FORMATS:
        raise ConfigError(E_ANNOTATE_FORMAT.format(name=fmt, formats=", ".join(FORMATS)))
    if batch_size < 1 or n_process < 1:
        raise ConfigError(E_BATCH_COUNTS.format(batch_size=batch_size, n_process=n_process))
    if engine not in ("local", "spark"):
        raise ConfigError(E_ENGINE.format(name=engine))
    if engine == "spark":
        _check_spark(fmt, n_process)


def _check_inputs(paths: Sequence[Path], out: Path) -> None:
    """Refuse an input that does not exist or that the output folder would hold or be."""
    for path in paths:
        if not path.exists():
            raise InputError(path, E_NOT_FOUND.format(what="a folder, .txt, .csv or .jsonl file"))
        if path.resolve() == out or path.resolve().is_relative_to(out):
            raise ConfigError(E_OUT_OVERLAP.format(input=path, out=out))


def _run_config(
    paths: Sequence[Path],
    fmt: str,
    model_dir: Path,
    nlp: Language | None,
    text_col: str,
    id_col: str,
    max_bytes: int | None,
    batch_size: int,
) -> dict[str, Any]:
    """What ``run.json`` records: the run's inputs and options, what it writes (what
    ``--force`` may remove later), and what makes its output what it is (a resume that
    differs in any of it is refused)."""
    return {
        "command": "annotate",
        "inputs": [str(p.resolve()) for p in paths],
        "format": fmt,
        "model": str(model_dir.resolve()),
        "text_col": text_col,
        "id_col": id_col,
        "max_bytes": max_bytes,
        "outputs": run_outputs(fmt),
        "batch_size": batch_size,
        "clinnlp": __version__,
        "model_digest": model_digest(model_dir),
        "knowledge_bases": _knowledge_bases(nlp),
    }


class _Run:
    """The loop of one run over its output folder: failures to ``errors.jsonl`` (durably, as
    they come), annotated documents committed a chunk at a time (the sink's files, then the
    commit line), counts and a progress bar."""

    def __init__(self, out: Path, sink: Any, batch_size: int, progress: bool | None) -> None:
        from tqdm import tqdm

        self.out, self.sink, self.batch_size = out, sink, batch_size
        self.counts = {"done": 0, "skipped": 0, "failed": 0}
        self.seen: dict[str, str] = {}
        self.seconds = 0.0
        show = sys.stderr.isatty() if progress is None else progress
        self.bar = tqdm(desc="annotate", unit="doc", disable=not show, dynamic_ncols=True)

    def __enter__(self) -> _Run:
        self.errors = (self.out / ERRORS_FILE).open("wb")
        self.log = (self.out / DONE_FILE).open("ab")
        self.start = time.perf_counter()
        return self

    def __exit__(self, *exc: object) -> None:
        self.errors.close()
        self.log.close()
        self.bar.close()

    def fail(self, doc_id: str, metadata: dict[str, Any], reason: str) -> None:
        self.counts["failed"] += 1
        record = {"id": doc_id, **metadata, "reason": reason}
        # backslashreplace: an undecodable byte of a file name stays a JSON \udcxx escape
        line = json.dumps(record, ensure_ascii=False) + "\n"
        append_durably(self.errors, line.encode("utf-8", "backslashreplace"))
        logger.debug("%s failed: %s", metadata.get("path", doc_id), reason)
        self.bar.set_postfix(failed=self.counts["failed"], refresh=False)

    def records(self, items: Iterator[Item]) -> Iterator[Record]:
        """The documents to annotate; the others recorded as failed or counted skipped."""
        for item in items:
            reason = _rejected(item, self.seen)
            if item.skipped and reason is None:
                self.seen[item.id] = item.path
                self.counts["skipped"] += 1
                continue
            reason = reason or self.sink.check(item.id)
            if reason is not None:
                self.fail(item.id, item.metadata, reason)
                continue
            self.seen[item.id] = item.path
            yield item.record()

    def commit(self, part: list[tuple[Document, Doc | None]]) -> None:
        sizes = self.sink.write(part)
        ids = [document.id for document, _ in part]
        entry = json.dumps({"ids": ids, "files": sizes}, ensure_ascii=False) + "\n"
        append_durably(self.log, entry.encode("utf-8"))
        self.sink.committed()
        self.counts["done"] += len(part)
        self.bar.update(len(part))

    def consume(self, results: Iterator[Annotated | Failure]) -> None:
        """Record every result: failures at once, documents a chunk at a time."""
        chunk: list[tuple[Document, Doc | None]] = []
        for result in results:
            if not isinstance(result, Annotated):
                self.fail(result.id, result.metadata, result.reason)
                continue
            chunk.append((result.document, result.doc))
            if len(chunk) >= self.batch_size:
                self.commit(chunk)
                chunk = []
        if chunk:
            self.commit(chunk)
        self.sink.close()
        self.seconds = time.perf_counter() - self.start


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
