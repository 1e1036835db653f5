"""Export the vocabulary as a Hugging Face ``tokenizer.json`` giving SentencePiece's exact ids.

The usual SentencePiece -> Hugging Face conversions change ids for leading spaces, space runs and
newlines (a ``Metaspace`` pre-tokenizer splitting every space, a prepended space) and let literal
special-token strings in text turn into control tokens. Ours reproduces `Vocab.encode` exactly:

* normaliser: literal U+2581 -> U+10FFFF (the `vocab.model` repair), then space -> U+2581, which
  is all SentencePiece's identity normalisation does;
* pre-tokenizer: a ``Split`` with `SEGMENT_PATTERN`, the same segments `Vocab.encode` encodes
  separately (where a run of spaces starts, at most `SEGMENT_MAX` characters);
* model: for unigram, ``Unigram`` with the model's (grid-quantised, hence exactly summable)
  scores and byte fallback; byte, control and unknown pieces get a score of -1e6, so a literal
  ``<0x41>`` or ``</s>`` in text is encoded as text, as SentencePiece does (it never matches them
  in text). For BPE, ``BPE`` with merges derived from the piece scores (`bpe_merges`);
* decoder: U+2581 -> space, byte fallback, fuse, U+10FFFF -> U+2581;
* no post-processor: no BOS/EOS is added (as `Vocab.encode`).

``transformers`` loads the folder with ``AutoTokenizer.from_pretrained``; its
``tokenizer_config.json`` sets ``split_special_tokens`` (special-token text stays text) and
``clean_up_tokenization_spaces: false`` (the default clean-up would delete spaces on decode).
"""

from __future__ import annotations

import os
from typing import Any

from dataprep.errors import FormatError
from dataprep.manifest import dumps_json, write_atomic
from vocab.model import SEGMENT_PATTERN, SPACE_ESCAPE, SPACE_SYMBOL, Vocab

HF_DIR = "hf"
HF_FILE = "tokenizer.json"
EXCLUDED_SCORE = -1e6


def hf_tokenizer(vocab: Vocab) -> Any:
    """A ``tokenizers.Tokenizer`` giving the same ids as ``vocab.encode`` (unigram or BPE)."""
    from tokenizers import Regex, Tokenizer, decoders, models, normalizers, pre_tokenizers

    sp = vocab.processor
    if vocab.model_type == "unigram":
        pieces = []
        for i in range(vocab.size):
            piece = sp.id_to_piece(i)
            special = sp.is_byte(i) or sp.is_control(i) or sp.is_unknown(i) or sp.is_unused(i)
            pieces.append((piece, EXCLUDED_SCORE if special else float(sp.get_score(i))))
        tok = Tokenizer(models.Unigram(pieces, unk_id=vocab.unk_id, byte_fallback=True))
    elif vocab.model_type == "bpe":
        ids, merges = bpe_merges(vocab)
        tok = Tokenizer(
            models.BPE(ids, merges, unk_token=sp.id_to_piece(vocab.unk_id), byte_fallback=True, fuse_unk=False)
        )
    else:
        raise FormatError(f"{vocab.path or 'model'}: cannot export a {vocab.model_type} model")
    tok.normalizer = normalizers.Sequence(
        [normalizers.Replace(SPACE_SYMBOL, SPACE_ESCAPE), normalizers.Replace(" ", SPACE_SYMBOL)]
    )
    tok.pre_tokenizer = pre_tokenizers.Split(Regex(SEGMENT_PATTERN), behavior="isolated")
    tok.decoder = decoders.Sequence(
        [
            decoders.Replace(SPACE_SYMBOL, " "),
            decoders.ByteFallback(),
            decoders.Fuse(),
            decoders.Replace(SPACE_ESCAPE, SPACE_SYMBOL),
        ]
    )
    return tok


def bpe_merges(vocab: Vocab) -> tuple[dict[str, int], list[tuple[str, str]]]:
    """The vocabulary and merge list of a SentencePiece BPE model, for ``tokenizers.models.BPE``.

    SentencePiece's BPE encoder repeatedly merges the adjacent pair whose merged piece scores
    highest; Hugging Face's merges the pair of lowest rank. Every split ``(left, right)`` of a
    normal piece into two normal pieces becomes a merge, ranked by the merged piece's score
    (highest first), then by the ids of its parts. Byte, control and unknown pieces get no merge,
    so they are never produced from text.
    """
    sp = vocab.processor
    ids = {sp.id_to_piece(i): i for i in range(vocab.size)}
    normal = {
        sp.id_to_piece(i)
        for i in range(vocab.size)
        if not (sp.is_byte(i) or sp.is_control(i) or sp.is_unknown(i) or sp.is_unused(i))
    }
    ranked = []
    for piece in normal:
        i = ids[piece]
        for k in range(1, len(piece)):
            left, right = piece[:k], piece[k:]
            if left in normal and right in normal:
                ranked.append((-sp.get_score(i), i, ids[left], ids[right], left, right))
    ranked.sort()
    return ids, [(left, right) for *_, left, right in ranked]


def transformers_config(vocab: Vocab) -> dict[str, Any]:
    """``tokenizer_config.json`` for ``transformers.AutoTokenizer``."""
    sp = vocab.processor
    controls = [sp.id_to_piece(i) for i in range(vocab.size) if sp.is_control(i)]
    named = {
        "pad_token": vocab.pad_id,
        "eos_token": vocab.eos_id,
        "unk_token": vocab.unk_id,
        "bos_token": vocab.bos_id,
    }
    config: dict[str, Any] = {
        "tokenizer_class": "PreTrainedTokenizerFast",
        "split_special_tokens": True,
        "clean_up_tokenization_spaces": False,
        "add_bos_token": False,
        "add_eos_token": False,
        "model_max_length": 1_000_000_000_000_000_019_884_624_838_656,
    }
    for key, i in named.items():
        if i >= 0:
            config[key] = sp.id_to_piece(i)
    taken = {config.get(k) for k in named}
    config["additional_special_tokens"] = [c for c in controls if c not in taken]
    return config


def export_hf(vocab_folder: str, out: str | None = None) -> str:
    """Write ``tokenizer.json`` and ``tokenizer_config.json`` to ``out`` (default
    ``vocab_folder/hf``) atomically; returns the folder."""
    vocab = Vocab.load(vocab_folder)
    out = out or os.path.join(vocab_folder, HF_DIR)
    os.makedirs(out, exist_ok=True)
    blob = hf_tokenizer(vocab).to_str(pretty=True).encode("utf-8")
    write_atomic(os.path.join(out, HF_FILE), lambda f: f.write(blob))
    config = dumps_json(transformers_config(vocab))
    write_atomic(os.path.join(out, "tokenizer_config.json"), lambda f: f.write(config))
    meta = dumps_json({"model_sha256": vocab.fingerprint, "format": "dataprep-hf-export v1"})
    write_atomic(os.path.join(out, "dataprep-export.json"), lambda f: f.write(meta))
    return out


def load_hf_tokenizer(path: str) -> Any:
    """Load an exported ``tokenizer.json`` (a file or the export folder)."""
    from tokenizers import Tokenizer

    file = os.path.join(path, HF_FILE) if os.path.isdir(path) else path
    if not os.path.exists(file):
        raise FormatError(f"{file}: no exported tokenizer (run `dataprep vocab export DIR --format hf`)")
    try:
        return Tokenizer.from_file(file)
    except Exception as e:  # tokenizers raises a bare Exception on malformed JSON
        raise FormatError(f"{file}: unreadable tokenizer.json: {e}") from None


def hf_encode(tokenizer: Any, texts: list[str]) -> list[list[int]]:
    """Ids of ``texts`` with the exported tokenizer (no special tokens added)."""
    return [e.ids for e in tokenizer.encode_batch(texts, add_special_tokens=False)]


__all__ = ["bpe_merges", "export_hf", "hf_encode", "hf_tokenizer", "load_hf_tokenizer", "transformers_config"]
