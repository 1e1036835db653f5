"""The build over the real corpora in ../shared/corpora (skips outside CI when absent)."""

from __future__ import annotations

import collections
import json
from pathlib import Path

import pytest
import yaml

from dataprep.recipe import load_recipe
from dataprep.store import iter_documents
from pipelines.build import build_documents

pytestmark = pytest.mark.integration


def corpora_recipe(corpora: Path, tmp: Path, name: str = "all.yaml", subset: bool = False) -> Path:
    """Every source kind over the shared corpora; ``subset`` keeps it small for runner checks."""
    c = str(corpora)
    sources = [
        {"name": "web", "kind": "web", "paths": [f"{c}/web/*.warc.gz"], "weight": 0.27},
        {"name": "books", "kind": "books", "paths": [f"{c}/books/milton/*.txt" if subset else f"{c}/books/**/*.txt"], "weight": 0.13},
        {"name": "wiki", "kind": "wiki", "paths": [f"{c}/wiki/*.xml.bz2"], "weight": 0.02},
        {"name": "wiki-summaries", "kind": "wiki", "paths": [f"{c}/wiki/summaries-{'es-es' if subset else '*'}.jsonl.gz"], "weight": 0.02},
        {"name": "dialogue", "kind": "dialogue", "paths": [f"{c}/dialogue/chitchat.jsonl.gz"], "weight": 0.50},
        {"name": "code", "kind": "code", "paths": [f"{c}/code/*"], "weight": 0.05},
        {"name": "news", "kind": "text", "paths": [f"{c}/news/*.txt"], "weight": 0.01, "unit": "line"},
    ]
    if subset:
        sources = [s for s in sources if s["name"] not in ("dialogue", "web")]
        sources.append({"name": "web", "kind": "web", "paths": [f"{c}/web/debian-reference.warc.gz"], "weight": 0.27})
    path = tmp / name
    path.write_text(yaml.safe_dump({"name": "corpora", "seed": 1, "sources": sources}))
    return path


@pytest.fixture(scope="module")
def full_build(corpora, tmp_path_factory):
    tmp = tmp_path_factory.mktemp("full")
    recipe = load_recipe(str(corpora_recipe(corpora, tmp)))
    out = tmp / "out"
    manifest = build_documents(recipe, str(out))
    return manifest, out


def test_every_source_yields_documents_and_balances(full_build):
    manifest, _ = full_build
    assert manifest["balanced"]
    for name, s in manifest["sources"].items():
        assert s["kept"] > 0, name
        assert s["read"] == s["kept"] + sum(s["dropped"].values()) + sum(s["rejected"].values()), name
    assert manifest["sources"]["dialogue"]["read"] == 7168  # every conversation of chitchat
    dialogue = manifest["sources"]["dialogue"]
    # ~700 are a greeting or two (under min_chars); ~500 more are near-duplicate small talk.
    assert dialogue["kept"] > 5500 and dialogue["dropped"]["too_short"] > 500
    news = manifest["sources"]["news"]
    assert news["read"] == 300 and news["kept"] > 250  # Gopher rules may drop a few short items


def test_copyleft_openjdk_excluded_cpython_kept(full_build):
    manifest, out = full_build
    repos = collections.Counter(d.meta["repo"] for d in iter_documents(str(out), ["code"]))
    assert repos["cpython-3.11-Lib"] > 500
    assert "openjdk-java.base-util" not in repos
    assert manifest["sources"]["code"]["dropped"].get("license_copyleft", 0) > 100


def test_no_redirect_or_non_article_kept(full_build):
    manifest, out = full_build
    titles = [d.meta["title"] for d in iter_documents(str(out), ["wiki"])]
    assert titles
    prefixes = ("Talk:", "User:", "Wikipedia:", "File:", "Template:", "Category:", "Help:", "Portal:", "Draft:", "MediaWiki:", "Module:")
    assert not [t for t in titles if t.startswith(prefixes)]
    assert manifest["sources"]["wiki"]["dropped"].get("redirect", 0) > 0
    for d in iter_documents(str(out), ["wiki"]):
        assert "#REDIRECT" not in d.text.upper()[:50]


def test_navigation_boilerplate_mostly_gone(full_build):
    _, out = full_build
    docs = [d for d in iter_documents(str(out), ["web"]) if "docs.python.org" in d.meta.get("url", "")]
    assert len(docs) > 100  # the default Gopher/C4 rules drop many API reference pages
    # Lines that recur on more than half of the pages are navigation, header or footer.
    line_pages = collections.Counter()
    total_lines = 0
    for d in docs:
        lines = {l.strip() for l in d.text.splitlines() if l.strip()}
        line_pages.update(lines)
        total_lines += len(lines)
    boiler = {l for l, n in line_pages.items() if n > len(docs) / 2}
    boiler_lines = sum(n for l, n in line_pages.items() if l in boiler)
    assert boiler_lines / total_lines < 0.02, sorted(boiler)[:20]


def test_manifest_lists_every_output_with_checksum(full_build):
    manifest, out = full_build
    import hashlib

    for f in manifest["files"]:
        assert hashlib.sha256((out / f["path"]).read_bytes()).hexdigest() == f["sha256"]
    on_disk = {str(p.relative_to(out)) for p in out.rglob("*") if p.is_file() and p.name != "build-manifest.json"}
    assert on_disk == {f["path"] for f in manifest["files"]}
    assert json.loads((out / "build-manifest.json").read_text())["recipe"]["name"] == "corpora"


def _tree_bytes(root: Path) -> dict[str, bytes]:
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


def test_same_output_with_two_workers_and_through_the_portable_job_api(corpora, tmp_path):
    recipe = load_recipe(str(corpora_recipe(corpora, tmp_path, subset=True)))
    build_documents(recipe, str(tmp_path / "one"))
    build_documents(recipe, str(tmp_path / "two"), workers=2)
    # The embedded job server with loopback workers is the submission path Flink and Spark use.
    build_documents(recipe, str(tmp_path / "portable"), beam_args=["--runner=PortableRunner", "--job_endpoint=embed", "--environment_type=LOOPBACK"])
    one = _tree_bytes(tmp_path / "one")
    assert any(k.startswith("documents/code/") for k in one)
    assert one == _tree_bytes(tmp_path / "two")
    assert one == _tree_bytes(tmp_path / "portable")
