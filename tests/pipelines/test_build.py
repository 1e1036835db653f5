"""The build stage: transforms alone (TestPipeline) and whole builds on small fixtures."""

from __future__ import annotations

import json
import os
import textwrap
from pathlib import Path

import apache_beam as beam
import pyarrow.parquet as pq
import pytest
from apache_beam.testing.util import assert_that, equal_to
from click.testing import CliRunner

from dataprep.cli import main
from dataprep.recipe import load_recipe, parse_recipe
from dataprep.records import Document
from dataprep.store import iter_documents, table_to_documents
from pipelines.build import CleanDocuments, WriteDocumentStore, build_documents, check_balanced_or_raise
from tests.pipelines.beam_helpers import in_process_pipeline


def books_recipe(tmp_path: Path, extra: str = "") -> Path:
    data = tmp_path / "books"
    data.mkdir(exist_ok=True)
    for i in range(7):
        (data / f"book{i}.txt").write_text(f"Chapter {i}\r\n\r\nIt was a long and quiet afternoon number {i}.\r\n" * 3)
    (data / "empty.txt").write_bytes(b"")
    (data / "short.txt").write_text("Tiny.")
    (data / "dup.txt").write_text((data / "book1.txt").read_text())
    recipe = tmp_path / "recipe.yaml"
    recipe.write_text(
        textwrap.dedent(
            f"""
            name: t
            seed: 3
            sources:
              - {{name: books, kind: books, paths: [books/*.txt], weight: 1}}
            build: {{min_chars: 20, parquet_rows_per_part: 3}}
            {extra}
            """
        )
    )
    return recipe


def test_clean_documents_transform():
    recipe = parse_recipe({"name": "t", "sources": [{"name": "b", "kind": "books", "paths": ["x"], "weight": 1}]})
    docs = [
        Document("b/x#0", "b", "A line\r\nand another line of text", {}),
        Document("b/x#1", "b", "   ", {}),
        Document("b/x#2", "b", "short", {}),
    ]
    with in_process_pipeline() as p:
        out = p | beam.Create(docs) | CleanDocuments(recipe)
        kept = out["documents"] | beam.Map(lambda d: (d.id, d.text))
        assert_that(kept, equal_to([("b/x#0", "A line\nand another line of text")]), label="kept")
        reasons = out["samples"] | beam.Map(lambda kv: kv[0])
        assert_that(reasons, equal_to([("b", "empty"), ("b", "too_short")]), label="dropped")


def test_write_document_store_is_order_independent(tmp_path):
    docs = [Document(f"s/f#{i}", "s", f"text {i}", {"position": i}) for i in range(10)]
    outputs = []
    for n, order in enumerate([docs, list(reversed(docs))]):
        out = tmp_path / str(n)
        with in_process_pipeline() as p:
            _ = p | beam.Create(order) | WriteDocumentStore(str(out), rows_per_part=4)
        files = sorted((out / "documents" / "s").iterdir())
        assert [f.name for f in files] == [f"part-0000{i}-of-00003.parquet" for i in range(3)]
        outputs.append([f.read_bytes() for f in files])
        got = sorted(iter_documents(str(out)), key=lambda d: d.id)
        assert got == sorted(docs, key=lambda d: d.id)
    assert outputs[0] == outputs[1]


def test_build_books_end_to_end(tmp_path):
    recipe = load_recipe(str(books_recipe(tmp_path)))
    out = tmp_path / "out"
    manifest = build_documents(recipe, str(out))
    s = manifest["sources"]["books"]
    assert s["files"] == 10 and s["read"] == 10
    assert s["kept"] == 7
    assert s["dropped"] == {"empty": 1, "too_short": 1, "exact_duplicate": 1}
    assert [st["stage"] for st in s["stages"]] == ["read", "normalize", "filter", "exact_dedup", "near_dedup"]
    assert s["balanced"] and manifest["balanced"]
    docs = list(iter_documents(str(out)))
    assert len(docs) == 7 and all("\r" not in d.text for d in docs)
    assert len({d.id for d in docs}) == 7
    # dup.txt and book1.txt are one exact cluster; the clusters file uses the input's ids.
    clusters = pq.read_table(out / "dedup" / "clusters.parquet").to_pylist()
    assert {r["id"].rsplit("/", 1)[-1] for r in clusters} == {"dup.txt#0", "book1.txt#0"}
    assert sum(r["kept"] for r in clusters) == 1
    assert [d["stage"] for d in manifest["dedup"]] == ["exact", "near"] or len(manifest["dedup"]) == 2
    # Every output file is listed with its checksum; the samples show what was dropped.
    listed = {f["path"] for f in manifest["files"]}
    on_disk = {str(p.relative_to(out)) for p in out.rglob("*") if p.is_file() and p.name != "build-manifest.json"}
    assert listed == on_disk
    samples = pq.read_table(out / "samples" / "dropped.parquet").to_pylist()
    assert {(r["source"], r["reason"]) for r in samples} == {("books", "empty"), ("books", "too_short")}
    assert json.loads((out / "build-manifest.json").read_text())["fingerprint"] == manifest["fingerprint"]


def test_build_twice_is_byte_identical_and_replaces_old_output(tmp_path):
    recipe = load_recipe(str(books_recipe(tmp_path)))
    a, b = tmp_path / "a", tmp_path / "b"
    build_documents(recipe, str(a))
    (b / "documents" / "books").mkdir(parents=True)
    (b / "documents" / "books" / "part-00009-of-00010.parquet").write_bytes(b"stale")
    build_documents(recipe, str(b))
    files_a = sorted(p.relative_to(a) for p in a.rglob("*") if p.is_file())
    files_b = sorted(p.relative_to(b) for p in b.rglob("*") if p.is_file())
    assert files_a == files_b
    for rel in files_a:
        assert (a / rel).read_bytes() == (b / rel).read_bytes(), rel


def test_rejects_are_written_with_file_position_and_reason(tmp_path):
    data = tmp_path / "news"
    data.mkdir()
    (data / "n.jsonl").write_bytes(b'{"text": "a good line of news text here"}\n{broken\n{"nope": 1}\n')
    recipe = tmp_path / "r.yaml"
    recipe.write_text(
        "name: t\nsources:\n  - {name: news, kind: text, paths: [news/*.jsonl], weight: 1,\n"
        "     filters: {gopher_quality: {enabled: false}, gopher_repetition: {enabled: false}}}\n"
    )
    manifest = build_documents(load_recipe(str(recipe)), str(tmp_path / "out"))
    s = manifest["sources"]["news"]
    assert s["read"] == 3 and s["kept"] == 1 and sum(s["rejected"].values()) == 2 and s["balanced"]
    rows = [json.loads(l) for l in (tmp_path / "out" / "rejects" / "news.jsonl").read_text().splitlines()]
    assert {r["reason"] for r in rows} == set(s["rejected"])
    assert all(r["file"].endswith("n.jsonl") and r["position"] is not None for r in rows)


def test_check_balanced_or_raise():
    check_balanced_or_raise({"balanced": True, "sources": {}})
    with pytest.raises(Exception, match="does not balance"):
        check_balanced_or_raise({"balanced": False, "sources": {"x": {"balanced": False}}})


def test_cli_dry_run_and_errors(tmp_path):
    recipe = books_recipe(tmp_path)
    runner = CliRunner()
    res = runner.invoke(main, ["build", str(recipe), "--dry-run"])
    assert res.exit_code == 0, res.output
    assert "fingerprint:" in res.output and "books" in res.output and "10" in res.output
    bad = tmp_path / "bad.yaml"
    bad.write_text(recipe.read_text().replace("weight:", "wieght:"))
    res = runner.invoke(main, ["build", str(bad), "--out", str(tmp_path / "o")])
    assert res.exit_code == 2
    assert "wieght" in res.output and "did you mean 'weight'" in res.output
    res = runner.invoke(main, ["build", str(recipe), "--out", str(tmp_path / "o"), "stray"])
    assert res.exit_code == 2 and "Beam options" in res.output


def test_cli_build_prints_summary(tmp_path):
    recipe = books_recipe(tmp_path)
    res = CliRunner().invoke(main, ["build", str(recipe), "--out", str(tmp_path / "o")])
    assert res.exit_code == 0, res.output
    assert "source" in res.output and "books" in res.output and "kept" in res.output
    assert os.path.exists(tmp_path / "o" / "build-manifest.json")


def test_help_lists_commands_fast():
    res = CliRunner().invoke(main, ["--help"])
    assert res.exit_code == 0
    for name in ("build", "dedup", "vocab", "shards", "run", "quality", "report"):
        assert name in res.output
    assert CliRunner().invoke(main, ["--version"]).output.startswith("dataprep, version")


def test_build_writes_to_a_non_local_beam_filesystem(tmp_path):
    """Outputs on an object store (here a dict-backed ``memfs://``): temporary name then rename,
    the old output removed first, and the same bytes as a local build."""
    from tests.pipelines import memfs  # registers the memfs:// scheme with Beam

    recipe = load_recipe(str(books_recipe(tmp_path)))
    memfs.FILES["memfs://bucket/run/documents/books/part-00042-of-00050.parquet"] = b"stale"
    remote = build_documents(recipe, "memfs://bucket/run")
    local = build_documents(recipe, str(tmp_path / "local"))
    written = {k[len("memfs://bucket/run/"):]: v for k, v in memfs.FILES.items() if k.startswith("memfs://bucket/run/")}
    assert not any(".tmp-" in k for k in written)
    assert "documents/books/part-00042-of-00050.parquet" not in written
    on_disk = {str(p.relative_to(tmp_path / "local")): p.read_bytes() for p in (tmp_path / "local").rglob("*") if p.is_file()}
    assert written == on_disk
    assert remote == local


# ---- parts bounded by bytes (build.parquet_bytes_per_part) ------------------------------------


def _long_docs(n: int, size: int) -> list[Document]:
    """``n`` documents of ``size`` ASCII bytes each, text distinct per document."""
    text = "a long sentence. " * size
    return [Document(f"books/b{i:04d}.txt#0", "books", (f"Book {i}. " + text)[:size], {"i": i}) for i in range(n)]


def iter_documents_of(path: Path) -> list[Document]:
    """The documents of one part file."""
    return list(table_to_documents(pq.read_table(path)))


def test_write_document_store_splits_a_source_by_text_bytes(tmp_path):
    docs = _long_docs(200, 5_000)  # 1,000,000 bytes of text; rows alone (10,000 per part) give 1 part
    bound = 50_000
    out = tmp_path / "out"
    with in_process_pipeline() as p:
        files = p | beam.Create(docs) | WriteDocumentStore(str(out), rows_per_part=10_000, bytes_per_part=bound)
        expected = [f"documents/books/part-{i:05d}-of-00020.parquet" for i in range(20)]
        assert_that(files | beam.Map(lambda f: f["path"]), equal_to(expected))
    parts = sorted((out / "documents" / "books").iterdir())
    assert [f.name for f in parts] == [f"part-{i:05d}-of-00020.parquet" for i in range(20)]
    per_part = [sum(len(d.text) for d in iter_documents_of(f)) for f in parts]
    assert sum(per_part) == 1_000_000
    assert sum(per_part) / len(parts) <= bound
    assert max(per_part) <= 2 * bound  # the id hash balances 10 documents per part only roughly
    got = sorted(iter_documents(str(out)), key=lambda d: d.id)
    assert got == docs  # every document exactly once, meta intact


def test_rows_bound_still_applies_when_bytes_are_small(tmp_path):
    docs = [Document(f"s/f#{i}", "s", f"text {i}", {}) for i in range(10)]
    with in_process_pipeline() as p:
        _ = p | beam.Create(docs) | WriteDocumentStore(str(tmp_path), rows_per_part=4, bytes_per_part=2**20)
    assert len(list((tmp_path / "documents" / "s").iterdir())) == 3


def test_build_with_parquet_bytes_per_part_is_bounded_and_identical_for_two_workers(tmp_path):
    data = tmp_path / "books"
    data.mkdir()
    for i in range(8):  # 8 books of 400,000 bytes: 3.2 MB of text, bound 1 MiB -> 4 parts (rows alone: 1)
        text = f"Book {i} begins. " + "A quiet line of prose in a long book.\n" * 11_000
        (data / f"book{i}.txt").write_text(text[:400_000])
    recipe_path = tmp_path / "recipe.yaml"
    recipe_path.write_text(
        textwrap.dedent(
            """
            name: t
            seed: 3
            sources:
              - {name: books, kind: books, paths: [books/*.txt], weight: 1}
            build: {parquet_bytes_per_part: 1048576}
            dedup: {exact: false, near: false}
            """
        )
    )
    recipe = load_recipe(str(recipe_path))
    assert recipe.build.parquet_bytes_per_part == 2**20
    manifests = [build_documents(recipe, str(tmp_path / str(w)), workers=w) for w in (1, 2)]
    parts = [f for f in manifests[0]["files"] if f["path"].startswith("documents/")]
    assert [f["path"] for f in parts] == [f"documents/books/part-{i:05d}-of-00004.parquet" for i in range(4)]
    assert sum(f["rows"] for f in parts) == 8
    texts = [sum(len(d.text.encode()) for d in iter_documents_of(tmp_path / "1" / f["path"])) for f in parts]
    assert sum(texts) / len(texts) <= 2**20 and max(texts) <= 2 * 2**20
    assert manifests[0]["files"] == manifests[1]["files"]  # same paths, rows, bytes and sha256
    for f in parts:
        assert (tmp_path / "1" / f["path"]).read_bytes() == (tmp_path / "2" / f["path"]).read_bytes()
