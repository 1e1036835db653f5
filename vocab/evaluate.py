"""``dataprep vocab eval``: compression and coverage per source, against a reference tokenizer.

On the held-out documents of each source (and of each language, where a document's meta names
one): UTF-8 bytes per token, tokens per whitespace-separated word, the share of byte-fallback
tokens, and the pieces never used. The same figures are computed in the same run for a reference:
a Hugging Face ``tokenizers`` byte-level BPE (the GPT-2 / Llama 3 scheme) trained on the very same
sample with the same vocabulary size.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from dataprep.configs import from_mapping
from dataprep.recipe import Recipe, SourceSpec
from dataprep.vocab_config import VocabConfig
from vocab.model import Vocab
from vocab.train import collect_sample, plan_sample, read_vocab_manifest
from vocab.verify import evaluation_documents


@dataclass
class Stats:
    """Counts for one group of documents and one tokenizer."""

    documents: int = 0
    bytes: int = 0
    words: int = 0
    tokens: int = 0
    byte_tokens: int = 0
    used: set[int] = field(default_factory=set)

    def add(self, text: str, ids: np.ndarray, byte_mask: np.ndarray | None) -> None:
        self.documents += 1
        self.bytes += len(text.encode("utf-8"))
        self.words += len(text.split())
        self.tokens += len(ids)
        if byte_mask is not None and len(ids):
            self.byte_tokens += int(byte_mask[ids].sum())
        self.used.update(np.unique(ids).tolist())

    def row(self) -> dict[str, Any]:
        return {
            "documents": self.documents,
            "bytes": self.bytes,
            "tokens": self.tokens,
            "bytes_per_token": self.bytes / self.tokens if self.tokens else 0.0,
            "tokens_per_word": self.tokens / self.words if self.words else 0.0,
            "byte_fallback_rate": self.byte_tokens / self.tokens if self.tokens else 0.0,
            "pieces_used": len(self.used),
        }


def recipe_from_manifest(manifest: dict[str, Any]) -> Recipe:
    """The parts of the training recipe the sample depends on (seed, source weights, vocab)."""
    sources = tuple(
        SourceSpec(name, "text", ("(store)",), s["weight"]) for name, s in manifest["sample"]["sources"].items()
    )
    return Recipe(manifest.get("recipe", "vocab"), manifest["seed"], sources, vocab=from_mapping(VocabConfig, manifest["vocab_config"], "vocab"))


def train_reference(sentences: list[str], size: int) -> Any:
    """A byte-level BPE (``tokenizers``) trained on ``sentences`` with ``size`` pieces."""
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers

    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=size,
        special_tokens=["<pad>", "</s>", "<unk>", "<s>"],
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        show_progress=False,
    )
    tok.train_from_iterator(sentences, trainer=trainer, length=len(sentences))
    return tok


def evaluate_vocab(
    vocab_folder: str,
    store: str,
    *,
    reference: bool = True,
    max_docs: int = 2000,
    max_chars: int = 20_000_000,
    num_threads: int = 2,
) -> dict[str, Any]:
    """Evaluate the vocabulary in ``vocab_folder`` on the held-out documents of ``store``.

    Returns ``{"groups": {name: {"dataprep": row, "reference": row}}, "unused_pieces": {...},
    "reference_seconds": float}``; group names are sources and ``source/language``.
    """
    vocab = Vocab.load(vocab_folder)
    manifest = read_vocab_manifest(vocab_folder)
    byte_mask = vocab.byte_ids()
    ref = None
    ref_seconds = 0.0
    if reference:
        recipe = recipe_from_manifest(manifest)
        started = time.monotonic()
        sentences = collect_sample(recipe, store, plan_sample(recipe, store))
        ref = train_reference(sentences, vocab.size)
        ref_seconds = time.monotonic() - started
        del sentences
    ours: dict[str, Stats] = {}
    theirs: dict[str, Stats] = {}
    total_ours, total_ref = Stats(), Stats()
    for source, held_out, docs in evaluation_documents(store, manifest, max_docs, max_chars):
        texts = [d.text for d in docs]
        ids = vocab.encode_arrays(texts, num_threads=num_threads)
        ref_ids = (
            [np.asarray(e.ids, dtype=np.int64) for e in ref.encode_batch(texts, add_special_tokens=False)] if ref else None
        )
        for k, doc in enumerate(docs):
            groups = [source + ("" if held_out else " (not held out)")]
            language = doc.meta.get("language") if isinstance(doc.meta, dict) else None
            if language:
                groups.append(f"{source}/{language}")
            for g in groups:
                ours.setdefault(g, Stats()).add(doc.text, ids[k], byte_mask)
                if ref_ids is not None:
                    theirs.setdefault(g, Stats()).add(doc.text, ref_ids[k], None)
            total_ours.add(doc.text, ids[k], byte_mask)
            if ref_ids is not None:
                total_ref.add(doc.text, ref_ids[k], None)
    sp = vocab.processor
    normal = {i for i in range(vocab.size) if not (sp.is_byte(i) or sp.is_control(i) or sp.is_unknown(i))}
    result: dict[str, Any] = {
        "groups": {g: {"dataprep": s.row(), "reference": theirs[g].row() if g in theirs else None} for g, s in ours.items()},
        "total": {"dataprep": total_ours.row(), "reference": total_ref.row() if ref else None},
        "unused_pieces": {
            "dataprep": len(normal - total_ours.used),
            "reference": (ref.get_vocab_size() - len(total_ref.used)) if ref else None,
        },
        "reference": "tokenizers byte-level BPE, same sample and size" if ref else None,
        "reference_seconds": ref_seconds,
    }
    return result


__all__ = ["evaluate_vocab", "recipe_from_manifest", "train_reference"]
