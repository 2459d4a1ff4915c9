"""clinnlp's spaCy components, registered through the ``spacy_factories`` entry points.

spaCy imports this module whenever it builds a ``Language`` (to read the entry points), so it
stays light: no torch or transformers here; weights load on a component's first use.

Components:
    ``clinnlp_tagger``: :class:`~clinnlp.pipeline.tagger.TaggerComponent` (entities and
    relations).
    ``clinnlp_context``: :class:`~clinnlp.pipeline.context.ContextComponent` (assertion).
"""

# No `from __future__ import annotations`: spaCy validates factory arguments from the
# signature's annotations at run time.
import functools
import logging
from pathlib import Path
from typing import Any

from spacy.language import Language

from clinnlp.pipeline.context import ContextComponent
from clinnlp.pipeline.document import SPAN_KEY, entities, to_document
from clinnlp.pipeline.extensions import EXTENSIONS, install_extensions
from clinnlp.pipeline.linker import DEFAULT_LABELS, LinkerComponent
from clinnlp.pipeline.tagger import TaggerComponent

logger = logging.getLogger(__name__)


@functools.cache
def _warn_no_kb(folder: str) -> None:
    """Say once a process that the linker is left out for want of knowledge bases."""
    from clinnlp.errors import W_NO_KB

    logger.warning(W_NO_KB.format(path=folder))


@Language.factory(
    "clinnlp_tagger",
    default_config={
        "model": None,
        "batch_size": 32,
        "device": None,  # auto: CUDA when present, as build_pipeline and TaggerComponent
        "span_key": SPAN_KEY,
        "precision": "auto",
        "drug_vocabulary": 0.95,
        "rules": True,
        "ents": False,
    },
    assigns=["doc.spans", "span._.clinnlp_confidence", "doc._.clinnlp_relations"],
)
def make_tagger(
    nlp: Language,
    name: str,
    model: str | None,
    batch_size: int,
    device: str | None,
    span_key: str | None,
    precision: str,
    drug_vocabulary: float | None,
    rules: bool,
    ents: bool,
) -> TaggerComponent:
    """Build a ``clinnlp_tagger`` (``model``: a clinnlp model folder, the default model when
    ``None``; see :class:`~clinnlp.pipeline.tagger.TaggerComponent` for the rest)."""
    return TaggerComponent(
        nlp, name, model, batch_size, device, span_key, precision, drug_vocabulary, rules, ents
    )


@Language.factory(
    "clinnlp_context",
    default_config={"rules": None, "labels": [], "span_key": SPAN_KEY},
    assigns=["span._.clinnlp_assertion"],
)
def make_context(
    nlp: Language, name: str, rules: str | None, labels: list[str], span_key: str | None
) -> ContextComponent:
    """Build a ``clinnlp_context`` (``rules``: a rules file, the packaged one when ``None``;
    ``labels``: entity labels to assert, all when empty; ``span_key``: the span group of the
    entities, ``doc.ents`` when the doc has none)."""
    return ContextComponent(nlp, name, rules, labels, span_key)


@Language.factory(
    "clinnlp_linker",
    default_config={"kb": None, "labels": None, "k": 3, "span_key": SPAN_KEY},
    assigns=["span._.clinnlp_concepts"],
)
def make_linker(
    nlp: Language,
    name: str,
    kb: str | None,
    labels: dict[str, list[Any]] | None,
    k: int,
    span_key: str | None,
) -> LinkerComponent:
    """Build a ``clinnlp_linker`` (``kb``: the knowledge bases' folder, ``models/kb`` when
    ``None``; ``labels``: ``{label: [kb folder name, threshold]}``; ``k``: concepts kept;
    ``span_key``: the span group of the entities, ``doc.ents`` when the doc has none)."""
    return LinkerComponent(nlp, name, kb, labels, k, span_key)


def build_pipeline(
    model: str | Path | None = None,
    device: str | None = None,
    batch_size: int = 32,
    span_key: str = SPAN_KEY,
    precision: str = "auto",
    drug_vocabulary: float | None = 0.95,
    kb: str | Path | None = None,
    linker: bool | None = None,
    rules: bool = True,
) -> Language:
    """The full pipeline: the scispaCy text layer of :func:`clinnlp.text.make_text_pipeline`,
    ``clinnlp_tagger`` (entities and relations) and ``clinnlp_context`` (assertion).

    Args:
        model: a clinnlp model folder; :data:`clinnlp.DEFAULT_MODEL` when omitted.
        device: ``"cpu"``, ``"cuda"``...; CUDA when present if omitted.
        batch_size: windows per forward pass of the model.
        span_key: the span group the entities go in too (they are ``doc.ents`` here).
        precision: ``"auto"``, ``"bf16"`` or ``"fp32"``.
        drug_vocabulary: merge the tagger's drugs with the drug vocabulary at this
            confidence (:func:`clinnlp.lexicon.vocabulary.merge_drugs`); ``None``: the
            model's spans alone.
        kb: the knowledge bases' folder for ``clinnlp_linker``; :data:`clinnlp.DEFAULT_KB`
            when omitted (``make kb`` builds it).
        linker: add ``clinnlp_linker``: ``None`` (the default) when a ``kb`` is given or the
            default folder exists; ``True`` always (a missing knowledge base is an error);
            ``False`` never.
        rules: apply the real-note rules of :mod:`clinnlp.modeling.rules` to the tagger's
            spans and relations.
    """
    from clinnlp.about import DEFAULT_MODEL
    from clinnlp.modeling.tagger import check_device, check_model_dir, resolve_device
    from clinnlp.text import make_text_pipeline

    # a wrong device, or CUDA asked for where there is none, fails here, not on every document
    if device is not None and device.startswith("cuda"):
        resolve_device(device)
    else:
        check_device(device)

    model_dir = check_model_dir(model if model is not None else DEFAULT_MODEL)
    nlp = make_text_pipeline()
    config = {
        "model": str(model_dir.resolve()),
        "batch_size": batch_size,
        "device": device,
        "span_key": span_key,
        "precision": precision,
        "drug_vocabulary": drug_vocabulary,
        "rules": rules,
        "ents": True,  # clinnlp's own pipeline: its entities are the doc's
    }
    nlp.add_pipe("clinnlp_tagger", config=config)
    nlp.add_pipe("clinnlp_context", config={"span_key": span_key})
    from clinnlp.about import DEFAULT_KB
    from clinnlp.linking.index import check
    from clinnlp.readers.textfile import MAX_DOCUMENT_BYTES

    folder = Path(kb) if kb is not None else DEFAULT_KB
    if linker is None:
        linker = kb is not None or DEFAULT_KB.is_dir()
        if not linker:
            _warn_no_kb(str(DEFAULT_KB))
    if linker:
        for sub in {v[0] for v in DEFAULT_LABELS.values()}:
            check(folder / sub)
        # the default folder is named by none: a saved pipeline then finds the knowledge bases
        # of the machine it is loaded on (``nlp.to_disk`` folders travel)
        where = None if kb is None else str(folder.resolve())
        nlp.add_pipe("clinnlp_linker", config={"kb": where, "span_key": span_key})
    # as the CLI: documents up to its default size limit (spaCy stops at 1,000,000 characters)
    nlp.max_length = max(nlp.max_length, MAX_DOCUMENT_BYTES)
    return nlp


__all__ = [
    "EXTENSIONS",
    "SPAN_KEY",
    "ContextComponent",
    "LinkerComponent",
    "TaggerComponent",
    "build_pipeline",
    "entities",
    "install_extensions",
    "make_context",
    "make_linker",
    "make_tagger",
    "to_document",
]
