"""``OUT/dedup/clusters.parquet``: one row per document in a non-trivial duplicate cluster.

Columns: ``id`` (the input's own id), ``source``, ``cluster_id`` (the id of the document kept
from the cluster), ``kept`` (bool), ``similarity`` (to the kept document; 1.0 for exact
duplicates and for the kept one), ``stage`` (``exact`` or ``near``). Rows are sorted by
(stage, cluster_id, not kept, id) and written with fixed writer options (`clusters_bytes`), so
the same input gives the same bytes; ``pipelines.dedup.WriteClusters`` writes them atomically.
"""

from __future__ import annotations

import io
import os
from typing import Any, Iterable

import pyarrow as pa
import pyarrow.parquet as pq


CLUSTERS_FORMAT = "dataprep-dedup-clusters v1"
SCHEMA = pa.schema(
    [
        pa.field("id", pa.string(), nullable=False),
        pa.field("source", pa.string(), nullable=False),
        pa.field("cluster_id", pa.string(), nullable=False),
        pa.field("kept", pa.bool_(), nullable=False),
        pa.field("similarity", pa.float64(), nullable=False),
        pa.field("stage", pa.string(), nullable=False),
    ],
    metadata={b"format": CLUSTERS_FORMAT.encode()},
)


def clusters_path(out_dir: str) -> str:
    """``OUT/dedup/clusters.parquet``."""
    return os.path.join(out_dir, "dedup", "clusters.parquet")


def sort_rows(rows: Iterable[dict[str, Any]]) -> list[dict[str, Any]]:
    """Rows in file order: exact before near, by cluster, the kept row first, then by id."""
    order = {"exact": 0, "near": 1}
    return sorted(rows, key=lambda r: (order.get(r["stage"], 2), r["cluster_id"], not r["kept"], r["id"]))


def clusters_table(rows: Iterable[dict[str, Any]]) -> pa.Table:
    """Sorted rows as an Arrow table with `SCHEMA`."""
    rows = sort_rows(rows)
    return pa.table({f.name: [r[f.name] for r in rows] for f in SCHEMA}, schema=SCHEMA)


def clusters_bytes(rows: Iterable[dict[str, Any]]) -> tuple[bytes, int]:
    """The file's bytes (sorted rows, fixed writer options) and its number of rows."""
    table = clusters_table(rows)
    buf = io.BytesIO()
    pq.write_table(table, buf, compression="zstd", row_group_size=65536)
    return buf.getvalue(), table.num_rows


def read_clusters(path: str) -> list[dict[str, Any]]:
    """All rows of a clusters file."""
    return pq.read_table(path).to_pylist()
