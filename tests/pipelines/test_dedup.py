"""The Beam transforms give exactly what the in-memory reference gives."""

from __future__ import annotations

import random

import apache_beam as beam
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
