"""Seed pieces for unigram training in bounded memory.

SentencePiece's unigram trainer starts EM from "seed" pieces: up to ``seed_sentencepiece_size``
(1 M) substrings of the whole sample seen at least twice, ranked by ``count x length``, found with
a suffix array over the whole sample. That step alone makes training peak at about 24 bytes per
sample character (measured, docs/vocab.md), while EM afterwards needs far less.

With ``seed_sentencepieces_file`` SentencePiece skips the suffix array and reads the seeds
(``piece<TAB>count`` lines; its initial score is ``count x length``, as its own seeding). We make
them with SentencePiece itself, on bounded pieces of the sample:

1. the training sentences are dealt round-robin into ``k = ceil(chars / seed_chunk_chars)``
   chunks, so each chunk is a miniature of the whole mixture;
2. each chunk is seeded by SentencePiece in **its own process** (its peak is bounded by the chunk
   size and returned to the system when it exits): a unigram training whose vocabulary is larger
   than any seed set, so it stops after one EM iteration over its seeds (``num_sub_iterations``
   1, pieces with expected count below 0.5 dropped by SentencePiece's M step) and writes them;
3. a piece's count is the sum over chunks of its expected count (``exp(score) x chunk
   characters``, rounded to an integer per chunk so the sum is exact and order-free); the
   ``seed_sentencepiece_size`` pieces of highest ``count x length`` become the seed file.

Single characters are left out: SentencePiece seeds every character of the full sample itself.
"""

from __future__ import annotations

import json
import math
import os
import subprocess
import sys
import tempfile
from typing import Any, Callable, Iterator, Sequence

import pyarrow as pa
import pyarrow.compute as pc
import sentencepiece as spm

from dataprep.errors import StageError
from vocab.model import _MODEL_PIECES, _MODEL_TRAINER_SPEC, _put_varint, _raw_fields, proto_fields

# SentencePiece's default seed_sentencepiece_size (sentencepiece_model.proto): the seed file
# holds at most this many multi-character pieces, as its own seeding does.
SEED_PIECES = 1_000_000
# Every Unicode code point: the final training's seed_sentencepiece_size is SEED_PIECES plus this,
# so that SentencePiece's cut of (characters + file pieces) to the seed size never drops a
# character (it sorts both together).
ALL_CODE_POINTS = 0x110000
# A chunk training's vocabulary: more than its seeds can be (SEED_PIECES plus every character),
# so SentencePiece stops after the first EM iteration (it stops once pieces <= 1.1 x vocab_size).
CHUNK_VOCAB = SEED_PIECES + ALL_CODE_POINTS
SEED_FILE_FIELD = 54  # TrainerSpec.seed_sentencepieces_file
SEED_SIZE_FIELD = 14  # TrainerSpec.seed_sentencepiece_size
MAX_SENTENCE_FIELD = 18  # TrainerSpec.max_sentence_length
# The seed file is read line by line, so a piece cannot hold "\n" there, yet pieces such as
# ".\n\n" and "):\n" are among the most frequent (124 of 8,000 pieces on the shared corpora).
# Seeded training therefore sees every "\n" as this stand-in, which SentencePiece treats exactly
# alike (both have Unicode script Common, neither is a digit, space or boundary), and the model's
# pieces are renamed back afterwards. A noncharacter (never interchanged): the sample drops any.
# It is 3 UTF-8 bytes where "\n" is 1, so seeded runs allow sentences 3x max_sentence_length
# bytes: SentencePiece silently skips longer ones (measured: without this, seeding runs lost
# a fifth of their seed pieces).
NEWLINE_STANDIN = "\ufdd0"
STANDIN_GROWTH = 3
_PIECE, _SCORE, _TYPE, _NORMAL = 1, 2, 3, 1


def chunk_options(options: dict[str, Any]) -> dict[str, Any]:
    """The trainer options of a seeding run, from the final training's ``options``.

    The same piece rules (lossless normalisation, whitespace and digit splitting, piece length),
    so every seed is a piece the final training accepts; a vocabulary no seed set can fill, so
    the run stops after one EM iteration; no hard size limit.
    """
    out = dict(options)
    out.update(
        max_sentence_length=options["max_sentence_length"] * STANDIN_GROWTH,
        model_type="unigram",
        vocab_size=CHUNK_VOCAB,
        hard_vocab_limit=False,
        num_sub_iterations=1,
        seed_sentencepiece_size=SEED_PIECES,
    )
    return out


def deal(sentences: Sequence[str], chunk_chars: int) -> list[list[int]]:
    """Indices of ``sentences`` dealt round-robin into ``ceil(total / chunk_chars)`` chunks.

    >>> deal(["ab", "cd", "ef"], 4)
    [[0, 2], [1]]
    """
    total = sum(len(s) for s in sentences)
    k = max(1, math.ceil(total / chunk_chars))
    return [list(range(c, len(sentences), k)) for c in range(k)]


def piece_counts(proto: bytes, chars: int) -> tuple[list[str], list[int]]:
    """The multi-character normal pieces of a seeding run's model and their expected counts
    (``exp(score) x chars``, at least 1)."""
    pieces, counts = [], []
    for value in proto_fields(proto).get(_MODEL_PIECES, []):
        p = proto_fields(value)
        if p.get(_TYPE, [_NORMAL])[-1] != _NORMAL:
            continue
        piece = p[_PIECE][-1].decode("utf-8")
        if len(piece) < 2 or "\t" in piece:  # SentencePiece never makes a tab piece longer than "\t"
            continue
        score = float(memoryview(p[_SCORE][-1]).cast("f")[0]) if _SCORE in p else 0.0
        pieces.append(piece)
        counts.append(max(1, round(math.exp(score) * chars)))
    return pieces, counts


def merge_counts(tables: list[pa.Table], limit: int = SEED_PIECES) -> pa.Table:
    """Sum each piece's count over chunk tables (columns ``piece``, ``count``) and keep the
    ``limit`` pieces of highest ``count x length`` (ties by piece), in that order."""
    summed = pa.concat_tables(tables).group_by("piece").aggregate([("count", "sum")])
    merged = pa.table({"piece": summed.column("piece"), "count": summed.column("count_sum")})
    score = pc.multiply(merged.column("count"), pc.utf8_length(merged.column("piece")).cast(pa.int64()))
    merged = merged.append_column("score", score)
    order = pc.sort_indices(merged, sort_keys=[("score", "descending"), ("piece", "ascending")])
    return merged.take(order[:limit]).select(["piece", "count"])


def _write_chunk(path: str, sentences: Sequence[str], indices: list[int]) -> int:
    chars = 0
    with open(path, "w", encoding="utf-8") as f:
        for i in indices:
            f.write(json.dumps(sentences[i].replace("\n", NEWLINE_STANDIN), ensure_ascii=False))
            f.write("\n")
            chars += len(sentences[i])
    return chars


def seed_chunk(chunk_path: str, options: dict[str, Any], model_path: str) -> None:
    """Train a seeding run on the JSON-lines sentences of ``chunk_path``; write the model."""

    def sentences():
        with open(chunk_path, encoding="utf-8") as f:
            for line in f:
                yield json.loads(line)

    with open(model_path, "wb") as out:
        spm.SentencePieceTrainer.train(sentence_iterator=sentences(), model_writer=out, **options)


def write_seed_file(
    sentences: Sequence[str],
    options: dict[str, Any],
    chunk_chars: int,
    seed_path: str,
    progress: Callable[[str], None] | None = None,
) -> dict[str, Any]:
    """Seed pieces for the final training on ``sentences``, written to ``seed_path`` as
    ``piece<TAB>count`` lines (see the module docstring).

    Args:
        sentences: the training sentences (kept; read only).
        options: the final training's SentencePiece options.
        chunk_chars: characters per seeding chunk (bounds each seeding process's memory).
        seed_path: where the seed file goes.
        progress: called with a one-line message per chunk.

    Returns:
        ``{"chunks", "chunk_chars", "pieces"}``: what was seeded, for the manifest.

    Raises:
        StageError: a seeding process failed (its error output is in the message).
    """
    say = progress or (lambda message: None)
    groups = deal(sentences, chunk_chars)
    opts = chunk_options(options)
    tables, sizes = [], []
    with tempfile.TemporaryDirectory(prefix="vocab-seeds-") as tmp:
        options_path = os.path.join(tmp, "options.json")
        with open(options_path, "w", encoding="utf-8") as f:
            json.dump(opts, f)
        for c, indices in enumerate(groups):
            chunk_path = os.path.join(tmp, f"chunk-{c}.jsonl")
            model_path = os.path.join(tmp, f"chunk-{c}.model")
            chars = _write_chunk(chunk_path, sentences, indices)
            sizes.append(chars)
            say(f"seeding chunk {c + 1}/{len(groups)} ({chars:,} characters) in its own process ...")
            proc = subprocess.run(
                [sys.executable, "-m", "vocab.seeds", chunk_path, options_path, model_path],
                capture_output=True,
                text=True,
            )
            os.unlink(chunk_path)
            if proc.returncode != 0:
                raise StageError(f"seeding chunk {c + 1}/{len(groups)} failed: {proc.stderr.strip()[-2000:]}")
            with open(model_path, "rb") as f:
                pieces, counts = piece_counts(f.read(), chars)
            os.unlink(model_path)
            tables.append(pa.table({"piece": pa.array(pieces, pa.string()), "count": pa.array(counts, pa.int64())}))
            del pieces, counts
    merged = merge_counts(tables)
    del tables
    with open(seed_path, "w", encoding="utf-8", newline="\n") as f:
        for piece, count in zip(merged.column("piece").to_pylist(), merged.column("count").to_pylist()):
            f.write(f"{piece}\t{count}\n")
    return {"chunks": len(groups), "chunk_chars": sizes, "pieces": merged.num_rows}


def rename_pieces(proto: bytes, old: str, new: str) -> bytes:
    """``proto`` with ``old`` replaced by ``new`` in every piece's text (nothing else touched)."""
    old_b, new_b = old.encode("utf-8"), new.encode("utf-8")
    out = bytearray()
    for field, _, raw, value in _raw_fields(proto):
        if field != _MODEL_PIECES or old_b not in value:
            out += raw
            continue
        body = bytearray()
        for f, _, sraw, v in _raw_fields(value):
            if f == _PIECE:
                text = v.replace(old_b, new_b)
                body += bytes([(_PIECE << 3) | 2]) + _put_varint(len(text)) + text
            else:
                body += sraw
        out += bytes([(_MODEL_PIECES << 3) | 2]) + _put_varint(len(body)) + bytes(body)
    return bytes(out)


def restore_spec(proto: bytes, max_sentence_length: int) -> bytes:
    """``proto`` with the trainer spec a plain training records: no seed-file path (a temporary
    file whose name would make every model file different), no seed size, and the configured
    ``max_sentence_length`` (seeded runs allow `STANDIN_GROWTH` times more)."""
    out = bytearray()
    for field, _, raw, value in _raw_fields(proto):
        if field != _MODEL_TRAINER_SPEC:
            out += raw
            continue
        spec = bytearray()
        for f, _, r, _ in _raw_fields(value):
            if f in (SEED_FILE_FIELD, SEED_SIZE_FIELD):
                continue
            if f == MAX_SENTENCE_FIELD:
                r = _put_varint(MAX_SENTENCE_FIELD << 3) + _put_varint(max_sentence_length)
            spec += r
        out += bytes([(_MODEL_TRAINER_SPEC << 3) | 2]) + _put_varint(len(spec)) + bytes(spec)
    return bytes(out)


def train_seeded(
    sentences: list[str],
    options: dict[str, Any],
    chunk_chars: int,
    train: Callable[[Iterator[str], dict[str, Any]], bytes],
    progress: Callable[[str], None] | None = None,
) -> tuple[bytes, dict[str, Any]]:
    """Train a unigram model on ``sentences`` from chunk-made seeds (see the module docstring).

    Args:
        sentences: the training sentences; emptied as the final training copies them.
        options: the SentencePiece options of the training.
        chunk_chars: characters per seeding chunk.
        train: ``train(sentence_iterator, options) -> model bytes`` (SentencePiece's trainer, with
            the caller's error handling).
        progress: called with a one-line message per step.

    Returns:
        The model bytes (pieces with real newlines, no seed-file path) and the seeding statistics.
    """
    with tempfile.TemporaryDirectory(prefix="vocab-seeds-") as tmp:
        seed_path = os.path.join(tmp, "seeds.tsv")
        stats = write_seed_file(sentences, options, chunk_chars, seed_path, progress)
        if progress:
            progress(f"training on {stats['pieces']:,} seed pieces from {stats['chunks']} chunks ...")
        final = {
            **options,
            "seed_sentencepieces_file": seed_path,
            "seed_sentencepiece_size": SEED_PIECES + ALL_CODE_POINTS,
            "max_sentence_length": options["max_sentence_length"] * STANDIN_GROWTH,
        }
        proto = train(_drain_standin(sentences), final)
    return rename_pieces(restore_spec(proto, options["max_sentence_length"]), NEWLINE_STANDIN, "\n"), stats


def _drain_standin(sentences: list[str]) -> Iterator[str]:
    """Yield each sentence with the newline stand-in, releasing it from the list once yielded."""
    sentences.reverse()
    while sentences:
        yield sentences.pop().replace("\n", NEWLINE_STANDIN)


if __name__ == "__main__":  # a seeding process: python -m vocab.seeds CHUNK OPTIONS MODEL
    with open(sys.argv[2], encoding="utf-8") as _f:
        _options = json.load(_f)
    seed_chunk(sys.argv[1], _options, sys.argv[3])
