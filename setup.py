"""dataprep: build a PaLM-style pretraining corpus and tokenizer on Apache Beam."""

import re

from setuptools import find_packages, setup

with open("dataprep/__init__.py", encoding="utf-8") as f:
    VERSION = re.search(r'__version__ = "([^"]+)"', f.read()).group(1)

with open("README.md", encoding="utf-8") as f:
    LONG_DESCRIPTION = f.read()

# Ranges are wide on purpose: apache-beam pins numpy, pyarrow, protobuf and others itself, and
# pip must be free to pick the versions it allows.
INSTALL_REQUIRES = [
    "apache-beam>=2.60,<3",
    "sentencepiece>=0.2,<0.3",
    "datasketch>=1.6",
    "rapidfuzz>=3.6",
    "pyarrow>=14",
    "click>=8.1",
    "pyyaml>=6",
    "numpy>=1.24",
    # xxhash: fast stable non-cryptographic hashes for ids, sampling and MinHash tokens.
    "xxhash>=3.4",
    # warcio: the reference WARC reader (Webrecorder); handles per-record gzip and chunked HTTP.
    "warcio>=1.7",
    # trafilatura: the web reader's default HTML main-text extractor; resiliparse: the fast
    # alternative (both measured by benchmarks/extractors.py, see docs/web-and-text.md).
    "trafilatura>=2.0",  # extract(fast=...) keyword
    "resiliparse>=0.14",
    # mwparserfromhell: the standard wikitext parser (used by Wikipedia's own bots).
    "mwparserfromhell>=0.6",
    # zstandard: .zst inputs (Beam also depends on it).
    "zstandard>=0.21",
    # charset-normalizer: encoding detection when neither HTTP header nor <meta> names one.
    "charset-normalizer>=3",
    # scikit-learn: the quality classifier (HashingVectorizer + LogisticRegression);
    # py3langid: offline language id, model inside the wheel (measured in docs/filters.md).
    "scikit-learn>=1.3",
    "py3langid>=0.3",
]

EXTRAS = {
    "test": [
        "pytest>=7",
        "hypothesis>=6.80",
        # transformers: tests check that the exported tokenizer loads in AutoTokenizer with equal ids.
        "transformers>=4.40",
        # datasets: tests check that Hugging Face reads the Parquet shards as a trainer would.
        "datasets>=2.14",
    ],
    "gcp": ["apache-beam[gcp]>=2.60,<3"],
}

setup(
    name="dataprep",
    version=VERSION,
    description="Build a PaLM-style pretraining corpus and lossless SentencePiece tokenizer on Apache Beam",
    long_description=LONG_DESCRIPTION,
    long_description_content_type="text/markdown",
    license="Apache-2.0",
    python_requires=">=3.10",
    packages=find_packages(include=["dataprep", "dataprep.*", "pipelines", "pipelines.*", "vocab", "vocab.*"]),
    install_requires=INSTALL_REQUIRES,
    extras_require=EXTRAS,
    entry_points={
        "console_scripts": ["dataprep = dataprep.cli:main"],
        # Subcommands are plugins so that the core never imports pipelines or vocab.
        "dataprep.commands": [
            "build = pipelines.commands.build:build",
            "dedup = pipelines.commands.dedup:dedup",
            "vocab = vocab.cli:vocab",
            "shards = pipelines.commands.shards:shards",
            "run = pipelines.commands.run:run",
            "quality = pipelines.commands.quality:quality",
            "report = pipelines.commands.quality:report",
        ],
    },
)
