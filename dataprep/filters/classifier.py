"""The quality classifier: curated text (books, Wikipedia) against raw web pages, as in GLaM.

A linear model (scikit-learn ``LogisticRegression``) over hashed word 1..n-gram features
(``HashingVectorizer``: no vocabulary to store, the same features at train and score time).
Documents are cut into chunks of about ``chunk_chars`` characters; a chunk is one training
example and a document's score is the mean probability of its chunks, so long and short
documents are scored on one scale. At build time a document is kept by Pareto-noisy
thresholding (GPT-3, Brown et al. 2020, appendix A; GLaM, Du et al. 2022): keep when
``pareto(alpha) > 1 - score``, with the Pareto draw a function of a hash of (seed, document id).

The saved model is two files in ``DIR/quality``: ``model.json`` (format line, vectoriser
parameters, intercept, training summary) and ``model.npy.zst`` (the float32 weight vector,
zstd-compressed: most hashed features never occur, so it compresses well). No pickle, so a model
loads across scikit-learn versions.
"""

from __future__ import annotations

import heapq
import io
import os
from dataclasses import dataclass
from typing import Any, Callable, Iterable, Iterator, Mapping

import numpy as np
import xxhash
import zstandard

from dataprep.errors import FormatError, RecipeError
from dataprep.filters.config import QualityConfig
from dataprep.manifest import read_manifest, write_atomic, write_json_atomic
from dataprep.records import Document

MODEL_FORMAT = "dataprep-quality v1"
MODEL_JSON = "model.json"
MODEL_WEIGHTS = "model.npy.zst"
METRICS_JSON = "metrics.json"
# Held-out documents scored per source for the document-level metrics (bottom-k by hash).
MAX_HELDOUT_DOCS_PER_SOURCE = 500


def hash_unit(seed: int, *parts: object) -> float:
    """A number in [0, 1) that is a function of ``(seed, *parts)`` only (xxh64).

    >>> hash_unit(1, "web/a#0") == hash_unit(1, "web/a#0")
    True
    """
    key = "\x1f".join([str(seed), *map(str, parts)])
    return xxhash.xxh64_intdigest(key.encode("utf-8")) / 2.0**64


def pareto_keep(score: float, doc_id: str, seed: int, alpha: float) -> bool:
    """GPT-3's noisy threshold: keep when ``pareto(alpha) > 1 - score``.

    The draw is numpy's Pareto II (Lomax) by inverse CDF, ``(1 - u) ** (-1 / alpha) - 1``, with
    ``u = hash_unit(seed, "pareto", doc_id)``, so the same document gets the same draw on every
    run and worker. With alpha 9 a document scoring 0.9 survives with probability 0.42, one
    scoring 0.5 with probability 0.026.

    >>> pareto_keep(1.0, "any", 0, 9.0)  # score 1 needs a draw > 0: always kept
    True
    """
    u = hash_unit(seed, "pareto", doc_id)
    draw = (1.0 - u) ** (-1.0 / alpha) - 1.0
    return draw > 1.0 - score


QUALITY_BINS = 20


def quality_bin(score: float) -> int:
    """Histogram bin of a quality score: 20 bins of width 0.05, score 1.0 in the last.

    The report and the build manifest's ``quality_histogram`` use this binning.

    >>> quality_bin(0.0), quality_bin(0.049), quality_bin(0.05), quality_bin(1.0)
    (0, 0, 1, 19)
    """
    return min(QUALITY_BINS - 1, max(0, int(score * QUALITY_BINS)))


def pareto_keep_probability(score: float, alpha: float) -> float:
    """P(pareto(alpha) > 1 - score) = (2 - score) ** -alpha, for documentation and tests."""
    return (2.0 - score) ** (-alpha)


def chunks(text: str, chunk_chars: int) -> list[str]:
    """Cut ``text`` into pieces of about ``chunk_chars`` characters, at whitespace where one is
    near; a short tail joins the previous piece. Empty text gives one empty chunk.

    >>> [len(c) for c in chunks("word " * 100, 120)]
    [125, 125, 125, 125]
    """
    n = len(text)
    if n <= chunk_chars:
        return [text]
    out: list[str] = []
    start = 0
    while start < n:
        end = start + chunk_chars
        if end >= n:
            out.append(text[start:])
            break
        space = text.find(" ", end, end + 200)
        newline = text.find("\n", end, end + 200)
        cut = min((p for p in (space, newline) if p != -1), default=end)
        out.append(text[start : cut + 1])
        start = cut + 1
    if len(out) > 1 and len(out[-1]) < chunk_chars // 4:
        tail = out.pop()
        out[-1] += tail
    return out


def make_vectorizer(n_features: int, ngram_max: int) -> Any:
    """scikit-learn's stateless hashing vectoriser: lower-cased word 1..ngram_max-grams,
    non-negative counts, L2-normalised rows."""
    from sklearn.feature_extraction.text import HashingVectorizer

    return HashingVectorizer(
        n_features=n_features,
        ngram_range=(1, ngram_max),
        alternate_sign=False,
        norm="l2",
        lowercase=True,
        dtype=np.float32,
    )


class QualityModel:
    """A trained classifier: ``score(text)`` is the probability that text is curated."""

    def __init__(
        self,
        coef: np.ndarray,
        intercept: float,
        n_features: int,
        ngram_max: int,
        chunk_chars: int,
        max_score_chars: int,
        info: Mapping[str, Any] | None = None,
    ) -> None:
        if coef.shape != (n_features,):
            raise FormatError(f"quality model: weight vector has shape {coef.shape}, expected ({n_features},)")
        self.coef = coef.astype(np.float32)
        self.intercept = float(intercept)
        self.n_features = n_features
        self.ngram_max = ngram_max
        self.chunk_chars = chunk_chars
        self.max_score_chars = max_score_chars
        self.info = dict(info or {})
        self._vectorizer = make_vectorizer(n_features, ngram_max)

    def chunk_probabilities(self, texts: list[str]) -> np.ndarray:
        """Probability of the positive (curated) class for each text, as one chunk each."""
        x = self._vectorizer.transform(texts)
        z = x @ self.coef + self.intercept
        return 1.0 / (1.0 + np.exp(-z.astype(np.float64)))

    def score(self, text: str) -> float:
        """Mean chunk probability over the first ``max_score_chars`` characters, rounded to 6
        decimals (stable meta bytes)."""
        probs = self.chunk_probabilities(chunks(text[: self.max_score_chars], self.chunk_chars))
        return round(float(probs.mean()), 6)

    def save(self, directory: str) -> None:
        """Write ``model.npy.zst`` then ``model.json`` (last: its presence marks a complete model)."""
        buf = io.BytesIO()
        np.save(buf, self.coef, allow_pickle=False)
        blob = zstandard.ZstdCompressor(level=9).compress(buf.getvalue())
        write_atomic(os.path.join(directory, MODEL_WEIGHTS), lambda f: f.write(blob))
        meta = {
            "format": MODEL_FORMAT,
            "n_features": self.n_features,
            "ngram_max": self.ngram_max,
            "chunk_chars": self.chunk_chars,
            "max_score_chars": self.max_score_chars,
            "intercept": self.intercept,
            "weights": MODEL_WEIGHTS,
            **self.info,
        }
        write_json_atomic(os.path.join(directory, MODEL_JSON), meta)

    @classmethod
    def load(cls, path: str) -> "QualityModel":
        """Load from a model folder or its ``model.json``; `FormatError` if missing or foreign."""
        json_path = path if path.endswith(".json") else os.path.join(path, MODEL_JSON)
        meta = read_manifest(json_path, MODEL_FORMAT, missing="no quality model here (train one with `dataprep quality train`)")
        weights = os.path.join(os.path.dirname(json_path), meta["weights"])
        try:
            with open(weights, "rb") as f:
                raw = zstandard.ZstdDecompressor().decompress(f.read())
            coef = np.load(io.BytesIO(raw), allow_pickle=False)
        except (OSError, ValueError, zstandard.ZstdError) as e:
            raise FormatError(f"{weights}: unreadable quality weights: {e}") from None
        params = ("n_features", "ngram_max", "chunk_chars", "max_score_chars")
        info = {k: v for k, v in meta.items() if k not in ("format", "intercept", "weights", *params)}
        return cls(coef, meta["intercept"], *(meta[k] for k in params), info)


@dataclass(frozen=True)
class Example:
    """One training chunk."""

    key: float  # hash_unit(seed, "chunk", doc id, i): sampling and ordering key
    text: str
    label: int
    source: str


def label_sources(kinds: Mapping[str, str], config: QualityConfig) -> dict[str, int]:
    """Label of each source: 1 (curated) for ``books``/``wiki`` kinds and
    ``positive_sources``, 0 for ``web`` kinds and ``negative_sources``; other sources unused.

    ``kinds`` maps source name to kind. Raises `RecipeError` for an unknown source name or when
    either class has no source.

    >>> label_sources({"web": "web", "b": "books", "chat": "dialogue"}, QualityConfig())
    {'web': 0, 'b': 1}
    """
    from dataprep.configs import closest

    for key, names in (("quality.positive_sources", config.positive_sources), ("quality.negative_sources", config.negative_sources)):
        for name in names:
            if name not in kinds:
                raise RecipeError(key, "names of sources in the recipe", name, suggestion=closest(name, kinds))
    labels: dict[str, int] = {}
    for name, kind in kinds.items():
        if name in config.positive_sources:
            labels[name] = 1
        elif name in config.negative_sources:
            labels[name] = 0
        elif kind in ("books", "wiki") and name not in config.negative_sources:
            labels[name] = 1
        elif kind == "web" and not config.negative_sources:
            labels[name] = 0
    if 1 not in labels.values():
        raise RecipeError("quality.positive_sources", "at least one curated source (a books or wiki source, or a name listed here)", list(config.positive_sources))
    if 0 not in labels.values():
        raise RecipeError("quality.negative_sources", "at least one raw-web source (a web source, or a name listed here)", list(config.negative_sources))
    return labels


def is_heldout(doc_id: str, seed: int, fraction: float) -> bool:
    """Whether a document is in the held-out split (by hash of its id, never a random draw)."""
    return hash_unit(seed, "heldout", doc_id) < fraction


def sample_examples(docs: Iterable[Document], labels: Mapping[str, int], config: QualityConfig, seed: int) -> tuple[list[Example], list[Example]]:
    """Training and held-out chunks: for each source and split, the ``max_chunks_per_source``
    chunks with the smallest hash keys (bottom-k: the same sample whatever the reading order),
    returned sorted by key so that training is order-independent."""
    heaps: dict[tuple[str, bool], list[tuple[float, int, str]]] = {}
    cap = config.max_chunks_per_source
    for doc in docs:
        label = labels.get(doc.source)
        if label is None:
            continue
        held = is_heldout(doc.id, seed, config.heldout_fraction)
        heap = heaps.setdefault((doc.source, held), [])
        limit = max(1, round(cap * config.heldout_fraction)) if held else cap
        for i, piece in enumerate(chunks(doc.text[: config.max_score_chars], config.chunk_chars)):
            if len(piece.strip()) < 20:
                continue
            key = hash_unit(seed, "chunk", doc.id, i)
            item = (-key, i, piece)  # max-heap on key keeps the smallest keys
            if len(heap) < limit:
                heapq.heappush(heap, item)
            elif item > heap[0]:
                heapq.heapreplace(heap, item)
    train: list[Example] = []
    held: list[Example] = []
    for (source, is_held), heap in heaps.items():
        out = held if is_held else train
        out.extend(Example(-k, text, labels[source], source) for k, _, text in heap)
    train.sort(key=lambda e: e.key)
    held.sort(key=lambda e: e.key)
    return train, held


def fit(train: list[Example], config: QualityConfig, seed: int) -> QualityModel:
    """Fit the logistic regression on training chunks (balanced class weights)."""
    from sklearn.linear_model import LogisticRegression

    if len({e.label for e in train}) < 2:
        raise RecipeError(
            "quality",
            "training chunks of both classes (curated and web)",
            f"{len(train)} chunks of one class",
            hint="is the document store empty for one of the labelled sources?",
        )
    vectorizer = make_vectorizer(config.n_features, config.ngram_max)
    x = vectorizer.transform([e.text for e in train])
    y = np.array([e.label for e in train])
    clf = LogisticRegression(
        C=config.c, solver="liblinear", class_weight="balanced", random_state=seed, max_iter=1000
    )
    clf.fit(x, y)
    return QualityModel(
        clf.coef_[0].astype(np.float32),
        float(clf.intercept_[0]),
        config.n_features,
        config.ngram_max,
        config.chunk_chars,
        config.max_score_chars,
    )


def roc_auc(labels: list[int], scores: list[float]) -> float | None:
    """ROC AUC, or None when only one class is present."""
    from sklearn.metrics import roc_auc_score

    if len(set(labels)) < 2:
        return None
    return round(float(roc_auc_score(labels, scores)), 6)


def train_quality_model(
    read_docs: Callable[[], Iterator[Document]],
    labels: Mapping[str, int],
    config: QualityConfig,
    seed: int,
) -> tuple[QualityModel, dict[str, Any]]:
    """Train on the documents of labelled sources and measure on the held-out documents.

    ``read_docs`` is called twice (sample, then score held-out documents) and must yield the
    same documents each time. Returns the model and its metrics: chunk-level and
    document-level held-out ROC AUC, counts per source and split, and the mean held-out document
    score per source. Deterministic given the documents, the config and the seed.
    """
    train, held = sample_examples(read_docs(), labels, config, seed)
    model = fit(train, config, seed)
    chunk_scores = model.chunk_probabilities([e.text for e in held]).tolist() if held else []
    doc_heaps: dict[str, list[tuple[float, float, int]]] = {}
    for doc in read_docs():
        if doc.source in labels and is_heldout(doc.id, seed, config.heldout_fraction):
            heap = doc_heaps.setdefault(doc.source, [])
            key = hash_unit(seed, "heldout-doc", doc.id)
            item = (-key, model.score(doc.text), labels[doc.source])
            if len(heap) < MAX_HELDOUT_DOCS_PER_SOURCE:
                heapq.heappush(heap, item)
            elif item > heap[0]:
                heapq.heapreplace(heap, item)
    doc_items = sorted((item for heap in doc_heaps.values() for item in heap), key=lambda t: -t[0])
    per_source: dict[str, dict[str, Any]] = {}
    for name, label in sorted(labels.items()):
        scores = [s for _, s, _ in doc_heaps.get(name, [])]
        per_source[name] = {
            "label": label,
            "train_chunks": sum(1 for e in train if e.source == name),
            "heldout_chunks": sum(1 for e in held if e.source == name),
            "heldout_docs": len(scores),
            "heldout_mean_score": round(float(np.mean(scores)), 6) if scores else None,
        }
    metrics = {
        "format": "dataprep-quality-metrics v1",
        "seed": seed,
        "heldout_chunk_auc": roc_auc([e.label for e in held], chunk_scores),
        "heldout_doc_auc": roc_auc([lab for _, _, lab in doc_items], [s for _, s, _ in doc_items]),
        "train_chunks": len(train),
        "heldout_chunks": len(held),
        "heldout_docs": len(doc_items),
        "sources": per_source,
    }
    model.info = {"seed": seed, "labels": dict(sorted(labels.items())), "heldout_fraction": config.heldout_fraction, "c": config.c}
    return model, metrics


def save_training(model: QualityModel, metrics: Mapping[str, Any], directory: str) -> None:
    """Write the model and ``metrics.json`` to ``directory`` (``DIR/quality``)."""
    os.makedirs(directory, exist_ok=True)
    model.save(directory)
    write_json_atomic(os.path.join(directory, METRICS_JSON), dict(metrics))
