"""Quality classifier: training and scoring on small synthetic data, Pareto thresholding."""

from __future__ import annotations

import json
import random

import pytest

from dataprep.errors import FormatError, RecipeError
from dataprep.filters import QualityCheck, make_checks
from dataprep.filters.classifier import (
    QualityModel,
    chunks,
    hash_unit,
    label_sources,
    pareto_keep,
    pareto_keep_probability,
    save_training,
    train_quality_model,
)
from dataprep.filters.config import QualityConfig
from dataprep.recipe import parse_recipe
from dataprep.records import Document

PROSE = (
    "she walked slowly along the river and thought about her sister who had written "
    "a long letter full of news from the country where the harvest had been good this year "
    "and everyone was cheerful although the weather remained uncertain"
).split()
WEB = (
    "home login sign up cart menu search click here subscribe newsletter privacy "
    "terms share tweet follow next previous page top download free best price buy now"
).split()


def synthetic(source: str, vocab: list[str], n_docs: int, seed: int) -> list[Document]:
    rng = random.Random(seed)
    return [
        Document(f"{source}/f#{i}", source, " ".join(rng.choice(vocab) for _ in range(rng.randint(80, 400))), {})
        for i in range(n_docs)
    ]


DOCS = synthetic("books", PROSE, 60, 1) + synthetic("web", WEB, 60, 2) + synthetic("chat", PROSE, 5, 3)
LABELS = {"books": 1, "web": 0}
CONFIG = QualityConfig(n_features=2**14, chunk_chars=500, heldout_fraction=0.3)


@pytest.fixture(scope="module")
def trained():
    return train_quality_model(lambda: iter(DOCS), LABELS, CONFIG, seed=5)


def test_train_separates_classes_and_reports_auc(trained):
    model, metrics = trained
    assert metrics["heldout_doc_auc"] == 1.0
    assert metrics["heldout_chunk_auc"] == 1.0
    assert metrics["heldout_docs"] > 0 and metrics["train_chunks"] > 0
    assert set(metrics["sources"]) == {"books", "web"}  # unlabelled "chat" is not used
    assert model.score(" ".join(PROSE)) > 0.5 > model.score(" ".join(WEB))


def test_training_is_deterministic_and_order_independent(trained, tmp_path):
    model, metrics = trained
    shuffled = list(reversed(DOCS))
    model2, metrics2 = train_quality_model(lambda: iter(shuffled), LABELS, CONFIG, seed=5)
    assert metrics2 == metrics
    save_training(model, metrics, str(tmp_path / "a"))
    save_training(model2, metrics2, str(tmp_path / "b"))
    for name in ("model.json", "model.npy.zst", "metrics.json"):
        assert (tmp_path / "a" / name).read_bytes() == (tmp_path / "b" / name).read_bytes()


def test_save_load_round_trip(trained, tmp_path):
    model, metrics = trained
    save_training(model, metrics, str(tmp_path))
    loaded = QualityModel.load(str(tmp_path))
    assert loaded.score(DOCS[0].text) == model.score(DOCS[0].text)
    assert QualityModel.load(str(tmp_path / "model.json")).n_features == 2**14
    assert json.loads((tmp_path / "metrics.json").read_text())["heldout_doc_auc"] == 1.0


def test_load_rejects_missing_and_foreign_files(tmp_path):
    with pytest.raises(FormatError, match="no quality model"):
        QualityModel.load(str(tmp_path))
    (tmp_path / "model.json").write_text(json.dumps({"format": "something else"}))
    with pytest.raises(FormatError, match="expected format"):
        QualityModel.load(str(tmp_path))


def test_score_is_mean_over_chunks_and_bounded(trained):
    model, _ = trained
    long_text = " ".join(PROSE * 200)
    assert 0.0 <= model.score(long_text) <= 1.0
    assert 0.0 <= model.score("") <= 1.0


def test_chunks_cover_the_text():
    text = "word " * 1000
    assert "".join(chunks(text, 300)) == text
    assert chunks("short", 300) == ["short"]
    assert all(len(c) >= 75 for c in chunks(text, 300))


def test_label_sources_rules():
    kinds = {"web": "web", "news": "text", "books": "books", "wiki": "wiki", "chat": "dialogue"}
    assert label_sources(kinds, QualityConfig()) == {"web": 0, "books": 1, "wiki": 1}
    assert label_sources(kinds, QualityConfig(positive_sources=("news",), negative_sources=("chat",))) == {"news": 1, "chat": 0, "books": 1, "wiki": 1}
    with pytest.raises(RecipeError, match="closest|did you mean"):
        label_sources(kinds, QualityConfig(positive_sources=("newz",)))
    with pytest.raises(RecipeError, match="positive_sources"):
        label_sources({"web": "web"}, QualityConfig())
    with pytest.raises(RecipeError, match="negative_sources"):
        label_sources({"b": "books"}, QualityConfig())


def test_pareto_keep_is_deterministic_and_matches_its_distribution():
    ids = [f"web/f#{i}" for i in range(20000)]
    for score in (0.2, 0.6, 0.9):
        kept = [pareto_keep(score, i, 11, 9.0) for i in ids]
        assert kept == [pareto_keep(score, i, 11, 9.0) for i in ids]  # same seed, same draws
        rate = sum(kept) / len(ids)
        assert rate == pytest.approx(pareto_keep_probability(score, 9.0), abs=0.01)
    assert [pareto_keep(0.9, i, 11, 9.0) for i in ids[:200]] != [pareto_keep(0.9, i, 12, 9.0) for i in ids[:200]]
    assert all(pareto_keep(1.0, i, 0, 9.0) for i in ids[:100])
    assert 0.0 <= hash_unit(1, "x") < 1.0


def test_quality_check_scores_and_thresholds(trained, tmp_path):
    model, metrics = trained
    save_training(model, metrics, str(tmp_path / "quality"))
    r = parse_recipe({
        "name": "t", "seed": 3,
        "sources": [{"name": "web", "kind": "web", "paths": ["x"], "weight": 1.0,
                     "filters": {k: {"enabled": False} for k in ("language", "gopher_repetition", "gopher_quality", "c4", "fineweb")}}],
        "quality": {"model": str(tmp_path / "quality"), "alpha": 9},
    })
    checks = make_checks(r.sources[0], r.quality, r.seed)
    assert [c.name for c in checks] == ["quality"]
    check = checks[0]
    assert isinstance(check, QualityCheck)
    check.setup()
    good = Document("web/a#1", "web", " ".join(PROSE * 3), {})
    bad = Document("web/a#2", "web", " ".join(WEB * 3), {})
    kept, verdict = check(good)
    assert kept.meta["quality_score"] > 0.5
    assert verdict.keep is pareto_keep(kept.meta["quality_score"], good.id, 3, 9.0)
    tagged, verdict = check(bad)
    assert tagged.meta["quality_score"] < 0.5
    assert verdict == ((True, None) if pareto_keep(tagged.meta["quality_score"], bad.id, 3, 9.0) else (False, "quality"))
    tag_only = QualityCheck(str(tmp_path / "quality"), 9.0, 3, tag_only=True)
    assert tag_only(bad)[1].keep


def test_quality_train_cli_on_a_store(tmp_path):
    from click.testing import CliRunner

    from dataprep.store import parquet_bytes, part_name
    from pipelines.commands.quality import quality

    for source in ("books", "web"):
        d = tmp_path / "out" / "documents" / source
        d.mkdir(parents=True)
        (d / part_name(0, 1)).write_bytes(parquet_bytes(sorted((x for x in DOCS if x.source == source), key=lambda x: x.id)))
    (tmp_path / "r.yaml").write_text(
        "name: t\nseed: 5\nsources:\n"
        "  - {name: books, kind: books, paths: [b/*.txt], weight: 1}\n"
        "  - {name: web, kind: web, paths: [w/*.warc.gz], weight: 1}\n"
        "  - {name: chat, kind: dialogue, paths: [c/*.jsonl], weight: 1}\n"
        "quality: {n_features: 16384, chunk_chars: 500, heldout_fraction: 0.3}\n"
    )
    runner = CliRunner()
    result = runner.invoke(quality, ["train", str(tmp_path / "r.yaml"), "--out", str(tmp_path / "out")])
    assert result.exit_code == 0, result.output
    assert "held-out ROC AUC: documents 1.0000" in result.output
    metrics = json.loads((tmp_path / "out" / "quality" / "metrics.json").read_text())
    assert metrics["heldout_doc_auc"] == 1.0
    (tmp_path / "p.txt").write_text(" ".join(PROSE))
    result = runner.invoke(quality, ["score", str(tmp_path / "out" / "quality"), str(tmp_path / "p.txt")])
    assert result.exit_code == 0 and "p.txt" in result.output
    result = runner.invoke(quality, ["train", str(tmp_path / "r.yaml"), "--out", str(tmp_path / "nothing")])
    assert result.exit_code != 0 and "no document store" in result.output
