"""A small vocabulary trained once per session from generated text (well under 10 s)."""

from __future__ import annotations

import random
from pathlib import Path

import pytest

from dataprep.recipe import Recipe, SourceSpec
from dataprep.records import Document
from dataprep.vocab_config import VocabConfig
from tests.vocab.corpora_docs import write_store
from vocab.model import Vocab
from vocab.train import train_vocab

WORDS = (
    "the of and to in is was for on that with as by at from his her this which an are be or had "
    "not but it have they were one all their has been more when there would who will time into "
    "river mountain language history people system number between government during school"
).split()
CODE = [
    "def {name}(x, y=1):\n    if x > {n}:\n        return x * y\n    return None\n",
    "class {Name}:\n    def __init__(self):\n        self.value = {n}\n\n\tdef run(self):\n\t\tpass\n",
    "for (int i = 0; i < {n}; i++) {{\n    total += values[i];\n}}\r\n",
]
EXTRA = ["中文的历史很长。", "日本語のテキスト", "שלום עולם", "مرحبا بالعالم", "Ünïcödé façade", "👍🏽 👩‍👩‍👧", "e\u0301"]


SYLLABLES = "ka to ri mu ne sa lo vi de pa gu shi ren mon tal ber cor ist ing ation".split()


def _word(rng: random.Random) -> str:
    if rng.random() < 0.6:
        return rng.choice(WORDS)
    return "".join(rng.choice(SYLLABLES) for _ in range(rng.randint(1, 4)))


def make_text(rng: random.Random, kind: str) -> str:
    """One generated document of ``kind`` (``prose`` or ``code``): words, numbers, some other
    scripts, indentation and blank lines, so the small vocabulary learns all of them."""
    if kind == "code":
        parts = []
        for _ in range(rng.randint(2, 6)):
            t = rng.choice(CODE)
            parts.append(t.format(name=_word(rng), Name=_word(rng).title(), n=rng.randint(0, 99999)))
        return "\n".join(parts)
    lines = []
    for _ in range(rng.randint(2, 8)):
        words = [_word(rng) for _ in range(rng.randint(5, 25))]
        if rng.random() < 0.5:
            words.insert(rng.randrange(len(words)), str(rng.randint(0, 10**6)))
        if rng.random() < 0.3:
            words.append(rng.choice(EXTRA))
        lines.append(" ".join(words).capitalize() + ".")
    return "\n\n".join(lines)


def make_docs(seed: int = 0, n: int = 300) -> dict[str, list[Document]]:
    """Two generated sources, ``prose`` and ``code``."""
    rng = random.Random(seed)
    return {
        kind: [Document(f"{kind}/f#{i}", kind, make_text(rng, kind), {}) for i in range(n)]
        for kind in ("prose", "code")
    }


def make_recipe(**vocab: object) -> Recipe:
    """A recipe over the generated sources with a small vocabulary."""
    options = {"size": 800, "sample_chars": 400_000, "sentinels": 3, **vocab}
    sources = (SourceSpec("prose", "text", ("unused",), 0.6), SourceSpec("code", "text", ("unused",), 0.4))
    return Recipe("test", 7, sources, vocab=VocabConfig(**options))


@pytest.fixture(scope="session")
def small_store(tmp_path_factory: pytest.TempPathFactory) -> Path:
    store = tmp_path_factory.mktemp("store")
    write_store(store, make_docs())
    return store


@pytest.fixture(scope="session")
def trained(tmp_path_factory: pytest.TempPathFactory, small_store: Path) -> tuple[Path, dict]:
    out = tmp_path_factory.mktemp("run")
    manifest = train_vocab(make_recipe(), str(out), str(small_store))
    return out, manifest


@pytest.fixture(scope="session")
def small_vocab(trained: tuple[Path, dict]) -> Vocab:
    return Vocab.load(trained[0] / "vocab")
