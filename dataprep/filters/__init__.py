"""Quality filters: pure predicates returning a `Verdict`, configured per source in the recipe.

The build calls `make_checks` once per source and applies the checks in order to every document;
the first ``Verdict(False, reason)`` drops the document and is counted as ``dropped_<reason>``.
A check is a small picklable object (``name``, ``setup()``, ``__call__(doc)``): rule checks wrap a
pure function of the text; the language and quality checks load their model in ``setup()`` (once
per worker; ``__call__`` also loads it lazily, so a check works without the Beam lifecycle).

Rule families and where their defaults come from are in `dataprep.filters.config`; which are on
for which kind of source is `KIND_DEFAULTS`.
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, Any, Callable, Pattern

from dataprep.errors import RecipeError
from dataprep.filters.c4 import c4_clean, load_bad_words
from dataprep.filters.classifier import QualityModel, pareto_keep
from dataprep.filters.code import code_quality
from dataprep.filters.config import (
    C4Rules,
    CodeRules,
    FineWebRules,
    GopherQualityRules,
    GopherRepetitionRules,
    LanguageRules,
    QualityConfig,
    SourceFilters,
)
from dataprep.filters.fineweb import fineweb_quality
from dataprep.filters.gopher import gopher_quality, gopher_repetition
from dataprep.filters.langid import identify, load_identifier
from dataprep.records import KEEP, Document, Verdict

if TYPE_CHECKING:  # dataprep.recipe imports this package's config: no import at run time
    from dataprep.recipe import SourceSpec

# Rule families in application order (FineWeb's order: language, Gopher repetition, Gopher
# quality, C4, FineWeb; code rules; the classifier last, on the cleaned text).
FAMILIES = ("language", "gopher_repetition", "gopher_quality", "c4", "fineweb", "code", "quality")

# Families on by default for each kind (``enabled: null``). Web gets the full FineWeb stack;
# generic text the Gopher rules; curated kinds (books, wiki) and dialogue only a language tag,
# since Gopher's 100,000-word cap and line rules would drop whole novels and short turns. Code
# gets nothing here: the code reader already applies the same file rules at read time, with the
# same thresholds (``docs/code.md``), so the ``code`` family is for code that arrives through a
# ``text`` source (JSONL or Parquet code datasets). The quality family is on for web when
# ``quality.model`` is set.
KIND_DEFAULTS: dict[str, frozenset[str]] = {
    "web": frozenset({"language", "gopher_repetition", "gopher_quality", "c4", "fineweb", "quality"}),
    "text": frozenset({"language", "gopher_repetition", "gopher_quality"}),
    "books": frozenset({"language"}),
    "wiki": frozenset({"language"}),
    "dialogue": frozenset({"language"}),
    "code": frozenset(),
}


class Check:
    """Base of all checks: ``name``, an idempotent ``setup()``, ``__call__(doc)``."""

    name: str = ""

    def setup(self) -> None:
        """Load heavy resources (once per worker). Idempotent."""

    def __call__(self, doc: Document) -> tuple[Document, Verdict]:  # pragma: no cover - abstract
        raise NotImplementedError

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.name!r})"


def applies_to(rules: Any, doc: Document) -> bool:
    """Whether a rule family with a ``languages`` list applies to ``doc`` (by its ``language``
    tag; an untagged document is checked only when the list is empty)."""
    languages = getattr(rules, "languages", ())
    return not languages or doc.meta.get("language") in languages


class RuleCheck(Check):
    """A pure rule ``fn(text, rules) -> Verdict`` over the document's text."""

    def __init__(self, name: str, fn: Callable[[str, Any], Verdict], rules: Any) -> None:
        self.name = name
        self.fn = fn
        self.rules = rules

    def __call__(self, doc: Document) -> tuple[Document, Verdict]:
        if not applies_to(self.rules, doc):
            return doc, KEEP
        return doc, self.fn(doc.text, self.rules)


class C4Check(Check):
    """C4's cleaning: returns the document with bad lines removed, or a drop verdict."""

    name = "c4"

    def __init__(self, rules: C4Rules) -> None:
        self.rules = rules
        self._bad_words: Pattern[str] | None = None
        self._loaded = False

    def setup(self) -> None:
        if not self._loaded:
            self._bad_words = load_bad_words(self.rules.bad_words_file) if self.rules.bad_words_file else None
            self._loaded = True

    def __getstate__(self) -> dict[str, Any]:
        return {"rules": self.rules, "_bad_words": None, "_loaded": False}

    def __call__(self, doc: Document) -> tuple[Document, Verdict]:
        if not applies_to(self.rules, doc):
            return doc, KEEP
        self.setup()
        text, verdict = c4_clean(doc.text, self.rules, self._bad_words)
        if verdict.keep and text != doc.text:
            doc = doc._replace(text=text)
        return doc, verdict


class LanguageCheck(Check):
    """Tags ``language`` and ``language_score``; drops (reason ``language``) a document whose
    language is not allowed or scores below ``min_score``, when ``allowed`` is not empty."""

    name = "language"

    def __init__(self, rules: LanguageRules) -> None:
        self.rules = rules
        self._identifier: Any = None

    def setup(self) -> None:
        if self._identifier is None:
            self._identifier = load_identifier()

    def __getstate__(self) -> dict[str, Any]:
        return {"rules": self.rules, "_identifier": None}

    def __call__(self, doc: Document) -> tuple[Document, Verdict]:
        self.setup()
        lang, score = identify(self._identifier, doc.text, self.rules.max_chars)
        doc = doc._replace(meta={**doc.meta, "language": lang, "language_score": score})
        if self.rules.allowed and (lang not in self.rules.allowed or score < self.rules.min_score):
            return doc, Verdict(False, "language")
        return doc, KEEP


class QualityCheck(Check):
    """Scores with the quality classifier into ``quality_score`` and keeps by Pareto-noisy
    thresholding (reason ``quality``), unless ``tag_only``."""

    name = "quality"

    def __init__(self, model_path: str, alpha: float, seed: int, tag_only: bool = False) -> None:
        self.model_path = model_path
        self.alpha = alpha
        self.seed = seed
        self.tag_only = tag_only
        self._model: QualityModel | None = None

    def setup(self) -> None:
        if self._model is None:
            self._model = QualityModel.load(self.model_path)

    def __getstate__(self) -> dict[str, Any]:
        return {**self.__dict__, "_model": None}

    def __call__(self, doc: Document) -> tuple[Document, Verdict]:
        self.setup()
        score = self._model.score(doc.text)  # type: ignore[union-attr]  # loaded by setup()
        doc = doc._replace(meta={**doc.meta, "quality_score": score})
        if not self.tag_only and not pareto_keep(score, doc.id, self.seed, self.alpha):
            return doc, Verdict(False, "quality")
        return doc, KEEP


def is_enabled(family: str, enabled: bool | None, kind: str, quality: QualityConfig) -> bool:
    """Whether a rule family runs for a source of ``kind``: the recipe's ``enabled`` if set,
    else `KIND_DEFAULTS` (the quality family also needs ``quality.model``)."""
    if enabled is not None:
        return enabled
    on = family in KIND_DEFAULTS.get(kind, frozenset())
    if family == "quality":
        return on and quality.model is not None
    return on


def make_checks(spec: "SourceSpec", quality: QualityConfig, seed: int) -> list[Check]:
    """The checks of one source, in application order.

    Args:
        spec: the source's `SourceSpec` (uses ``.name``, ``.kind`` and ``.filters``).
        quality: the recipe's top-level ``quality`` section.
        seed: the recipe seed (Pareto draws are a hash of it and the document id).

    Raises:
        RecipeError: the quality family is on but ``quality.model`` is unset or missing, or a
            ``bad_words_file`` does not exist.
    """
    filters: SourceFilters = spec.filters
    key = f"sources ({spec.name}).filters"
    checks: list[Check] = []
    for family in FAMILIES:
        rules = getattr(filters, family)
        if not is_enabled(family, rules.enabled, spec.kind, quality):
            continue
        if family == "language":
            checks.append(LanguageCheck(rules))
        elif family == "gopher_repetition":
            checks.append(RuleCheck(family, gopher_repetition, rules))
        elif family == "gopher_quality":
            checks.append(RuleCheck(family, gopher_quality, rules))
        elif family == "c4":
            if rules.bad_words_file and not os.path.isfile(rules.bad_words_file):
                raise RecipeError(f"{key}.c4.bad_words_file", "an existing file (one word per line)", rules.bad_words_file)
            checks.append(C4Check(rules))
        elif family == "fineweb":
            checks.append(RuleCheck(family, fineweb_quality, rules))
        elif family == "code":
            checks.append(RuleCheck(family, code_quality, rules))
        elif family == "quality":
            if quality.model is None:
                raise RecipeError(
                    "quality.model",
                    f"a trained model folder (filters.quality is on for source '{spec.name}')",
                    None,
                    hint="run `dataprep quality train RECIPE --out DIR` and set quality.model: DIR/quality",
                )
            path = quality.model
            if not os.path.exists(path if path.endswith(".json") else os.path.join(path, "model.json")):
                raise RecipeError("quality.model", "a folder written by `dataprep quality train` (with model.json)", path)
            checks.append(QualityCheck(path, quality.alpha, seed, rules.tag_only))
    return checks


def apply_checks(checks: list[Check], doc: Document) -> tuple[Document, Verdict]:
    """Run ``checks`` in order; the first drop wins. For tests, benchmarks and the report."""
    for check in checks:
        doc, verdict = check(doc)
        if not verdict.keep:
            return doc, verdict
    return doc, KEEP


__all__ = [
    "FAMILIES",
    "KIND_DEFAULTS",
    "Check",
    "RuleCheck",
    "C4Check",
    "LanguageCheck",
    "QualityCheck",
    "is_enabled",
    "make_checks",
    "apply_checks",
    "C4Rules",
    "CodeRules",
    "FineWebRules",
    "GopherQualityRules",
    "GopherRepetitionRules",
    "LanguageRules",
    "QualityConfig",
    "SourceFilters",
]
