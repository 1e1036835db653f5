"""``dataprep shards verify`` and ``inspect`` on an object store: the real stage writes a small
run to a dict-backed ``memfs://`` store (its own prefix), then verification reads everything —
manifest, shard files, the store's part files — through `pipelines.fs.BeamFileSystem`."""

from __future__ import annotations

import os
import re
import uuid

import pytest
from click.testing import CliRunner

from dataprep.cli import main
from dataprep.recipe import Recipe, SourceSpec
from dataprep.shards.config import ShardsConfig
from dataprep.shards.verify import inspect_shards, verify_shards
from dataprep.store import parquet_bytes
from tests.dataprep.shards.helpers import make_docs, train_tiny_vocab, write_store

WEIGHTS = {"web": 0.7, "books": 0.3}
CONFIG = ShardsConfig(
    total_tokens=12_000, sequence_length=128, shard_tokens=4_000, segment_ids=True, validation_fraction=0.1, max_piece_chars=2000
)


def corpus():
    return {"web": make_docs("web", 60), "books": make_docs("books", 12, words=(50, 200))}


@pytest.fixture(scope="module")
def remote_run(tmp_path_factory):
    """(root, manifest, vocab) of a shards run written by `write_shards` under a fresh
    ``memfs://verify-test-<uuid>/run`` prefix (removed afterwards)."""
    from tests.pipelines import memfs  # registers the memfs:// scheme with Beam
    from pipelines.shards import load_vocab, write_shards

    local = tmp_path_factory.mktemp("remote-verify")
    write_store(str(local), corpus())
    train_tiny_vocab(str(local / "vocab"), [d.text for docs in corpus().values() for d in docs])
    root = f"memfs://verify-test-{uuid.uuid4().hex}/run"
    for d, _, names in os.walk(local):
        for name in names:
            path = os.path.join(d, name)
            memfs.FILES[f"{root}/{os.path.relpath(path, local)}"] = open(path, "rb").read()
    recipe = Recipe("remote", 7, tuple(SourceSpec(n, "text", ("unused",), w) for n, w in WEIGHTS.items()), shards=CONFIG)
    manifest = write_shards(recipe, root)
    yield root, manifest, load_vocab(f"{root}/vocab")
    for key in [k for k in memfs.FILES if k.startswith(root + "/")]:
        del memfs.FILES[key]


def _beam_fs():
    from pipelines.fs import BeamFileSystem

    return BeamFileSystem()


def test_verify_passes_every_check_on_an_object_store(remote_run) -> None:
    root, manifest, vocab = remote_run
    assert {"parquet", "megatron_bin", "megatron_idx", "index"} <= set(manifest["shards"][0]["files"])
    checks = verify_shards(root, vocab, sample=64, fs=_beam_fs())
    assert [c.name for c in checks] == ["manifest", "vocabulary", "shard files", "split totals", "documents decode exactly"]
    assert all(c.ok for c in checks), checks
    decoded = re.match(r"(\d+)/(\d+) sampled", checks[-1].detail)
    assert decoded and decoded[1] == decoded[2] and int(decoded[2]) >= 20, checks[-1].detail
    # Without the Beam filesystem the same URL is simply not there.
    assert [(c.name, c.ok) for c in verify_shards(root, vocab)] == [("manifest", False)]
    report = inspect_shards(root, vocab, samples=2, fs=_beam_fs())
    assert report["manifest"] == manifest and [s["sequence"] for s in report["samples"]] == [0, 1]
    assert all(s["text"] for s in report["samples"])


def test_a_corrupted_or_missing_object_fails_the_shard_files_check(remote_run) -> None:
    from tests.pipelines import memfs

    root, manifest, vocab = remote_run
    files = manifest["shards"][0]["files"]
    key = f"{root}/shards/{files['parquet']['path']}"
    good = memfs.FILES[key]
    try:
        flipped = bytearray(good)
        flipped[len(flipped) // 2] ^= 1
        memfs.FILES[key] = bytes(flipped)
        checks = {c.name: c for c in verify_shards(root, vocab, fs=_beam_fs())}
        assert {n for n, c in checks.items() if not c.ok} == {"shard files"}
        assert f"{files['parquet']['path']}: checksum differs from the manifest" in checks["shard files"].detail
        del memfs.FILES[key]
        checks = {c.name: c for c in verify_shards(root, vocab, fs=_beam_fs())}
        assert f"{files['parquet']['path']}: missing" in checks["shard files"].detail
    finally:
        memfs.FILES[key] = good
    assert all(c.ok for c in verify_shards(root, vocab, fs=_beam_fs()))


def test_a_changed_store_text_on_the_object_store_fails_the_decode_check(remote_run) -> None:
    """The sampled documents are looked up in the store's part files on the object store."""
    from tests.pipelines import memfs

    root, _, vocab = remote_run
    keys = [k for k in memfs.FILES if k.startswith(f"{root}/documents/")]
    saved = {k: memfs.FILES[k] for k in keys}
    try:
        for source, docs in corpus().items():
            changed = sorted((d._replace(text=d.text + "!") for d in docs), key=lambda d: d.id)
            memfs.FILES[f"{root}/documents/{source}/part-00000-of-00001.parquet"] = parquet_bytes(changed)
        checks = {c.name: c for c in verify_shards(root, vocab, fs=_beam_fs())}
        assert {n for n, c in checks.items() if not c.ok} == {"documents decode exactly"}
        for k in keys:
            del memfs.FILES[k]
        checks = {c.name: c for c in verify_shards(root, vocab, fs=_beam_fs())}
        assert not checks["documents decode exactly"].ok and "no document store" in checks["documents decode exactly"].detail
    finally:
        memfs.FILES.update(saved)


def test_cli_verify_and_inspect_take_a_url(remote_run) -> None:
    root, manifest, _ = remote_run
    runner = CliRunner()
    r = runner.invoke(main, ["shards", "verify", root, "--sample", "16"])
    assert r.exit_code == 0 and "FAIL" not in r.output and f"{root}/shards verified" in r.output, r.output
    r = runner.invoke(main, ["shards", "inspect", root, "--samples", "2", "--chars", "500"])
    assert r.exit_code == 0, r.output
    assert f"remote: {len(manifest['shards'])} shards" in r.output and "sequence 1" in r.output and "⟨eos⟩" in r.output
    missing = root.rsplit("/", 1)[0] + "/elsewhere"
    r = runner.invoke(main, ["shards", "verify", missing, "--vocab", f"{root}/vocab"])
    assert r.exit_code == 1 and "FAIL" in r.output and f"{missing}/shards/manifest.json: no manifest" in r.output, r.output
    r = runner.invoke(main, ["shards", "inspect", missing])
    assert r.exit_code != 0 and "no SentencePiece model" in r.output, r.output
