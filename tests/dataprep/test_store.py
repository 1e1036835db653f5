"""The document store's part files: row groups bounded by rows and by bytes of text."""

from __future__ import annotations

import io

import pyarrow.parquet as pq
import pytest

from dataprep.errors import RecipeError
from dataprep.recipe import BuildConfig, parse_recipe
from dataprep.records import Document
from dataprep.store import (
    ROW_GROUP_ROWS,
    iter_documents,
    parquet_bytes,
    part_name,
    row_group_bounds,
    table_to_documents,
    text_bytes,
)


def _docs(sizes: list[int]) -> list[Document]:
    """Documents of the given character counts; every 7th is non-ASCII (2 UTF-8 bytes a char)."""
    return [Document(f"s/f#{i:05d}", "s", ("é" if i % 7 == 0 else "x") * n, {"i": i}) for i, n in enumerate(sizes)]


def _row_groups(blob: bytes) -> list[tuple[int, int]]:
    """(rows, text bytes) of every row group of a part file."""
    f = pq.ParquetFile(io.BytesIO(blob))
    out = []
    for rg in range(f.num_row_groups):
        texts = f.read_row_group(rg, columns=["text"]).column("text").to_pylist()
        assert len(texts) == f.metadata.row_group(rg).num_rows
        out.append((len(texts), sum(len(t.encode()) for t in texts)))
    return out


def test_text_bytes_is_the_utf8_length():
    for text in ["", "ascii only", "é", "日本語のテキスト", "mixed é 日本 😀"]:
        assert text_bytes(text) == len(text.encode("utf-8"))


def test_row_group_bounds():
    assert row_group_bounds([]) == []
    assert row_group_bounds([1] * 5, max_rows=2, max_bytes=100) == [(0, 2), (2, 4), (4, 5)]
    assert row_group_bounds([40, 40, 40, 10], max_rows=10, max_bytes=100) == [(0, 2), (2, 4)]
    # a row larger than the bound is a group of its own; nothing is empty
    assert row_group_bounds([5, 500, 5], max_rows=10, max_bytes=100) == [(0, 1), (1, 2), (2, 3)]
    assert row_group_bounds([100, 100], max_rows=10, max_bytes=100) == [(0, 1), (1, 2)]


def test_parquet_bytes_splits_row_groups_by_bytes_and_rows():
    docs = _docs([30_000] * 50 + [300_000] + [10] * 2_500)
    blob = parquet_bytes(docs, max_bytes=100_000)
    groups = _row_groups(blob)
    assert sum(rows for rows, _ in groups) == len(docs)
    assert all(rows <= ROW_GROUP_ROWS for rows, _ in groups)
    # every group within the byte bound except the single 300 KB document alone in its group
    assert [g for g in groups if g[1] > 100_000] == [(1, 300_000)]
    assert len(groups) > len(docs) // ROW_GROUP_ROWS + 1  # more groups than rows alone give
    # and no needless split: each group is full by rows, or the next document would overflow it
    sizes = [len(d.text.encode()) for d in docs]
    start = 0
    for rows, size in groups[:-1]:
        assert rows == ROW_GROUP_ROWS or size + sizes[start + rows] > 100_000
        start += rows
    # order and content preserved
    back = list(table_to_documents(pq.read_table(io.BytesIO(blob))))
    assert back == docs
    assert blob == parquet_bytes(list(docs), max_bytes=100_000)  # deterministic


def test_parquet_bytes_default_keeps_short_documents_at_1024_rows():
    docs = _docs([200] * 3_000)
    groups = _row_groups(parquet_bytes(docs))
    assert [rows for rows, _ in groups] == [1024, 1024, 952]


def test_parquet_bytes_of_no_documents_is_a_readable_empty_part(tmp_path):
    blob = parquet_bytes([])
    assert pq.ParquetFile(io.BytesIO(blob)).metadata.num_rows == 0
    d = tmp_path / "documents" / "s"
    d.mkdir(parents=True)
    (d / part_name(0, 2)).write_bytes(blob)
    (d / part_name(1, 2)).write_bytes(parquet_bytes(_docs([10, 20])))
    assert [doc.id for doc in iter_documents(str(tmp_path))] == ["s/f#00000", "s/f#00001"]


def test_iter_documents_reads_old_layout_parts(tmp_path):
    """Stores written before the byte bound (one ``pq.write_table`` call) stay readable."""
    from dataprep.store import documents_to_table

    docs = _docs([100] * 2_100)
    d = tmp_path / "documents" / "s"
    d.mkdir(parents=True)
    pq.write_table(documents_to_table(docs), d / part_name(0, 1), compression="zstd", row_group_size=1024)
    assert list(iter_documents(str(tmp_path))) == docs


def test_parquet_bytes_per_part_validates():
    assert BuildConfig().parquet_bytes_per_part == 256 * 2**20
    base = {"name": "t", "sources": [{"name": "b", "kind": "books", "paths": ["x"], "weight": 1}]}
    recipe = parse_recipe({**base, "build": {"parquet_bytes_per_part": 16 * 2**20}})
    assert recipe.build.parquet_bytes_per_part == 16 * 2**20
    assert recipe.to_dict()["build"]["parquet_bytes_per_part"] == 16 * 2**20
    with pytest.raises(RecipeError, match="parquet_bytes_per_part"):
        parse_recipe({**base, "build": {"parquet_bytes_per_part": 1000}})
    with pytest.raises(RecipeError, match="parquet_bytes_per_part"):
        parse_recipe({**base, "build": {"parquet_bytes_per_part": "big"}})
    with pytest.raises(RecipeError, match="parquet_bytes_per_part"):
        parse_recipe({**base, "build": {"parquet_byte_per_part": 2**20}})  # misspelt: closest name suggested
