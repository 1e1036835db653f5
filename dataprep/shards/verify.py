"""Check a shards output against its manifest, its vocabulary and the document store.

`verify_shards` re-reads everything ``dataprep shards`` wrote and answers, check by check:
checksums and sizes; token ids below the vocabulary size; sequence lengths (all equal to
``sequence_length`` except possibly each shard's last); Megatron and Parquet giving the same
tokens; each shard's document index tiling its stream with an end-of-document id closing every
document; per-source and per-split totals equal to the manifest's; and a sample of documents,
cut back out of the stream and decoded, equal to the store's text exactly.

The vocabulary is passed in (anything with ``size``, ``eos_id``, ``fingerprint`` and
``decode(ids)``) so this module stays free of ``vocab`` and Beam. Every file (manifest, shards,
store parts) is read through a `dataprep.fs.FileSystem` (local by default), so an output on
any Beam filesystem (gs://, s3://, ...) verifies with ``pipelines.fs.BeamFileSystem()``.
"""

from __future__ import annotations

import hashlib
import json
from collections import Counter
from typing import Any, NamedTuple

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import xxhash

from dataprep.errors import FormatError
from dataprep.fs import FileSystem, LocalFileSystem, join_path, read_file_bytes
from dataprep.shards.formats import SHARDS_FORMAT, Stream, read_index, read_megatron, read_parquet_shard
from dataprep.shards.packing import pack_flat
from dataprep.store import source_part_files

SHARDS_DIR = "shards"
MANIFEST = "manifest.json"
EOS_MARK = " ⟨eos⟩ "


class Check(NamedTuple):
    """One verification result: ``name`` of the check, ``ok``, and a detail for the user."""

    name: str
    ok: bool
    detail: str


def read_file(fs: FileSystem, path: str) -> bytes | None:
    """The whole content of ``path`` read through ``fs``, or None when there is no such file.

    Raises:
        FormatError: the file exists but cannot be read (the error names it).
    """
    try:
        return read_file_bytes(fs, path)
    except Exception as e:  # Beam's filesystems raise their own types (BeamIOError, NotFound, ...)
        raise FormatError(f"{path}: unreadable: {e}") from None


def _require(fs: FileSystem, path: str) -> bytes:
    data = read_file(fs, path)
    if data is None:
        raise FormatError(f"{path}: missing")
    return data


def load(out_dir: str, fs: FileSystem | None = None) -> dict[str, Any]:
    """The shards manifest of ``out_dir`` (any filesystem ``fs`` serves; default local).

    Raises:
        FormatError: the stage has not completed (no manifest), or the manifest is unreadable or
            of another format.
    """
    fs = fs or LocalFileSystem()
    path = join_path(out_dir, SHARDS_DIR, MANIFEST)
    data = read_file(fs, path)
    if data is None:
        raise FormatError(f"{path}: no manifest (the stage has not completed here)")
    try:
        manifest = json.loads(data)
    except (UnicodeDecodeError, json.JSONDecodeError) as e:
        raise FormatError(f"{path}: unreadable manifest: {e}") from None
    found = manifest.get("format") if isinstance(manifest, dict) else None
    if found != SHARDS_FORMAT:
        raise FormatError(f"{path}: expected format '{SHARDS_FORMAT}', found {found!r}")
    return manifest


def _decode_stream(shards_dir: str, shard: dict[str, Any], blobs: dict[str, bytes]) -> Stream:
    """A shard's token stream from its files' bytes (``blobs`` by file kind): from the Parquet
    file when written, else from Megatron."""
    files = shard["files"]
    if "parquet" in files:
        return read_parquet_shard(blobs["parquet"], name=join_path(shards_dir, files["parquet"]["path"]))
    return _decode_megatron(shards_dir, shard, blobs)


def _decode_megatron(shards_dir: str, shard: dict[str, Any], blobs: dict[str, bytes]) -> Stream:
    files = shard["files"]
    return read_megatron(
        blobs["megatron_bin"],
        blobs["megatron_idx"],
        bin_name=join_path(shards_dir, files["megatron_bin"]["path"]),
        idx_name=join_path(shards_dir, files["megatron_idx"]["path"]),
    )


def read_stream(shards_dir: str, shard: dict[str, Any], fs: FileSystem | None = None) -> Stream:
    """A shard's token stream, from its Parquet file when written, else from Megatron, read
    through ``fs`` (default local). `FormatError` when a file is missing or unreadable."""
    fs = fs or LocalFileSystem()
    kinds = ["parquet"] if "parquet" in shard["files"] else ["megatron_bin", "megatron_idx"]
    blobs = {k: _require(fs, join_path(shards_dir, shard["files"][k]["path"])) for k in kinds}
    return _decode_stream(shards_dir, shard, blobs)


def _check_lengths(stream: Stream, sequence_length: int, last_sequence: str) -> str | None:
    lengths = stream.lengths
    if not len(lengths):
        return None
    if np.any(lengths[:-1] != sequence_length):
        bad = int(np.flatnonzero(lengths[:-1] != sequence_length)[0])
        return f"sequence {bad} has {int(lengths[bad])} tokens, expected {sequence_length}"
    last = int(lengths[-1])
    if last_sequence == "pad" and last != sequence_length:
        return f"last sequence has {last} tokens, expected {sequence_length} (padded)"
    if not 0 < last <= sequence_length:
        return f"last sequence has {last} tokens"
    return None


def _check_shard(
    fs: FileSystem, shards_dir: str, shard: dict[str, Any], manifest: dict[str, Any], vocab_size: int, eos_id: int
) -> tuple[list[str], Stream | None, Any]:
    """Problems found in one shard, its stream and its document index."""
    problems: list[str] = []
    # Each file is read once, whole: its size and checksum come from these bytes and the readers
    # decode the same bytes, so a shard on an object store is downloaded once, not twice. Peak
    # memory is one shard's files (~3 bytes per token: 2 of uint16 .bin, ~1 of Parquet) on top of
    # its decoded int32 streams (4 bytes per token each), which the checks hold anyway.
    blobs: dict[str, bytes] = {}
    for kind, f in shard["files"].items():
        try:
            data = read_file(fs, join_path(shards_dir, f["path"]))
        except FormatError as e:
            problems.append(str(e))
            continue
        if data is None:
            problems.append(f"{f['path']}: missing")
        elif len(data) != f["bytes"] or hashlib.sha256(data).hexdigest() != f["sha256"]:
            problems.append(f"{f['path']}: checksum differs from the manifest")
        else:
            blobs[kind] = data
    if problems:
        return problems, None, None
    cfg = manifest["config"]
    try:
        stream = _decode_stream(shards_dir, shard, blobs)
        index = read_index(blobs["index"], name=join_path(shards_dir, shard["files"]["index"]["path"]))
        mega = _decode_megatron(shards_dir, shard, blobs) if "megatron_bin" in blobs and "parquet" in blobs else None
    except FormatError as e:
        return [str(e)], None, None
    del blobs
    name = shard["name"] + f" ({shard['split']})"
    if len(stream.lengths) != shard["sequences"] or len(stream.tokens) != shard["tokens"]:
        problems.append(f"{name}: {len(stream.lengths)} sequences / {len(stream.tokens)} tokens, manifest says {shard['sequences']} / {shard['tokens']}")
    if len(stream.tokens) and (int(stream.tokens.min()) < 0 or int(stream.tokens.max()) >= vocab_size):
        problems.append(f"{name}: token id outside [0, {vocab_size})")
    bad = _check_lengths(stream, cfg["sequence_length"], cfg["last_sequence"])
    if bad:
        problems.append(f"{name}: {bad}")
    if cfg["segment_ids"] and "parquet" in shard["files"]:
        if stream.segment_ids is None or len(stream.segment_ids) != len(stream.tokens):
            problems.append(f"{name}: segment_ids missing or of the wrong length")
    if mega is not None:
        if not (np.array_equal(mega.tokens, stream.tokens) and np.array_equal(mega.lengths, stream.lengths)):
            problems.append(f"{name}: Megatron .bin/.idx and Parquet hold different tokens")
    offsets = index.column("offset").to_numpy()
    lengths = index.column("length").to_numpy().astype(np.int64)
    content = len(stream.tokens) - shard["padding_tokens"]
    if len(offsets):
        if offsets[0] != 0 or not np.array_equal(offsets[1:], np.cumsum(lengths)[:-1]) or int(lengths.sum()) != content:
            problems.append(f"{name}: document index does not tile the stream")
        elif not np.all(stream.tokens[offsets + lengths - 1] == eos_id):
            problems.append(f"{name}: a document does not end with the end-of-document id")
        elif int(np.count_nonzero(stream.tokens[:content] == eos_id)) != len(offsets):
            problems.append(f"{name}: end-of-document ids inside documents")
    elif content:
        problems.append(f"{name}: tokens but an empty document index")
    if cfg["segment_ids"] and stream.segment_ids is not None and len(stream.segment_ids) == len(stream.tokens) and not problems:
        # Re-pack the content from the index: the padding and every segment id must come out equal.
        repacked = pack_flat(
            stream.tokens[:content], lengths, cfg["sequence_length"], manifest["pad_id"],
            segment_ids=True, last_sequence=cfg["last_sequence"],
        )
        if not (np.array_equal(repacked.tokens, stream.tokens) and np.array_equal(repacked.segment_ids, stream.segment_ids)):
            problems.append(f"{name}: segment ids or padding differ from a re-packing of the document index")
    per_source = Counter()
    for s, n in zip(index.column("source").to_pylist(), lengths.tolist()):
        per_source[s] += n
    if dict(per_source) != shard["source_tokens"]:
        problems.append(f"{name}: per-source tokens differ from the manifest")
    return problems, stream, index


def _has_files(fs: FileSystem, folder: str) -> bool:
    try:
        return next(iter(fs.walk(folder)), None) is not None
    except OSError:  # Beam's filesystems raise BeamIOError when nothing matches
        return False


def _lookup_texts(fs: FileSystem, store_dir: str, wanted: dict[str, set[str]]) -> dict[str, str]:
    """Texts of the given document ids, read from the store through ``fs`` (only the needed
    rows). `FormatError` when there is no store at ``store_dir`` or a part is unreadable."""
    base = join_path(store_dir, "documents")
    parts = {source: [f.path for f in source_part_files(fs, store_dir, source)] for source in sorted(wanted)}
    if wanted and not any(parts.values()) and not _has_files(fs, base):
        raise FormatError(f"{store_dir}: no document store (expected {base}/<source>/part-*.parquet)")
    out: dict[str, str] = {}
    for source, paths in parts.items():
        for path in paths:
            # Parts are sorted by id, so row-group statistics skip most of the file; read from an
            # open file (seekable), an object store serves only the footer and those row groups.
            try:
                with fs.open(path) as f:
                    hit = pq.read_table(f, columns=["id", "text"], filters=[("id", "in", sorted(wanted[source]))]).to_pydict()
            except (OSError, pa.ArrowException) as e:
                raise FormatError(f"{path}: unreadable store part: {e}") from None
            out.update(zip(hit["id"], hit["text"]))
    return out


def verify_shards(
    out_dir: str, vocab: Any, *, sample: int = 32, store_dir: str | None = None, fs: FileSystem | None = None
) -> list[Check]:
    """Verify ``out_dir/shards`` (see module doc). ``sample`` documents (chosen by a hash of
    their id, so the same ones every time) are decoded and compared with the store at
    ``store_dir`` (default ``out_dir``). Every file is read through ``fs`` (default local; pass
    ``pipelines.fs.BeamFileSystem()`` for gs://, s3://, ...). Returns one `Check` per check;
    all ok means valid."""
    fs = fs or LocalFileSystem()
    store_dir = store_dir or out_dir
    shards_dir = join_path(out_dir, SHARDS_DIR)
    checks: list[Check] = []
    try:
        manifest = load(out_dir, fs)
    except FormatError as e:
        return [Check("manifest", False, str(e))]
    checks.append(Check("manifest", True, f"{len(manifest['shards'])} shards, format {manifest['format']}"))
    same_vocab = manifest["vocab_fingerprint"] == vocab.fingerprint and manifest["vocab_size"] == vocab.size
    checks.append(Check("vocabulary", same_vocab, f"fingerprint {vocab.fingerprint[:12]}, {vocab.size} ids"
                        + ("" if same_vocab else f"; manifest has {manifest['vocab_fingerprint'][:12]}")))
    problems: list[str] = []
    candidates: list[tuple[int, tuple[str, int], str, tuple[int, int, bool], np.ndarray]] = []
    split_totals: dict[str, Counter] = {}
    for shard in manifest["shards"]:
        found, stream, index = _check_shard(fs, shards_dir, shard, manifest, vocab.size, vocab.eos_id)
        problems.extend(found)
        t = split_totals.setdefault(shard["split"], Counter())
        t.update({"shards": 1, "sequences": shard["sequences"], "tokens": shard["tokens"]})
        if stream is None or found:
            continue
        ids = index.column("id").to_pylist()
        pieces = index.column("piece").to_pylist()
        counts = index.column("pieces").to_pylist()
        sources = index.column("source").to_pylist()
        starts = index.column("char_start").to_pylist()
        ends = index.column("char_end").to_pylist()
        offsets = index.column("offset").to_numpy()
        lengths = index.column("length").to_numpy()
        first: dict[tuple[str, int], int] = {}
        for n, key in enumerate(zip(ids, pieces)):
            first.setdefault(key, n)  # repeats of a piece are the same tokens: check one
        keyed = sorted((xxhash.xxh64_intdigest(f"{i}\x00{p}".encode("utf-8")), n) for (i, p), n in first.items())
        for h, n in keyed[:sample]:
            piece_tokens = stream.tokens[offsets[n] : offsets[n] + lengths[n] - 1]
            last = pieces[n] == counts[n] - 1
            candidates.append((h, (ids[n], pieces[n]), sources[n], (starts[n], ends[n], last), piece_tokens))
    checks.append(Check("shard files", not problems, "; ".join(problems[:5]) or "checksums, ids, lengths, formats and indexes agree"))
    totals_ok = all(
        split_totals.get(split, Counter()).get(k, 0) == manifest["splits"][split][k]
        for split in manifest["splits"]
        for k in ("shards", "sequences", "tokens")
    )
    checks.append(Check("split totals", totals_ok, "per-split shards, sequences and tokens match the manifest"))
    candidates.sort(key=lambda c: (c[0], c[1]))
    chosen: dict[tuple[str, int], tuple[str, tuple[int, int, bool], np.ndarray]] = {}
    for _, key, source, span, toks in candidates:
        if key not in chosen and len(chosen) < sample:
            chosen[key] = (source, span, toks)
    wanted: dict[str, set[str]] = {}
    for (doc_id, _), (source, _, _) in chosen.items():
        wanted.setdefault(source, set()).add(doc_id)
    try:
        texts = _lookup_texts(fs, store_dir, wanted)
    except FormatError as e:
        checks.append(Check("documents decode exactly", False, str(e)))
        return checks
    mismatches = []
    for (doc_id, piece), (_, (a, b, last), toks) in chosen.items():
        text = texts.get(doc_id)
        # The last piece must also end where the text ends: nothing was lost after it.
        if text is None or text[a:b] != vocab.decode(toks) or (last and b != len(text)) or (piece == 0 and a != 0):
            mismatches.append(f"{doc_id} piece {piece}" + (" (not in the store)" if text is None else ""))
    checks.append(
        Check(
            "documents decode exactly",
            bool(chosen) and not mismatches,
            f"{len(chosen) - len(mismatches)}/{len(chosen)} sampled documents (pieces) equal the store's text"
            + (f"; first mismatch: {mismatches[0]}" if mismatches else ""),
        )
    )
    return checks


def inspect_shards(
    out_dir: str, vocab: Any, *, samples: int = 3, chars: int = 300, fs: FileSystem | None = None
) -> dict[str, Any]:
    """The manifest plus ``samples`` decoded training sequences (first ``chars`` characters each)
    from the first train shard, for ``dataprep shards inspect``; files are read through ``fs``
    (default local). `FormatError` when the manifest or the shard is missing or unreadable."""
    fs = fs or LocalFileSystem()
    manifest = load(out_dir, fs)
    shards_dir = join_path(out_dir, SHARDS_DIR)
    decoded = []
    train = [s for s in manifest["shards"] if s["split"] == "train" and s["sequences"]]
    if train:
        stream = read_stream(shards_dir, train[0], fs)
        starts = np.concatenate([[0], np.cumsum(stream.lengths)])
        for i in range(min(samples, len(stream.lengths))):
            ids = stream.tokens[starts[i] : starts[i + 1]]
            # Cut at end-of-document ids so document boundaries stay visible (EOS decodes to '').
            cuts = np.flatnonzero(ids == vocab.eos_id)
            pieces = [vocab.decode(p) for p in np.split(ids, cuts)]
            text = pieces[0] + "".join(EOS_MARK + p for p in pieces[1:])
            decoded.append({"shard": train[0]["name"], "sequence": i, "text": text[:chars]})
    return {"manifest": manifest, "samples": decoded}
