"""Run the recipes of `recipes.py`: their cross-validation folds and full models, N at a time.

    python benchmarks/run_recipes.py [--out runs/ablation] [--jobs 1] [--deadline SECONDS]

Each fold is its own `clinnlp cv --folds F --json <recipe>/fold-F.json` run and each full
model a `clinnlp train` run followed by its predictions on the evaluation sets
(`entity_ablation.py predict`); a job whose output exists is skipped, so the command resumes.
At the end every recipe's fold results are merged into `<recipe>/cv.json` (the same file
`clinnlp cv` writes). With `--jobs` above 1 the runs share the machine (a GPU holds a dozen
MiniLM runs at once); `--deadline` stops starting jobs after that many seconds and ends
those still running at the deadline plus a minute.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from recipes import COMMON, RECIPES, SHIPPED, slug  # noqa: E402

#: Start order: the recipes a CPU cannot run in time first (those with ADE-NEG).
PRIORITY = [SHIPPED, "+ade-neg", "+synthetic notes", "+vocabulary", "+bc5cdr", "today"]


def jobs(out: Path, extra: list[str]) -> list[tuple[str, Path, list[list[str]]]]:
    """``(name, output that marks it done, commands)`` in the order they should start;
    ``extra`` options go to every training run (smoke tests: ``--max-steps 2``)."""
    py = [sys.executable, "-m", "clinnlp"]
    found = []
    for name in PRIORITY:
        corpora, options, folds, full = RECIPES[name]
        folder = out / slug(name)
        if full:
            model = folder / "model"
            train = [*py, "train", *corpora, *COMMON, *options, *extra, "--out", str(model)]
            train.append("--force")
            predict = [sys.executable, str(Path(__file__).parent / "entity_ablation.py")]
            predict += ["predict", str(model), str(folder / "predictions")]
            found.append((f"{name}: full model", folder / "predictions" / "done", [train, predict]))
        for f in folds:
            cv = [*py, "cv", *corpora, *COMMON, *options, *extra, "--folds", str(f)]
            cv += ["--json", str(folder / f"fold-{f}.json")]
            found.append((f"{name}: fold {f}", folder / f"fold-{f}.json", [cv]))
    return found


def merge(out: Path) -> None:
    """Each recipe's fold files into one cv result (the recipe must agree across files)."""
    from clinnlp.training.cv import save_results, summarise

    for name in RECIPES:
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
    parser.add_argument("--only", nargs="*", help="recipe names to run [default: all]")
    parser.add_argument("--extra", default="", help="options added to every training run")
    args = parser.parse_args()
    started = time.monotonic()
    todo = [
        j
        for j in jobs(args.out, args.extra.split())
        if not j[1].exists() and (not args.only or j[0].split(":")[0] in args.only)
    ]
    running: list[tuple[str, subprocess.Popen[bytes], list[list[str]], Path]] = []
    log_dir = args.out / "logs"
    log_dir.mkdir(parents=True, exist_ok=True)

    def start(name: str, commands: list[list[str]]) -> None:
        log = log_dir / f"{slug(name)}.log"
        script = " && ".join(" ".join(_quote(c) for c in cmd) for cmd in commands)
        with log.open("ab") as handle:
            proc = subprocess.Popen(
                ["bash", "-c", script], stdout=handle, stderr=handle, start_new_session=True
            )
        running.append((name, proc, commands, log))
        print(f"{time.monotonic() - started:7.0f}s start {name}", flush=True)

    while todo or running:
        late = args.deadline is not None and time.monotonic() - started > args.deadline
        while todo and len(running) < args.jobs and not late:
            name, _, commands = todo.pop(0)
            start(name, commands)
        for item in list(running):
            name, proc, _, log = item
            if proc.poll() is not None:
                running.remove(item)
                status = (
                    "done" if proc.returncode == 0 else f"FAILED ({proc.returncode}), see {log}"
                )
                print(f"{time.monotonic() - started:7.0f}s {status} {name}", flush=True)
        if late:
            todo.clear()
            if time.monotonic() - started > args.deadline + 60:
                for name, proc, _, _ in running:
                    os.killpg(proc.pid, signal.SIGKILL)  # bash and the run it started
                    print(f"killed at the deadline: {name}", flush=True)
                running.clear()
        time.sleep(1)
    merge(args.out)
    print(f"{time.monotonic() - started:7.0f}s all done; merged into {args.out}/*/cv.json")


def _quote(arg: str) -> str:
    import shlex

    return shlex.quote(arg)


if __name__ == "__main__":
    main()
