"""Recipe configuration of the vocabulary (recipe section ``vocab``).

Lives in the core (not in ``vocab/``) because the recipe is validated before anything runs and
the core imports neither ``vocab`` nor ``pipelines``.

A recipe section (every key optional)::

    vocab:
      size: 32000
      model_type: unigram
      sample_chars: 100000000
      sentinels: 100
      reserved_symbols: ["[NLU]", "[NLG]", "[S2S]"]

The SentencePiece options that decide losslessness are keys too, so that a recipe asking for a
lossy value is refused with the reason instead of being silently overridden.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from dataprep.errors import RecipeError

# Lossless SentencePiece options (PaLM §2 "Vocabulary": "lossless ... whitespace is preserved,
# out-of-vocabulary Unicode characters are split into UTF-8 bytes, numbers are split into
# individual digit tokens"). Key -> (required value, why any other value loses text).
LOSSLESS = {
    "normalization_rule_name": (
        "identity",
        "any other rule (nmt_nfkc, nfkc, nfkc_cf...) folds characters, so decode(encode(x)) != x",
    ),
    "remove_extra_whitespaces": (
        False,
        "it strips leading/trailing spaces and collapses runs of spaces, destroying code indentation",
    ),
    "add_dummy_prefix": (
        False,
        "it invents a space before every encoded text, so separately encoded chunks do not concatenate",
    ),
    "byte_fallback": (
        True,
        "without it a character outside the vocabulary becomes <unk> and is lost",
    ),
    "split_digits": (
        True,
        "PaLM splits numbers into single digits (consistent arithmetic tokens); merged digit pieces are refused",
    ),
    "allow_whitespace_only_pieces": (
        True,
        "without it runs of spaces (indentation) cannot be pieces and code costs one token per space",
    ),
}

SENTINEL_FORMAT = "<extra_id_{}>"


@dataclass(frozen=True)
class VocabConfig:
    """Recipe section ``vocab``: the SentencePiece vocabulary and its training sample.

    Attributes:
        size: number of pieces, special, reserved and the 256 byte pieces included. Default
            256,000: PaLM's vocabulary size (PaLM §2). Small corpora need a much smaller value;
            training says the maximum the sample can fill when it is too large.
        model_type: ``unigram`` or ``bpe``. Default ``unigram``, by measurement (docs/vocab.md):
            SentencePiece's unigram encoder is ~6x faster than its BPE encoder on this machine
            (encode speed is paid on every training token, training once), at equal
            compression; BPE trains faster.
        sample_chars: training-sample budget in characters, shared among sources by their
            ``weight``. Default 100 M characters (the issue's "100 MB sample"): with chunk
            seeding (``seed_chunk_chars``) unigram training peaks at 1.08-1.12 GB there, BPE at
            1.21-1.39 GB (measured, docs/vocab.md); SentencePiece's own whole-sample seeding
            peaked at about 24 bytes per character (2.37-2.54 GB).
        seed_chunk_chars: unigram only: a sample longer than this is seeded chunk by chunk, each
            chunk in its own process (`vocab.seeds`), so the seeding step's memory (the suffix
            array of SentencePiece's seeding) is bounded by the chunk, not the sample. Default
            25 M characters, measured on a 100 M-character sample (docs/vocab.md): training
            peaked at 1.12 GB with 4 chunks of 25 M against 1.57 GB with 2 chunks of 50 M (and
            2.37 GB seeding the whole sample), and the larger chunks did not train faster.
        character_coverage: share of sample characters that get their own piece; the rest are
            encoded as UTF-8 bytes. Default 0.9995: SentencePiece's recommendation for character-
            rich languages (CJK), which a multilingual mixture contains.
        max_sentence_length: longest training "sentence" in UTF-8 bytes. Documents are fed whole
            when shorter, else cut into line-aligned chunks below it (SentencePiece silently skips
            longer sentences). Default 65,536 bytes (SentencePiece's default is 4,192, which would
            cut most documents).
        max_piece_length: longest piece in characters. Default 16 (SentencePiece's default).
        num_threads: trainer threads, pinned in the recipe because the model depends on it (same
            count: byte-identical model; another count: another model). Default 2, measured on
            the 2-core reference machine: 6.7 s against 10.1 s at 1 thread and 13.5 s at 4
            (oversubscribed) for 8k unigram on 5 M characters. Raise it on bigger machines.
        pad_id, eos_id, unk_id, bos_id: fixed ids of the special tokens. Defaults 0, 1, 2 are
            T5/PaLM's (seqio's SentencePieceVocabulary); bos 3 (-1 disables it: PaLM uses none).
        sentinels: number of ``<extra_id_N>`` sentinel symbols (T5/UL2 span corruption). Default
            100: T5's and UL2's ``extra_ids=100``.
        reserved_symbols: further control symbols, never produced from text. Default the UL2
            mode tokens ``[NLU]``, ``[NLG]``, ``[S2S]`` (Tay et al. 2022, §3.1.2).
        holdout: fraction of documents (by hash of seed and id) never used for training, kept for
            ``dataprep vocab verify`` and ``eval``. Default 0.02.
        normalization_rule_name, remove_extra_whitespaces, add_dummy_prefix, byte_fallback,
            split_digits, allow_whitespace_only_pieces: the lossless SentencePiece options;
            only their lossless values are accepted (see `LOSSLESS`).
    """

    size: int = 256_000
    model_type: Literal["unigram", "bpe"] = "unigram"
    sample_chars: int = 100_000_000
    seed_chunk_chars: int = 25_000_000
    character_coverage: float = 0.9995
    max_sentence_length: int = 65_536
    max_piece_length: int = 16
    num_threads: int = 2
    pad_id: int = 0
    eos_id: int = 1
    unk_id: int = 2
    bos_id: int = 3
    sentinels: int = 100
    reserved_symbols: tuple[str, ...] = ("[NLU]", "[NLG]", "[S2S]")
    holdout: float = 0.02
    normalization_rule_name: str = "identity"
    remove_extra_whitespaces: bool = False
    add_dummy_prefix: bool = False
    byte_fallback: bool = True
    split_digits: bool = True
    allow_whitespace_only_pieces: bool = True

    def __post_init__(self) -> None:
        for key, (value, why) in LOSSLESS.items():
            found = getattr(self, key)
            if found != value:
                raise RecipeError(key, f"{value!r} (the only lossless value)", found, hint=why)
        if self.seed_chunk_chars < 100_000:
            raise RecipeError("seed_chunk_chars", "an integer >= 100000 (characters per seeding chunk)", self.seed_chunk_chars)
        if self.sample_chars < 1:
            raise RecipeError("sample_chars", "an integer >= 1", self.sample_chars)
        if not 0.9 <= self.character_coverage <= 1.0:
            raise RecipeError("character_coverage", "a number in [0.9, 1.0]", self.character_coverage)
        if self.max_sentence_length < 1024:
            raise RecipeError("max_sentence_length", "an integer >= 1024 (bytes)", self.max_sentence_length)
        if not 1 <= self.max_piece_length <= 512:
            raise RecipeError("max_piece_length", "an integer in [1, 512]", self.max_piece_length)
        if self.num_threads < 1:
            raise RecipeError("num_threads", "an integer >= 1", self.num_threads)
        if self.sentinels < 0:
            raise RecipeError("sentinels", "an integer >= 0", self.sentinels)
        if not 0.0 <= self.holdout < 0.5:
            raise RecipeError("holdout", "a fraction in [0, 0.5)", self.holdout)
        ids = {"pad_id": self.pad_id, "eos_id": self.eos_id, "unk_id": self.unk_id, "bos_id": self.bos_id}
        if self.unk_id < 0:
            raise RecipeError("unk_id", "an id >= 0 (byte fallback still needs <unk>)", self.unk_id)
        used = [v for v in ids.values() if v >= 0]
        if len(set(used)) != len(used):
            raise RecipeError("pad_id/eos_id/unk_id/bos_id", "distinct ids (-1 disables pad or bos)", ids)
        if sorted(used) != list(range(len(used))):
            raise RecipeError("pad_id/eos_id/unk_id/bos_id", f"the ids 0..{len(used) - 1} in some order", ids)
        symbols = self.symbols()
        if len(set(symbols)) != len(symbols):
            dup = sorted({s for s in symbols if symbols.count(s) > 1})
            raise RecipeError("reserved_symbols", "distinct symbols", dup)
        for s in symbols:
            if not s or s in ("<unk>", "<s>", "</s>", "<pad>"):
                raise RecipeError("reserved_symbols", "non-empty symbols other than <unk>, <s>, </s>, <pad>", s)
        for s in symbols:
            if "," in s or '"' in s:
                raise RecipeError("reserved_symbols", "symbols without ',' or '\"' (SentencePiece reads them as CSV)", s)
        minimum = len(used) + len(symbols) + 256 + 1
        if self.size < minimum:
            raise RecipeError(
                "size",
                f"an integer >= {minimum} (special ids, reserved symbols and 256 byte pieces, plus one piece)",
                self.size,
            )

    def control_symbols(self) -> tuple[str, ...]:
        """Sentinels then reserved symbols, in id order: control symbols, never matched in text."""
        return tuple(SENTINEL_FORMAT.format(i) for i in range(self.sentinels)) + self.reserved_symbols

    def symbols(self) -> list[str]:
        """Every reserved symbol (sentinels included)."""
        return list(self.control_symbols())
