"""The Spark engine on local[2]: the same Documents as the local engine, failures as rows, and
``annotate --engine spark`` writing the same output folder as the local run."""

from __future__ import annotations

import json
import os
import shutil
import sys
from pathlib import Path

import pytest

pytest.importorskip("pyspark")
if shutil.which("java") is None and not os.environ.get("JAVA_HOME"):
    pytest.skip("the Spark engine needs Java", allow_module_level=True)

ROOT = Path(__file__).resolve().parents[2]
NOTES = sorted((ROOT / "corpora" / "synthetic" / "heldout").glob("*.txt"))[:20]


@pytest.fixture(scope="module")
def spark():
    from pyspark.sql import SparkSession

    os.environ["PYSPARK_PYTHON"] = sys.executable  # the workers run this venv's Python
    session = (
        SparkSession.builder.master("local[2]")
        .appName("clinnlp-tests")
        .config("spark.ui.enabled", "false")
        .config("spark.sql.shuffle.partitions", "2")
        .getOrCreate()
    )
    session.sparkContext.setLogLevel("ERROR")
    yield session
    session.stop()


@pytest.fixture
def notes(tmp_path: Path) -> Path:
    folder = tmp_path / "notes"
    folder.mkdir()
    for note in NOTES:
        shutil.copy(note, folder / note.name)
    return folder


def _jsonl(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text("utf-8").splitlines()]


def test_spark_rows_equal_the_local_engine_and_bad_rows_fail(
    spark, tiny_model: Path, notes: Path, tmp_path: Path
) -> None:
    import pandas as pd

    from clinnlp import load
    from clinnlp.batch.local import annotate as annotate_local
    from clinnlp.batch.spark import annotate

    assert len(NOTES) == 20
    out = tmp_path / "local"
    annotate_local([notes], out, nlp=load(tiny_model, linker=False))
    local = {}
    for data in _jsonl(out / "annotations.jsonl"):
        data.pop("metadata")  # the local engine records each input's path
        local[data["id"]] = data
    assert len(local) == 20

    rows = [(p.stem, p.read_text("utf-8")) for p in sorted(notes.glob("*.txt"))]
    rows += [("empty", "   \n"), ("binary", "a\x00b"), ("missing", None)]
    frame = pd.DataFrame(rows, columns=["note_id", "body"])
    df = spark.createDataFrame(frame, schema="note_id string, body string").repartition(2)
    result = annotate(df, "note_id", "body", model=str(tiny_model), linker=False).toPandas()

    assert len(result) == len(rows)
    documents = {r.id: json.loads(r.document) for r in result.itertuples() if r.error is None}
    assert documents == local
    failures = {r.id: r.error for r in result.itertuples() if r.error is not None}
    assert set(failures) == {"empty", "binary", "missing"}
    assert "empty" in failures["empty"]
    assert "missing" in failures["missing"]
    assert all("a\x00b" not in reason for reason in failures.values())  # never the text


def test_annotate_engine_spark_writes_what_the_local_engine_writes(
    spark, tiny_model: Path, notes: Path, tmp_path: Path
) -> None:
    from clinnlp.batch.local import annotate

    (notes / "blank.txt").write_text("  \n", "utf-8")
    local = annotate([notes], tmp_path / "local", fmt="brat", model=tiny_model)
    spark_run = annotate(
        [notes], tmp_path / "spark", fmt="brat", model=tiny_model, engine="spark", batch_size=4
    )
    assert (local["done"], local["failed"]) == (spark_run["done"], spark_run["failed"]) == (20, 1)
    for name in sorted(p.name for p in (tmp_path / "local" / "brat").iterdir()):
        expected = (tmp_path / "local" / "brat" / name).read_bytes()
        assert (tmp_path / "spark" / "brat" / name).read_bytes() == expected, name
    errors = _jsonl(tmp_path / "spark" / "errors.jsonl")
    assert [e["id"] for e in errors] == ["blank"]

    again = annotate(
        [notes], tmp_path / "spark", fmt="brat", model=tiny_model, engine="spark", batch_size=4
    )
    assert (again["done"], again["skipped"]) == (0, 20)  # resumed: nothing annotated twice


def test_engine_spark_refuses_what_it_cannot_do(
    tiny_model: Path, notes: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from clinnlp.batch.local import annotate
    from clinnlp.errors import ConfigError

    with pytest.raises(ConfigError, match="spaCy Docs"):
        annotate([notes], tmp_path / "a", fmt="spacy", model=tiny_model, engine="spark")
    with pytest.raises(ConfigError, match="n-process"):
        annotate([notes], tmp_path / "b", model=tiny_model, engine="spark", n_process=2)
    with pytest.raises(ConfigError, match="unknown engine"):
        annotate([notes], tmp_path / "c", model=tiny_model, engine="dask")
    monkeypatch.setattr("clinnlp.batch.local.shutil.which", lambda name: None)
    monkeypatch.delenv("JAVA_HOME", raising=False)
    with pytest.raises(ConfigError, match="Java 17"):
        annotate([notes], tmp_path / "d", model=tiny_model, engine="spark")
    assert not any((tmp_path / name).exists() for name in "abcd")


def test_spark_local_session_binds_to_loopback_and_serves_no_ui() -> None:
    """A local master keeps the driver on 127.0.0.1 and the web UI off (in a fresh process:
    the module's session would be reused)."""
    import subprocess

    code = (
        "from clinnlp.batch.spark import session\n"
        "s = session('local[1]')\n"
        "print(s.conf.get('spark.driver.bindAddress'), s.conf.get('spark.driver.host'), "
        "s.conf.get('spark.ui.enabled'), s.sparkContext.uiWebUrl)\n"
        "s.stop()\n"
    )
    env = {**os.environ, "PYSPARK_PYTHON": sys.executable}
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=300
    )
    assert out.returncode == 0, out.stderr[-2000:]
    assert out.stdout.split() == ["127.0.0.1", "127.0.0.1", "false", "None"], out.stdout


@pytest.mark.slow
def test_spark_local_cluster_separate_executors_write_what_the_local_engine_writes(
    tiny_model: Path, notes: Path, tmp_path: Path
) -> None:
    """On ``local-cluster[2,1,2048]`` (two executor JVMs, each with its own Python workers, as
    on a cluster) the CLI's Spark run writes the local engine's annotations, byte for byte.
    In a fresh process: the module's local[2] session would be reused."""
    import subprocess

    local = tmp_path / "local"
    cluster = tmp_path / "cluster"
    base = [sys.executable, "-m", "clinnlp", "annotate", str(notes), "--model", str(tiny_model)]
    subprocess.run([*base, "--out", str(local)], check=True, capture_output=True, timeout=600)
    env = {**os.environ, "PYSPARK_PYTHON": sys.executable}
    done = subprocess.run(
        [
            *base,
            "--out",
            str(cluster),
            "--engine",
            "spark",
            "--spark-master",
            "local-cluster[2,1,2048]",
            "--batch-size",
            "4",
        ],
        capture_output=True,
        text=True,
        env=env,
        timeout=900,
    )
    assert done.returncode == 0, done.stderr[-3000:]

    def documents(out: Path) -> dict[str, dict]:
        return {d["id"]: {**d, "metadata": None} for d in _jsonl(out / "annotations.jsonl")}

    assert documents(cluster) == documents(local) and len(documents(local)) == 20
