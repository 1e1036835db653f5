"""Small fixtures shared by the shards tests: a tiny lossless SentencePiece vocabulary and a
tiny document store with a build manifest, written into ``tmp_path``."""

from __future__ import annotations

import io
import os
import random

import numpy as np
import sentencepiece as spm

from dataprep.manifest import write_json_atomic
from dataprep.records import Document
from dataprep.store import BUILD_FORMAT, BUILD_MANIFEST, parquet_bytes

WORDS = (
    "the quick brown fox jumps over lazy dog river mountain city night day water fire "
    "code function return value print data model token sequence shard weight news book"
).split()


def sentence(rng: random.Random, n: int) -> str:
    """``n`` random words, capitalised, with a full stop."""
    return " ".join(rng.choice(WORDS) for _ in range(n)).capitalize() + "."


def make_docs(source: str, count: int, seed: int = 0, words: tuple[int, int] = (5, 60)) -> list[Document]:
    """``count`` documents of random sentences (some with newlines, emoji and Korean)."""
    rng = random.Random(f"{source}-{seed}")
    docs = []
    for i in range(count):
        parts = [sentence(rng, rng.randint(*words)) for _ in range(rng.randint(1, 4))]
        if i % 7 == 3:
            parts.append("Emoji 🙂 and 한국어 text\twith tabs  and  double spaces ▁ too")
        docs.append(Document(f"{source}/f.txt#{i}", source, "\n".join(parts), {"file": "f.txt", "position": i}))
    return docs


def write_store(out_dir: str, docs_by_source: dict[str, list[Document]], fingerprint: str = "test-store") -> None:
    """A document store as ``dataprep build`` writes it (one part per source) plus its manifest."""
    for source, docs in docs_by_source.items():
        path = os.path.join(out_dir, "documents", source, "part-00000-of-00001.parquet")
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, "wb") as f:
            f.write(parquet_bytes(sorted(docs, key=lambda d: d.id)))
    write_json_atomic(os.path.join(out_dir, BUILD_MANIFEST), {"format": BUILD_FORMAT, "fingerprint": fingerprint})


def train_tiny_vocab(vocab_dir: str, texts: list[str], vocab_size: int = 400) -> str:
    """Train a tiny lossless BPE model (identity normalisation, byte fallback) into
    ``vocab_dir/spm.model``; returns the folder."""
    os.makedirs(vocab_dir, exist_ok=True)
    model = io.BytesIO()
    spm.SentencePieceTrainer.train(
        sentence_iterator=iter(texts),
        model_writer=model,
        model_type="bpe",
        vocab_size=vocab_size,
        normalization_rule_name="identity",
        add_dummy_prefix=False,
        remove_extra_whitespaces=False,
        byte_fallback=True,
        split_digits=True,
        character_coverage=1.0,
        pad_id=3,
        max_sentence_length=1 << 20,
        minloglevel=2,
    )
    with open(os.path.join(vocab_dir, "spm.model"), "wb") as f:
        f.write(model.getvalue())
    return vocab_dir


def piece_batch(spill_path: str, source: str, ids, token_lists, bases=None, dtype=np.uint16):
    """A `PieceBatch` of one-piece documents whose tokens (``token_lists``, end-of-document
    already appended) are written to a new spill file at ``spill_path``."""
    from dataprep.shards.batches import PieceBatch
    from dataprep.shards.spill import SpillWriter

    n = len(ids)
    writer = SpillWriter(lambda p: open(p, "wb"), spill_path, np.dtype(dtype))
    offsets = [writer.append(np.array(t, dtype=dtype)) for t in token_lists]
    writer.close()
    bases = np.array(bases if bases is not None else [0] * n, dtype=np.uint64)
    return PieceBatch(
        source, list(ids), np.zeros(n, np.int32), np.ones(n, np.int32), np.zeros(n, np.int64),
        np.full(n, 9, np.int64), bases, bases, np.array([len(t) for t in token_lists], np.int64), spill_path,
        np.array(offsets, np.int64),
    )


def piece_tokens(batch, i: int, dtype=np.uint16) -> list[int]:
    """The tokens of piece ``i`` of a `PieceBatch` (or `CopyBatch`), read from its spill file."""
    item = np.dtype(dtype).itemsize
    path = batch.file if hasattr(batch, "file") else batch.files[int(batch.file_index[i])]
    with open(path, "rb") as f:
        f.seek(int(batch.offsets[i]) * item)
        return np.frombuffer(f.read(int(batch.lengths[i]) * item), dtype=np.dtype(dtype).newbyteorder("<")).tolist()


def piece_ref(batch, path: str):
    """The `PieceRef` of ``batch``, pickled into a new pieces spill file at ``path``."""
    from dataprep.shards.batches import PieceRef
    from dataprep.shards.spill import BlobWriter, dump_blob

    writer = BlobWriter(lambda p: open(p, "wb"), path)
    ref = PieceRef(batch.source, batch.base, batch.doc_base, batch.lengths, dump_blob(writer, batch))
    writer.close()
    return ref


def load_local(ref):
    """The object pickled at a `BlobRef` on the local disk."""
    from dataprep.shards.spill import load_blob

    return load_blob(lambda p: open(p, "rb"), ref)


def write_text_recipe(folder, docs_by_source: dict[str, list[Document]], weights: dict[str, float], name: str = "run") -> str:
    """Write each source's documents as text files under ``folder/data/<source>/`` and a recipe
    reading them (vocabulary of 480 pieces, 30,000 tokens of 128-token sequences: seconds to
    run); returns the recipe's path."""
    from pathlib import Path

    folder = Path(folder)
    for source, docs in docs_by_source.items():
        data = folder / "data" / source
        data.mkdir(parents=True)
        for i, d in enumerate(docs):
            (data / f"{i:03d}.txt").write_text(d.text + "\n", encoding="utf-8")
    body = f"name: {name}\nseed: 1\nsources:\n" + "".join(
        f"  - {{name: {n}, kind: text, paths: [data/{n}/*.txt], weight: {w}}}\n" for n, w in weights.items()
    )
    rec = folder / "r.yaml"
    rec.write_text(body + "vocab: {size: 480}\nshards: {total_tokens: 30000, sequence_length: 128}\n")
    return str(rec)
