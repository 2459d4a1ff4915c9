"""Concept linking: accuracy per knowledge base, build cost, load time and throughput.

    python benchmarks/linking.py [--kb models/kb] [--notes 300] [--json results/linking.json]

* Drugs: DrugBank accuracy@1 and @5 on the BC5CDR dev chemical mentions whose MeSH id has a
  DrugBank id in a map built from the BC5CDR *train* mentions whose whole text is a name of
  the drug vocabulary (so brands, abbreviations and variants of the same substance in dev
  are scored against the substance's id).
* Events: HPO accuracy@1 and @5 on the linked pairs of
  ``tests/fixtures/linking/ade_events_hpo.tsv`` (ADE-Corpus-V2 events, see its README).
* Build time and peak memory of each knowledge base (each built alone in a fresh process),
  the cold load time of the linker (both knowledge bases, in a fresh process that has the
  pipeline's own imports), and the
  pipeline's throughput on MTSamples notes with the linker and without.
"""

from __future__ import annotations

import argparse
import csv
import json
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

from _results import write_result

ROOT = Path(__file__).resolve().parents[1]
PAIRS = ROOT / "tests" / "fixtures" / "linking" / "ade_events_hpo.tsv"
CDR = ROOT / "corpora" / "data" / "bc5cdr"


def drugbank_of_names() -> dict[str, str]:
    """Every name of drug-named-entity-recognition (lowercased) -> its drug's DrugBank id."""
    from clinnlp.lexicon.vocabulary import drug_package_data

    data, _ = drug_package_data()
    info = data["drug_canonical_to_data"]
    out = {}
    for variant, canonicals in data["drug_variant_to_canonical"].items():
        ids = {info.get(c, {}).get("drugbank_id") for c in canonicals} - {None}
        if len(ids) == 1:
            out[variant.lower()] = ids.pop()
    return out


def drug_gold() -> list[tuple[str, str]]:
    """(dev mention text, gold DrugBank id) pairs, as the module docstring says; a mention
    that is a short form the abbreviation detector resolves in its abstract is given as its
    long form, as the linker component links it."""
    from clinnlp.readers.pubtator import read_pubtator
    from clinnlp.text import make_text_pipeline

    names = drugbank_of_names()
    votes: dict[str, Counter[str]] = {}
    for doc in read_pubtator(CDR / "CDR_TrainingSet.PubTator.txt"):
        for e in doc.entities:
            ids = [c.id for c in e.concepts]
            if e.label == "Chemical" and len(ids) == 1 and e.text.lower() in names:
                votes.setdefault(ids[0], Counter())[names[e.text.lower()]] += 1
    mesh_to_drugbank = {mesh: c.most_common(1)[0][0] for mesh, c in votes.items()}
    nlp = make_text_pipeline()
    pairs = []
    for doc in read_pubtator(CDR / "CDR_DevelopmentSet.PubTator.txt"):
        long_forms = {a["short_text"]: a["long_text"] for a in nlp(doc.text)._.abbreviations}
        for e in doc.entities:
            ids = [c.id for c in e.concepts]
            if e.label == "Chemical" and len(ids) == 1 and ids[0] in mesh_to_drugbank:
                pairs.append((long_forms.get(e.text, e.text), mesh_to_drugbank[ids[0]]))
    return pairs


def event_gold() -> list[tuple[str, str]]:
    with PAIRS.open(encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle, delimiter="\t"))
    return [(r["mention"], r["hpo_id"]) for r in rows if r["match"] in ("exact", "broader")]


def accuracy(folder: Path, pairs: list[tuple[str, str]]) -> dict[str, float]:
    from clinnlp.linking.index import load
    from clinnlp.linking.link import link

    generator, xrefs = load(folder)
    found = link(generator, xrefs, [m for m, _ in pairs], k=5, threshold=0.0)
    at1 = sum(1 for c, (_, g) in zip(found, pairs, strict=True) if c[:1] and c[0].id == g)
    at5 = sum(1 for c, (_, g) in zip(found, pairs, strict=True) if g in {x.id for x in c})
    return {"pairs": len(pairs), "accuracy@1": at1 / len(pairs), "accuracy@5": at5 / len(pairs)}


def _fresh(code: str) -> dict:
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def build_cost(name: str) -> dict:
    with tempfile.TemporaryDirectory() as tmp:
        code = (
            "import json, resource, time; from clinnlp.linking import index, kb; "
            "t = time.perf_counter(); "
            f"index.build(kb.SOURCES[{name!r}](), {str(Path(tmp) / name)!r}, {name!r}); "
            "print(json.dumps({'seconds': time.perf_counter() - t, "
            "'peak_mb': resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))"
        )
        return _fresh(code)


def cold_load(kb: Path) -> dict:
    """The linker's first load in a fresh process that has imported what the pipeline
    imports before it (spaCy, torch, clinnlp's components)."""
    code = (
        "import json, time, spacy, torch, clinnlp.pipeline; t = time.perf_counter(); "
        "from clinnlp.linking.index import load; "
        f"[load(f) for f in ({str(kb / 'drugs')!r}, {str(kb / 'hpo')!r})]; "
        "print(json.dumps({'seconds': time.perf_counter() - t}))"
    )
    return _fresh(code)


def throughput(kb: Path, notes: int) -> dict:
    from clinnlp import load

    paths = sorted((ROOT / "corpora" / "data" / "mtsamples" / "notes").glob("*.txt"))[:notes]
    texts = [p.read_text("utf-8") for p in paths]
    timings = {}
    for name, nlp in (("without", load(device="cpu")), ("with", load(device="cpu", kb=kb))):
        if name == "without" and "clinnlp_linker" in nlp.pipe_names:
            nlp.remove_pipe("clinnlp_linker")
        list(nlp.pipe(texts[:4]))  # warm-up: weights and knowledge bases loaded
        started = time.perf_counter()
        list(nlp.pipe(texts))
        timings[name] = time.perf_counter() - started
    return {
        "notes": len(texts),
        "seconds_without": timings["without"],
        "seconds_with": timings["with"],
        "ratio": timings["without"] / timings["with"],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--kb", type=Path, default=ROOT / "models" / "kb")
    parser.add_argument("--notes", type=int, default=300)
    parser.add_argument("--json", type=Path, default=None)
    args = parser.parse_args()
    result = {
        "drugs": {**accuracy(args.kb / "drugs", drug_gold()), "build": build_cost("drugs")},
        "hpo": {**accuracy(args.kb / "hpo", event_gold()), "build": build_cost("hpo")},
        "cold_load": cold_load(args.kb),
        "throughput": throughput(args.kb, args.notes),
    }
    print(f"{'knowledge base':<16}{'pairs':>7}{'acc@1':>8}{'acc@5':>8}{'build s':>9}{'peak MB':>9}")
    for name in ("drugs", "hpo"):
        r = result[name]
        print(
            f"{name:<16}{r['pairs']:>7}{100 * r['accuracy@1']:>7.1f}%{100 * r['accuracy@5']:>7.1f}%"
            f"{r['build']['seconds']:>9.1f}{r['build']['peak_mb']:>9.0f}"
        )
    t = result["throughput"]
    seconds = result["cold_load"]["seconds"]
    print(f"cold load of the linker (both knowledge bases, in a pipeline process): {seconds:.2f} s")
    print(
        f"pipeline on {t['notes']} MTSamples notes: {t['seconds_without']:.1f} s without the "
        f"linker, {t['seconds_with']:.1f} s with it: throughput ratio {t['ratio']:.2f}"
    )
    if args.json:
        write_result(args.json, "python benchmarks/linking.py", result)


if __name__ == "__main__":
    main()
