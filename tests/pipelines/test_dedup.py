"""The Beam transforms give exactly what the in-memory reference gives."""

from __future__ import annotations

import random

import apache_beam as beam
import pytest
import pyarrow.parquet as pq
from apache_beam.runners.portability.fn_api_runner import FnApiRunner
from apache_beam.testing.util import assert_that, equal_to

from dataprep.dedup.clusters import clusters_path
from dataprep.dedup.config import DedupConfig, SourceDedup, stage_settings
from dataprep.dedup.local import drop_exact_duplicates, drop_near_duplicates
from dataprep.records import Document
from pipelines.dedup import DropExactDuplicates, DropNearDuplicates, WriteClusters


class Spec:
    def __init__(self, name: str, kind: str, dedup: SourceDedup = SourceDedup()) -> None:
        self.name, self.kind, self.dedup = name, kind, dedup


def corpus() -> list[Document]:
    rng = random.Random(1)
    docs = []
    for source in ("web", "code"):
        for g in range(8):
            words = [f"{source}{g}w{i}" for i in range(150)]
            for v in range(rng.randint(1, 4)):
                w = words[:]
                w[rng.randrange(len(w))] = "edited"
                sep = "\n    " if source == "code" else " "
                docs.append(Document(f"{source}/f#{g}.{v}", source, sep.join(w), {"file": "f", "position": g * 10 + v}))
        docs.append(Document(f"{source}/copy", source, docs[-1].text + "  \n", {"file": "f", "position": 999}))
    docs.append(Document("web/empty", "web", "", {"file": "f", "position": 1000}))
    return docs


SOURCES = [Spec("web", "web"), Spec("code", "code")]


def test_drop_exact_duplicates_matches_reference() -> None:
    settings = stage_settings(DedupConfig(), SOURCES)
    docs = corpus()
    ref = drop_exact_duplicates(docs, settings)
    assert ref.dropped
    with beam.Pipeline(runner=FnApiRunner()) as p:
        out = p | beam.Create(docs) | DropExactDuplicates(DedupConfig(), SOURCES)
        assert_that(out.kept, equal_to(ref.kept), label="kept")
        assert_that(out.dropped, equal_to(ref.dropped), label="dropped")
        assert_that(out.clusters, equal_to(ref.clusters), label="clusters")
        assert_that(out.stats, equal_to([ref.stats]), label="stats")


def test_drop_near_duplicates_matches_reference_in_any_order(tmp_path) -> None:
    settings = stage_settings(DedupConfig(), SOURCES)
    docs = corpus()
    ref = drop_near_duplicates(docs, settings)
    assert ref.dropped and ref.stats["sources"]["code"]["dropped_near_duplicate"] > 0
    shuffled = docs[:]
    random.Random(5).shuffle(shuffled)
    with beam.Pipeline(runner=FnApiRunner()) as p:
        out = p | beam.Create(shuffled) | DropNearDuplicates(settings)
        assert_that(out.kept, equal_to(ref.kept), label="kept")
        assert_that(out.dropped, equal_to(ref.dropped), label="dropped")
        assert_that(out.clusters, equal_to(ref.clusters), label="clusters")
        assert_that(out.stats, equal_to([ref.stats]), label="stats")
        out.clusters | WriteClusters(str(tmp_path))
    table = pq.read_table(clusters_path(str(tmp_path)))
    assert table.column_names == ["id", "source", "cluster_id", "kept", "similarity", "stage"]
    assert table.num_rows == len(ref.clusters)
    first = open(clusters_path(str(tmp_path)), "rb").read()
    with beam.Pipeline(runner=FnApiRunner()) as p:
        p | beam.Create(ref.clusters[::-1]) | WriteClusters(str(tmp_path))
    assert open(clusters_path(str(tmp_path)), "rb").read() == first  # deterministic bytes


@pytest.mark.parametrize("partitions", [1, 3])
def test_near_result_does_not_depend_on_partitions(partitions: int) -> None:
    """Buckets, edges and documents are grouped by partitions; every bucket lies in one, so
    the result is the reference's whatever their number."""
    settings = stage_settings(DedupConfig(partitions=partitions), SOURCES)
    docs = corpus()
    ref = drop_near_duplicates(docs, settings)
    with beam.Pipeline(runner=FnApiRunner()) as p:
        out = p | beam.Create(docs[::-1]) | DropNearDuplicates(settings)
        assert_that(out.kept, equal_to(ref.kept), label="kept")
        assert_that(out.clusters, equal_to(ref.clusters), label="clusters")
        assert_that(out.stats, equal_to([ref.stats]), label="stats")


def test_one_large_cluster_of_identical_documents_in_beam() -> None:
    """2,000 identical pages (exact off, so near dedup sees them all): one bucket per band,
    star edges, one cluster, one kept, every other dropped with the keeper recorded."""
    config = DedupConfig(exact=False, oversized_bucket=100)
    docs = [Document(f"s/f#{i}", "s", "the very same page " * 20, {"file": "f", "position": i}) for i in range(2000)]
    ref = drop_near_duplicates(docs, stage_settings(config))
    assert len(ref.kept) == 1 and ref.stats["oversized_buckets"] == {"s": 20}
    with beam.Pipeline(runner=FnApiRunner()) as p:
        out = p | beam.Create(docs) | DropNearDuplicates(config)
        assert_that(out.kept, equal_to(ref.kept), label="kept")
        assert_that(out.dropped | beam.combiners.Count.Globally(), equal_to([1999]), label="dropped")
        assert_that(out.stats, equal_to([ref.stats]), label="stats")


def _write_inputs(tmp_path) -> tuple[str, str]:
    import json

    import pyarrow as pa

    rng = random.Random(0)
    bases = [" ".join(f"g{g}w{i}" for i in range(300)) for g in range(6)]
    a = tmp_path / "in" / "a.jsonl"
    a.parent.mkdir()
    with open(a, "w") as f:
        for i in range(18):
            w = bases[i % 6].split()
            w[rng.randrange(300)] = "x"
            f.write(json.dumps({"id": f"doc{i}", "text": " ".join(w), "lang": "en"}) + "\n")
        f.write("not json\n")
        f.write(json.dumps({"id": "doc0", "text": "reused id"}) + "\n")
        f.write(json.dumps({"id": "nt"}) + "\n")
    b = tmp_path / "in" / "b.parquet"
    pq.write_table(pa.table({"id": ["p0", "p1", "p2"], "text": [bases[0], bases[0] + "\n", "lonely"], "n": [0, 1, 2]}), b)
    return str(a), str(b)


def test_cli_dedup_and_explain(tmp_path) -> None:
    import json

    from click.testing import CliRunner

    from dataprep.cli import main

    a, b = _write_inputs(tmp_path)
    out = tmp_path / "out"
    runner = CliRunner()
    res = runner.invoke(main, ["dedup", a, b, "--out", str(out)])
    assert res.exit_code == 0, res.output
    assert "exact dups" in res.output
    manifest = json.loads((out / "dedup" / "manifest.json").read_text())
    assert manifest["rejected"] == {"duplicate_id": 1, "malformed_json": 1, "missing_text": 1}
    near, exact = manifest["stages"]["near"], manifest["stages"]["exact"]
    assert exact["sources"]["input"] == {"in": 21, "dropped_exact_duplicate": 1, "kept": 20}
    kept = [json.loads(line) for line in (out / "documents" / "a.jsonl").read_text().splitlines()]
    parquet_kept = pq.read_table(out / "documents" / "b.parquet").to_pylist()
    assert len(kept) + len(parquet_kept) == near["sources"]["input"]["kept"] == 7  # 6 groups + "lonely"
    assert all(set(r) == {"id", "text", "lang"} for r in kept)
    rows = pq.read_table(out / "dedup" / "clusters.parquet").to_pylist()
    dropped = next(r for r in rows if not r["kept"] and r["stage"] == "near")
    res = runner.invoke(main, ["dedup", "explain", str(out), dropped["id"], "--width", "100"])
    assert res.exit_code == 0 and f"kept: {dropped['cluster_id']}" in res.output and "*" in res.output
    # same inputs in another order, on two worker processes -> the same bytes
    out2 = tmp_path / "out2"
    assert runner.invoke(main, ["dedup", "run", b, a, "--out", str(out2), "--workers", "2"]).exit_code == 0
    for rel in ("dedup/clusters.parquet", "documents/a.jsonl", "documents/b.parquet", "dedup/rejects.jsonl"):
        assert (out / rel).read_bytes() == (out2 / rel).read_bytes(), rel
    res = runner.invoke(main, ["dedup", a, "--out", str(out2), "--threshold", "2"])
    assert res.exit_code == 2 and "threshold" in res.output


def test_near_duplicates_of_a_chain_match_reference_even_when_cut_short() -> None:
    base = [f"w{i}" for i in range(200)]
    docs = []
    for i in range(12):
        words = base[:]
        for j in range(2 * i):  # each step edits two more words: neighbours ~0.9, ends ~0.3
            words[j * 9 % 200] = f"e{j}"
        docs.append(Document(f"s/f#{i}", "s", " ".join(words), {"file": "f", "position": i}))
    for rounds in (1, 10):
        settings = stage_settings(DedupConfig(max_rounds=rounds))
        ref = drop_near_duplicates(docs, settings)
        with beam.Pipeline(runner=FnApiRunner()) as p:
            out = p | beam.Create(docs) | DropNearDuplicates(settings)
            assert_that(out.kept, equal_to(ref.kept), label="kept")
            assert_that(out.clusters, equal_to(ref.clusters), label="clusters")
            assert_that(out.stats, equal_to([ref.stats]), label="stats")
        if rounds == 1:
            assert ref.stats["unconverged_nodes"] > 0  # the split-but-safe path is exercised
