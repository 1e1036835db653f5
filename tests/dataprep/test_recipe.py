"""Recipe validation: every mistake is a RecipeError naming the key, expected, found, closest."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from dataprep.errors import RecipeError
from dataprep.recipe import load_recipe, parse_recipe, source_inputs
from dataprep.fs import LocalFileSystem


def write(tmp_path: Path, body: str) -> Path:
    (tmp_path / "data").mkdir(exist_ok=True)
    (tmp_path / "data" / "a.txt").write_text("hello world, a book of some length\n")
    p = tmp_path / "recipe.yaml"
    p.write_text(textwrap.dedent(body))
    return p


GOOD = """
    name: t
    seed: 7
    sources:
      - {name: books, kind: books, paths: [data/*.txt], weight: 0.5}
"""


def test_good_recipe_resolves_paths_relative_to_recipe(tmp_path):
    r = load_recipe(str(write(tmp_path, GOOD)))
    assert r.name == "t" and r.seed == 7
    assert r.sources[0].paths == (str(tmp_path / "data" / "*.txt"),)
    assert r.build.min_chars == 20
    inputs = source_inputs(r.sources[0], LocalFileSystem())
    assert inputs == [(str(tmp_path / "data" / "a.txt"), str(tmp_path / "data"))]


def test_fingerprint_is_stable_and_sensitive(tmp_path):
    a = load_recipe(str(write(tmp_path, GOOD)))
    b = load_recipe(str(write(tmp_path, GOOD)))
    c = load_recipe(str(write(tmp_path, GOOD.replace("seed: 7", "seed: 8"))))
    assert a.fingerprint() == b.fingerprint() != c.fingerprint()
    assert a.fingerprint("sources") == c.fingerprint("sources")


@pytest.mark.parametrize(
    "body, key, suggestion",
    [
        (GOOD.replace("seed:", "sed:"), "sed", "seed"),
        (GOOD.replace("weight: 0.5", "wieght: 0.5"), "wieght", "weight"),
        (GOOD.replace("kind: books", "kind: bokos"), "kind", "books"),
        (GOOD + "    biuld: {min_chars: 3}\n", "biuld", "build"),
        (GOOD + "    build: {min_char: 3}\n", "build.min_char", "min_chars"),
    ],
)
def test_misspelled_keys_suggest_closest(tmp_path, body, key, suggestion):
    with pytest.raises(RecipeError) as e:
        load_recipe(str(write(tmp_path, body)))
    assert key in e.value.key
    assert e.value.suggestion == suggestion
    assert f"did you mean '{suggestion}'" in str(e.value)


@pytest.mark.parametrize(
    "body, key, expected",
    [
        (GOOD.replace("weight: 0.5", "weight: 0"), "weight", "> 0"),
        (GOOD.replace("weight: 0.5", "weight: -1"), "weight", "> 0"),
        (GOOD.replace("weight: 0.5", "weight: lots"), "weight", "a number"),
        (GOOD.replace("seed: 7", "seed: seven"), "seed", "an integer"),
        (GOOD.replace("data/*.txt", "nothing/*.txt"), "paths[0]", "matches at least one file"),
        (GOOD.replace("name: books,", "name: Books!,"), "name", "lower-case"),
        (GOOD + "    build: {min_chars: -1}\n", "min_chars", ">= 0"),
    ],
)
def test_invalid_values_name_key_expected_and_found(tmp_path, body, key, expected):
    with pytest.raises(RecipeError) as e:
        load_recipe(str(write(tmp_path, body)))
    assert key in e.value.key
    assert expected in e.value.expected
    assert e.value.exit_code == 2


def test_missing_required_and_duplicates():
    with pytest.raises(RecipeError, match="sources"):
        parse_recipe({"name": "x"})
    src = {"name": "a", "kind": "books", "paths": ["x"], "weight": 1}
    with pytest.raises(RecipeError, match="unique"):
        parse_recipe({"name": "x", "sources": [src, src]})
    with pytest.raises(RecipeError, match="paths"):
        parse_recipe({"name": "x", "sources": [{k: v for k, v in src.items() if k != "paths"}]})


def test_unreadable_yaml_and_missing_file(tmp_path):
    with pytest.raises(RecipeError, match="existing YAML"):
        load_recipe(str(tmp_path / "nope.yaml"))
    bad = tmp_path / "bad.yaml"
    bad.write_text("name: [unclosed\n")
    with pytest.raises(RecipeError, match="valid YAML"):
        load_recipe(str(bad))


def test_folder_expands_to_files_for_non_code_kinds(tmp_path):
    (tmp_path / "d" / "sub").mkdir(parents=True)
    (tmp_path / "d" / "x.txt").write_text("x")
    (tmp_path / "d" / "sub" / "y.txt").write_text("y")
    r = parse_recipe({"name": "x", "sources": [{"name": "b", "kind": "books", "paths": [str(tmp_path / "d")], "weight": 1}]})
    got = source_inputs(r.sources[0], LocalFileSystem())
    assert [p for p, _ in got] == [str(tmp_path / "d" / "sub" / "y.txt"), str(tmp_path / "d" / "x.txt")]
    assert all(root == str(tmp_path / "d") for _, root in got)


def test_model_and_word_list_paths_are_relative_to_the_recipe(tmp_path):
    body = GOOD.replace(
        "weight: 0.5}", "weight: 0.5, filters: {c4: {bad_words_file: lists/bad.txt}}}"
    ) + "    quality: {model: runs/q/quality}\n"
    r = load_recipe(str(write(tmp_path, body)))
    assert r.quality.model == str(tmp_path / "runs" / "q" / "quality")
    assert r.sources[0].filters.c4.bad_words_file == str(tmp_path / "lists" / "bad.txt")


def test_missing_quality_model_is_a_recipe_error_before_launch(tmp_path):
    from pipelines.build import build_documents

    body = GOOD.replace("weight: 0.5}", "weight: 0.5, filters: {quality: {enabled: true}}}") + "    quality: {model: nowhere}\n"
    r = load_recipe(str(write(tmp_path, body)))
    with pytest.raises(RecipeError, match="quality.model"):
        build_documents(r, str(tmp_path / "out"))
    assert not (tmp_path / "out").exists()
