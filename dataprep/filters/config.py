"""Recipe configuration of filters (per source ``filters``) and the quality classifier (``quality``).

Each rule family is a small frozen dataclass with an ``enabled`` switch. ``enabled: null`` (the
default) means "the default for this source's kind" (see `KIND_DEFAULTS` in
``dataprep/filters/__init__.py`` and ``docs/filters.md``); ``true``/``false`` overrides it.
Every default threshold cites where it comes from:

- Gopher: Rae et al. 2021, "Scaling Language Models: Methods, Analysis & Insights from Training
  Gopher", appendix A.1.1 (quality filters) and table A1 (repetition thresholds).
- C4: Raffel et al. 2020, section 2.2, as implemented in TFDS ``c4_utils.clean_page``
  (``_MIN_WORDS_PER_LINE = 5``, ``_MIN_NUM_SENTENCES = 3``, end marks, policy substrings).
- FineWeb: Penedo et al. 2024, the FineWeb custom filters (datatrove ``FineWebQualityFilter``).
- Code: The Stack / StarCoder (Li et al. 2023, section 3) and CodeParrot's cleaning heuristics.
- Quality classifier: GLaM (Du et al. 2022, section 3) and GPT-3 (Brown et al. 2020, appendix A:
  keep a document when ``np.random.pareto(alpha) > 1 - score`` with ``alpha = 9``).

A recipe snippet::

    sources:
      - name: web
        kind: web
        paths: [crawl/*.warc.gz]
        weight: 0.27
        filters:
          language: {allowed: [en]}
          c4: {bad_words_file: lists/en.txt}
          gopher_quality: {min_words: 100}
    quality:
      model: out/quality
      alpha: 9
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from dataprep.errors import RecipeError


def _check_languages(languages: tuple[str, ...]) -> None:
    for code in languages:
        if not code or code != code.lower():
            raise RecipeError("languages", "ISO 639-1 codes in lower case, e.g. [en, fr]", code)


def _check_fraction(name: str, value: float) -> None:
    if not 0.0 <= value <= 1.0:
        raise RecipeError(name, "a number between 0 and 1", value)


def _check_positive(name: str, value: float) -> None:
    if not value > 0:
        raise RecipeError(name, "a number > 0", value)


GOPHER_STOP_WORDS = ("the", "be", "to", "of", "and", "that", "have", "with")


@dataclass(frozen=True)
class LanguageRules:
    """``filters.language``: tag ``language`` and ``language_score`` (py3langid) and keep only
    ``allowed`` languages.

    ``allowed`` empty (the default) tags without dropping. ``min_score`` 0.65 is FineWeb's
    language-score threshold (Penedo et al. 2024); a document whose best language is allowed
    but scores below it is dropped as ``language``. ``max_chars`` 10,000: only the first
    10,000 characters are classified, which keeps throughput independent of document size
    (py3langid runs about 2.8 MB/s per core here; on 3,000 Wikipedia leads in en/fr/es the
    accuracy is 99.1%, reached long before 10,000 characters).
    """

    enabled: bool | None = None
    allowed: tuple[str, ...] = ()
    min_score: float = 0.65
    max_chars: int = 10_000

    def __post_init__(self) -> None:
        _check_fraction("min_score", self.min_score)
        if self.max_chars < 1:
            raise RecipeError("max_chars", "an integer >= 1", self.max_chars)
        try:
            _check_languages(self.allowed)
        except RecipeError as e:
            raise RecipeError("allowed", e.expected, e.found) from None


@dataclass(frozen=True)
class GopherQualityRules:
    """``filters.gopher_quality``: Gopher's quality filter (Rae et al. 2021, appendix A.1.1).

    Drop a document with fewer than 50 or more than 100,000 words, a mean word length outside
    3..10 characters, a symbol-to-word ratio above 0.1 for the hash symbol or the ellipsis, more
    than 90% of lines starting with a bullet or more than 30% ending with an ellipsis, fewer than
    80% of words containing an alphabetic character, or fewer than 2 of the stop words "the, be,
    to, of, and, that, have, with".

    ``languages``: apply only to documents whose ``language`` tag (set by ``filters.language``) is
    one of these; empty (the default) applies to all. The rules count whitespace-separated words,
    so a document in Chinese, Japanese or Thai fails them by construction: on a multilingual
    source, list the space-delimited languages here.
    """

    enabled: bool | None = None
    languages: tuple[str, ...] = ()
    min_words: int = 50
    max_words: int = 100_000
    min_mean_word_length: float = 3.0
    max_mean_word_length: float = 10.0
    max_symbol_word_ratio: float = 0.1
    max_bullet_lines_ratio: float = 0.9
    max_ellipsis_lines_ratio: float = 0.3
    min_alpha_words_ratio: float = 0.8
    min_stop_words: int = 2
    stop_words: tuple[str, ...] = GOPHER_STOP_WORDS

    def __post_init__(self) -> None:
        _check_languages(self.languages)
        if self.min_words < 0:
            raise RecipeError("min_words", "an integer >= 0", self.min_words)
        if self.max_words < self.min_words:
            raise RecipeError("max_words", f"an integer >= min_words ({self.min_words})", self.max_words)
        if self.max_mean_word_length < self.min_mean_word_length:
            raise RecipeError("max_mean_word_length", f"a number >= min_mean_word_length ({self.min_mean_word_length})", self.max_mean_word_length)
        _check_positive("max_symbol_word_ratio", self.max_symbol_word_ratio)
        for name in ("max_bullet_lines_ratio", "max_ellipsis_lines_ratio", "min_alpha_words_ratio"):
            _check_fraction(name, getattr(self, name))
        if self.min_stop_words < 0:
            raise RecipeError("min_stop_words", "an integer >= 0", self.min_stop_words)


@dataclass(frozen=True)
class GopherRepetitionRules:
    """``filters.gopher_repetition``: Gopher's repetition removal (Rae et al. 2021, table A1).

    Fractions: duplicate lines 0.30, duplicate paragraphs 0.30, characters in duplicate lines
    0.20, characters in duplicate paragraphs 0.20; characters in the most frequent 2/3/4-gram
    0.20/0.18/0.16; characters in duplicate 5..10-grams 0.15 down to 0.10. Keys of the two n-gram
    mappings are n, values the maximum fraction.

    ``languages``: apply only to documents whose ``language`` tag (set by ``filters.language``) is
    one of these; empty (the default) applies to all. The rules count whitespace-separated words,
    so a document in Chinese, Japanese or Thai fails them by construction: on a multilingual
    source, list the space-delimited languages here.
    """

    enabled: bool | None = None
    languages: tuple[str, ...] = ()
    max_dup_line_fraction: float = 0.30
    max_dup_paragraph_fraction: float = 0.30
    max_dup_line_char_fraction: float = 0.20
    max_dup_paragraph_char_fraction: float = 0.20
    # Keys are n; ``Any`` because a resolved recipe written as JSON or YAML (the build manifest,
    # ``--dry-run``) has them as strings: __post_init__ turns "2" back into 2.
    max_top_ngram_char_fraction: dict[Any, float] = field(default_factory=lambda: {2: 0.20, 3: 0.18, 4: 0.16})
    max_dup_ngram_char_fraction: dict[Any, float] = field(
        default_factory=lambda: {5: 0.15, 6: 0.14, 7: 0.13, 8: 0.12, 9: 0.11, 10: 0.10}
    )

    def __post_init__(self) -> None:
        _check_languages(self.languages)
        for name in (
            "max_dup_line_fraction",
            "max_dup_paragraph_fraction",
            "max_dup_line_char_fraction",
            "max_dup_paragraph_char_fraction",
        ):
            _check_fraction(name, getattr(self, name))
        for name in ("max_top_ngram_char_fraction", "max_dup_ngram_char_fraction"):
            limits: dict[int, float] = {}
            for n, frac in getattr(self, name).items():
                if isinstance(n, str) and n.isdigit():
                    n = int(n)
                if not isinstance(n, int) or isinstance(n, bool) or n < 1:
                    raise RecipeError(f"{name}.{n}", "n-gram sizes (integers >= 1) as keys", n)
                _check_fraction(f"{name}.{n}", frac)
                limits[n] = frac
            object.__setattr__(self, name, limits)  # frozen: normalise keys once, here


@dataclass(frozen=True)
class C4Rules:
    """``filters.c4``: C4's page cleaning (Raffel et al. 2020, section 2.2; TFDS ``c4_utils``).

    Line rules (the line is removed, the document kept): no terminal punctuation (``. ? ! "``) or
    ending in "...", fewer than 5 words, a word longer than 1,000 characters, the word
    "javascript", a cookie/terms-of-use notice. Wikipedia-style citation markers (``[1]``,
    ``[edit]``, ``[citation needed]``) are deleted. Document rules (dropped): "lorem ipsum", a
    curly bracket (code), a word of ``bad_words_file`` (one word or phrase per line, e.g. the
    LDNOOBW list C4 used; off when null), or fewer than 3 sentences left after line removal.

    ``languages``: apply only to documents whose ``language`` tag (set by ``filters.language``) is
    one of these; empty (the default) applies to all. The rules count whitespace-separated words,
    so a document in Chinese, Japanese or Thai fails them by construction: on a multilingual
    source, list the space-delimited languages here.
    """

    enabled: bool | None = None
    languages: tuple[str, ...] = ()
    min_words_per_line: int = 5
    min_sentences: int = 3
    max_word_length: int = 1000
    terminal_punctuation: bool = True
    remove_citations: bool = True
    javascript: bool = True
    policy: bool = True
    lorem_ipsum: bool = True
    curly_bracket: bool = True
    bad_words_file: str | None = None

    def __post_init__(self) -> None:
        _check_languages(self.languages)
        for name in ("min_words_per_line", "min_sentences"):
            if getattr(self, name) < 0:
                raise RecipeError(name, "an integer >= 0", getattr(self, name))
        if self.max_word_length < 1:
            raise RecipeError("max_word_length", "an integer >= 1", self.max_word_length)


@dataclass(frozen=True)
class FineWebRules:
    """``filters.fineweb``: FineWeb's custom filters (Penedo et al. 2024; datatrove
    ``FineWebQualityFilter`` defaults).

    Drop when at most 12% of lines end in punctuation, when at least 67% of lines are 30
    characters or shorter, when at least 1% of the characters sit in duplicated lines, or when
    there are more than 0.3 newlines per word (lists).

    ``languages``: apply only to documents whose ``language`` tag (set by ``filters.language``) is
    one of these; empty (the default) applies to all. The rules count whitespace-separated words,
    so a document in Chinese, Japanese or Thai fails them by construction: on a multilingual
    source, list the space-delimited languages here.
    """

    enabled: bool | None = None
    languages: tuple[str, ...] = ()
    min_line_punct_ratio: float = 0.12
    max_short_line_ratio: float = 0.67
    short_line_length: int = 30
    max_dup_line_char_ratio: float = 0.01
    max_newline_word_ratio: float = 0.3

    def __post_init__(self) -> None:
        _check_languages(self.languages)
        for name in ("min_line_punct_ratio", "max_short_line_ratio", "max_dup_line_char_ratio"):
            _check_fraction(name, getattr(self, name))
        _check_positive("max_newline_word_ratio", self.max_newline_word_ratio)
        if self.short_line_length < 0:
            raise RecipeError("short_line_length", "an integer >= 0", self.short_line_length)


@dataclass(frozen=True)
class CodeRules:
    """``filters.code``: source-file rules of The Stack / StarCoder (Li et al. 2023, section 3:
    drop files with a line longer than 1,000 characters, a mean line length above 100, or fewer
    than 25% alphanumeric characters) and CodeParrot's auto-generated test (a marker such as
    "auto-generated" in the first 5 lines; markers matched case-insensitively). Off by default
    for every kind: the ``code`` reader applies the same rules at read time; turn this on for
    code that arrives through a ``text`` source.
    """

    enabled: bool | None = None
    max_line_length: int = 1000
    max_mean_line_length: float = 100.0
    min_alnum_fraction: float = 0.25
    autogenerated_markers: tuple[str, ...] = ("auto-generated", "autogenerated", "automatically generated")
    autogenerated_scan_lines: int = 5

    def __post_init__(self) -> None:
        if self.max_line_length < 1:
            raise RecipeError("max_line_length", "an integer >= 1", self.max_line_length)
        _check_positive("max_mean_line_length", self.max_mean_line_length)
        _check_fraction("min_alnum_fraction", self.min_alnum_fraction)
        if self.autogenerated_scan_lines < 0:
            raise RecipeError("autogenerated_scan_lines", "an integer >= 0", self.autogenerated_scan_lines)


@dataclass(frozen=True)
class QualityRules:
    """``filters.quality``: score with the quality classifier (``quality.model``) and keep by
    Pareto-noisy thresholding. ``enabled: null`` means on for ``web`` sources when
    ``quality.model`` is set. ``tag_only: true`` stores ``quality_score`` without dropping
    (Dolma's "tag, don't drop")."""

    enabled: bool | None = None
    tag_only: bool = False


@dataclass(frozen=True)
class SourceFilters:
    """Per-source ``filters``: one mapping per rule family, applied in this order: language,
    gopher_repetition, gopher_quality, c4, fineweb, code, quality (FineWeb's pipeline order:
    language first, the repetition and quality rules on the raw text, then C4's line
    cleaning, then the classifier on the cleaned text)."""

    language: LanguageRules = field(default_factory=LanguageRules)
    gopher_repetition: GopherRepetitionRules = field(default_factory=GopherRepetitionRules)
    gopher_quality: GopherQualityRules = field(default_factory=GopherQualityRules)
    c4: C4Rules = field(default_factory=C4Rules)
    fineweb: FineWebRules = field(default_factory=FineWebRules)
    code: CodeRules = field(default_factory=CodeRules)
    quality: QualityRules = field(default_factory=QualityRules)


@dataclass(frozen=True)
class QualityConfig:
    """Top-level ``quality``: the classifier's training and its use at build time.

    - ``model``: the folder written by ``dataprep quality train`` (``DIR/quality``) or its
      ``model.json``; null disables scoring. Relative paths are taken from the recipe
      file's folder, like source paths.
    - ``positive_sources``: names of sources used as positives besides every ``books`` and
      ``wiki`` source (GLaM: curated text); ``negative_sources``: negatives, default every
      ``web`` source (raw web pages).
    - ``alpha`` 9: Pareto shape of the noisy threshold (GPT-3, Brown et al. 2020, appendix A;
      GLaM keeps the same scheme): keep when ``pareto(alpha) > 1 - score``.
    - ``n_features`` 2**20 hashed features, ``ngram_max`` 2 (word unigrams and bigrams): GLaM's
      "feature hash based linear classifier" at a size where collisions are rare for a
      vocabulary of a few hundred thousand n-grams.
    - ``chunk_chars`` 2,000: documents are cut into chunks of about this many characters; a
      chunk is one training example and a document's score is the mean of its chunks' scores,
      so a 700 KB novel and a 2 KB web page are scored on the same scale.
    - ``max_chunks_per_source`` 5,000: training examples per source, sampled by hash, so that
      one large source does not decide the classifier alone.
    - ``max_score_chars`` 100,000: at most this many leading characters are scored.
    - ``heldout_fraction`` 0.2: documents (never chunks, so no leakage) held out for the ROC AUC.
    - ``c`` 1.0: inverse L2 regularisation of the logistic regression (scikit-learn's default).
    """

    model: str | None = None
    positive_sources: tuple[str, ...] = ()
    negative_sources: tuple[str, ...] = ()
    alpha: float = 9.0
    n_features: int = 2**20
    ngram_max: int = 2
    chunk_chars: int = 2000
    max_chunks_per_source: int = 5000
    max_score_chars: int = 100_000
    heldout_fraction: float = 0.2
    c: float = 1.0

    def __post_init__(self) -> None:
        _check_positive("alpha", self.alpha)
        if self.n_features < 2 or self.n_features & (self.n_features - 1):
            raise RecipeError("n_features", "a power of two >= 2, e.g. 1048576", self.n_features)
        if not 1 <= self.ngram_max <= 5:
            raise RecipeError("ngram_max", "an integer from 1 to 5", self.ngram_max)
        if self.chunk_chars < 100:
            raise RecipeError("chunk_chars", "an integer >= 100", self.chunk_chars)
        if self.max_chunks_per_source < 1:
            raise RecipeError("max_chunks_per_source", "an integer >= 1", self.max_chunks_per_source)
        if self.max_score_chars < self.chunk_chars:
            raise RecipeError("max_score_chars", f"an integer >= chunk_chars ({self.chunk_chars})", self.max_score_chars)
        if not 0.0 < self.heldout_fraction < 1.0:
            raise RecipeError("heldout_fraction", "a number between 0 and 1 (exclusive)", self.heldout_fraction)
        _check_positive("c", self.c)
        overlap = set(self.positive_sources) & set(self.negative_sources)
        if overlap:
            raise RecipeError("positive_sources", "sources not also listed in negative_sources", sorted(overlap))
