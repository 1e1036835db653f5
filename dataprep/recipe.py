"""The recipe: one YAML file that says what to read and how every stage runs.

``load_recipe(path)`` parses and validates it into a frozen `Recipe` before any pipeline starts;
every mistake is a `RecipeError` naming the key, what was expected, what was found and the
closest valid name. Each stage receives only its own section. Relative local paths are taken
relative to the recipe file's folder, so a recipe and its data can move together.

A recipe::

    name: demo
    seed: 1234
    sources:
      - {name: web, kind: web, paths: [data/web/*.warc.gz], weight: 0.27}
      - {name: news, kind: text, paths: [data/news/*.txt], weight: 0.01, unit: line}
    build: {min_chars: 20}
    dedup: {}
    vocab: {}
    shards: {}
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
import re
from dataclasses import dataclass, field
from typing import Any, Mapping

import yaml

from dataprep.configs import closest, convert, from_mapping, to_plain
from dataprep.dedup.config import DedupConfig, SourceDedup
from dataprep.errors import RecipeError
from dataprep.filters.config import QualityConfig, SourceFilters
from dataprep.fs import FileSystem, LocalFileSystem, glob_root
from dataprep.shards.config import ShardsConfig
from dataprep.sources import KINDS, reader_module
from dataprep.vocab_config import VocabConfig

RECIPE_VERSION = 1
SOURCE_NAME = re.compile(r"^[a-z0-9][a-z0-9_\-]*$")
SCHEME = re.compile(r"^[a-zA-Z][a-zA-Z0-9+.\-]*://")


@dataclass(frozen=True)
class BuildConfig:
    """Recipe section ``build``: normalisation and the minimum document size.

    ``min_chars`` 20: a document shorter than a short sentence after normalisation (an empty
    page, a bare title) carries no training signal; quality filters decide about everything
    longer. ``max_chars`` bounds a single document (default 100 M characters) so one pathological
    record cannot exhaust a worker; longer ones are dropped as ``too_long``.
    ``parquet_rows_per_part`` sets how many documents go into one ``part-*.parquet`` file and
    ``parquet_bytes_per_part`` how many UTF-8 bytes of text: a source gets
    ``max(ceil(documents / parquet_rows_per_part), ceil(text_bytes / parquet_bytes_per_part))``
    parts, so a source of long documents (books of 1 MB: 10,000 of them were one 10 GB part,
    held whole by one worker) is split by size and one part's worker holds about this much text.
    Default 256 MiB: about half Hugging Face datasets' ``MAX_SHARD_SIZE = "500MB"`` (the default
    ``max_shard_size`` of ``push_to_hub``, measured on uncompressed Arrow data, i.e. about the
    text), because the writing worker holds a part's documents as Python strings and its
    compressed output at once; on zstd that is a file of roughly 60-100 MB (measured: 191 MiB
    of book text made a 61 MB part, docs/build_parts.md). Short-document
    sources are unchanged: 10,000 web pages of ~5 KB are ~50 MB, far below it. At least 1 MiB
    (smaller only multiplies files and per-file overhead).
    """

    min_chars: int = 20
    max_chars: int = 100_000_000
    parquet_rows_per_part: int = 10_000
    parquet_bytes_per_part: int = 256 * 2**20

    def __post_init__(self) -> None:
        if self.min_chars < 0:
            raise RecipeError("min_chars", "an integer >= 0", self.min_chars)
        if self.max_chars <= self.min_chars:
            raise RecipeError("max_chars", f"an integer > min_chars ({self.min_chars})", self.max_chars)
        if self.parquet_rows_per_part < 1:
            raise RecipeError("parquet_rows_per_part", "an integer >= 1", self.parquet_rows_per_part)
        if self.parquet_bytes_per_part < 2**20:
            raise RecipeError(
                "parquet_bytes_per_part",
                "an integer >= 1048576 (1 MiB of text per part file)",
                self.parquet_bytes_per_part,
            )


@dataclass(frozen=True)
class SourceSpec:
    """One entry of ``sources``. Kind-specific keys sit flat beside the common ones and are
    validated by the kind's ``Options`` class (see each reader module)."""

    name: str
    kind: str
    paths: tuple[str, ...]
    weight: float
    options: Any = None
    min_chars: int | None = None
    filters: SourceFilters = field(default_factory=SourceFilters)
    dedup: SourceDedup = field(default_factory=SourceDedup)


COMMON_SOURCE_KEYS = ("name", "kind", "paths", "weight", "min_chars", "filters", "dedup")
TOP_LEVEL_KEYS = ("name", "seed", "sources", "build", "dedup", "vocab", "shards", "quality", "version")


@dataclass(frozen=True)
class Recipe:
    """A validated recipe. ``path`` is where it was loaded from (None when built in code)."""

    name: str
    seed: int
    sources: tuple[SourceSpec, ...]
    build: BuildConfig = field(default_factory=BuildConfig)
    dedup: DedupConfig = field(default_factory=DedupConfig)
    vocab: VocabConfig = field(default_factory=VocabConfig)
    shards: ShardsConfig = field(default_factory=ShardsConfig)
    quality: QualityConfig = field(default_factory=QualityConfig)
    path: str | None = None

    def source(self, name: str) -> SourceSpec:
        """The source called ``name``; `RecipeError` with the closest name otherwise."""
        for s in self.sources:
            if s.name == name:
                return s
        raise RecipeError("sources", "a source name", name, suggestion=closest(name, [s.name for s in self.sources]))

    def to_dict(self) -> dict[str, Any]:
        """The resolved recipe (defaults filled in) as plain data, for manifests and --dry-run."""
        out: dict[str, Any] = {"version": RECIPE_VERSION, "name": self.name, "seed": self.seed, "sources": []}
        for s in self.sources:
            entry = {"name": s.name, "kind": s.kind, "paths": list(s.paths), "weight": s.weight}
            if s.min_chars is not None:
                entry["min_chars"] = s.min_chars
            entry.update(to_plain(s.options) or {})
            entry["filters"] = to_plain(s.filters)
            entry["dedup"] = to_plain(s.dedup)
            out["sources"].append(entry)
        for section in ("build", "dedup", "vocab", "shards", "quality"):
            out[section] = to_plain(getattr(self, section))
        return out

    def fingerprint(self, *sections: str) -> str:
        """SHA-256 of the canonical JSON of the resolved recipe, or of only the named top-level
        sections (``"sources"``, ``"build"``...), so a stage can be keyed on what it depends on."""
        data = self.to_dict()
        if sections:
            data = {k: data[k] for k in sections}
        blob = json.dumps(data, sort_keys=True, separators=(",", ":")).encode()
        return hashlib.sha256(blob).hexdigest()


def _resolve_path(pattern: str, base_dir: str | None) -> str:
    if SCHEME.match(pattern) or os.path.isabs(pattern) or base_dir is None:
        return os.path.expanduser(pattern)
    return os.path.normpath(os.path.join(base_dir, os.path.expanduser(pattern)))


def _parse_source(i: int, raw: Any, base_dir: str | None) -> SourceSpec:
    key = f"sources[{i}]"
    if not isinstance(raw, Mapping):
        raise RecipeError(key, "a mapping with name, kind, paths, weight", raw)
    name = raw.get("name")
    if name is not None and isinstance(name, str):
        key = f"sources[{i}] ({name})"
    for required in ("name", "kind"):
        if required not in raw:
            raise RecipeError(f"{key}.{required}", "a value (required)", "nothing")
    name = convert(raw["name"], str, f"{key}.name")
    if not SOURCE_NAME.match(name):
        raise RecipeError(f"{key}.name", "lower-case letters, digits, '_' or '-' (it names a folder)", name)
    kind = convert(raw["kind"], str, f"{key}.kind")
    if kind not in KINDS:
        raise RecipeError(f"{key}.kind", "one of " + ", ".join(KINDS), kind, suggestion=closest(kind, KINDS))
    options_cls = reader_module(kind).Options
    option_fields = {f.name for f in dataclasses.fields(options_cls)}
    option_values = {k: v for k, v in raw.items() if k not in COMMON_SOURCE_KEYS}
    for k in option_values:
        if k not in option_fields:
            valid = sorted(set(COMMON_SOURCE_KEYS) | option_fields)
            raise RecipeError(
                f"{key}.{k}",
                f"one of {', '.join(valid)} (for kind '{kind}')",
                "an unknown key",
                suggestion=closest(str(k), valid),
            )
    for required in ("paths", "weight"):
        if required not in raw:
            raise RecipeError(f"{key}.{required}", "a value (required)", "nothing")
    paths = convert(raw["paths"], tuple[str, ...], f"{key}.paths")
    if not paths:
        raise RecipeError(f"{key}.paths", "at least one path or glob", [])
    weight = convert(raw["weight"], float, f"{key}.weight")
    if not weight > 0:
        raise RecipeError(f"{key}.weight", "a number > 0 (the source's share of training tokens)", raw["weight"])
    min_chars = convert(raw["min_chars"], int, f"{key}.min_chars") if "min_chars" in raw else None
    filters = from_mapping(SourceFilters, raw.get("filters"), f"{key}.filters")
    if filters.c4.bad_words_file:
        c4 = dataclasses.replace(filters.c4, bad_words_file=_resolve_path(filters.c4.bad_words_file, base_dir))
        filters = dataclasses.replace(filters, c4=c4)
    dedup = from_mapping(SourceDedup, raw.get("dedup"), f"{key}.dedup")
    options = from_mapping(options_cls, option_values, key)
    resolved = tuple(_resolve_path(p, base_dir) for p in paths)
    return SourceSpec(name, kind, resolved, weight, options, min_chars, filters, dedup)


def parse_recipe(data: Any, base_dir: str | None = None, path: str | None = None) -> Recipe:
    """Validate a recipe already parsed from YAML (a mapping) into a `Recipe`."""
    if not isinstance(data, Mapping):
        raise RecipeError("(top level)", "a mapping with name, seed, sources", type(data).__name__)
    for k in data:
        if k not in TOP_LEVEL_KEYS:
            raise RecipeError(str(k), "one of " + ", ".join(TOP_LEVEL_KEYS), "an unknown key", suggestion=closest(str(k), TOP_LEVEL_KEYS))
    if data.get("version", RECIPE_VERSION) != RECIPE_VERSION:
        raise RecipeError("version", f"{RECIPE_VERSION} (this dataprep's recipe version)", data.get("version"))
    for required in ("name", "sources"):
        if required not in data:
            raise RecipeError(required, "a value (required)", "nothing")
    name = convert(data["name"], str, "name")
    seed = convert(data.get("seed", 0), int, "seed")
    raw_sources = data["sources"]
    if not isinstance(raw_sources, list) or not raw_sources:
        raise RecipeError("sources", "a non-empty list of sources", raw_sources)
    sources = tuple(_parse_source(i, s, base_dir) for i, s in enumerate(raw_sources))
    seen: set[str] = set()
    for s in sources:
        if s.name in seen:
            raise RecipeError("sources", "unique source names", s.name, hint="two sources share this name")
        seen.add(s.name)
    return Recipe(
        name=name,
        seed=seed,
        sources=sources,
        build=from_mapping(BuildConfig, data.get("build"), "build"),
        dedup=from_mapping(DedupConfig, data.get("dedup"), "dedup"),
        vocab=from_mapping(VocabConfig, data.get("vocab"), "vocab"),
        shards=from_mapping(ShardsConfig, data.get("shards"), "shards"),
        quality=_resolve_quality(from_mapping(QualityConfig, data.get("quality"), "quality"), base_dir),
        path=path,
    )


def _resolve_quality(quality: QualityConfig, base_dir: str | None) -> QualityConfig:
    """``quality.model`` is a path like any other: relative to the recipe's folder."""
    if quality.model:
        return dataclasses.replace(quality, model=_resolve_path(quality.model, base_dir))
    return quality


def load_recipe(path: str, fs: FileSystem | None = None, check_paths: bool = True) -> Recipe:
    """Read and validate the recipe at ``path``.

    With ``check_paths`` (the default) every source glob must match at least one input, checked
    through ``fs`` (local files unless a Beam filesystem is given).
    """
    try:
        with open(path, encoding="utf-8") as f:
            data = yaml.safe_load(f)
    except FileNotFoundError:
        raise RecipeError("(recipe file)", "an existing YAML file", path) from None
    except yaml.YAMLError as e:
        raise RecipeError("(recipe file)", "valid YAML", f"{path}: {e}") from None
    recipe = parse_recipe(data, base_dir=os.path.dirname(os.path.abspath(path)), path=os.path.abspath(path))
    if check_paths:
        match_sources(recipe, fs or LocalFileSystem())
    return recipe


def source_inputs(spec: SourceSpec, fs: FileSystem) -> list[tuple[str, str]]:
    """The input units of one source as ``(path, root)`` pairs, sorted and de-duplicated.

    A unit is a file; for ``code`` it is a repository (a folder or a ``.tar.gz``/``.zip``
    archive). A folder given to another kind stands for every file below it. ``root`` is the
    fixed prefix of the glob, from which relative paths (and document ids) are taken.
    """
    units: dict[str, str] = {}
    for pattern in spec.paths:
        root = glob_root(pattern) if any(c in pattern for c in "*?[") else os.path.dirname(pattern.rstrip("/"))
        for info in fs.match(pattern):
            if fs.is_dir(info.path):
                if spec.kind == "code":
                    units.setdefault(info.path, root)
                else:
                    for f in fs.walk(info.path):
                        units.setdefault(f.path, info.path.rstrip("/"))
            else:
                units.setdefault(info.path, root)
    return sorted(units.items())


def match_sources(recipe: Recipe, fs: FileSystem) -> dict[str, list[tuple[str, str]]]:
    """Inputs of every source; `RecipeError` for a glob that matches nothing."""
    out = {}
    for i, spec in enumerate(recipe.sources):
        for j, pattern in enumerate(spec.paths):
            if not fs.match(pattern):
                raise RecipeError(
                    f"sources[{i}] ({spec.name}).paths[{j}]",
                    "a path or glob that matches at least one file",
                    pattern,
                    hint="relative paths are taken from the recipe file's folder",
                )
        out[spec.name] = source_inputs(spec, fs)
    return out


def dump_yaml(data: Mapping[str, Any]) -> str:
    """Resolved recipe as YAML, keys in recipe order, for ``--dry-run``."""
    return yaml.safe_dump(dict(data), sort_keys=False, allow_unicode=True, width=100)


__all__ = [
    "BuildConfig",
    "Recipe",
    "SourceSpec",
    "load_recipe",
    "parse_recipe",
    "match_sources",
    "source_inputs",
    "dump_yaml",
]
