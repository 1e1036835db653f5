"""Recipe configuration of the shards stage (recipe section ``shards``).

Every key has a default; each default says where it comes from. Example::

    shards:
      total_tokens: 5_000_000          # or max_without_repeat (the default)
      sequence_length: 2048
      segment_ids: false
      formats: [parquet, megatron]
      parquet_encoding: delta            # or plain, byte_stream_split (smaller; newer readers)
      shard_tokens: 67108864
      validation_fraction: 0.03
      max_piece_chars: 100000
      last_sequence: pad
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from dataprep.errors import RecipeError

FORMATS = ("parquet", "megatron")
PARQUET_ENCODINGS = ("delta", "plain", "byte_stream_split")
MAX_WITHOUT_REPEAT = "max_without_repeat"


@dataclass(frozen=True)
class ShardsConfig:
    """Mixture budget, packing and output formats of ``dataprep shards``.

    Attributes:
        total_tokens: Training tokens to write (train + validation, end-of-document tokens
            included), or ``"max_without_repeat"``: the largest budget at which no source is
            repeated, i.e. the source with the least tokens per unit of weight is used exactly
            once. Default ``max_without_repeat``: repeating data is never silent (Hernandez et
            al. 2022, "Scaling Laws and Interpretability of Learning from Repeated Data", show
            repeats hurt); ask for a budget to get repeats, as PaLM did for its small sources.
        sequence_length: Tokens per training sequence. Default 2048, PaLM §5 ("We use a sequence
            length of 2048 for all models").
        segment_ids: Also write ``segment_ids`` (1, 2, ... per document piece within a sequence,
            0 on padding) so a trainer can mask attention across documents, as seqio's packing
            does. Default false: PaLM §5 separates documents by an end-of-document token only.
        formats: Output formats, any of ``parquet`` (Hugging Face ``datasets`` reads it) and
            ``megatron`` (Megatron-LM ``MMIDIDX`` ``.bin``/``.idx``). Default both, so either kind
            of trainer can read one run's output.
        parquet_encoding: How the Parquet shards store token ids: ``delta`` (Parquet's
            DELTA_BINARY_PACKED, uncompressed: each run of 32 ids bit-packed as differences),
            ``plain`` (4 bytes per id, zstd) or ``byte_stream_split`` (Parquet's
            BYTE_STREAM_SPLIT, which groups the ids' bytes so zstd sees the all-zero high bytes
            of ids below 65,536 as runs; zstd). Measured on the 14.0 M tokens of the benchmark
            corpora (8,000-piece vocabulary, one thread, pyarrow 25): ``delta`` writes in
            0.11 s, reads in 0.06 s, 25.0 MB; ``plain`` 0.22 s, 0.14 s, 22.1 MB;
            ``byte_stream_split`` 0.11 s, 0.07 s, 19.0 MB. Default ``delta``: twice as fast to
            write and to read as ``plain`` for 13% more bytes, and DELTA_BINARY_PACKED is in the
            Parquet format since 2.0 (2013), so every current reader decodes it (pyarrow, hence
            Hugging Face ``datasets``; parquet-java, hence Spark; DuckDB; Polars), while
            BYTE_STREAM_SPLIT on integers is Parquet format 2.11 (2024), read by pyarrow >= 16,
            parquet-java >= 1.14 and arrow-rs >= 53, not by older readers.
        shard_tokens: Target tokens per shard (shards are filled by hash, so sizes vary by a few
            percent around it). Default 2**26 = 67,108,864 tokens, 256 MiB as int32: half of Hugging
            Face ``datasets``' default ``max_shard_size`` of 500 MB, and small enough that one
            worker packs a shard in memory. Must be below 2**30 (Parquet list offsets are int32).
        validation_fraction: Fraction of documents (by a hash of the document id, so every repeat
            of a document lands in the same split) that go to the validation split. Default 0.03,
            Megatron-LM's default ``--split 969,30,1`` (its 0.1% test part folded away).
        max_piece_chars: Documents longer than this many characters are cut (at a line break
            when there is one) into pieces that are sampled, shuffled and closed with
            end-of-document on their own. Sampling is exact to half a piece per source, so a
            source of a few huge books (the King James Bible is one 4 MB document) can still
            meet its share, and one book does not fill hundreds of consecutive sequences.
            Default 100,000 characters, about 25,000 tokens or 12 sequences of 2048: a piece
            boundary cuts the context of about one sequence in 12 of a long document, and a
            source's share is exact to ~12,500 tokens (0.001 pp of a 1B-token mixture).
        last_sequence: What the last, partial sequence of each shard becomes: ``pad`` (filled to
            ``sequence_length`` with the vocabulary's pad id, or end-of-document when it has none;
            segment id 0) or ``short`` (kept shorter). Default ``pad``: every row has the same
            shape, which most trainers expect; only the last row of a shard is ever padded.
    """

    total_tokens: int | Literal["max_without_repeat"] = MAX_WITHOUT_REPEAT
    sequence_length: int = 2048
    segment_ids: bool = False
    formats: tuple[Literal["parquet", "megatron"], ...] = FORMATS
    parquet_encoding: Literal["delta", "plain", "byte_stream_split"] = "delta"
    shard_tokens: int = 2**26
    validation_fraction: float = 0.03
    max_piece_chars: int = 100_000
    last_sequence: Literal["pad", "short"] = "pad"

    def __post_init__(self) -> None:
        if isinstance(self.total_tokens, int) and self.total_tokens < 1:
            raise RecipeError("total_tokens", f"an integer >= 1 or '{MAX_WITHOUT_REPEAT}'", self.total_tokens)
        if self.sequence_length < 2:
            raise RecipeError("sequence_length", "an integer >= 2", self.sequence_length)
        if not self.formats:
            raise RecipeError("formats", "at least one of " + ", ".join(FORMATS), list(self.formats))
        if len(set(self.formats)) != len(self.formats):
            raise RecipeError("formats", "each format at most once", list(self.formats))
        if self.shard_tokens >= 2**30:
            # Parquet list offsets are int32, and a shard may exceed its target by a few percent.
            raise RecipeError("shard_tokens", "an integer below 2**30 (Parquet list<int32> offsets)", self.shard_tokens)
        if self.shard_tokens < self.sequence_length:
            raise RecipeError(
                "shard_tokens", f"an integer >= sequence_length ({self.sequence_length})", self.shard_tokens
            )
        if self.max_piece_chars < 1000:
            raise RecipeError("max_piece_chars", "an integer >= 1000", self.max_piece_chars)
        if not 0.0 <= self.validation_fraction < 1.0:
            raise RecipeError("validation_fraction", "a number in [0, 1)", self.validation_fraction)

    @property
    def budget(self) -> int | None:
        """The token budget, or None for the largest budget without repeats."""
        return None if self.total_tokens == MAX_WITHOUT_REPEAT else int(self.total_tokens)
