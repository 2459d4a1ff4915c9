"""The per-document core of batch annotation: records in, Documents or failures out.

Pure: no files, no output; its only process management is that the workers of
``nlp.pipe(n_process=...)`` die with the process that started them. It is the one place a
:class:`~clinnlp.schema.Document` is built from a spaCy ``Doc`` (entities, relations,
assertions, concepts), so every sink and every engine (the local run of
:mod:`clinnlp.batch.local`, a Spark job) writes the same thing.
"""

from __future__ import annotations

import ctypes
import functools
import logging
import os
import signal
import sys
import traceback
from collections import deque
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from clinnlp.errors import E_PIPELINE, ClinnlpError
from clinnlp.pipeline.document import to_document
from clinnlp.schema import Document

if TYPE_CHECKING:
    from spacy.language import Language
    from spacy.tokens import Doc

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Record:
    """One document to annotate: its id, its text and metadata carried to the output."""

    id: str
    text: str
    metadata: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Annotated:
    """An annotated record: its Document and the spaCy Doc it was built from (``None`` from
    the Spark engine, whose Docs stay on its executors)."""

    document: Document
    doc: Doc | None


@dataclass(frozen=True)
class Failure:
    """A record on which the pipeline raised: its id, metadata, and the reason (no text)."""

    id: str
    metadata: dict[str, Any]
    reason: str


def pipeline_failure(err: Exception) -> str:
    """The failure reason for a pipeline exception: its type and where it was raised, never
    its message (it may quote the text)."""
    frames = traceback.extract_tb(err.__traceback__)
    where = f"{Path(frames[-1].filename).name}:{frames[-1].lineno}" if frames else "unknown"
    return E_PIPELINE.format(error=type(err).__name__, where=where)


# --- workers die with their parent --------------------------------------------------------

#: Linux prctl option: the signal a process gets when the thread that forked it ends.
_PR_SET_PDEATHSIG = 1
#: The pid of the process about to fork, read by the child to close the race with its death.
_forking_pid = 0
#: How many annotate_records runs with worker processes are in progress (forks guarded then).
_guarded_runs = 0


def _remember_parent() -> None:
    global _forking_pid
    _forking_pid = os.getpid()


def _die_with_parent(libc: ctypes.CDLL) -> None:
    """In a forked child: be killed when the parent dies (else a killed run leaves its
    ``nlp.pipe`` workers hung on a dead pipe forever)."""
    if not _guarded_runs:
        return
    zero = ctypes.c_ulong(0)
    if libc.prctl(_PR_SET_PDEATHSIG, ctypes.c_ulong(signal.SIGKILL), zero, zero, zero) != 0:
        return
    if os.getppid() != _forking_pid:  # the parent died before prctl took effect
        os.kill(os.getpid(), signal.SIGKILL)


@functools.cache
def _guard_worker_forks() -> None:
    """Make every process forked during an ``annotate_records`` run with workers die with its
    parent (Linux; registered once; elsewhere a no-op)."""
    if not sys.platform.startswith("linux"):
        return
    try:
        libc = ctypes.CDLL(None, use_errno=True)  # loaded here: never dlopen in a forked child
        libc.prctl  # noqa: B018  (fails here when libc has no prctl)
    except (OSError, AttributeError):
        logger.debug("prctl unavailable: nlp.pipe workers may outlive a killed run")
        return
    os.register_at_fork(
        before=_remember_parent, after_in_child=functools.partial(_die_with_parent, libc)
    )


class _InputFailure(Exception):
    """Carries an exception of the record stream through ``nlp.pipe`` (as its ``__cause__``),
    so that it is not taken for the pipeline's own."""


def annotate_records(
    nlp: Language, records: Iterable[Record], *, batch_size: int = 32, n_process: int = 1
) -> Iterator[Annotated | Failure]:
    """Run ``nlp`` over ``records`` lazily and in order; yield each one's result.

    A record on which the pipeline raises becomes a :class:`Failure` and the stream goes on:
    when ``nlp.pipe`` raises, the records in flight are run again one at a time (those that
    fail again are failures) and the rest goes through a new ``nlp.pipe``. A
    :class:`~clinnlp.errors.ClinnlpError` (a broken model, not a bad document) and any
    exception of the ``records`` iterable itself propagate.

    Sets ``doc._.clinnlp_id`` on each Doc. With ``n_process > 1`` on Linux, the workers that
    ``nlp.pipe`` forks die with the thread that forked them (``PR_SET_PDEATHSIG``): a run
    killed by SIGKILL leaves no worker behind.

    Args:
        nlp: the pipeline.
        records: the documents; read as the pipeline asks for them.
        batch_size: documents per batch of ``nlp.pipe``.
        n_process: worker processes of ``nlp.pipe``.
    """
    from clinnlp.pipeline.extensions import install_extensions

    install_extensions()
    for record, doc in _piped(nlp, records, batch_size, n_process):
        if isinstance(doc, str):
            yield Failure(record.id, record.metadata, doc)
            continue
        doc._.clinnlp_id = record.id
        yield Annotated(to_document(doc, record.id, record.metadata), doc)


def _piped(
    nlp: Language, records: Iterable[Record], batch_size: int, n_process: int
) -> Iterator[tuple[Record, Doc | str]]:
    """Each record with its Doc, or with the failure reason when the pipeline raised on it."""
    global _guarded_runs
    pending: deque[Record] = deque()

    def texts() -> Iterator[str]:
        try:
            for record in records:
                pending.append(record)
                yield record.text
        except Exception as err:  # not the pipeline's: must not be retried
            raise _InputFailure() from err

    stream = texts()
    if n_process > 1:
        _guard_worker_forks()
        _guarded_runs += 1
    try:
        yield from _pipe_with_retries(nlp, stream, pending, batch_size, n_process)
    finally:
        if n_process > 1:
            _guarded_runs -= 1


def _pipe_with_retries(
    nlp: Language, stream: Iterator[str], pending: deque[Record], batch_size: int, n_process: int
) -> Iterator[tuple[Record, Doc | str]]:
    while True:
        try:
            for doc in nlp.pipe(stream, batch_size=batch_size, n_process=n_process):
                yield pending.popleft(), doc
            return
        except _InputFailure as err:
            raise (err.__cause__ or err) from None
        except ClinnlpError:
            raise
        except Exception as err:
            retry = list(pending)
            pending.clear()
            logger.warning(
                "the pipeline raised %s; running its %d documents in flight one by one",
                type(err).__name__,
                len(retry),
            )
        for record in retry:
            try:
                doc = nlp(record.text)
            except ClinnlpError:
                raise
            except Exception as err:
                yield record, pipeline_failure(err)
                continue
            yield record, doc


__all__ = [
    "Annotated",
    "Failure",
    "Record",
    "annotate_records",
    "pipeline_failure",
]
