"""The review loop, measured: annotate the real-note training notes with a model, correct the
run as a reviewer would (through clinnlp's review store, from the gold annotations: every wrong
or missing drug, event, link and status fixed), fine-tune the model on the corrections with
``clinnlp train --base``, and score both models on the real-note dev set.

    python benchmarks/review_loop.py BASE_MODEL [--work runs/review-loop] \
        [--json results/review-loop.json]

Prints the corrections made and the dev figures before and after (benchmarks/real_notes.py's
measures), and the gain per 100 corrections. The base model should be one that has not been
trained on these notes (the previous shipped model), or the loop measures nothing.
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _results import write_result  # noqa: E402
from real_notes import SETS, load, predict, read_gold, score_set  # noqa: E402

from clinnlp.readers.brat import read_brat  # noqa: E402
from clinnlp.review.store import ReviewError, ReviewStore  # noqa: E402
from clinnlp.schema import Document, Entity  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
TRAIN = ROOT / "corpora" / "data" / "mtsamples_ade" / "train"
#: Gold labels as the model names them.
LABELS = {"Drug": "Drug", "ADE": "Adverse-Effect"}


def _status(entity: Entity) -> str:
    flags = {k for k, v in entity.attributes.items() if v is True}
    return (
        "negated"
        if "Negated" in flags
        else "hypothetical"
        if "Hypothetical" in flags
        else "present"
    )


def _overlap(a: dict[str, Any] | Entity, b: Entity) -> bool:
    start, end = (a["start"], a["end"]) if isinstance(a, dict) else (a.start, a.end)
    return start < b.end and b.start < end


def correct(store: ReviewStore, gold: Document) -> int:
    """Bring one note of the store to its gold annotation, decision by decision; return how
    many decisions changed something (acceptances of right entities are not counted)."""
    note = store.note(gold.id)
    wanted = [e for e in gold.entities if e.label in LABELS]
    matched: dict[str, str] = {}  # gold id -> store id
    changes = 0
    for ent in note["entities"]:
        if ent["label"] not in ("Drug", "Adverse-Effect"):
            continue  # doses are outside the guideline: left as the model gave them
        hit = next(
            (
                g
                for g in wanted
                if g.id not in matched and LABELS[g.label] == ent["label"] and _overlap(ent, g)
            ),
            None,
        )
        version = store.note(gold.id)["version"]
        if hit is None:
            store.decide(gold.id, {"version": version, "action": "reject", "entity": ent["id"]})
            changes += 1
            continue
        matched[hit.id] = ent["id"]
        edit: dict[str, Any] = {}
        if (ent["start"], ent["end"]) != (hit.start, hit.end):
            edit |= {"start": hit.start, "end": hit.end}
        status = (ent.get("attributes") or {}).get("assertion")
        if ent["label"] == "Adverse-Effect" and status != _status(hit):
            edit["status"] = _status(hit)
        action = {"action": "edit", **edit} if edit else {"action": "accept"}
        try:
            store.decide(gold.id, {"version": version, "entity": ent["id"], **action})
        except ReviewError:  # the gold span overlaps another predicted entity: reject, add later
            store.decide(gold.id, {"version": version, "action": "reject", "entity": ent["id"]})
            del matched[hit.id]
        changes += bool(edit)
    for g in wanted:  # what the model missed
        if g.id in matched:
            continue
        version = store.note(gold.id)["version"]
        decision = {"version": version, "action": "add", "label": LABELS[g.label]}
        decision |= {"start": g.start, "end": g.end}
        if g.label == "ADE":
            decision["status"] = _status(g)
        note = store.decide(gold.id, decision)
        matched[g.id] = max(note["entities"], key=lambda e: int(e["id"][1:]))["id"]
        changes += 1
    note = store.note(gold.id)
    for g in (g for g in wanted if g.label == "ADE"):  # the links, as gold has them
        drugs = sorted(matched[r.head] for r in gold.relations if r.tail == g.id)
        ident = matched[g.id]
        now = sorted(r["head"] for r in note["relations"] if r["tail"] == ident)
        if drugs != now:
            version = store.note(gold.id)["version"]
            store.decide(
                gold.id, {"version": version, "action": "edit", "entity": ident, "drugs": drugs}
            )
            changes += 1
    version = store.note(gold.id)["version"]
    store.decide(gold.id, {"version": version, "action": "done"})
    return changes


def run(base: Path, work: Path, json_path: Path | None) -> None:
    py = sys.executable
    run_dir = work / "run"
    if not (run_dir / "annotations.jsonl").is_file():
        cmd = [py, "-m", "clinnlp", "annotate", str(TRAIN), "--out", str(run_dir)]
        subprocess.run([*cmd, "--model", str(base)], check=True)
    shutil.rmtree(run_dir / "review", ignore_errors=True)
    store = ReviewStore(run_dir)
    gold = {d.id: d for d in read_brat(TRAIN)}
    corrections = {doc_id: correct(store, doc) for doc_id, doc in gold.items()}
    total = sum(corrections.values())
    model = work / "model"
    if not (model / "model.safetensors").is_file():
        cmd = [py, "-m", "clinnlp", "train", str(run_dir / "review"), "--base", str(base)]
        cmd += ["--out", str(model), "--epochs", "3", "--dev-fraction", "0", "--seed", "13"]
        subprocess.run(cmd, check=True)
    figures = {}
    for name, folder in (("before", base), ("after", model)):
        key = f"review-loop-{name}"
        if load(ROOT / "runs" / "real-notes" / key) is None:
            predict(key, folder, rules=True)
        preds = load(ROOT / "runs" / "real-notes" / key)
        assert preds is not None
        figures[name] = score_set(read_gold("dev"), preds["dev"])
    measures = ("ADEs F1", "Causes F1", "AE P", "AE R", "note F1", "false ADEs per empty note")
    print(
        f"corrections: {total:,} over {len(gold)} training notes "
        "(reviewer decisions that changed something)"
    )
    print(f"{'dev measure':<28}{'before':>10}{'after':>10}{'per 100 corr.':>15}")
    gains = {}
    for m in measures:
        b, a = figures["before"][m], figures["after"][m]
        gains[m] = (a - b) / (total / 100) if total else 0.0
        scale = 1 if m.startswith("false") else 100
        print(f"{m:<28}{scale * b:>10.2f}{scale * a:>10.2f}{scale * gains[m]:>15.2f}")
    if json_path is not None:
        write_result(
            json_path,
            f"python benchmarks/review_loop.py {base.as_posix()} --json results/review-loop.json",
            {
                "base_model": str(base),
                "corrections": total,
                "corrections_per_note": corrections,
                "dev": figures,
                "gain_per_100_corrections": gains,
                "sets": {k: str(v) for k, v in SETS.items()},
            },
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("base", type=Path)
    parser.add_argument("--work", type=Path, default=ROOT / "runs" / "review-loop")
    parser.add_argument("--json", type=Path, default=None)
    args = parser.parse_args()
    run(args.base, args.work, args.json)


if __name__ == "__main__":
    main()
