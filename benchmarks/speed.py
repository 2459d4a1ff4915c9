"""Throughput, start-up and memory on MTSamples notes, side by side in one run.

    python benchmarks/speed.py [--notes corpora/data/mtsamples/notes] [--limit 300]
        [--engines-limit 0] [--json results/speed.json]

In one process, over the same ``--limit`` notes (each row the faster of two runs): the scispaCy
text layer alone; the bare encoder (the model's forward pass and nothing else) over exactly the
windows clinnlp cuts, in fp32 and bf16 autocast; the plain ``transformers`` token-
classification pipeline on the same model (what a user would write without clinnlp); the tagger
alone and with relations; and the full default pipeline (``clinnlp.load``: text layer, tagger
with relations and the drug vocabulary merge, ConText, linker). Each row is also given as a
ratio to the full pipeline.

In subprocesses: the cold start of ``clinnlp annotate`` on one note beside the import of torch
and transformers alone (median of three); ``clinnlp annotate`` on the same notes with its peak
resident memory; and the local engine beside the Spark engine (``--engine spark`` on
``local[2]``, JVM start included) over ``--engines-limit`` notes (0: all). ``--json`` writes
everything with the machine and date.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path

import torch

from clinnlp import DEFAULT_MODEL, load
from clinnlp.modeling.align import windows
from clinnlp.modeling.tagger import Tagger, encode_texts
from clinnlp.text import make_text_pipeline

CLINNLP = str(Path(sys.executable).with_name("clinnlp"))
FULL = "clinnlp: full pipeline (clinnlp.load, default precision)"


def timed(run: Callable[[], object], repeat: int = 2) -> float:
    """The fastest of ``repeat`` runs: every row gets the same warm-up (oneDNN builds its
    kernels for each new shape on first use)."""
    best = float("inf")
    for _ in range(repeat):
        started = time.perf_counter()
        run()
        best = min(best, time.perf_counter() - started)
    return best


def bare_encoder(tagger: Tagger, texts: Sequence[str], batch_size: int, bf16: bool) -> float:
    """Seconds of the model's forward passes alone over the windows clinnlp cuts (sorted by
    length and batched as clinnlp does); tokenizing and window cutting are not timed."""
    encoded = encode_texts(tagger.tokenizer, list(texts))
    chunks = [
        e.ids[s:t]
        for e in encoded
        if e.ids
        for s, t in windows(len(e.ids), tagger.window, tagger.stride)
    ]
    chunks.sort(key=len)
    cls_id, sep_id = tagger.tokenizer.cls_token_id, tagger.tokenizer.sep_token_id
    batches = []
    for b in range(0, len(chunks), batch_size):
        part = chunks[b : b + batch_size]
        width = max(map(len, part)) + 2
        ids = torch.zeros((len(part), width), dtype=torch.long)
        mask = torch.zeros((len(part), width), dtype=torch.long)
        for row, chunk in enumerate(part):
            ids[row, : len(chunk) + 2] = torch.tensor([cls_id, *chunk, sep_id])
            mask[row, : len(chunk) + 2] = 1
        batches.append((ids, mask))
    model = tagger.model

    def run() -> None:
        autocast = torch.autocast("cpu", dtype=torch.bfloat16, enabled=bf16)
        with torch.inference_mode(), autocast:
            for ids, mask in batches:
                model(input_ids=ids, attention_mask=mask)

    return timed(run)


def plain_pipeline(texts: Sequence[str], batch_size: int, stride: int) -> float:
    """Seconds of ``transformers.pipeline("token-classification")`` on the same model folder
    (fp32, long texts cut with the same stride, spans aggregated)."""
    from transformers import pipeline

    tagger = pipeline(
        "token-classification",
        model=str(DEFAULT_MODEL),
        device="cpu",
        aggregation_strategy="simple",
        stride=stride,
        dtype=torch.float32,
    )
    return timed(lambda: tagger(list(texts), batch_size=batch_size))


#: Runs the clinnlp command line and writes its own peak resident memory (VmHWM, kB) to a
#: file. Not the child's ru_maxrss: Linux carries the forking parent's peak (this benchmark's
#: three loaded models) across exec into it.
PEAK = """
import atexit, sys
out, sys.argv = sys.argv[1], ["clinnlp", *sys.argv[2:]]
def peak():
    for line in open("/proc/self/status"):
        if line.startswith("VmHWM"):
            open(out, "w").write(line.split()[1])
atexit.register(peak)
from clinnlp.cli import main
main()
"""


def run_child(command: list[str]) -> float:
    """Wall seconds of a subprocess."""
    started = time.perf_counter()
    done = subprocess.run(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    if done.returncode != 0:
        raise SystemExit(f"{' '.join(command)} failed:\n{done.stderr.decode()[-2000:]}")
    return time.perf_counter() - started


def clinnlp_peak(args: list[str], work: Path) -> tuple[float, float]:
    """Wall seconds and peak resident memory (MB) of ``clinnlp ARGS``."""
    report = work / "peak.txt"
    seconds = run_child([sys.executable, "-c", PEAK, str(report), *args])
    return seconds, int(report.read_text()) / 1024


def copy_notes(paths: Sequence[Path], folder: Path) -> Path:
    folder.mkdir(parents=True)
    for path in paths:
        shutil.copy(path, folder / path.name)
    return folder


def subprocess_rows(paths: Sequence[Path], engine_paths: Sequence[Path], work: Path) -> dict:
    one = copy_notes(paths[:1], work / "one")
    imports = [sys.executable, "-c", "import torch, transformers"]
    cold = [CLINNLP, "annotate", str(one), "--out"]
    import_s = statistics.median(run_child(imports) for _ in range(3))
    cold_s = statistics.median(run_child([*cold, str(work / f"cold-{i}")]) for i in range(3))
    notes = copy_notes(paths, work / "notes")
    annotate_s, peak_mb = clinnlp_peak(["annotate", str(notes), "--out", str(work / "a")], work)
    many = copy_notes(engine_paths, work / "engines")
    local_s = run_child([CLINNLP, "annotate", str(many), "--out", str(work / "local")])
    spark_s = run_child(
        [CLINNLP, "annotate", str(many), "--out", str(work / "spark")]
        + ["--engine", "spark", "--spark-master", "local[2]"]
    )
    same = (work / "local" / "annotations.jsonl").read_bytes() == (
        work / "spark" / "annotations.jsonl"
    ).read_bytes()
    return {
        "cold_start_one_note_s": round(cold_s, 2),
        "import_torch_transformers_s": round(import_s, 2),
        "cold_start_minus_import_s": round(cold_s - import_s, 2),
        "annotate_notes": len(paths),
        "annotate_seconds": round(annotate_s, 2),
        "annotate_peak_rss_mb": round(peak_mb),
        "engines_notes": len(engine_paths),
        "local_engine_s": round(local_s, 2),
        "spark_local2_s": round(spark_s, 2),
        "spark_over_local_throughput": round(local_s / spark_s, 3),
        "spark_output_equals_local": same,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--notes", type=Path, default=Path("corpora/data/mtsamples/notes"))
    parser.add_argument("--limit", type=int, default=300, help="notes to use (0: all)")
    parser.add_argument(
        "--engines-limit", type=int, default=0, help="notes for local vs Spark (0: all)"
    )
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--json", type=Path, default=None)
    args = parser.parse_args()
    every = sorted(args.notes.glob("*.txt"))
    paths = every[: args.limit] if args.limit else every
    texts = [p.read_text("utf-8") for p in paths]
    chars = sum(map(len, texts))
    words = sum(len(t.split()) for t in texts)

    text_nlp = make_text_pipeline()
    fp32 = Tagger.load(DEFAULT_MODEL, device="cpu", precision="fp32")
    bf16 = Tagger.load(DEFAULT_MODEL, device="cpu", precision="bf16")
    full = load(device="cpu", batch_size=args.batch_size)
    list(full.pipe(texts[:4]))  # warm-up (and the linker's knowledge bases loaded)
    bs = args.batch_size
    rows = {
        "text layer (scispaCy tokenizer, sentences, abbreviations)": timed(
            lambda: list(text_nlp.pipe(texts, batch_size=bs))
        ),
        "bare encoder, same windows, fp32": bare_encoder(fp32, texts, bs, bf16=False),
        "bare encoder, same windows, bf16 autocast": bare_encoder(bf16, texts, bs, bf16=True),
        "plain transformers token-classification pipeline (fp32)": plain_pipeline(
            texts, bs, fp32.stride
        ),
        "tagger alone, fp32": timed(lambda: fp32.predict(texts, batch_size=bs)),
        "tagger alone, bf16 autocast": timed(lambda: bf16.predict(texts, batch_size=bs)),
        "tagger + relations (one encoder pass), bf16": timed(
            lambda: bf16.extract(texts, batch_size=bs)
        ),
        FULL: timed(lambda: list(full.pipe(texts, batch_size=bs))),
    }
    with tempfile.TemporaryDirectory() as tmp:
        engine_paths = every[: args.engines_limit] if args.engines_limit else every
        children = subprocess_rows(paths, engine_paths, Path(tmp))

    full_s = rows[FULL]
    goals = {
        "clinnlp / bare bf16 encoder": rows["bare encoder, same windows, bf16 autocast"] / full_s,
        "clinnlp / plain transformers pipeline": rows[
            "plain transformers token-classification pipeline (fp32)"
        ]
        / full_s,
        "Spark local[2] / local engine": children["spark_over_local_throughput"],
    }
    cpu = platform.processor() or platform.machine()
    print(
        f"{len(texts)} MTSamples notes, {chars:,} characters, {words:,} words; {cpu}, "
        f"{os.cpu_count()} cores, {torch.get_num_threads()} torch threads, torch "
        f"{torch.__version__}, {time.strftime('%Y-%m-%d')}"
    )
    print(f"{'stage':<62}{'docs/s':>8}{'words/s':>10}{'x clinnlp':>11}")
    for name, seconds in rows.items():
        rate, word_rate, ratio = len(texts) / seconds, words / seconds, full_s / seconds
        print(f"{name:<62}{rate:>8.1f}{word_rate:>10,.0f}{ratio:>11.2f}")
    for name, value in goals.items():
        print(f"{name}: {value:.2f}")
    print(
        f"cold start, one note: {children['cold_start_one_note_s']:.2f} s; importing torch and "
        f"transformers: {children['import_torch_transformers_s']:.2f} s; the rest: "
        f"{children['cold_start_minus_import_s']:.2f} s"
    )
    print(
        f"clinnlp annotate, {len(paths)} notes: {children['annotate_seconds']:.1f} s, peak "
        f"resident memory {children['annotate_peak_rss_mb']:,} MB"
    )
    print(
        f"{children['engines_notes']:,} notes: local engine {children['local_engine_s']:.1f} s, "
        f"Spark local[2] {children['spark_local2_s']:.1f} s (throughput ratio "
        f"{children['spark_over_local_throughput']:.2f}; same annotations.jsonl: "
        f"{children['spark_output_equals_local']})"
    )
    if args.json:
        record = {
            "command": f"python benchmarks/speed.py --limit {args.limit} "
            f"--engines-limit {args.engines_limit}",
            "date": time.strftime("%Y-%m-%d"),
            "machine": f"{cpu}, {os.cpu_count()} cores, {torch.get_num_threads()} torch threads",
            "torch": torch.__version__,
            "notes": len(texts),
            "characters": chars,
            "words": words,
            "seconds": {k: round(v, 3) for k, v in rows.items()},
            "ratios": {k: round(v, 3) for k, v in goals.items()},
            **children,
        }
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(record, indent=2) + "\n", "utf-8")


if __name__ == "__main__":
    main()
