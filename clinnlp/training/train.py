"""Fine-tune a token classifier on any corpus of :class:`~clinnlp.schema.Document` records.

Plain functions: :func:`train` returns the trained tagger and a metrics dict; the CLI only
parses options. Features go through ``datasets``; the loop is plain PyTorch (AdamW, linear
warm-up and decay, bf16 autocast where the hardware does it fast, length-grouped batches).
"""

from __future__ import annotations

import json
import logging
import math
import random
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from clinnlp.align import SpanPrediction, encode_bio, windows
from clinnlp.errors import ConfigError
from clinnlp.modeling import Tagger, bf16_supported, encode_texts, new_model, resolve_device
from clinnlp.schema import Document, Entity

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
    extra: dict[str, Any] = field(default_factory=dict)


def corpus_labels(docs: Sequence[Document]) -> list[str]:
    """Sorted entity labels present in ``docs``."""
    return sorted({e.label for d in docs for e in d.entities})


def build_features(
    tagger: Tagger, docs: Sequence[Document], window: int
) -> tuple[list[dict[str, list[int]]], int]:
    """Tokenize documents into model inputs: first subword of each word labelled, the rest
    ignored (-100). Long documents are cut into consecutive windows.

    Returns:
        The feature rows and the number of entities BIO could not hold (nested or
        overlapping ones; see :func:`clinnlp.align.encode_bio`).
    """
    tok = tagger.tokenizer
    tag_id = {t: i for i, t in enumerate(tagger.tags)}
    rows, lost = [], 0
    for doc, enc in zip(docs, encode_texts(tok, [d.text for d in docs]), strict=True):
        if not enc.ids:
            continue
        ents = [(e.label, e.start, e.end) for e in doc.entities if f"B-{e.label}" in tag_id]
        word_tags, n_lost = encode_bio(enc.words, ents)
        lost += n_lost
        labels = [-100] * len(enc.ids)
        for w, t in enumerate(enc.first_subwords()):
            labels[t] = tag_id[word_tags[w]]
        for s, e in (
            windows(len(enc.ids), window - 2, 0)
            if len(enc.ids) > window - 2
            else [(0, len(enc.ids))]
        ):
            rows.append(
                {
                    "input_ids": [tok.cls_token_id, *enc.ids[s:e], tok.sep_token_id],
                    "labels": [-100, *labels[s:e], -100],
                }
            )
    return rows, lost


def _batches(lengths: Sequence[int], batch_size: int, rng: random.Random) -> list[list[int]]:
    """Shuffled batches of similar-length rows (less padding, same randomness per epoch)."""
    order = list(range(len(lengths)))
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
    labels = torch.full((len(idx), width), -100, dtype=torch.long)
    mask = torch.zeros((len(idx), width), dtype=torch.long)
    for r, i in enumerate(idx):
        n = len(rows[i]["input_ids"])
        ids[r, :n] = torch.tensor(rows[i]["input_ids"])
        labels[r, :n] = torch.tensor(rows[i]["labels"])
        mask[r, :n] = 1
    return {"input_ids": ids, "attention_mask": mask, "labels": labels}


def to_entities(preds: Sequence[SpanPrediction], text: str) -> list[Entity]:
    """Predicted spans as schema entities with ``attributes["confidence"]``."""
    return [
        Entity(
            f"T{i}",
            p.label,
            p.start,
            p.end,
            text[p.start : p.end],
            {"confidence": round(p.confidence, 4)},
        )
        for i, p in enumerate(preds, 1)
    ]


def predict_documents(
    tagger: Tagger, docs: Sequence[Document], batch_size: int = 64, constrained: bool = True
) -> list[Document]:
    """Copies of ``docs`` carrying the tagger's entities instead of theirs (no relations);
    ``constrained`` as in :meth:`Tagger.predict`."""
    preds = tagger.predict([d.text for d in docs], batch_size=batch_size, constrained=constrained)
    return [
        Document(d.id, d.text, to_entities(p, d.text), [], dict(d.metadata))
        for d, p in zip(docs, preds, strict=True)
    ]


def strict_f1(gold: Sequence[Document], pred: Sequence[Document]) -> float:
    """Micro strict entity F1 (for early stopping; full reports come from ``evaluate``)."""
    from clinnlp.training.evaluate import evaluate

    return float(evaluate(gold, pred)["entities"]["strict"]["micro"]["f1"])


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
) -> tuple[Tagger, dict[str, Any]]:
    """Fine-tune a tagger on ``docs``.

    Args:
        docs: training documents (entities with character offsets).
        config: options; defaults reproduce the shipped model's recipe.
        dev_docs: documents for early stopping; when absent, ``config.dev_fraction`` of
            ``docs`` is held out (grouped by PMID when documents carry one).
        progress: called with a dict after every epoch (for logs and tests).

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
    docs = list(docs)
    if dev_docs is None and cfg.dev_fraction > 0:
        docs, dev = split_dev(docs, cfg.dev_fraction, cfg.seed)
    else:
        dev = list(dev_docs or [])
    labels = cfg.labels or corpus_labels(docs)
    if not labels:
        raise ConfigError("the training corpus has no entities: nothing to learn")
    tagger = new_model(labels, cfg.base)
    device = resolve_device(cfg.device)
    tagger.device = device
    model = tagger.model.to(device)
    tagger.window = cfg.window - 2

    from datasets import Dataset

    rows, lost = build_features(tagger, docs, cfg.window)
    if lost:
        logger.warning("%d training entities overlap others and cannot be tagged in BIO", lost)
    dataset = Dataset.from_list(rows)
    lengths = [len(r) for r in dataset["input_ids"]]
    rng = random.Random(cfg.seed)
    steps_per_epoch = math.ceil(len(dataset) / cfg.batch_size)
    total = (
        steps_per_epoch * cfg.epochs
        if cfg.max_steps is None
        else min(cfg.max_steps, steps_per_epoch * cfg.epochs)
    )
    no_decay = ("bias", "LayerNorm.weight")
    params = [
        {
            "params": [p for n, p in model.named_parameters() if not n.endswith(no_decay)],
            "weight_decay": cfg.weight_decay,
        },
        {
            "params": [p for n, p in model.named_parameters() if n.endswith(no_decay)],
            "weight_decay": 0.0,
        },
    ]
    optim = torch.optim.AdamW(params, lr=cfg.lr)
    warm = max(1, int(total * cfg.warmup))
    sched = torch.optim.lr_scheduler.LambdaLR(
        optim, lambda s: min((s + 1) / warm, max(0.0, (total - s) / max(1, total - warm)))
    )
    use_bf16 = cfg.precision == "bf16" or (cfg.precision == "auto" and bf16_supported(device))
    tagger.use_bf16 = use_bf16
    history: list[dict[str, Any]] = []
    best_f1, best_state, bad_epochs, step = -1.0, None, 0, 0
    started = time.perf_counter()
    data = dataset.to_list()
    for epoch in range(1, cfg.epochs + 1):
        model.train()
        losses = []
        for idx in _batches(lengths, cfg.batch_size, rng):
            batch = {
                k: v.to(device)
                for k, v in _collate(data, idx, tagger.tokenizer.pad_token_id or 0).items()
            }
            with torch.autocast(device.split(":")[0], dtype=torch.bfloat16, enabled=use_bf16):
                loss = model(**batch).loss
            loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), cfg.max_grad_norm)
            optim.step()
            sched.step()
            optim.zero_grad(set_to_none=True)
            losses.append(float(loss.detach()))
            step += 1
            if step >= total:
                break
        model.eval()
        record: dict[str, Any] = {
            "epoch": epoch,
            "loss": float(np.mean(losses)),
            "steps": step,
            "seconds": round(time.perf_counter() - started, 1),
        }
        if dev:
            record["dev_f1"] = strict_f1(dev, predict_documents(tagger, dev))
            if record["dev_f1"] > best_f1:
                best_f1, bad_epochs = record["dev_f1"], 0
                best_state = {k: v.detach().clone() for k, v in model.state_dict().items()}
            else:
                bad_epochs += 1
        history.append(record)
        logger.info("epoch %s", json.dumps(record))
        if progress:
            progress(record)
        if step >= total or (dev and bad_epochs >= cfg.patience):
            break
    if best_state is not None:
        model.load_state_dict(best_state)
    metrics = {
        "history": history,
        "best_dev_f1": best_f1 if dev else None,
        "train_documents": len(docs),
        "dev_documents": len(dev),
        "train_windows": len(dataset),
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
    }
    return tagger, metrics


def save_model(
    tagger: Tagger, path: str | Path, card: str | None = None, fp16: bool = True
) -> Path:
    """Save the tagger and, when given, its model card (README.md) beside it."""
    path = tagger.save(path, fp16=fp16)
    if card:
        (path / "README.md").write_text(card, "utf-8")
    return path
