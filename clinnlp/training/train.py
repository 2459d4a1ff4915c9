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
from clinnlp.modeling.align import OUTSIDE, SpanPrediction, encode_bio, windows
from clinnlp.modeling.relations import (
    build_head,
    candidate_pairs,
    distance_bucket,
    gap,
    infer_types,
)
from clinnlp.modeling.tagger import (
    Tagger,
    bf16_supported,
    encode,
    encode_texts,
    new_model,
    resolve_device,
    token_range,
)
from clinnlp.schema import Document, Entity, Relation

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


def corpus_labels(docs: Sequence[Document]) -> list[str]:
    """Sorted entity labels present in ``docs``."""
    return sorted({e.label for d in docs for e in d.entities})


#: ``allowed`` value of a subword that has no target (special tokens, later subwords).
IGNORE = 0


def allowed_masks(tags: Sequence[str], word_tags: Sequence[str], annotated: set[str]) -> list[int]:
    """The target of each word as a bit mask over ``tags`` (bit ``i``: tag ``i`` allowed).

    A word inside an entity allows exactly its tag. A word outside every entity allows ``O``
    and the tags of every label not in ``annotated`` (see the module docstring).
    """
    bit = {t: 1 << i for i, t in enumerate(tags)}
    outside = bit[OUTSIDE]
    for i, tag in enumerate(tags):
        if tag != OUTSIDE and tag[2:] not in annotated:
            outside |= 1 << i
    return [outside if t == OUTSIDE else bit[t] for t in word_tags]


def build_features(
    tagger: Tagger, docs: Sequence[Document], window: int
) -> tuple[list[dict[str, Any]], int]:
    """Tokenize documents into model inputs: the first subword of each word gets its target
    (a bit mask of allowed tags, :func:`allowed_masks`), the rest none (``IGNORE``). Long
    documents are cut into consecutive windows. With a relation head, each row also lists
    its entities (``[start, end, label index]`` in row positions) and candidate pairs
    (``[head, tail, type index, distance bucket, target]``) of the relations its document
    annotates (``metadata["relations_annotated"]``; all when absent).

    Returns:
        The feature rows and the number of entities BIO could not hold (nested or
        overlapping ones; see :func:`clinnlp.modeling.align.encode_bio`).
    """
    tok = tagger.tokenizer
    tags = tagger.tags
    if len(tags) > 62:
        raise ConfigError(f"{len(tags)} tags is more than the 62 a target mask can hold")
    known = {t[2:] for t in tags if t != OUTSIDE}
    types = tagger.relation_types
    rows, lost = [], 0
    for doc, enc in zip(docs, encode_texts(tok, [d.text for d in docs]), strict=True):
        if not enc.ids:
            continue
        annotated = set(doc.metadata.get("annotated", known)) & known
        ents = [(e.label, e.start, e.end) for e in doc.entities if e.label in known]
        word_tags, n_lost = encode_bio(enc.words, ents)
        lost += n_lost
        masks = allowed_masks(tags, word_tags, annotated)
        allowed = [IGNORE] * len(enc.ids)
        for w, t in enumerate(enc.first_subwords()):
            allowed[t] = masks[w]
        for s, e in (
            windows(len(enc.ids), window - 2, 0)
            if len(enc.ids) > window - 2
            else [(0, len(enc.ids))]
        ):
            row: dict[str, Any] = {
                "input_ids": [tok.cls_token_id, *enc.ids[s:e], tok.sep_token_id],
                "allowed": [IGNORE, *allowed[s:e], IGNORE],
                "kind": str(doc.metadata.get("corpus", "")).partition(":")[0],
            }
            if types:
                row["entities"], row["pairs"] = relation_targets(tagger, doc, enc, s, e)
            rows.append(row)
    return rows, lost


def relation_targets(
    tagger: Tagger, doc: Document, enc: Any, start: int, end: int
) -> tuple[list[list[int]], list[list[int]]]:
    """The entities inside the window ``[start, end)`` of a document's subwords and the
    candidate pairs among them, each with its target (1: the document holds the relation)."""
    config = tagger.meta["relations"]
    label_index = {label: i for i, label in enumerate(config["labels"])}
    type_index = {name: i for i, name in enumerate(sorted(config["types"]))}
    wanted = set(doc.metadata.get("relations_annotated", type_index))
    types = {k: v for k, v in tagger.relation_types.items() if k in wanted}
    inside = []
    for ent in doc.entities:
        first, last = token_range(enc.offsets, ent.start, ent.end)
        if ent.label in label_index and start <= first < last <= end:
            inside.append((ent, (first, last)))
    gold = {(r.head, r.tail, r.label) for r in doc.relations}
    entities = [[a - start + 1, b - start + 1, label_index[e.label]] for e, (a, b) in inside]
    pairs = [
        [
            i,
            j,
            type_index[name],
            distance_bucket(gap(inside[i][1], inside[j][1])),
            int((inside[i][0].id, inside[j][0].id, name) in gold),
        ]
        for i, j, name in candidate_pairs(
            [e.label for e, _ in inside],
            [r for _, r in inside],
            types,
            int(config["max_distance"]),
        )
    ]
    return (entities if pairs else []), pairs


def relation_loss(head: Any, states: Any, rows: Sequence[dict[str, Any]], device: str) -> Any:
    """Mean binary cross-entropy of every candidate pair of a batch (``None`` without
    pairs); ``states`` are the batch's last hidden states, one row per feature row."""
    import torch

    logits, targets = [], []
    for b, row in enumerate(rows):
        if not row.get("pairs"):
            continue
        entities = torch.tensor(row["entities"], device=device)
        pairs = torch.tensor(row["pairs"], device=device)
        logits.append(head(states[b].float(), entities, pairs[:, :4]))
        targets.append(pairs[:, 4].float())
    if not logits:
        return None
    return torch.nn.functional.binary_cross_entropy_with_logits(
        torch.cat(logits), torch.cat(targets)
    )


def partial_label_loss(logits: Any, allowed: Any) -> Any:
    """Mean over targeted tokens of ``-log P(tag in allowed set)``.

    Args:
        logits: ``(batch, tokens, tags)`` scores.
        allowed: ``(batch, tokens)`` integer bit masks of allowed tags; ``IGNORE`` (0) for
            tokens without a target.
    """
    import torch

    logits = logits.float()
    bits = torch.arange(logits.shape[-1], device=logits.device)
    ok = ((allowed.unsqueeze(-1) >> bits) & 1).bool()
    total = torch.logsumexp(logits, dim=-1)
    kept = torch.logsumexp(logits.masked_fill(~ok, float("-inf")), dim=-1)
    targeted = allowed != IGNORE
    if not bool(targeted.any()):
        return logits.sum() * 0.0
    return (total - kept)[targeted].mean()


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
    tagger: Tagger,
    docs: Sequence[Document],
    batch_size: int = 64,
    constrained: bool = True,
    drug_vocabulary: float | None = None,
) -> list[Document]:
    """Copies of ``docs`` carrying the tagger's entities and relations instead of theirs;
    ``constrained`` and ``drug_vocabulary`` as in :meth:`Tagger.extract`."""
    texts = [d.text for d in docs]
    out = []
    predictions = tagger.extract(
        texts, batch_size=batch_size, constrained=constrained, drug_vocabulary=drug_vocabulary
    )
    for d, (spans, relations) in zip(docs, predictions, strict=True):
        entities = to_entities(spans, d.text)
        links = [
            Relation(
                r.label,
                entities[r.head].id,
                entities[r.tail].id,
                f"R{i}",
                {"confidence": round(r.confidence, 4)},
            )
            for i, r in enumerate(relations, 1)
        ]
        out.append(Document(d.id, d.text, entities, links, dict(d.metadata)))
    return out


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
    docs = list(docs)
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
    dev_labels = list(labels)  # early stopping scores what the corpus teaches
    tagger = new_model(labels, cfg.base)
    inherited = sorted(set(tagger.labels) - set(labels))
    if inherited and cfg.base is not None:
        # Labels only the base model knows: it tags the corpus with them first, so training
        # keeps what it knew (self-distillation) instead of drifting where nothing is taught.
        docs = base_labelled(docs, Tagger.load(cfg.base, device=cfg.device), inherited)
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
    use_bf16 = cfg.precision == "bf16" or (cfg.precision == "auto" and bf16_supported(device))
    tagger.use_bf16 = use_bf16
    history: list[dict[str, Any]] = []
    best_f1, best_state, bad_epochs, step = -1.0, None, 0, 0
    started = time.perf_counter()
    trained = [p for _, p in named]
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
