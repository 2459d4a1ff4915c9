"""Fine-tune a token classifier on any corpus of :class:`~clinnlp.schema.Document` records.

Plain functions: :func:`train` returns the trained tagger and a metrics dict; the CLI only
parses options. The loop is plain PyTorch (AdamW, linear warm-up and decay, bf16 autocast
where the hardware does it fast, length-grouped batches).

**Partial labels.** Corpora annotate different labels: ADE-Corpus-V2 marks only the drugs
that take part in an event, BC5CDR marks chemicals but no adverse events, a new BRAT corpus
trained on top of the shipped model marks none of its labels. A document says which labels
it annotates exhaustively in ``metadata["annotated"]`` (every label of the corpus when
absent). For a word outside every entity, the target is then the *set* of tags it may have:
``O`` plus ``B-x``/``I-x`` of each label ``x`` the document does not annotate, and the loss is
the negative log of the probability mass on that set (marginal likelihood, as in Greenberg
et al. 2018, "Marginal likelihood training of BiLSTM-CRF for biomedical named entity
recognition from disjoint label sets"). Moving probability between ``O`` and an unannotated
label's tags changes nothing: such a word adds no loss for that label.
"""

from __future__ import annotations

import json
import logging
import math
import random
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np

from clinnlp.errors import ConfigError
from clinnlp.modeling.predict import predict_documents
from clinnlp.modeling.relations import (
    build_head,
    infer_types,
)
from clinnlp.modeling.tagger import (
    Tagger,
    bf16_supported,
    encode,
    new_model,
    resolve_device,
)
from clinnlp.schema import Document, Entity
from clinnlp.training.features import IGNORE, build_features, corpus_labels
from clinnlp.training.losses import partial_label_loss, relation_loss

logger = logging.getLogger(__name__)


@dataclass
class TrainConfig:
    """Every option of a training run; saved beside the model as ``clinnlp.json``."""

    base: str | None = None  # encoder or clinnlp model folder; None: packaged all-MiniLM-L6-v2
    labels: list[str] | None = None  # entity labels to learn; None: every label in the corpus
    epochs: int = 8
    lr: float = 1e-4
    batch_size: int = 16
    warmup: float = 0.1
    weight_decay: float = 0.01
    max_grad_norm: float = 1.0
    window: int = 256  # subword tokens per training chunk (with [CLS] and [SEP])
    dev_fraction: float = 0.1  # used when no dev corpus is given; 0 disables early stopping
    patience: int = 3  # epochs without dev improvement before stopping
    max_steps: int | None = None  # stop after this many optimiser steps (smoke runs)
    seed: int = 13
    device: str | None = None
    precision: str = "auto"
    sources: list[str] = field(default_factory=list)  # the corpora, as written (for the record)
    label_map: dict[str, str] = field(default_factory=dict)  # renames applied when reading
    vocabulary: bool = False  # weak Drug labels from the drug vocabulary where Drug is unmarked
    vocabulary_exhaustive: bool = False  # ...and Drug then counts as marked there
    weak_doses: bool = True  # amount-and-unit doses marked wherever a corpus leaves Dose unmarked
    relations: bool = True  # learn the corpus's relations with a head on the same encoder
    sample: dict[str, float] = field(default_factory=dict)  # source kind -> share drawn an epoch
    max_distance: int = 100  # subwords between two spans for a relation candidate
    extra: dict[str, Any] = field(default_factory=dict)


def epoch_rows(kinds: Sequence[str], sample: dict[str, float], rng: random.Random) -> list[int]:
    """The rows one epoch trains on: all of them, except that of the rows of each source kind
    in ``sample`` only that share, drawn afresh every epoch (negatives that outnumber the
    rest, such as ADE-NEG, are then seen in turn rather than all at once)."""
    keep = []
    for i, kind in enumerate(kinds):
        share = sample.get(kind, 1.0)
        if share >= 1.0 or rng.random() < share:
            keep.append(i)
    return keep


def _batches(
    lengths: Sequence[int], batch_size: int, rng: random.Random, rows: Sequence[int] | None = None
) -> list[list[int]]:
    """Shuffled batches of similar-length rows (less padding, same randomness per epoch),
    over ``rows`` (all when omitted)."""
    order = list(range(len(lengths))) if rows is None else list(rows)
    rng.shuffle(order)
    pool = batch_size * 50
    batches = []
    for p in range(0, len(order), pool):
        chunk = sorted(order[p : p + pool], key=lambda i: lengths[i])
        batches += [chunk[b : b + batch_size] for b in range(0, len(chunk), batch_size)]
    rng.shuffle(batches)
    return batches


def _collate(rows: Any, idx: list[int], pad_id: int) -> dict[str, Any]:
    import torch

    width = max(len(rows[i]["input_ids"]) for i in idx)
    ids = torch.full((len(idx), width), pad_id, dtype=torch.long)
    allowed = torch.full((len(idx), width), IGNORE, dtype=torch.long)
    mask = torch.zeros((len(idx), width), dtype=torch.long)
    for r, i in enumerate(idx):
        n = len(rows[i]["input_ids"])
        ids[r, :n] = torch.tensor(rows[i]["input_ids"])
        allowed[r, :n] = torch.tensor(rows[i]["allowed"])
        mask[r, :n] = 1
    return {"input_ids": ids, "attention_mask": mask, "allowed": allowed}


def strict_f1(
    gold: Sequence[Document], pred: Sequence[Document], labels: Sequence[str] | None = None
) -> float:
    """Micro strict entity F1 over ``labels`` (all when omitted), for early stopping; full
    reports come from ``evaluate``."""
    from clinnlp.training.evaluate import evaluate

    return float(evaluate(gold, pred, labels=labels)["entities"]["strict"]["micro"]["f1"])


def split_dev(
    docs: Sequence[Document], fraction: float, seed: int
) -> tuple[list[Document], list[Document]]:
    """Hold out ``fraction`` of the documents, grouped by ``metadata["pmid"]`` when present."""
    groups: dict[str, list[Document]] = {}
    for d in docs:
        groups.setdefault(str(d.metadata.get("pmid", d.id)), []).append(d)
    keys = sorted(groups)
    random.Random(seed).shuffle(keys)
    n_dev = round(len(docs) * fraction)
    dev: list[Document] = []
    train: list[Document] = []
    for k in keys:
        (dev if len(dev) < n_dev else train).extend(groups[k])
    return train, dev


def train(
    docs: Sequence[Document],
    config: TrainConfig | None = None,
    dev_docs: Sequence[Document] | None = None,
    progress: Callable[[dict[str, Any]], None] | None = None,
    checkpoint: str | Path | None = None,
) -> tuple[Tagger, dict[str, Any]]:
    """Fine-tune a tagger on ``docs``.

    Args:
        docs: training documents (entities with character offsets).
        config: options; defaults reproduce the shipped model's recipe.
        dev_docs: documents for early stopping; when absent, ``config.dev_fraction`` of
            ``docs`` is held out (grouped by PMID when documents carry one).
        progress: called with a dict after every epoch (for logs and tests).
        checkpoint: a file for the training state, written after every epoch but the last;
            if it exists when training starts, training resumes from it (same recipe and
            corpus only; see :mod:`clinnlp.training.checkpoint`). The caller removes it once
            the trained model is saved.

    Returns:
        The tagger with its best dev weights, and metrics (per-epoch loss and dev F1, time).
    """
    import torch

    cfg = config or TrainConfig()
    if cfg.epochs < 1 or cfg.batch_size < 1 or cfg.lr <= 0:
        raise ConfigError("epochs and batch size must be at least 1 and the learning rate positive")
    random.seed(cfg.seed)
    np.random.seed(cfg.seed)
    torch.manual_seed(cfg.seed)
    tagger, docs, dev, dev_labels = _prepared(list(docs), dev_docs, cfg)
    labels = tagger.labels
    device = resolve_device(cfg.device)
    tagger.device = device
    model = tagger.model.to(device)
    tagger.window = cfg.window - 2
    head = _relation_head(tagger, docs, cfg) if cfg.relations else None
    if head is not None:
        tagger.relations = head.to(device)

    rows, lost = build_features(tagger, docs, cfg.window)
    if lost:
        logger.warning("%d training entities overlap others and cannot be tagged in BIO", lost)
    lengths = [len(r["input_ids"]) for r in rows]
    rng = random.Random(cfg.seed)
    kinds = [r["kind"] for r in rows]
    expected = sum(min(1.0, cfg.sample.get(kind, 1.0)) for kind in kinds)
    steps_per_epoch = math.ceil(expected / cfg.batch_size)
    total = (
        steps_per_epoch * cfg.epochs
        if cfg.max_steps is None
        else min(cfg.max_steps, steps_per_epoch * cfg.epochs)
    )
    optim, sched, trained = _optimiser(model, head, cfg, total)
    use_bf16 = cfg.precision == "bf16" or (cfg.precision == "auto" and bf16_supported(device))
    tagger.use_bf16 = use_bf16
    history: list[dict[str, Any]] = []
    best_f1, best_state, bad_epochs, step = -1.0, None, 0, 0
    started = time.perf_counter()
    first, key = 1, ""
    ckpt_path = Path(checkpoint) if checkpoint is not None else None
    if ckpt_path is not None:
        from clinnlp.training import checkpoint as ckpt

        key = ckpt.fingerprint(asdict(cfg), rows, dev)
        saved = ckpt.load(ckpt_path, key)
        if saved is not None:
            model.load_state_dict(saved["model"])
            if head is not None:
                head.load_state_dict(saved["relations"])
            optim.load_state_dict(saved["optim"])
            sched.load_state_dict(saved["sched"])
            ckpt.restore_random_state(rng, saved["random"])
            history, best_f1, best_state = saved["history"], saved["best_f1"], saved["best"]
            bad_epochs, step, first = saved["bad_epochs"], saved["step"], saved["epoch"] + 1
            started -= history[-1]["seconds"]
            logger.warning(
                "resuming from %s after epoch %d (move it away to train afresh)",
                ckpt_path,
                saved["epoch"],
            )
    for epoch in range(first, cfg.epochs + 1):
        model.train()
        if head is not None:
            head.train()
        losses = []
        for idx in _batches(lengths, cfg.batch_size, rng, epoch_rows(kinds, cfg.sample, rng)):
            batch = {
                k: v.to(device)
                for k, v in _collate(rows, idx, tagger.tokenizer.pad_token_id or 0).items()
            }
            with torch.autocast(device.split(":")[0], dtype=torch.bfloat16, enabled=use_bf16):
                logits, states = encode(
                    model, batch["input_ids"], batch["attention_mask"], head is not None
                )
            loss = partial_label_loss(logits, batch["allowed"])
            if head is not None:
                pair_loss = relation_loss(head, states, [rows[i] for i in idx], device)
                if pair_loss is not None:
                    loss = loss + pair_loss
            loss.backward()
            torch.nn.utils.clip_grad_norm_(trained, cfg.max_grad_norm)
            optim.step()
            sched.step()
            optim.zero_grad(set_to_none=True)
            losses.append(float(loss.detach()))
            step += 1
            if step >= total:
                break
        model.eval()
        if head is not None:
            head.eval()
        record: dict[str, Any] = {
            "epoch": epoch,
            "loss": float(np.mean(losses)) if losses else None,  # None: no row drawn
            "steps": step,
            "seconds": round(time.perf_counter() - started, 1),
        }
        if dev:
            record["dev_f1"] = strict_f1(dev, predict_documents(tagger, dev), dev_labels)
            if record["dev_f1"] > best_f1:
                best_f1, bad_epochs = record["dev_f1"], 0
                best_state = _snapshot(model, head)
            else:
                bad_epochs += 1
        history.append(record)
        finished = step >= total or bool(dev and bad_epochs >= cfg.patience)
        if ckpt_path is not None and not finished:
            ckpt.save(
                ckpt_path,
                {
                    "fingerprint": key,
                    "epoch": epoch,
                    "step": step,
                    "history": history,
                    "best_f1": best_f1,
                    "best": best_state,
                    "bad_epochs": bad_epochs,
                    "model": model.state_dict(),
                    **({"relations": head.state_dict()} if head is not None else {}),
                    "optim": optim.state_dict(),
                    "sched": sched.state_dict(),
                    "random": ckpt.random_state(rng),
                },
            )
        logger.info("epoch %s", json.dumps(record))
        if progress:
            progress(record)
        if finished:
            break
    if best_state is not None:
        model.load_state_dict(best_state["model"])
        if head is not None:
            head.load_state_dict(best_state["relations"])
    metrics = {
        "history": history,
        "best_dev_f1": best_f1 if dev else None,
        "train_documents": len(docs),
        "dev_documents": len(dev),
        "train_windows": len(rows),
        "entities_not_representable": lost,
        "seconds": round(time.perf_counter() - started, 1),
        "device": device,
        "bf16": use_bf16,
    }
    tagger.meta = {
        "config": asdict(cfg),
        "labels": labels,
        "metrics": metrics,
        "window": cfg.window,
        **({"relations": tagger.meta["relations"]} if head is not None else {}),
    }
    return tagger, metrics


def _prepared(
    docs: list[Document], dev_docs: Sequence[Document] | None, cfg: TrainConfig
) -> tuple[Tagger, list[Document], list[Document], list[str]]:
    """The new tagger, the training and dev documents ready for it (weak labels added, what
    each annotates said, labels only the base model knows tagged by it) and the labels early
    stopping scores."""
    if dev_docs is None and cfg.dev_fraction > 0:
        docs, dev = split_dev(docs, cfg.dev_fraction, cfg.seed)
    else:
        dev = list(dev_docs or [])
    labels = cfg.labels or corpus_labels(docs)
    if not labels:
        raise ConfigError("the training corpus has no entities: nothing to learn")
    # A document that does not say which labels it annotates annotates those of the corpus.
    docs = [_with_annotated(d, labels) for d in docs]
    if cfg.vocabulary:
        from clinnlp.training.sources import weak_drug_labels

        docs = weak_drug_labels(docs, exhaustive=cfg.vocabulary_exhaustive)
    if cfg.weak_doses and "Dose" in labels:
        from clinnlp.training.sources import weak_dose_labels

        docs = weak_dose_labels(docs)
    tagger = new_model(labels, cfg.base)
    inherited = sorted(set(tagger.labels) - set(labels))
    if inherited and cfg.base is not None:
        # Labels only the base model knows: it tags the corpus with them first, so training
        # keeps what it knew (self-distillation) instead of drifting where nothing is taught.
        docs = base_labelled(docs, Tagger.load(cfg.base, device=cfg.device), inherited)
    return tagger, docs, dev, list(labels)  # early stopping scores what the corpus teaches


def _optimiser(model: Any, head: Any, cfg: TrainConfig, total: int) -> tuple[Any, Any, list[Any]]:
    """AdamW (no weight decay on biases and layer norms) with linear warm-up and decay over
    ``total`` steps, and the parameters it trains."""
    import torch

    no_decay = ("bias", "LayerNorm.weight")
    named = list(model.named_parameters())
    if head is not None:
        named += [(f"relations.{n}", p) for n, p in head.named_parameters()]
    params = [
        {
            "params": [p for n, p in named if not n.endswith(no_decay)],
            "weight_decay": cfg.weight_decay,
        },
        {"params": [p for n, p in named if n.endswith(no_decay)], "weight_decay": 0.0},
    ]
    optim = torch.optim.AdamW(params, lr=cfg.lr)
    warm = max(1, int(total * cfg.warmup))
    sched = torch.optim.lr_scheduler.LambdaLR(
        optim, lambda s: min((s + 1) / warm, max(0.0, (total - s) / max(1, total - warm)))
    )
    return optim, sched, [p for _, p in named]


def _snapshot(model: Any, head: Any) -> dict[str, Any]:
    """Copies of the weights (encoder and tags; relation head) to restore the best epoch."""
    state = {"model": {k: v.detach().clone() for k, v in model.state_dict().items()}}
    if head is not None:
        state["relations"] = {k: v.detach().clone() for k, v in head.state_dict().items()}
    return state


def _relation_head(tagger: Tagger, docs: Sequence[Document], cfg: TrainConfig) -> Any:
    """A fresh relation head for the relation types of ``docs`` (their most frequent argument
    labels), recorded in ``tagger.meta["relations"]``; ``None`` when the corpus holds no
    relation between labels the tagger knows."""
    triples = []
    for doc in docs:
        by_id = {e.id: e.label for e in doc.entities}
        triples += [
            (r.label, by_id[r.head], by_id[r.tail])
            for r in doc.relations
            if r.head in by_id and r.tail in by_id
        ]
    types, odd = infer_types(triples)
    types = {k: v for k, v in types.items() if v[0] in tagger.labels and v[1] in tagger.labels}
    if odd:
        logger.warning("%d relations have unusual argument labels and are not learnt", odd)
    if not types:
        return None
    tagger.meta["relations"] = {
        "labels": list(tagger.labels),
        "types": {k: list(v) for k, v in types.items()},
        "width": 32,
        "inner": 256,
        "dropout": 0.1,
        "max_distance": cfg.max_distance,
    }
    return build_head(tagger.meta["relations"], int(tagger.model.config.hidden_size))


def base_labelled(
    docs: Sequence[Document], base: Tagger, labels: Sequence[str], batch_size: int = 64
) -> list[Document]:
    """Copies of ``docs`` with the base tagger's spans of ``labels`` added where they overlap
    no annotated entity, and those labels counted as annotated in ``metadata["annotated"]``
    (only where the document did not annotate them already)."""
    out = []
    preds = base.predict([d.text for d in docs], batch_size=batch_size)
    for doc, spans in zip(docs, preds, strict=True):
        annotated = set(doc.metadata.get("annotated", []))
        taken = [(e.start, e.end) for e in doc.entities]
        added = []
        for p in spans:
            if p.label in labels and p.label not in annotated:
                if all(p.end <= s or e <= p.start for s, e in taken):
                    added.append(p)
        entities = list(doc.entities) + [
            Entity(f"B{i}", p.label, p.start, p.end, doc.text[p.start : p.end])
            for i, p in enumerate(added, 1)
        ]
        metadata = {**doc.metadata, "annotated": sorted(annotated | set(labels))}
        out.append(replace(doc, entities=entities, metadata=metadata))
    return out


def _with_annotated(doc: Document, labels: Sequence[str]) -> Document:
    if "annotated" in doc.metadata:
        return doc
    return replace(doc, metadata={**doc.metadata, "annotated": sorted(labels)})


def save_model(
    tagger: Tagger, path: str | Path, card: str | None = None, fp16: bool = True
) -> Path:
    """Save the tagger and, when given, its model card (README.md) beside it."""
    path = tagger.save(path, fp16=fp16)
    if card:
        (path / "README.md").write_text(card, "utf-8")
    return path
