"""Run the recipes of `recipes.py`: candidates for the shipped model, then the winner's ten
folds, and the ablation rows' folds and full models, N at a time.

    python benchmarks/run_recipes.py [--out runs/ablation] [--jobs 1] [--deadline SECONDS]

Each fold is its own `clinnlp cv --folds F --json <recipe>/fold-F.json` run and each full
model a `clinnlp train` run followed by its predictions on the evaluation sets
(`entity_ablation.py predict`); a job whose output exists is skipped, so the command resumes.
Once every candidate's full model is scored, the best by `entity_ablation.selection_score`
is written to `<out>/selected.json` and its ten folds join the queue. At the end each
recipe's fold results are merged into `<recipe>/cv.json` (the file `clinnlp cv` writes).
With `--jobs` above 1 the runs share the machine (a GPU holds a dozen MiniLM runs at once);
`--deadline` stops starting jobs after that many seconds and kills those still running a
minute later.
"""

from __future__ import annotations

import argparse
import json
import os
import shlex
import signal
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from recipes import ALL, CANDIDATES, COMMON, slug  # noqa: E402

#: Start order after the candidates: the recipes a CPU cannot run in time first.
PRIORITY = ["+ade-neg", "+synthetic notes", "+vocabulary", "+bc5cdr", "today"]
Job = tuple[str, Path, list[list[str]]]


def full_job(out: Path, name: str, extra: list[str]) -> Job:
    corpora, options, _, _ = ALL[name]
    folder = out / slug(name)
    model = folder / "model"
    train = [sys.executable, "-m", "clinnlp", "train", *corpora, *COMMON, *options, *extra]
    train += ["--out", str(model), "--force"]
    predict = [sys.executable, str(Path(__file__).parent / "entity_ablation.py")]
    predict += ["predict", str(model), str(folder / "predictions")]
    return (f"{name}: full model", folder / "predictions" / "done", [train, predict])


def fold_jobs(out: Path, name: str, folds: list[int], extra: list[str]) -> list[Job]:
    corpora, options, _, _ = ALL[name]
    folder = out / slug(name)
    jobs = []
    for f in folds:
        cv = [sys.executable, "-m", "clinnlp", "cv", *corpora, *COMMON, *options, *extra]
        cv += ["--folds", str(f), "--json", str(folder / f"fold-{f}.json")]
        jobs.append((f"{name}: fold {f}", folder / f"fold-{f}.json", [cv]))
    return jobs


def initial_jobs(out: Path, extra: list[str]) -> list[Job]:
    jobs = [full_job(out, name, extra) for name in CANDIDATES]
    for name in PRIORITY:
        _, _, folds, full = ALL[name]
        if full:
            jobs.append(full_job(out, name, extra))
        jobs += fold_jobs(out, name, folds, extra)
    return jobs


def select(out: Path) -> str | None:
    """The candidate with the best selection score, once all have predictions (or None)."""
    from entity_ablation import load_predictions, read_set, selection_score

    found = {n: load_predictions(out / slug(n) / "predictions") for n in CANDIDATES}
    if any(p is None for p in found.values()):
        return None
    gold = {name: read_set(name) for name in ("dev", "heldout", "bc5cdr-dev")}  # this order
    scores = {n: selection_score(gold, p) for n, p in found.items() if p is not None}
    best = max(scores, key=lambda n: scores[n])
    record = {"selected": best, "scores": scores, "criterion": selection_score.__doc__}
    (out / "selected.json").write_text(json.dumps(record, indent=2) + "\n", "utf-8")
    return best


def merge(out: Path) -> None:
    """Each recipe's fold files into one cv result (the recipe must agree across files)."""
    from clinnlp.training.cv import save_results, summarise

    for name in ALL:
        folder = out / slug(name)
        files = sorted(folder.glob("fold-*.json"))
        if not files:
            continue
        results, recipe = [], None
        for file in files:
            data = json.loads(file.read_text("utf-8"))
            head = {k: data[k] for k in ("k", "config", "corpus")}
            if recipe is not None and head != recipe:
                raise SystemExit(f"{file}: another recipe than the other folds of {name}")
            recipe = head
            results += data["folds"]
        assert recipe is not None
        save_results(folder / "cv.json", recipe, summarise(results, recipe["k"]))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=Path("runs/ablation"))
    parser.add_argument("--jobs", type=int, default=1)
    parser.add_argument("--deadline", type=float, default=None)
    parser.add_argument("--extra", default="", help="options added to every training run")
    args = parser.parse_args()
    extra = args.extra.split()
    started = time.monotonic()
    todo = [j for j in initial_jobs(args.out, extra) if not j[1].exists()]
    selected = None
    running: list[tuple[str, subprocess.Popen[bytes], Path]] = []
    log_dir = args.out / "logs"
    log_dir.mkdir(parents=True, exist_ok=True)

    def clock() -> str:
        return f"{time.monotonic() - started:7.0f}s"

    while True:
        if selected is None:
            selected = select(args.out)
            if selected is not None:
                print(f"{clock()} selected {selected}", flush=True)
                todo = [
                    j
                    for j in fold_jobs(args.out, selected, list(range(10)), extra)
                    if not j[1].exists()
                ] + todo
        late = args.deadline is not None and time.monotonic() - started > args.deadline
        while todo and len(running) < args.jobs and not late:
            name, _, commands = todo.pop(0)
            log = log_dir / f"{slug(name)}.log"
            script = " && ".join(" ".join(shlex.quote(c) for c in cmd) for cmd in commands)
            with log.open("ab") as handle:
                proc = subprocess.Popen(
                    ["bash", "-c", script], stdout=handle, stderr=handle, start_new_session=True
                )
            running.append((name, proc, log))
            print(f"{clock()} start {name}", flush=True)
        for item in list(running):
            name, proc, log = item
            if proc.poll() is not None:
                running.remove(item)
                ok = proc.returncode == 0
                print(f"{clock()} {'done' if ok else f'FAILED, see {log}'} {name}", flush=True)
        if late:
            todo.clear()
            if time.monotonic() - started > args.deadline + 60:
                for name, proc, _ in running:
                    os.killpg(proc.pid, signal.SIGKILL)  # bash and the run it started
                    print(f"killed at the deadline: {name}", flush=True)
                running.clear()
        if not running and (not todo or late):
            if (
                selected is not None
                or late
                or not any(
                    n.endswith("full model") and n.split(":")[0] in CANDIDATES for n, _, _ in todo
                )
            ):
                break
        time.sleep(1)
    merge(args.out)
    print(f"{clock()} all done; merged into {args.out}/*/cv.json", flush=True)


if __name__ == "__main__":
    main()
