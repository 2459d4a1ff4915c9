"""Throughput of each stage on MTSamples notes, side by side in one run.

    python benchmarks/speed.py [--notes corpora/data/mtsamples/notes] [--limit 300] [--json F]

Prints documents/s and characters/s for the scispaCy text layer alone, the tagger's entities
alone in fp32 and in bf16 autocast, entities and relations from the same pass (bf16), and the
full default pipeline (text layer, tagger with relations and the drug vocabulary merge,
ConText), with each stage's speed as a ratio to the full pipeline, and the process's peak
memory; ``--json`` also writes them with the machine and date.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import time
from collections.abc import Callable
from pathlib import Path

import torch

from clinnlp import DEFAULT_MODEL, load
from clinnlp.modeling.tagger import Tagger
from clinnlp.text import make_text_pipeline


def timed(run: Callable[[], object]) -> float:
    started = time.perf_counter()
    run()
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--notes", type=Path, default=Path("corpora/data/mtsamples/notes"))
    parser.add_argument("--limit", type=int, default=300, help="notes to use (0: all)")
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--json", type=Path, default=None)
    args = parser.parse_args()
    paths = sorted(args.notes.glob("*.txt"))
    texts = [p.read_text("utf-8") for p in (paths[: args.limit] if args.limit else paths)]
    chars = sum(map(len, texts))

    text_nlp = make_text_pipeline()
    fp32 = Tagger.load(DEFAULT_MODEL, device="cpu", precision="fp32")
    bf16 = Tagger.load(DEFAULT_MODEL, device="cpu", precision="bf16")
    full = load(device="cpu", batch_size=args.batch_size)
    fp32.predict(texts[:4])  # warm-up
    rows = {
        "text layer (scispaCy tokenizer, sentences, abbreviations)": timed(
            lambda: list(text_nlp.pipe(texts, batch_size=args.batch_size))
        ),
        "tagger alone, fp32": timed(lambda: fp32.predict(texts, batch_size=args.batch_size)),
        "tagger alone, bf16 autocast": timed(
            lambda: bf16.predict(texts, batch_size=args.batch_size)
        ),
        "tagger + relations (one encoder pass), bf16": timed(
            lambda: bf16.extract(texts, batch_size=args.batch_size)
        ),
        "full pipeline (clinnlp.load, default precision)": timed(
            lambda: list(full.pipe(texts, batch_size=args.batch_size))
        ),
    }
    full_s = rows["full pipeline (clinnlp.load, default precision)"]
    cpu = platform.processor() or platform.machine()
    print(
        f"{len(texts)} MTSamples notes, {chars:,} characters; {cpu}, "
        f"{torch.get_num_threads()} torch threads, torch {torch.__version__}"
    )
    print(f"{'stage':<58}{'docs/s':>9}{'chars/s':>12}{'x full':>8}")
    for name, seconds in rows.items():
        rate, char_rate, ratio = len(texts) / seconds, chars / seconds, full_s / seconds
        print(f"{name:<58}{rate:>9.1f}{char_rate:>12,.0f}{ratio:>8.2f}")
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"peak resident memory: {peak:,.0f} MB")
    if args.json:
        record = {
            "command": f"python benchmarks/speed.py --limit {args.limit}",
            "date": time.strftime("%Y-%m-%d"),
            "machine": f"{cpu}, {os.cpu_count()} cores, {torch.get_num_threads()} torch threads",
            "torch": torch.__version__,
            "notes": len(texts),
            "characters": chars,
            "seconds": rows,
            "peak_rss_mb": round(peak),
        }
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(record, indent=2) + "\n", "utf-8")


if __name__ == "__main__":
    main()
