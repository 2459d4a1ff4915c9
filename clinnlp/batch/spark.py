"""The Spark engine: the same per-document core (:func:`clinnlp.batch.core.annotate_records`)
in ``mapInPandas``, for collections that outgrow one machine.

Each executor's Python worker builds the pipeline once (cached by its configuration) and runs
torch on one thread, since Spark runs one task a core. Every row comes back as the JSON of its
Document (what the local engine writes in ``annotations.jsonl``, with the same
``adverse_drug_events`` summary) or as a failure (its reason, never the text)::

    from clinnlp.batch.spark import annotate
    result = annotate(spark.read.parquet("notes"), id_col="note_id", text_col="note_text")
    result.write.parquet("annotated")

``clinnlp annotate --engine spark`` runs the local engine's inputs, output folder, resume and
errors with this engine doing the annotation (:func:`annotate_records`).

Needs ``pip install "clinnlp[spark]"`` (PySpark) and Java 17; on a cluster, clinnlp with its
model and knowledge bases installed on every executor (README, "Scaling out").
"""

from __future__ import annotations

import functools
import json
import os
import sys
from collections.abc import Iterable, Iterator
from typing import TYPE_CHECKING, Any

from clinnlp.batch.core import Annotated, Failure, Record
from clinnlp.errors import E_SPARK_JAVA, E_SPARK_START, ConfigError

if TYPE_CHECKING:
    import pandas as pd
    from pyspark.sql import DataFrame, SparkSession

#: The result's columns: the id, the Document as JSON (null on failure), the failure reason.
SCHEMA = "id string, document string, error string"


@functools.cache
def _pipeline(
    model: str | None, kb: str | None, linker: bool | None, batch_size: int, precision: str
) -> Any:
    """This worker's pipeline, built on its first task, torch on one thread."""
    import torch

    from clinnlp import load

    torch.set_num_threads(1)
    nlp = load(
        model, device="cpu", batch_size=batch_size, kb=kb, linker=linker, precision=precision
    )
    nlp.max_length = sys.maxsize  # the size limit is the caller's (--max-bytes), not spaCy's
    return nlp


def _row_failure(doc_id: str, text: Any) -> str | None:
    """Why a row cannot be annotated (no id, no text, empty or binary text), or None."""
    from clinnlp.errors import E_RECORD_ID, E_RECORD_TEXT
    from clinnlp.readers.textfile import check_text

    if not doc_id:
        return E_RECORD_ID.format(column="id")
    if not isinstance(text, str):
        found = "missing" if text is None else f"a {type(text).__name__}"
        return E_RECORD_TEXT.format(column="text", found=found)
    return check_text(text, None)


def annotate_partition(
    batches: Iterator[pd.DataFrame],
    model: str | None = None,
    kb: str | None = None,
    linker: bool | None = None,
    batch_size: int = 32,
    precision: str = "auto",
) -> Iterator[pd.DataFrame]:
    """``mapInPandas`` body: frames of ``id``, ``text`` in; frames of :data:`SCHEMA` out."""
    import pandas as pd

    from clinnlp.batch.core import annotate_records as core
    from clinnlp.events import adverse_drug_events

    nlp = _pipeline(model, kb, linker, batch_size, precision)
    for frame in batches:
        rows: list[tuple[str, str | None, str | None]] = []
        records = []
        for raw_id, text in zip(frame["id"], frame["text"], strict=True):
            doc_id = "" if raw_id is None else str(raw_id)
            reason = _row_failure(doc_id, text)
            if reason is not None:
                rows.append((doc_id, None, reason))
            else:
                records.append(Record(doc_id, text))
        for result in core(nlp, records, batch_size=batch_size):
            if isinstance(result, Annotated):
                document = result.document
                data = {**document.to_dict(), "adverse_drug_events": adverse_drug_events(document)}
                rows.append((document.id, json.dumps(data, ensure_ascii=False), None))
            else:
                rows.append((result.id, None, result.reason))
        yield pd.DataFrame(rows, columns=["id", "document", "error"])


def annotate(
    df: DataFrame,
    id_col: str = "id",
    text_col: str = "text",
    *,
    model: str | None = None,
    kb: str | None = None,
    linker: bool | None = None,
    batch_size: int = 32,
    precision: str = "auto",
) -> DataFrame:
    """Annotate the ``text_col`` of every row of ``df``: a DataFrame of :data:`SCHEMA`, one
    row per input row (ids as strings). Lazy, as Spark always is: write or collect it.

    Args:
        df: the documents.
        id_col: the column of their ids.
        text_col: the column of their texts.
        model: a clinnlp model folder readable on every executor (the default when ``None``).
        kb: the knowledge bases' folder on every executor (the default when ``None``);
            ``linker`` as for :func:`clinnlp.load`.
        batch_size: documents per batch of the pipeline.
        precision: the tagger's precision on the executors (``auto``, ``bf16``, ``fp32``,
            ``int8``).
    """
    from pyspark.sql import functions as F

    source = df.select(F.col(id_col).cast("string").alias("id"), F.col(text_col).alias("text"))
    body = functools.partial(
        annotate_partition,
        model=model,
        kb=kb,
        linker=linker,
        batch_size=batch_size,
        precision=precision,
    )
    return source.mapInPandas(body, schema=SCHEMA)


def session(master: str | None = None, ui: bool = False) -> SparkSession:
    """The active Spark session, else a new one: on ``master``; under ``spark-submit`` on the
    master it was given; else ``local[*]``. Its Python workers run this interpreter unless
    ``PYSPARK_PYTHON`` says otherwise.

    Patient notes stay on the machine: on a local master (``local``, ``local[N]``,
    ``local-cluster[...]``) the driver binds to 127.0.0.1 only, and the web UI (which lists
    jobs on a port any host can reach) is off unless ``ui``. A cluster master needs the
    driver reachable by its executors, so there Spark's own settings hold.
    """
    import logging

    from pyspark.sql import SparkSession

    logging.getLogger("py4j").setLevel(logging.WARNING)  # its INFO lines are not the user's
    os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
    active = SparkSession.getActiveSession()
    if active is not None and master is None:
        return active
    builder = SparkSession.builder.appName("clinnlp")
    if master is None and "PYSPARK_GATEWAY_PORT" not in os.environ:  # not under spark-submit
        master = "local[*]"
    if master is not None:
        builder = builder.master(master)
    builder = builder.config("spark.ui.showConsoleProgress", "false")
    builder = builder.config("spark.ui.enabled", "true" if ui else "false")
    if master is not None and master.startswith("local"):
        builder = builder.config("spark.driver.bindAddress", "127.0.0.1")
        builder = builder.config("spark.driver.host", "127.0.0.1")
    try:
        spark = builder.getOrCreate()
    except Exception as err:  # pyspark raises its own types; Java missing is the usual cause
        if "JAVA_GATEWAY_EXITED" in str(err) or "Java gateway" in str(err):
            home = os.environ.get("JAVA_HOME") or "unset"
            raise ConfigError(E_SPARK_JAVA.format(java_home=home)) from None
        first = (str(err).strip().splitlines() or [""])[0][:300]
        raise ConfigError(E_SPARK_START.format(kind=type(err).__name__, first=first)) from None
    spark.sparkContext.setLogLevel("ERROR")
    return spark


def annotate_records(
    spark: SparkSession,
    records: Iterable[Record],
    *,
    model: str | None = None,
    kb: str | None = None,
    linker: bool | None = None,
    batch_size: int = 32,
    chunk: int | None = None,
    precision: str = "auto",
) -> Iterator[Annotated | Failure]:
    """The Spark counterpart of :func:`clinnlp.batch.core.annotate_records` for the local
    run: records go to the executors ``chunk`` at a time (by default 16 batches per core);
    results come back in order, as Documents (the ``doc`` of each :class:`Annotated` is
    ``None``: spaCy Docs stay on the executors) or failures."""
    import pandas as pd

    from clinnlp.schema import Document

    parallelism = spark.sparkContext.defaultParallelism
    size = chunk or 16 * batch_size * parallelism
    pending: list[Record] = []

    def run(part: list[Record]) -> Iterator[Annotated | Failure]:
        frame = pd.DataFrame({"id": [r.id for r in part], "text": [r.text for r in part]})
        df = spark.createDataFrame(frame, schema="id string, text string")
        df = df.repartition(min(parallelism, len(part)))
        result = annotate(
            df, model=model, kb=kb, linker=linker, batch_size=batch_size, precision=precision
        )
        rows = result.collect()
        found = {row["id"]: row for row in rows}
        for record in part:
            row = found[record.id]
            if row["document"] is None:
                yield Failure(record.id, record.metadata, row["error"])
                continue
            data = json.loads(row["document"])
            data.pop("adverse_drug_events", None)
            document = Document.from_dict({**data, "metadata": record.metadata})
            yield Annotated(document, None)

    for record in records:
        pending.append(record)
        if len(pending) >= size:
            yield from run(pending)
            pending = []
    if pending:
        yield from run(pending)


__all__ = ["SCHEMA", "annotate", "annotate_partition", "annotate_records", "session"]
