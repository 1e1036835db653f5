"""``dataprep vocab verify``: check the vocabulary's promises on held-out documents.

For every source, on documents the trainer never saw (the ``holdout`` hash split of
``vocab.json``): ``decode(encode(x)) == x`` exactly; every digit is its own token; no ``<unk>``;
byte-fallback tokens only for characters that have no piece; and, when a Hugging Face export
exists, identical ids from it. Each failure names the document and the first differing position.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from typing import Any, Iterator

import numpy as np

from dataprep.records import Document
from vocab.model import SPACE_ESCAPE, Vocab
from dataprep.store import part_files
from vocab.train import _iter_store_batches, is_held_out, read_vocab_manifest

BATCH = 256


@dataclass
class Failure:
    """One broken promise on one document."""

    doc_id: str
    check: str
    position: int
    detail: str

    def __str__(self) -> str:
        return f"{self.doc_id}: {self.check} at {self.position}: {self.detail}"


@dataclass
class SourceReport:
    """Verification of one source."""

    source: str
    documents: int = 0
    chars: int = 0
    tokens: int = 0
    held_out: bool = True
    failures: list[Failure] = field(default_factory=list)


def evaluation_documents(
    store: str, manifest: dict[str, Any], max_docs: int = 2000, max_chars: int = 20_000_000
) -> Iterator[tuple[str, bool, list[Document]]]:
    """Per source of ``vocab.json``: ``(source, held_out, documents)``.

    The documents are the source's held-out ones (hash of seed and id, as at training), up to
    ``max_docs`` documents and ``max_chars`` characters. A source too small to have any held-out
    document yields its first documents instead, with ``held_out`` False.
    """
    seed = manifest["seed"]
    holdout = manifest["vocab_config"]["holdout"]
    base = os.path.join(store, "documents")
    for source, stats in manifest["sample"]["sources"].items():
        if not os.path.isdir(os.path.join(base, source)):
            yield source, False, []  # the store has no document of this source: shown as 0
            continue
        extra = set(stats.get("extra_held_out", ()))
        held: list[Document] = []
        first: list[Document] = []
        chars = 0
        for table in _iter_store_batches(part_files(store, [source]), ["id", "source", "text", "meta"]):
            cols = table.to_pydict()
            for i, s, t, m in zip(cols["id"], cols["source"], cols["text"], cols["meta"]):
                if is_held_out(seed, i, holdout) or i in extra:
                    held.append(Document(i, s, t, json.loads(m)))
                    chars += len(t)
                elif len(first) < min(max_docs, 20) and sum(len(d.text) for d in first) < max_chars // 10:
                    first.append(Document(i, s, t, json.loads(m)))
                if len(held) >= max_docs or chars >= max_chars:
                    break
            if len(held) >= max_docs or chars >= max_chars:
                break
        yield (source, True, held) if held else (source, False, first)


def first_difference(a: str, b: str) -> int:
    """Index of the first character where ``a`` and ``b`` differ (the shorter length if one is a
    prefix of the other).

    >>> first_difference("abc", "abd")
    2
    """
    n = min(len(a), len(b))
    i = 0
    step = 4096
    while i < n and a[i : i + step] == b[i : i + step]:
        i += step
    while i < n and a[i] == b[i]:
        i += 1
    return i


class Checker:
    """Per-id lookup tables for the checks (built once per vocabulary)."""

    def __init__(self, vocab: Vocab) -> None:
        sp = vocab.processor
        self.vocab = vocab
        n = vocab.size
        pieces = [sp.id_to_piece(i) for i in range(n)]
        self.pieces = pieces
        self.is_byte = np.array([sp.is_byte(i) for i in range(n)], dtype=bool)
        self.byte_value = np.array([int(p[3:5], 16) if b else -1 for p, b in zip(pieces, self.is_byte)], dtype=np.int16)
        normal = [not (sp.is_byte(i) or sp.is_control(i) or sp.is_unknown(i)) for i in range(n)]
        # A digit must be a piece of its own: any other normal piece holding a digit breaks PaLM's rule.
        self.merged_digit = np.array(
            [normal[i] and len(p) > 1 and any(c.isdigit() for c in p) for i, p in enumerate(pieces)], dtype=bool
        )
        self.single_chars = {p for p, ok in zip(pieces, normal) if ok and len(p) == 1}

    def check(self, doc: Document, ids: list[int], hf_ids: list[int] | None = None) -> list[Failure]:
        """Every failure of ``doc`` encoded as ``ids`` (and ``hf_ids`` from the export)."""
        out: list[Failure] = []
        arr = np.asarray(ids, dtype=np.int64)
        decoded = self.vocab.decode(ids)
        if decoded != doc.text:
            p = first_difference(decoded, doc.text)
            out.append(
                Failure(doc.id, "round_trip", p, f"expected {doc.text[p:p + 20]!r}, decoded {decoded[p:p + 20]!r}")
            )
        bad = np.flatnonzero(self.merged_digit[arr])
        if bad.size:
            out.append(Failure(doc.id, "digit_not_single", int(bad[0]), f"token {self.pieces[ids[bad[0]]]!r}"))
        unk = np.flatnonzero(arr == self.vocab.unk_id)
        if unk.size:
            out.append(Failure(doc.id, "unk", int(unk[0]), "an <unk> token"))
        byte_pos = np.flatnonzero(self.is_byte[arr])
        if byte_pos.size:
            # Group consecutive byte tokens and decode each run to characters.
            splits = np.flatnonzero(np.diff(byte_pos) != 1) + 1
            for run in np.split(byte_pos, splits):
                chars = bytes(self.byte_value[arr[run]].astype(np.uint8).tolist()).decode("utf-8", "replace")
                covered = [c for c in chars if c in self.single_chars and c != SPACE_ESCAPE]
                if covered:
                    out.append(
                        Failure(doc.id, "needless_byte_fallback", int(run[0]), f"{covered[0]!r} has its own piece")
                    )
                    break
        if hf_ids is not None and hf_ids != ids:
            k = next((j for j, (x, y) in enumerate(zip(ids, hf_ids)) if x != y), min(len(ids), len(hf_ids)))
            out.append(
                Failure(
                    doc.id,
                    "hf_ids",
                    k,
                    f"SentencePiece {self.pieces[ids[k]] if k < len(ids) else 'end'!r}, "
                    f"Hugging Face {self.pieces[hf_ids[k]] if k < len(hf_ids) else 'end'!r}",
                )
            )
        return out


def verify_vocab(
    vocab_folder: str,
    store: str,
    *,
    hf: str | None = None,
    max_docs: int = 2000,
    max_chars: int = 20_000_000,
    num_threads: int = 2,
) -> list[SourceReport]:
    """Verify the vocabulary in ``vocab_folder`` on held-out documents of ``store``.

    Args:
        vocab_folder: folder holding ``spm.model`` and ``vocab.json``.
        store: the document store the vocabulary was trained from.
        hf: an exported ``tokenizer.json`` (or its folder) to compare ids with; None skips that.
        max_docs, max_chars: per-source limits on the documents checked.
        num_threads: encoder threads.

    Returns:
        One report per source; the vocabulary passes when no report has failures.
    """
    from vocab.export import hf_encode, load_hf_tokenizer

    vocab = Vocab.load(vocab_folder)
    manifest = read_vocab_manifest(vocab_folder)
    checker = Checker(vocab)
    tokenizer = load_hf_tokenizer(hf) if hf else None
    reports = []
    for source, held_out, docs in evaluation_documents(store, manifest, max_docs, max_chars):
        report = SourceReport(source, held_out=held_out)
        for k in range(0, len(docs), BATCH):
            batch = docs[k : k + BATCH]
            ids = vocab.encode([d.text for d in batch], num_threads=num_threads)
            hf_ids = hf_encode(tokenizer, [d.text for d in batch]) if tokenizer is not None else [None] * len(batch)
            for doc, doc_ids, doc_hf in zip(batch, ids, hf_ids):
                report.documents += 1
                report.chars += len(doc.text)
                report.tokens += len(doc_ids)
                report.failures.extend(checker.check(doc, doc_ids, doc_hf))
        reports.append(report)
    return reports
