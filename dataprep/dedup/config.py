"""Recipe configuration of the dedup stage (recipe section ``dedup``, and per source).

The top-level ``dedup`` section (`DedupConfig`) holds the defaults for every source and the
MinHash/LSH parameters that must be shared by everything compared together; each source may
override the per-source keys in its own ``dedup`` mapping (`SourceDedup`). `source_settings`
resolves both into one `DedupSettings` per source, which is what the pipeline and the CLI pass
around (a plain frozen dataclass, picklable, with no ``auto`` left in it).

A recipe::

    dedup:
      scope: source          # or global: compare documents across sources
      threshold: 0.8
    sources:
      - {name: code, kind: code, paths: [repos/*], weight: 0.05,
         dedup: {metric: levenshtein, shingle: char}}
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any, Iterable, Literal, Optional

from dataprep.errors import RecipeError

Metric = Literal["jaccard", "levenshtein"]
Shingle = Literal["word", "char"]

# Packed byte windows: a char shingle of n bytes is stored exactly in one 64-bit word.
MAX_CHAR_NGRAM = 8


@dataclass(frozen=True)
class DedupConfig:
    """Top-level ``dedup`` section: what runs, where, and the shared MinHash/LSH parameters.

    Defaults and their sources:

    - ``exact`` true, ``near`` true: every serious corpus removes both (Lee et al. 2021,
      "Deduplicating Training Data Makes Language Models Better"; PaLM §3).
    - ``scope`` ``source``: duplicates are looked for within each source (PaLM deduplicates
      code by itself); ``global`` compares across sources (all sources then share the shingle
      settings, since only comparable signatures can collide).
    - ``threshold`` 0.8: the similarity above which two documents are duplicates. Lee et al.
      2021 use Jaccard 0.8 on 5-grams; the issue asks for 0.8 (also datasketch's default
      ``MinHashLSH`` threshold is 0.9, datatrove's effective one about 0.75).
    - ``metric`` ``auto``: Levenshtein normalised similarity for ``kind: code`` (PaLM removes
      code duplicates by Levenshtein distance), exact Jaccard of the shingle sets elsewhere.
    - ``shingle`` ``auto``: byte n-grams for code (robust to re-indentation and renamed
      identifiers, which break every word n-gram they touch), word n-grams elsewhere.
    - ``ngram`` 5: Lee et al. 2021 and datatrove use 5-grams of words; for code, byte 5-grams
      scored F1 0.979 on the code part of ``benchmarks/dedup_accuracy.py`` at candidate
      threshold 0.5, byte 3-grams 0.866, word 3-grams 0.860 (word 1-grams also 0.979).
    - ``num_perm`` 128: estimate standard error sqrt(J(1-J)/128) = 0.035 at J = 0.8, and the
      signature (512 bytes) stays small beside the document; datatrove uses 112, BigCode 256.
    - ``candidate_threshold`` null (auto): the Jaccard similarity of shingle sets that LSH
      targets when proposing candidates, below ``threshold`` because verification removes the
      false positives while a missed candidate is lost for good. Auto is ``threshold - 0.1`` for
      Jaccard and ``threshold - 0.3`` for Levenshtein (Levenshtein-similar code has much lower
      shingle Jaccard: a renamed identifier touches every shingle that contains it). Measured by
      ``benchmarks/dedup_accuracy.py --sweep`` at threshold 0.8: prose recall 0.848 at 0.8,
      0.991 at 0.7, 0.994 at 0.6 (candidates x2.1, x2.4); code recall 0.471 at 0.8, 0.959 at 0.5.
    - ``bands``/``rows`` null: chosen from ``candidate_threshold`` by
      `dataprep.dedup.minhash.optimal_bands`, minimising the weighted false-positive plus
      false-negative area of the LSH S-curve (at 0.7 and the default weights: 20 x 6).
    - ``false_positive_weight`` 0.1, ``false_negative_weight`` 0.9 (datasketch's are 0.5/0.5):
      with verification a false positive costs one comparison, a false negative a duplicate
      kept; on the prose of the accuracy set 0.9 raised recall from 0.848 to 0.954 at the same
      candidate threshold, precision staying 1.0.
    - ``minhash_seed`` 1: datasketch's default ``MinHash(seed=1)``, so a signature drops into
      ``MinHashLSH`` built with default datasketch objects and our shingle hash.
    - ``verify`` true: check every candidate pair with the exact metric (without it, LSH
      collisions alone decide, as in datatrove and BigCode; precision drops, see docs).
    - ``max_levenshtein_chars`` 100,000: rapidfuzz's bit-parallel Levenshtein is
      O(n·m/64); measured here on 2%-edited pairs: 10 k chars 1 ms, 100 k chars 0.55 s
      (1.3 s without ``score_cutoff``), 300 k chars 3.4 s, so about 40 s at 1 M; longer pairs
      are verified by Jaccard of their shingle sets instead.
    - ``oversized_bucket`` 1,000: an LSH bucket with more members than this is counted in the
      stats (typically boilerplate pages); it is still processed in linear time (edges go to the
      bucket's minimum only).
    - ``max_rounds`` 10: rounds of hash-to-min connected components (Rastogi et al. 2013); the
      number needed grows as about 2·log2 of the component's diameter, and star edges keep
      diameters small. Nodes still changing after the last round are counted
      (``unconverged_nodes``); their clusters are then split (safe: nothing is lost).
    - ``partitions`` 256: LSH rows (28 bytes per band and document) and candidate edges are
      grouped into this many keys per scope, each a packed numpy array, instead of one Beam
      element per band and document (which cost about 250 bytes each on the local runner).
      Every bucket lies in one partition, so the result does not depend on it; a partition
      must fit in a worker's memory: 1 M documents x 20 bands is 2.2 MB per partition, and a
      billion documents want about 4,096 partitions (140 MB each).
    """

    exact: bool = True
    near: bool = True
    scope: Literal["source", "global"] = "source"
    threshold: float = 0.8
    candidate_threshold: Optional[float] = None
    metric: Literal["auto", "jaccard", "levenshtein"] = "auto"
    shingle: Literal["auto", "word", "char"] = "auto"
    ngram: int = 5
    num_perm: int = 128
    bands: Optional[int] = None
    rows: Optional[int] = None
    false_positive_weight: float = 0.1
    false_negative_weight: float = 0.9
    minhash_seed: int = 1
    verify: bool = True
    max_levenshtein_chars: int = 100_000
    oversized_bucket: int = 1000
    max_rounds: int = 10
    partitions: int = 256

    def __post_init__(self) -> None:
        _check_threshold("threshold", self.threshold)
        if self.candidate_threshold is not None:
            _check_threshold("candidate_threshold", self.candidate_threshold)
        _check_ngram("ngram", self.ngram, self.shingle)
        if not 1 <= self.num_perm <= 1024:
            raise RecipeError("num_perm", "an integer between 1 and 1024", self.num_perm)
        if (self.bands is None) != (self.rows is None):
            raise RecipeError("bands", "bands and rows both set or both null (chosen from threshold)", (self.bands, self.rows))
        if self.bands is not None and self.rows is not None:
            if self.bands < 1 or self.rows < 1 or self.bands * self.rows > self.num_perm:
                raise RecipeError(
                    "bands", f"bands >= 1, rows >= 1 and bands * rows <= num_perm ({self.num_perm})", (self.bands, self.rows)
                )
        for name in ("false_positive_weight", "false_negative_weight"):
            if not getattr(self, name) >= 0:
                raise RecipeError(name, "a number >= 0", getattr(self, name))
        if self.false_positive_weight + self.false_negative_weight <= 0:
            raise RecipeError("false_negative_weight", "weights whose sum is > 0", self.false_negative_weight)
        if self.max_levenshtein_chars < 0:
            raise RecipeError("max_levenshtein_chars", "an integer >= 0", self.max_levenshtein_chars)
        if self.oversized_bucket < 2:
            raise RecipeError("oversized_bucket", "an integer >= 2", self.oversized_bucket)
        if not 1 <= self.max_rounds <= 64:
            raise RecipeError("max_rounds", "an integer between 1 and 64", self.max_rounds)
        if not 1 <= self.partitions <= 1 << 20:
            raise RecipeError("partitions", "an integer between 1 and 1048576", self.partitions)


@dataclass(frozen=True)
class SourceDedup:
    """Per-source ``dedup`` overrides; null (the default) inherits the top-level value.

    ``exact``/``near`` switch a stage off for one source (e.g. a curated source known to be
    unique); ``threshold``, ``metric``, ``shingle`` and ``ngram`` tune it (``shingle`` and
    ``ngram`` only with ``scope: source``, since signatures compared across sources must be
    built alike).
    """

    exact: Optional[bool] = None
    near: Optional[bool] = None
    threshold: Optional[float] = None
    candidate_threshold: Optional[float] = None
    metric: Optional[Literal["auto", "jaccard", "levenshtein"]] = None
    shingle: Optional[Literal["auto", "word", "char"]] = None
    ngram: Optional[int] = None

    def __post_init__(self) -> None:
        if self.threshold is not None:
            _check_threshold("threshold", self.threshold)
        if self.candidate_threshold is not None:
            _check_threshold("candidate_threshold", self.candidate_threshold)
        if self.ngram is not None:
            _check_ngram("ngram", self.ngram, self.shingle or "auto")


@dataclass(frozen=True)
class DedupSettings:
    """The resolved settings of one source (no ``auto``, no null): what the stage runs with.

    ``bands`` × ``rows`` <= ``num_perm``; the band keys use the first ``bands * rows`` values of
    the signature.
    """

    exact: bool = True
    near: bool = True
    threshold: float = 0.8
    candidate_threshold: float = 0.7
    metric: Metric = "jaccard"
    shingle: Shingle = "word"
    ngram: int = 5
    num_perm: int = 128
    bands: int = 20
    rows: int = 6
    minhash_seed: int = 1
    verify: bool = True
    max_levenshtein_chars: int = 100_000

    @property
    def signature_key(self) -> tuple:
        """What makes two signatures comparable (documents with different keys never collide)."""
        return (self.shingle, self.ngram, self.num_perm, self.bands, self.rows, self.minhash_seed)


@dataclass(frozen=True)
class StageSettings:
    """Everything the Beam transforms need: the shared knobs and one `DedupSettings` per source.

    ``default`` applies to a document whose source is not in ``sources`` (the standalone CLI
    uses a single source).
    """

    scope: Literal["source", "global"] = "source"
    oversized_bucket: int = 1000
    max_rounds: int = 10
    partitions: int = 256
    default: DedupSettings = field(default_factory=DedupSettings)
    sources: dict[str, DedupSettings] = field(default_factory=dict)

    def for_source(self, source: str) -> DedupSettings:
        """Settings of ``source`` (``default`` when the source is not listed)."""
        return self.sources.get(source, self.default)


def _check_threshold(key: str, value: float) -> None:
    if not 0.0 < value <= 1.0:
        raise RecipeError(key, "a similarity in (0, 1]", value)


def _check_ngram(key: str, value: int, shingle: str) -> None:
    if value < 1:
        raise RecipeError(key, "an integer >= 1", value)
    if shingle == "char" and value > MAX_CHAR_NGRAM:
        raise RecipeError(key, f"an integer <= {MAX_CHAR_NGRAM} for char shingles (bytes packed in 64 bits)", value)


def resolve(
    config: DedupConfig, override: SourceDedup | None = None, kind: str = "text", shingle_kind: str | None = None
) -> DedupSettings:
    """Resolve the top-level config, a source's overrides and its kind into `DedupSettings`.

    ``auto`` becomes Levenshtein + char shingles for ``kind == "code"`` and Jaccard + word
    shingles otherwise (``shingle_kind``, when given, decides the shingles instead of ``kind``).

    >>> resolve(DedupConfig(), kind="code").metric
    'levenshtein'
    """
    from dataprep.dedup.minhash import optimal_bands  # numpy only; kept out of recipe loading

    o = override or SourceDedup()
    pick = lambda name: getattr(o, name) if getattr(o, name) is not None else getattr(config, name)  # noqa: E731
    metric = pick("metric")
    if metric == "auto":
        metric = "levenshtein" if kind == "code" else "jaccard"
    shingle = pick("shingle")
    if shingle == "auto":
        shingle = "char" if (shingle_kind or kind) == "code" else "word"
    ngram = pick("ngram")
    _check_ngram("ngram", ngram, shingle)
    threshold = pick("threshold")
    candidate = pick("candidate_threshold")
    if candidate is None and not config.verify:
        candidate = threshold  # without verification, LSH collisions alone decide
    if candidate is None:
        candidate = max(0.05, round(threshold - (0.3 if metric == "levenshtein" else 0.1), 6))
    if config.bands is not None and config.rows is not None:
        bands, rows = config.bands, config.rows
    else:
        bands, rows = optimal_bands(candidate, config.num_perm, config.false_positive_weight, config.false_negative_weight)
    return DedupSettings(
        exact=pick("exact"),
        near=pick("near"),
        threshold=threshold,
        candidate_threshold=candidate,
        metric=metric,
        shingle=shingle,
        ngram=ngram,
        num_perm=config.num_perm,
        bands=bands,
        rows=rows,
        minhash_seed=config.minhash_seed,
        verify=config.verify,
        max_levenshtein_chars=config.max_levenshtein_chars,
    )


def stage_settings(config: DedupConfig, sources: Iterable[Any] = (), default_kind: str = "text") -> StageSettings:
    """`StageSettings` for a recipe's sources (objects with ``name``, ``kind`` and ``dedup``,
    i.e. `dataprep.recipe.SourceSpec`).

    With ``scope: global`` every source must resolve to the same shingle settings (otherwise
    `RecipeError` names the offending source), and all share the LSH bands of the lowest
    candidate threshold among them (a per-source threshold then only applies at verification).
    """
    from dataprep.dedup.minhash import optimal_bands

    default = resolve(config, None, default_kind)
    per_source: dict[str, DedupSettings] = {}
    for spec in sources:
        # With global scope, "auto" shingles are the same (word) for every kind: signatures
        # built differently could never collide.
        shingle_kind = default_kind if config.scope == "global" else None
        s = resolve(config, getattr(spec, "dedup", None), spec.kind, shingle_kind)
        if config.scope == "global":
            if (s.shingle, s.ngram) != (default.shingle, default.ngram) and s.near:
                raise RecipeError(
                    f"sources ({spec.name}).dedup.shingle",
                    f"the same shingles as every other source with scope: global ({default.shingle} {default.ngram}-grams)",
                    f"{s.shingle} {s.ngram}-grams",
                    hint="set dedup.shingle and dedup.ngram at the top level, or use scope: source",
                )
        per_source[spec.name] = s
    if config.scope == "global" and per_source and (config.bands is None or config.rows is None):
        lowest = min(s.candidate_threshold for s in per_source.values())
        b, r = optimal_bands(lowest, config.num_perm, config.false_positive_weight, config.false_negative_weight)
        per_source = {k: replace(s, bands=b, rows=r) for k, s in per_source.items()}
    return StageSettings(
        scope=config.scope,
        oversized_bucket=config.oversized_bucket,
        max_rounds=config.max_rounds,
        partitions=config.partitions,
        default=default,
        sources=per_source,
    )
