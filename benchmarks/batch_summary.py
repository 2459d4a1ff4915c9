"""The README's batch-run table, from a finished `clinnlp annotate` run and its `time -v` log.

    /usr/bin/time -v clinnlp annotate corpora/data/mtsamples/notes --out runs/mtsamples1 \\
        --n-process 1 2> runs/mtsamples1.log
    python benchmarks/batch_summary.py runs/mtsamples1 runs/mtsamples1.log \\
        --json results/mtsamples-batch.json

Prints documents, failures, wall time, speed and peak memory, and what the run found:
entities per label, relations, and the adverse drug events by assertion status.
"""

from __future__ import annotations

import argparse
import json
import platform
import re
import time
from collections import Counter
from pathlib import Path


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("run", type=Path)
    parser.add_argument("time_log", type=Path)
    parser.add_argument("--json", type=Path, default=None)
    args = parser.parse_args()
    labels: Counter[str] = Counter()
    events: Counter[str] = Counter()
    docs = chars = relations = notes_with_ade = 0
    with (args.run / "annotations.jsonl").open(encoding="utf-8") as handle:
        for line in handle:
            doc = json.loads(line)
            docs += 1
            chars += len(doc["text"])
            labels.update(e["label"] for e in doc["entities"])
            relations += len(doc["relations"])
            summary = doc.get("adverse_drug_events", {})
            for status, found in summary.items():
                if isinstance(found, list):
                    events[status] += len(found)
            notes_with_ade += bool(summary.get("reports_ade"))
    failed = (
        sum(1 for _ in (args.run / "errors.jsonl").open())
        if (args.run / "errors.jsonl").exists()
        else 0
    )
    log = args.time_log.read_text("utf-8")
    wall = re.search(r"Elapsed \(wall clock\) time.*: (?:(\d+):)?(\d+):([\d.]+)", log)
    assert wall is not None, "no wall time in the time -v log"
    seconds = int(wall.group(1) or 0) * 3600 + int(wall.group(2)) * 60 + float(wall.group(3))
    rss = re.search(r"Maximum resident set size \(kbytes\): (\d+)", log)
    peak_mb = int(rss.group(1)) / 1024 if rss else None
    print(
        f"documents {docs:,}, failed {failed}, wall {seconds:.0f} s, {docs / seconds:.1f} docs/s, "
        f"{chars / seconds:,.0f} chars/s, peak {peak_mb:,.0f} MB"
    )
    print(
        "entities: "
        + ", ".join(f"{k} {v:,} ({v / docs:.2f} a note)" for k, v in sorted(labels.items()))
    )
    print(
        f"relations: {relations:,}; adverse drug events: "
        + ", ".join(f"{k} {v:,}" for k, v in sorted(events.items()))
        + f"; notes reporting one: {notes_with_ade:,}"
    )
    if args.json:
        record = {
            "command": "clinnlp annotate (see time log) + python benchmarks/batch_summary.py",
            "date": time.strftime("%Y-%m-%d"),
            "machine": platform.machine(),
            "documents": docs,
            "failed": failed,
            "characters": chars,
            "wall_seconds": seconds,
            "peak_rss_mb": peak_mb,
            "entities": dict(labels),
            "relations": relations,
            "adverse_drug_events": dict(events),
            "notes_reporting_ade": notes_with_ade,
        }
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(record, indent=2) + "\n", "utf-8")


if __name__ == "__main__":
    main()
