"""The ``clinnlp_tagger`` component: the transformer tagger of :mod:`clinnlp.modeling.tagger` as a
spaCy pipe. It holds inference and serialisation only; training lives in ``clinnlp.training``.

Weights load on first use (or in ``initialize``), never when the component is built, so
building and ``spacy.load`` stay fast and importing this module never imports torch.
"""

from __future__ import annotations

import functools
import json
import os
import shutil
import tempfile
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path
from typing import Any

import srsly
from spacy.language import Language
from spacy.tokens import Doc, Span
from spacy.util import filter_spans, minibatch

from clinnlp.errors import E_TAGGER_NOWHERE, ConfigError, ModelError
from clinnlp.modeling.align import SpanPrediction
from clinnlp.modeling.relations import RelationPrediction
from clinnlp.modeling.tagger import Tagger, check_model_dir
from clinnlp.pipeline.document import SPAN_KEY
from clinnlp.pipeline.extensions import install_extensions

#: Folder of the model inside the component's folder of a saved pipeline.
MODEL_DIR = "model"


def _one_thread_after_fork() -> None:
    # GNU OpenMP (torch's CPU thread pool) is not fork-safe: a child forked after the parent
    # ran a parallel op (nlp.pipe(n_process=...) forks) hangs in its first multi-threaded op.
    import torch

    torch.set_num_threads(1)


@functools.cache
def _guard_forks() -> None:
    """Give forked children a one-thread torch pool (registered once, when weights load)."""
    os.register_at_fork(after_in_child=_one_thread_after_fork)


class TaggerComponent:
    """Tag drugs, adverse effects, doses... with a fine-tuned transformer, and link them.

    Sets ``doc.spans[span_key]`` (predicted spans widened to token boundaries, overlaps
    resolved with :func:`spacy.util.filter_spans`), and ``doc.ents`` to the same spans only
    with ``ents`` (clinnlp's own pipeline, ``clinnlp.load``: inside a host pipeline the host's
    ``doc.ents`` stay as they were), ``span._.clinnlp_confidence`` (mean tag probability) on
    each, and
    ``doc._.clinnlp_relations`` (drug -> event ``Causes``, dose -> drug ``Dose-of``...) when
    the model has a relation head, from the same encoder pass.

    Serialisation: ``to_disk`` writes the model folder to ``<component>/model`` (copied as
    is); pickling carries the model's path, or its files' bytes when it exists only in
    memory. Workers forked by ``nlp.pipe(n_process=...)`` run torch on one thread each.

    Args:
        nlp: the pipeline (unused; spaCy's factory signature).
        name: the component's name in the pipeline.
        model: a clinnlp model folder; :data:`clinnlp.DEFAULT_MODEL` when ``None``.
        batch_size: windows per forward pass of the model.
        device: ``"cpu"``, ``"cuda"``, ``"cuda:N"``, or ``None``/``"auto"`` (the default):
            CUDA when present.
        span_key: the span group the entities go in (``"clinnlp"``; ``None``: none, then
            ``ents`` must be set).
        ents: also set ``doc.ents`` (replacing what a host pipeline set there).
        precision: ``"auto"``, ``"bf16"`` or ``"fp32"``
            (see :class:`~clinnlp.modeling.tagger.Tagger`).
        drug_vocabulary: merge the drugs with the packaged drug vocabulary at this
            confidence (:func:`clinnlp.lexicon.vocabulary.merge_drugs`); ``None``: the
            model's spans alone.
        rules: apply the real-note rules of :mod:`clinnlp.modeling.rules` (one span per
            event; no generic reaction words, lab values, analytes or indications as events).
    """

    def __init__(
        self,
        nlp: Language | None,
        name: str,
        model: str | Path | None = None,
        batch_size: int = 32,
        device: str | None = None,
        span_key: str | None = SPAN_KEY,
        precision: str = "auto",
        drug_vocabulary: float | None = 0.95,
        rules: bool = True,
        ents: bool = False,
    ) -> None:
        if not span_key and not ents:
            raise ConfigError(E_TAGGER_NOWHERE.format(name=name))
        self.name = name
        self.ents = ents
        self.drug_vocabulary = drug_vocabulary
        self.rules = rules
        self.model_path = Path(model) if model else None
        self.batch_size = batch_size
        self.device = device
        self.span_key = span_key
        self.precision = precision
        self._tagger: Tagger | None = None
        install_extensions()

    # -- the model --------------------------------------------------------------------------

    def _source(self) -> Path | None:
        """The folder the weights come from; ``None`` when they exist only in memory."""
        if self.model_path is not None:
            return self.model_path
        if self._tagger is not None:
            return None
        from clinnlp import DEFAULT_MODEL

        return DEFAULT_MODEL

    @property
    def tagger(self) -> Tagger:
        """The loaded :class:`~clinnlp.modeling.tagger.Tagger` (loaded here on first use)."""
        if self._tagger is None:
            source = self._source()
            assert source is not None  # only None once a tagger is in memory
            self._tagger = Tagger.load(source, device=self.device, precision=self.precision)
            _guard_forks()
        return self._tagger

    @tagger.setter
    def tagger(self, tagger: Tagger) -> None:
        """Use an in-memory tagger (e.g. one just trained); serialisation then saves it."""
        _guard_forks()
        self._tagger = tagger
        self.model_path = None

    @property
    def labels(self) -> tuple[str, ...]:
        """Entity labels, read from the model's ``config.json`` without loading the weights."""
        if self._tagger is not None:
            return tuple(self._tagger.labels)
        try:
            config = json.loads((self._source() / "config.json").read_text("utf-8"))  # type: ignore[operator]
        except (OSError, ValueError):
            return ()
        return tuple(sorted({t[2:] for t in config.get("id2label", {}).values() if t != "O"}))

    def initialize(
        self, get_examples: Any = None, *, nlp: Language | None = None, model: str | None = None
    ) -> None:
        """Load the weights now (from ``model`` when given) rather than on first use."""
        if model:
            self.model_path, self._tagger = Path(model), None
        _ = self.tagger

    # -- inference --------------------------------------------------------------------------

    def __call__(self, doc: Doc) -> Doc:
        return self.set_annotations([doc], self._extract([doc.text]))[0]

    def _extract(self, texts: list[str]) -> Any:
        return self.tagger.extract(
            texts, self.batch_size, drug_vocabulary=self.drug_vocabulary, rules=self.rules
        )

    def pipe(self, stream: Iterable[Doc], *, batch_size: int = 128) -> Iterator[Doc]:
        """Tag ``batch_size`` documents at a time with one call of the model."""
        for docs in minibatch(stream, size=batch_size):
            predictions = self._extract([doc.text for doc in docs])
            yield from self.set_annotations(docs, predictions)

    def set_annotations(
        self,
        docs: Sequence[Doc],
        predictions: Sequence[
            tuple[Sequence[SpanPrediction], Sequence[RelationPrediction]] | Sequence[SpanPrediction]
        ],
    ) -> Sequence[Doc]:
        """Set the span group (and ``doc.ents`` with ``ents``) from each document's spans and
        ``doc._.clinnlp_relations`` from its relations (those whose two spans survive as
        entities)."""
        for doc, prediction in zip(docs, predictions, strict=True):
            if isinstance(prediction, tuple):
                spans, relations = prediction
            else:  # spans only (a caller of Tagger.predict)
                spans, relations = prediction, []
            found: list[Span] = []
            made: list[Span | None] = []
            for pred in spans:
                span = doc.char_span(pred.start, pred.end, pred.label, alignment_mode="expand")
                if span is None or not len(span):  # only whitespace under the prediction
                    made.append(None)
                    continue
                span._.clinnlp_confidence = float(pred.confidence)
                found.append(span)
                made.append(span)
            chosen = filter_spans(found)
            if self.ents:
                doc.ents = chosen
            if self.span_key:
                doc.spans[self.span_key] = chosen
            kept = {(e.start_char, e.end_char) for e in chosen}
            links = []
            for rel in relations:
                head, tail = made[rel.head], made[rel.tail]
                if head is None or tail is None:
                    continue
                h, t = (head.start_char, head.end_char), (tail.start_char, tail.end_char)
                if h in kept and t in kept:
                    links.append([*h, *t, rel.label, round(float(rel.confidence), 4)])
            doc._.clinnlp_relations = links
        return docs

    # -- serialisation ----------------------------------------------------------------------

    def to_disk(self, path: str | Path, *, exclude: Iterable[str] = ()) -> None:
        """Write the model folder to ``path/model`` (copied as is when it comes from disk)."""
        target = Path(path) / MODEL_DIR
        source = self._source()
        if source is None:
            self.tagger.save(target, fp16=False)  # exactly the weights that ran
            return
        check_model_dir(source)
        if target.exists() and target.resolve() == source.resolve():
            return
        target.mkdir(parents=True, exist_ok=True)
        for file in source.iterdir():
            if file.is_file():
                shutil.copy2(file, target / file.name)

    def from_disk(self, path: str | Path, *, exclude: Iterable[str] = ()) -> TaggerComponent:
        """Use the model folder at ``path/model``; its weights load on first use."""
        self.model_path, self._tagger = check_model_dir(Path(path) / MODEL_DIR), None
        return self

    def to_bytes(self, *, exclude: Iterable[str] = ()) -> bytes:
        """The model folder's files, msgpack-encoded."""
        with tempfile.TemporaryDirectory(prefix="clinnlp-") as tmp:
            self.to_disk(tmp)
            folder = Path(tmp) / MODEL_DIR
            return srsly.msgpack_dumps({f.name: f.read_bytes() for f in folder.iterdir()})

    def from_bytes(self, data: bytes, *, exclude: Iterable[str] = ()) -> TaggerComponent:
        """Load the weights from :meth:`to_bytes` output (kept in memory only)."""
        files: dict[str, bytes] = srsly.msgpack_loads(data)
        with tempfile.TemporaryDirectory(prefix="clinnlp-") as tmp:
            for name, content in files.items():
                if Path(name).name != name:
                    raise ModelError(f"serialised model holds an unsafe file name {name!r}")
                (Path(tmp) / name).write_bytes(content)
            self.tagger = Tagger.load(tmp, device=self.device, precision=self.precision)
        return self

    def __getstate__(self) -> dict[str, Any]:
        # A model on disk travels as its path; one only in memory as its files' bytes.
        state = dict(self.__dict__, _tagger=None)
        if self._source() is None:
            state["_model_bytes"] = self.to_bytes()
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        model_bytes = state.pop("_model_bytes", None)
        self.__dict__.update(state)
        install_extensions()
        if model_bytes is not None:
            self.from_bytes(model_bytes)
