"""scispaCy's candidate index, built and loaded here so that nothing is ever downloaded.

A knowledge-base folder holds scispaCy's artefacts — ``kb.jsonl`` (its ``KnowledgeBase``),
``concept_aliases.json``, ``tfidf_vectorizer.joblib``, ``tfidf_vectors_sparse.npz`` and
``nmslib_index.bin`` (``LinkerPaths.from_directory`` reads them) — plus clinnlp's
``xrefs.json`` (cross-references per concept), ``tfidf_vocabulary.json`` (the vectorizer's
vocabulary and idf, which clinnlp loads instead of unpickling the joblib file) and
``meta.json`` (counts, settings, build time).

scispaCy's own ``create_tfidf_ann_index`` is not used: it refuses scipy >= 1.11 (it stores
the vectors in float16), hard-codes 60 threads, and its ``min_df=10`` drops the character
3-grams of rare names (so rare drug names vanish). Here: the same character 3-gram TF-IDF
(``char_wb``) with ``min_df=1``, float32 vectors, and an HNSW index sized for a laptop.
"""

from __future__ import annotations

import json
import os
import re
import time
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from clinnlp._files import write_atomic
from clinnlp.errors import E_KB_MISSING, ModelError

FILES = (
    "kb.jsonl",
    "xrefs.json",
    "concept_aliases.json",
    "tfidf_vectorizer.joblib",
    "tfidf_vocabulary.json",
    "tfidf_vectors_sparse.npz",
    "nmslib_index.bin",
    "meta.json",
)
#: HNSW settings: scispaCy uses M=100 and efConstruction=2000 on 60 threads (two hours for
#: UMLS); these build a 100k-name index in about a minute on two cores.
INDEX_PARAMS = {"M": 32, "efConstruction": 200, "post": 0}
EF_SEARCH = 200


def build(
    concepts: Iterable[tuple[dict[str, Any], list[str]]], out: str | Path, name: str = ""
) -> dict[str, Any]:
    """Write a knowledge-base folder for ``concepts`` (scispaCy entity dicts with their
    cross-references); return its ``meta.json`` record."""
    import nmslib
    import numpy as np
    import scipy.sparse
    from sklearn.feature_extraction.text import TfidfVectorizer

    started = time.perf_counter()
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    entities, xrefs = [], {}
    for entity, refs in concepts:
        entities.append(entity)
        if refs:
            xrefs[str(entity["concept_id"])] = refs
    aliases = sorted({str(a) for e in entities for a in e["aliases"]})
    vectorizer = TfidfVectorizer(analyzer="char_wb", ngram_range=(3, 3), min_df=1, dtype=np.float32)
    vectors = vectorizer.fit_transform(aliases).astype(np.float32)
    keep = np.asarray(vectors.sum(axis=1)).reshape(-1) != 0  # nmslib cannot index empty rows
    aliases = [a for a, k in zip(aliases, keep, strict=True) if k]
    vectors = vectors[keep]
    index = nmslib.init(
        method="hnsw", space="cosinesimil_sparse", data_type=nmslib.DataType.SPARSE_VECTOR
    )
    index.addDataPointBatch(vectors)
    index.createIndex({**INDEX_PARAMS, "indexThreadQty": os.cpu_count() or 1})
    index.saveIndex(str(out / "nmslib_index.bin"))
    scipy.sparse.save_npz(out / "tfidf_vectors_sparse.npz", vectors)
    import joblib

    joblib.dump(vectorizer, out / "tfidf_vectorizer.joblib")  # scispaCy's format, for its users
    vocabulary = {
        "vocabulary": {k: int(v) for k, v in vectorizer.vocabulary_.items()},
        "idf": [float(x) for x in vectorizer.idf_],
    }
    write_atomic(out / "tfidf_vocabulary.json", json.dumps(vocabulary).encode("utf-8"))
    write_atomic(out / "concept_aliases.json", json.dumps(aliases).encode("utf-8"))
    write_atomic(out / "xrefs.json", json.dumps(xrefs).encode("utf-8"))
    lines = "".join(json.dumps(e) + "\n" for e in entities)
    write_atomic(out / "kb.jsonl", lines.encode("utf-8"))
    meta = {
        "name": name,
        "concepts": len(entities),
        "aliases": len(aliases),
        "index": INDEX_PARAMS,
        "seconds": round(time.perf_counter() - started, 1),
        "built": time.strftime("%Y-%m-%d %H:%M:%S"),
    }
    write_atomic(out / "meta.json", (json.dumps(meta, indent=2) + "\n").encode("utf-8"))
    return meta


class CharTrigrams:
    """The transform of scikit-learn's ``TfidfVectorizer(analyzer="char_wb",
    ngram_range=(3, 3))`` from its stored vocabulary and idf, without importing scikit-learn
    (which would add most of a second to the linker's first use): lower-case, each word
    padded with one space either side, its character 3-grams (a word too short for one gives
    its padded self once), counts times idf, each row scaled to unit length."""

    _space = re.compile(r"\s\s+")

    def __init__(self, vocabulary: dict[str, int], idf: Any) -> None:
        import numpy as np

        self.vocabulary = vocabulary
        self.idf = np.asarray(idf, dtype=np.float64)

    def grams(self, text: str) -> list[str]:
        out = []
        for word in self._space.sub(" ", text.lower()).split():
            padded = f" {word} "
            if len(padded) <= 3:
                out.append(padded)
                continue
            out += [padded[i : i + 3] for i in range(len(padded) - 2)]
        return out

    def transform(self, texts: Iterable[str]) -> Any:
        import numpy as np
        import scipy.sparse

        indptr, indices, values = [0], [], []
        for text in texts:
            counts: dict[int, int] = {}
            for gram in self.grams(text):
                column = self.vocabulary.get(gram)
                if column is not None:
                    counts[column] = counts.get(column, 0) + 1
            columns = sorted(counts)
            row = np.array([counts[c] * self.idf[c] for c in columns], dtype=np.float64)
            norm = float(np.sqrt((row**2).sum())) if len(row) else 0.0
            indices += columns
            values += list(row / norm) if norm else list(row)
            indptr.append(len(indices))
        shape = (len(indptr) - 1, len(self.vocabulary))
        return scipy.sparse.csr_matrix(
            (np.asarray(values, dtype=np.float32), indices, indptr), shape=shape
        )


#: The one scikit-learn module scispaCy's candidate generator imports.
SKLEARN_TFIDF = "sklearn.feature_extraction.text"


class _NoTfidfVectorizer:
    """Stands in for scikit-learn's ``TfidfVectorizer`` in scispaCy's module when clinnlp
    imported it without scikit-learn (see :func:`candidate_generator_class`)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        raise ImportError(
            "scispaCy's candidate_generation module was imported by clinnlp without "
            f"scikit-learn; import {SKLEARN_TFIDF} before clinnlp's linker first runs to "
            "build scispaCy indexes in the same process"
        )


def candidate_generator_class() -> Any:
    """scispaCy's ``CandidateGenerator`` class, imported without scikit-learn when nothing
    has imported scikit-learn yet.

    scispaCy's module imports ``TfidfVectorizer`` for its own index builder and for type
    hints; clinnlp builds indexes itself and vectorizes with :class:`CharTrigrams`, so
    importing scikit-learn would only add about 0.8 s and 100 MB to the linker's first use. A
    placeholder module stands in for that one module during the import and leaves
    ``sys.modules`` right after, so any later ``import sklearn...`` gets the real one."""
    import sys
    import types

    # scikit-learn already (or being) imported, here or by another thread: the normal import
    if "sklearn" in sys.modules or "scispacy.candidate_generation" in sys.modules:
        from scispacy.candidate_generation import CandidateGenerator

        return CandidateGenerator
    placeholder = types.ModuleType(SKLEARN_TFIDF)
    placeholder.TfidfVectorizer = _NoTfidfVectorizer  # type: ignore[attr-defined]
    sys.modules[SKLEARN_TFIDF] = placeholder
    try:
        from scispacy.candidate_generation import CandidateGenerator
    finally:
        if sys.modules.get(SKLEARN_TFIDF) is placeholder:
            del sys.modules[SKLEARN_TFIDF]
    return CandidateGenerator


def check(folder: str | Path) -> Path:
    """``folder`` as a Path when it holds a complete knowledge base, else ModelError."""
    folder = Path(folder)
    missing = [f for f in FILES if not (folder / f).is_file()]
    if missing:
        raise ModelError(E_KB_MISSING.format(path=folder, missing=", ".join(missing)))
    return folder


def load(folder: str | Path) -> tuple[Any, dict[str, list[str]]]:
    """A scispaCy ``CandidateGenerator`` over the folder's knowledge base, built from the
    files (never from a download: every argument is given, so scispaCy fetches nothing; the
    vectorizer is :class:`CharTrigrams` on the stored vocabulary, so no pickle is loaded),
    and the cross-references per concept."""
    import nmslib
    import scipy.sparse
    from scispacy.linking_utils import KnowledgeBase

    CandidateGenerator = candidate_generator_class()
    folder = check(folder)
    stored = json.loads((folder / "tfidf_vocabulary.json").read_text("utf-8"))
    vectorizer = CharTrigrams(stored["vocabulary"], stored["idf"])
    index = nmslib.init(
        method="hnsw", space="cosinesimil_sparse", data_type=nmslib.DataType.SPARSE_VECTOR
    )
    index.addDataPointBatch(scipy.sparse.load_npz(folder / "tfidf_vectors_sparse.npz"))
    index.loadIndex(str(folder / "nmslib_index.bin"))
    index.setQueryTimeParams({"efSearch": EF_SEARCH})
    aliases = json.loads((folder / "concept_aliases.json").read_text("utf-8"))
    if not aliases:  # an empty list would make scispaCy fetch UMLS's
        raise ModelError(E_KB_MISSING.format(path=folder, missing="aliases"))
    generator = CandidateGenerator(
        ann_index=index,
        tfidf_vectorizer=vectorizer,
        ann_concept_aliases_list=aliases,
        kb=KnowledgeBase(str(folder / "kb.jsonl")),
    )
    xrefs = json.loads((folder / "xrefs.json").read_text("utf-8"))
    return generator, xrefs
