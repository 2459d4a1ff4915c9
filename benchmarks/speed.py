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
``local[2]``, JVM start included) over ``--engines-limit`` notes (0: all).

Three more measures, each in fresh processes: the cold start **by part** (importing torch and
transformers, clinnlp and spaCy, the text layer, the tagger's weights, the drug vocabulary, the
knowledge bases, the first note); the full pipeline and the plain pipeline **on a CPU without
bf16**, simulated by turning oneDNN's and ATen's AVX-512 kernels off
(``ONEDNN_MAX_CPU_ISA=AVX2_VNNI ATEN_CPU_CAPABILITY=avx2``, with which ``bf16_supported``
reports none) over ``--no-bf16-limit`` notes; and **long notes** of 0.25, 0.5, 1 and 2 MB
(MTSamples notes joined; ``--long-sizes``) through ``clinnlp annotate``, with seconds and peak
resident memory each. ``--json`` writes everything with the machine and date.
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
from clinnlp.modeling.tagger import Tagger, bf16_supported, encode_texts
from clinnlp.text import make_text_pipeline

CLINNLP = str(Path(sys.executable).with_name("clinnlp"))
FULL = "clinnlp: full pipeline (clinnlp.load, default precision)"
INT8 = "clinnlp: full pipeline, int8 (--precision int8)"


def timed(run: Callable[[], object], repeat: int = 2) -> float:
    """The fastest of ``repeat`` runs: every row gets the same warm-up (oneDNN builds its
    kernels for each new shape on first use)."""
    best = float("inf")
    for _ in range(repeat):
        started = time.perf_counter()
        run()
        best = min(best, time.perf_counter() - started)
    return best


BARE_BF16 = "bare encoder, same windows, bf16 autocast"
PLAIN = "plain transformers token-classification pipeline (fp32)"


def _cpu_model() -> str:
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            return line.split(":", 1)[1].strip()
    return platform.processor() or "unknown CPU"


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


#: The cold start of one note, part by part, in a fresh process: each part's seconds as JSON.
PARTS = """
import json, sys, time
parts = {}
t = time.perf_counter()
def part(name):
    global t
    now = time.perf_counter(); parts[name] = now - t; t = now
import torch, transformers
part("import torch and transformers")
import spacy, clinnlp.pipeline
part("import spaCy and clinnlp")
full = clinnlp.pipeline.build_pipeline(device="cpu")
part("build the pipeline (text layer, components)")
full.get_pipe("clinnlp_tagger").tagger
part("tagger weights (encoder and relation head)")
from clinnlp.lexicon.vocabulary import drug_terms, drug_vocabulary
drug_vocabulary(), drug_terms()
part("drug vocabulary (cached) and drug words")
from clinnlp.pipeline.linker import _knowledge_base
linker = full.get_pipe("clinnlp_linker")
for label in linker.labels:
    _knowledge_base(str(linker.folder(label)))
part("knowledge bases (drugs, HPO)")
full(open(sys.argv[1], encoding="utf-8").read())
part("the first note")
print(json.dumps(parts))
"""

#: The plain pipeline and clinnlp on the same notes, for a child without bf16 kernels.
NO_BF16 = """
import json, sys, time
from pathlib import Path
sys.path.insert(0, sys.argv[3])
import speed
from clinnlp import load
from clinnlp.modeling.tagger import bf16_supported
texts = [p.read_text("utf-8") for p in sorted(Path(sys.argv[1]).glob("*.txt"))]
bs = int(sys.argv[2])
full = load(device="cpu", batch_size=bs)
list(full.pipe(texts[:4]))
tagger = full.get_pipe("clinnlp_tagger").tagger
int8 = load(device="cpu", batch_size=bs, precision="int8")
list(int8.pipe(texts[:4]))
print(json.dumps({
    "bf16_supported": bf16_supported("cpu"),
    "plain": speed.plain_pipeline(texts, bs, tagger.stride),
    "clinnlp": speed.timed(lambda: list(full.pipe(texts, batch_size=bs))),
    "clinnlp int8": speed.timed(lambda: list(int8.pipe(texts, batch_size=bs))),
}))
"""
NO_BF16_ENV = {"ONEDNN_MAX_CPU_ISA": "AVX2_VNNI", "ATEN_CPU_CAPABILITY": "avx2"}


def child_json(script: str, args: list[str], env: dict[str, str] | None = None) -> dict:
    """The JSON a child Python process prints last."""
    done = subprocess.run(
        [sys.executable, "-c", script, *args],
        capture_output=True,
        text=True,
        env={**os.environ, **(env or {})},
    )
    if done.returncode != 0:
        raise SystemExit(f"a benchmark child failed:\n{done.stderr[-2000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def run_child(command: list[str], env: dict[str, str] | None = None) -> float:
    """Wall seconds of a subprocess."""
    started = time.perf_counter()
    environment = {**os.environ, **env} if env else None
    done = subprocess.run(
        command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=environment
    )
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


def cold_parts(note: Path, runs: int = 3) -> dict[str, float]:
    """Seconds of each part of a cold start on one note: the median of ``runs`` processes."""
    found = [child_json(PARTS, [str(note)]) for _ in range(runs)]
    return {part: round(statistics.median(f[part] for f in found), 2) for part in found[0]}


def without_bf16(paths: Sequence[Path], batch_size: int, work: Path) -> dict:
    """The plain pipeline, clinnlp and clinnlp int8 on a CPU without bf16 (simulated)."""
    notes = copy_notes(paths, work / "no-bf16")
    here = str(Path(__file__).resolve().parent)
    found = child_json(NO_BF16, [str(notes), str(batch_size), here], NO_BF16_ENV)
    return {"notes": len(paths), "env": NO_BF16_ENV, **found}


def long_notes(paths: Sequence[Path], sizes: Sequence[float], work: Path) -> dict[str, dict]:
    """``clinnlp annotate`` on one note of each size (MB; MTSamples notes joined): seconds and
    peak resident memory."""
    joined = "\n\n".join(p.read_text("utf-8") for p in paths)
    found = {}
    for size in sizes:
        want = int(size * 1_000_000)
        text = (joined * (want // len(joined) + 1))[:want]
        folder = work / f"long-{size}"
        folder.mkdir()
        (folder / "long.txt").write_text(text, "utf-8")
        seconds, peak_mb = clinnlp_peak(
            ["annotate", str(folder), "--out", str(work / f"long-out-{size}")], work
        )
        found[f"{size:g} MB"] = {"seconds": round(seconds, 1), "peak_rss_mb": round(peak_mb)}
    return found


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--notes", type=Path, default=Path("corpora/data/mtsamples/notes"))
    parser.add_argument("--limit", type=int, default=300, help="notes to use (0: all)")
    parser.add_argument(
        "--engines-limit", type=int, default=0, help="notes for local vs Spark (0: all)"
    )
    parser.add_argument(
        "--no-bf16-limit", type=int, default=100, help="notes for the CPU without bf16"
    )
    parser.add_argument(
        "--long-sizes", default="0.25,0.5,1,2", help="long-note sizes in MB, comma-separated"
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
    # Without bf16 in the CPU (AVX512-BF16 or AMX) autocast only emulates it, several times
    # slower than fp32: the bf16 rows are left out and the default (fp32) rows stand in.
    has_bf16 = bf16_supported("cpu")
    fp32 = Tagger.load(DEFAULT_MODEL, device="cpu", precision="fp32")
    bf16 = Tagger.load(DEFAULT_MODEL, device="cpu", precision="bf16") if has_bf16 else None
    int8 = Tagger.load(DEFAULT_MODEL, device="cpu", precision="int8")
    full = load(device="cpu", batch_size=args.batch_size)
    full_int8 = load(device="cpu", batch_size=args.batch_size, precision="int8")
    list(full.pipe(texts[:4]))  # warm-up (and the linker's knowledge bases loaded)
    list(full_int8.pipe(texts[:4]))
    bs = args.batch_size
    rows = {
        "text layer (scispaCy tokenizer, sentences, abbreviations)": timed(
            lambda: list(text_nlp.pipe(texts, batch_size=bs))
        ),
        "bare encoder, same windows, fp32": bare_encoder(fp32, texts, bs, bf16=False),
    }
    if bf16 is not None:
        rows[BARE_BF16] = bare_encoder(bf16, texts, bs, bf16=True)
    rows[PLAIN] = plain_pipeline(texts, bs, fp32.stride)
    rows["tagger alone, fp32"] = timed(lambda: fp32.predict(texts, batch_size=bs))
    if bf16 is not None:
        rows["tagger alone, bf16 autocast"] = timed(lambda: bf16.predict(texts, batch_size=bs))
        rows["tagger + relations (one encoder pass), bf16"] = timed(
            lambda: bf16.extract(texts, batch_size=bs)
        )
    else:
        rows["tagger + relations (one encoder pass), fp32"] = timed(
            lambda: fp32.extract(texts, batch_size=bs)
        )
    rows["tagger + relations (one encoder pass), int8"] = timed(
        lambda: int8.extract(texts, batch_size=bs)
    )
    rows[INT8] = timed(lambda: list(full_int8.pipe(texts, batch_size=bs)))
    rows[FULL] = timed(lambda: list(full.pipe(texts, batch_size=bs)))
    sizes = [float(x) for x in args.long_sizes.split(",") if x]
    with tempfile.TemporaryDirectory() as tmp:
        engine_paths = every[: args.engines_limit] if args.engines_limit else every
        children = subprocess_rows(paths, engine_paths, Path(tmp))
        parts = cold_parts(paths[0])
        if has_bf16:
            no_bf16 = without_bf16(paths[: args.no_bf16_limit], bs, Path(tmp))
        else:  # this CPU is one: its own rows answer
            no_bf16 = {
                "notes": len(texts),
                "env": "this CPU (no AVX512-BF16 or AMX)",
                "bf16_supported": False,
                "plain": rows[PLAIN],
                "clinnlp": rows[FULL],
                "clinnlp int8": rows[INT8],
            }
        long = long_notes(every[:200], sizes, Path(tmp))

    full_s = rows[FULL]
    goals = {
        f"clinnlp / bare {'bf16' if has_bf16 else 'fp32'} encoder": rows[
            BARE_BF16 if has_bf16 else "bare encoder, same windows, fp32"
        ]
        / full_s,
        "clinnlp / plain transformers pipeline": rows[PLAIN] / full_s,
        f"clinnlp int8 / clinnlp {'bf16' if has_bf16 else 'fp32'} (this CPU)": full_s / rows[INT8],
        "CPU without bf16: clinnlp / plain pipeline": no_bf16["plain"] / no_bf16["clinnlp"],
        "CPU without bf16: clinnlp int8 / plain pipeline": no_bf16["plain"]
        / no_bf16["clinnlp int8"],
        "Spark local[2] / local engine": children["spark_over_local_throughput"],
    }
    cpu = f"{_cpu_model()}, {platform.machine()}, {torch.backends.cpu.get_cpu_capability()}"
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
    env = " ".join(f"{k}={v}" for k, v in NO_BF16_ENV.items()) if has_bf16 else no_bf16["env"]
    print(
        f"CPU without bf16 ({env}; "
        f"bf16 reported: {no_bf16['bf16_supported']}), {no_bf16['notes']} notes: plain pipeline "
        f"{no_bf16['plain']:.1f} s, clinnlp {no_bf16['clinnlp']:.1f} s, clinnlp int8 "
        f"{no_bf16['clinnlp int8']:.1f} s"
    )
    print("cold start by part (median of 3 processes, one note):")
    for part, seconds in parts.items():
        print(f"  {part:<56}{seconds:>6.2f} s")
    rest = sum(parts.values()) - parts["import torch and transformers"]
    print(f"  {'all but importing torch and transformers':<56}{rest:>6.2f} s")
    print("long notes through clinnlp annotate (one note each):")
    first = None
    for size, found in long.items():
        per_mb = found["seconds"] / float(size.split()[0])
        first = first or per_mb
        print(
            f"  {size:>7}: {found['seconds']:>7.1f} s ({per_mb:.1f} s per MB, "
            f"x{per_mb / first:.2f} of the smallest's), peak {found['peak_rss_mb']:,} MB"
        )
    if args.json:
        record = {
            "command": f"python benchmarks/speed.py --limit {args.limit} "
            f"--engines-limit {args.engines_limit} --no-bf16-limit {args.no_bf16_limit} "
            f"--long-sizes {args.long_sizes}",
            "date": time.strftime("%Y-%m-%d"),
            "machine": f"{cpu}, {os.cpu_count()} cores, {torch.get_num_threads()} torch threads",
            "torch": torch.__version__,
            "notes": len(texts),
            "characters": chars,
            "words": words,
            "seconds": {k: round(v, 3) for k, v in rows.items()},
            "ratios": {k: round(v, 3) for k, v in goals.items()},
            **children,
            "cold_start_parts_s": parts,
            "without_bf16": no_bf16,
            "long_notes": long,
        }
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(record, indent=2) + "\n", "utf-8")


if __name__ == "__main__":
    main()
