"""Language identification, the check objects, make_checks and the recipe sections."""

from __future__ import annotations

import pickle

import pytest

from dataprep.errors import RecipeError
from dataprep.filters import (
    KIND_DEFAULTS,
    C4Check,
    LanguageCheck,
    QualityCheck,
    RuleCheck,
    apply_checks,
    make_checks,
)
from dataprep.filters.config import LanguageRules, QualityConfig
from dataprep.filters.langid import identify, load_identifier
from dataprep.recipe import parse_recipe
from dataprep.records import Document

SAMPLES = {
    "en": "The committee will meet next week to discuss the budget for the new library and the park.",
    "fr": "Le comité se réunira la semaine prochaine pour discuter du budget de la nouvelle bibliothèque.",
    "es": "El comité se reunirá la próxima semana para discutir el presupuesto de la nueva biblioteca.",
    "de": "Der Ausschuss wird sich nächste Woche treffen, um das Budget für die neue Bibliothek zu besprechen.",
    "ru": "Комитет соберётся на следующей неделе, чтобы обсудить бюджет новой библиотеки и парка.",
    "ja": "委員会は来週、新しい図書館と公園の予算について話し合うために会合を開きます。",
}


@pytest.fixture(scope="module")
def identifier():
    return load_identifier()


@pytest.mark.parametrize("lang", sorted(SAMPLES))
def test_identify_languages(identifier, lang):
    code, score = identify(identifier, SAMPLES[lang])
    assert code == lang
    assert 0.65 <= score <= 1.0


def doc(text: str, i: int = 0, source: str = "web") -> Document:
    return Document(f"{source}/f.txt#{i}", source, text, {"file": "f.txt", "position": i})


def test_language_check_tags_and_filters():
    check = LanguageCheck(LanguageRules(allowed=("en", "fr")))
    check.setup()
    check.setup()  # idempotent
    kept, verdict = check(doc(SAMPLES["fr"]))
    assert verdict.keep
    assert kept.meta["language"] == "fr" and kept.meta["file"] == "f.txt"
    dropped, verdict = check(doc(SAMPLES["de"]))
    assert verdict == (False, "language")
    assert dropped.meta["language"] == "de"


def test_language_check_min_score_and_tag_only():
    strict = LanguageCheck(LanguageRules(allowed=("en",), min_score=1.0))
    _, verdict = strict(doc("ok"))  # a two-letter text is never certain
    assert verdict == (False, "language")
    tag_only = LanguageCheck(LanguageRules())
    tagged, verdict = tag_only(doc(SAMPLES["ja"]))
    assert verdict.keep and tagged.meta["language"] == "ja"


def test_language_rules_validate():
    with pytest.raises(RecipeError):
        LanguageRules(allowed=("EN",))
    with pytest.raises(RecipeError):
        LanguageRules(min_score=1.5)


def recipe(kind: str, filters: dict | None = None, quality: dict | None = None):
    src = {"name": "src", "kind": kind, "paths": ["x"], "weight": 1.0}
    if filters is not None:
        src["filters"] = filters
    data = {"name": "t", "sources": [src]}
    if quality is not None:
        data["quality"] = quality
    return parse_recipe(data)


@pytest.mark.parametrize("kind", sorted(KIND_DEFAULTS))
def test_make_checks_defaults_per_kind(kind):
    r = recipe(kind)
    names = [c.name for c in make_checks(r.sources[0], r.quality, r.seed)]
    expected = [f for f in ("language", "gopher_repetition", "gopher_quality", "c4", "fineweb", "code") if f in KIND_DEFAULTS[kind]]
    assert names == expected


def test_make_checks_overrides_and_order():
    r = recipe("books", {"language": {"enabled": False}, "c4": {"enabled": True}, "gopher_quality": {"enabled": True}})
    names = [c.name for c in make_checks(r.sources[0], r.quality, 0)]
    assert names == ["gopher_quality", "c4"]


def test_make_checks_pickle_round_trip_before_and_after_setup(tmp_path):
    words = tmp_path / "bad.txt"
    words.write_text("darn\n")
    r = recipe("web", {"c4": {"bad_words_file": str(words)}, "language": {"allowed": ["en"]}})
    checks = make_checks(r.sources[0], r.quality, 7)
    text = (
        "The river rises in the hills above the old town and runs south to the sea.\n"
        "Farmers along its banks have grown wheat and barley there for centuries.\n"
        "In spring the water is high, and the children watch the boats from the bridge.\n"
        "The mill that stood by the ford was rebuilt after the great flood of that year.\n"
        "Visitors come in summer to walk the path that follows the valley to the coast."
    )
    before = [apply_checks(pickle.loads(pickle.dumps(checks)), doc(text))]
    for c in checks:
        c.setup()
    clones = pickle.loads(pickle.dumps(checks))
    assert [type(c) for c in clones] == [type(c) for c in checks]
    assert all(getattr(c, "_identifier", None) is None for c in clones)  # heavy state not pickled
    after = apply_checks(clones, doc(text))
    assert before[0] == after == apply_checks(checks, doc(text))
    _, verdict = apply_checks(clones, doc(text + "\nWell, darn it all, said the man by the river."))
    assert verdict == (False, "c4_bad_words")


def test_make_checks_bad_words_file_must_exist():
    r = recipe("web", {"c4": {"bad_words_file": "/nonexistent/bad.txt"}})
    with pytest.raises(RecipeError, match="bad_words_file"):
        make_checks(r.sources[0], r.quality, 0)


def test_quality_family_needs_a_model(tmp_path):
    r = recipe("web")  # no quality.model: web runs without the classifier
    assert "quality" not in [c.name for c in make_checks(r.sources[0], r.quality, 0)]
    r = recipe("web", {"quality": {"enabled": True}})
    with pytest.raises(RecipeError, match="quality.model"):
        make_checks(r.sources[0], r.quality, 0)
    r = recipe("web", quality={"model": str(tmp_path / "missing")})
    with pytest.raises(RecipeError, match="quality.model"):
        make_checks(r.sources[0], r.quality, 0)


def test_recipe_rejects_unknown_filter_keys_with_suggestion():
    with pytest.raises(RecipeError) as e:
        recipe("web", {"gopher_quality": {"min_word": 3}})
    assert "min_words" in str(e.value) and "filters.gopher_quality.min_word" in str(e.value)
    with pytest.raises(RecipeError):
        recipe("web", {"gopher_repetition": {"max_dup_line_fraction": 2}})
    with pytest.raises(RecipeError):
        recipe("web", quality={"n_features": 1000})
    with pytest.raises(RecipeError):
        recipe("web", quality={"positive_sources": ["a"], "negative_sources": ["a"]})


def test_rule_check_is_the_pure_function():
    from dataprep.filters.code import code_quality
    from dataprep.filters.config import CodeRules

    check = RuleCheck("code", code_quality, CodeRules())
    d = doc("x = 1\n" * 3, source="code")
    assert check(d) == (d, code_quality(d.text, CodeRules()))


def test_c4_check_returns_cleaned_document():
    from dataprep.filters.config import C4Rules

    text = "Menu\nThe river rises in the hills above the town.\nIt flows past the mill and under the bridge.\nFarmers have used its water for three hundred years."
    cleaned, verdict = C4Check(C4Rules())(doc(text))
    assert verdict.keep and not cleaned.text.startswith("Menu") and cleaned.id == doc(text).id


def test_quality_check_is_picklable_without_model():
    check = QualityCheck("/some/model", 9.0, 3)
    clone = pickle.loads(pickle.dumps(check))
    assert (clone.model_path, clone.alpha, clone.seed, clone._model) == ("/some/model", 9.0, 3, None)


def test_quality_config_defaults_cite_gpt3_alpha():
    assert QualityConfig().alpha == 9.0


def test_rule_families_can_be_limited_to_languages():
    r = recipe("web", {
        "gopher_quality": {"languages": ["en", "fr"]},
        "gopher_repetition": {"enabled": False}, "c4": {"languages": ["en"]}, "fineweb": {"enabled": False},
    })
    checks = make_checks(r.sources[0], r.quality, 0)
    assert [c.name for c in checks] == ["language", "gopher_quality", "c4"]
    japanese = doc(SAMPLES["ja"] * 20)  # no spaces: Gopher's word count would drop it
    kept, verdict = apply_checks(checks, japanese)
    assert verdict.keep and kept.meta["language"] == "ja"
    _, verdict = apply_checks(checks, doc(SAMPLES["en"]))  # English is checked: 17 words < 50
    assert verdict == (False, "gopher_word_count")
    with pytest.raises(RecipeError):
        recipe("web", {"c4": {"languages": ["EN"]}})


def test_resolved_recipe_round_trips():
    """The resolved recipe (JSON in the manifest, YAML from --dry-run) parses back to the same."""
    import json

    import yaml

    r = recipe("web", {"gopher_repetition": {"max_top_ngram_char_fraction": {2: 0.25}}})
    data = json.loads(json.dumps(r.to_dict()))
    assert data["sources"][0]["filters"]["gopher_repetition"]["max_top_ngram_char_fraction"] == {"2": 0.25}
    again = parse_recipe(yaml.safe_load(yaml.safe_dump(data)))
    assert again.sources[0].filters == r.sources[0].filters
    assert again.fingerprint() == r.fingerprint()
    with pytest.raises(RecipeError):
        recipe("web", {"gopher_repetition": {"max_dup_ngram_char_fraction": {"five": 0.1}}})
