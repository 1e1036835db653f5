"""Filter throughput in MB/s per core over ../shared/corpora, with and without language
identification and quality scoring, against a reference measured in the same run.

    python benchmarks/filters.py [--corpora ../shared/corpora] [--repeat 3]

Documents: the Python-docs and Debian-Reference WARC pages (resiliparse text, navigation
included), the Wikipedia leads (en/fr/es) and Austen's novels. Each configuration runs the checks
of `dataprep.filters.make_checks` over every document on one core; throughput is UTF-8 megabytes
of input per CPU second (``time.process_time``), best of ``--repeat`` interleaved runs so the
numbers survive a noisy shared machine. Configurations:

- ``rules``: the default web rules (Gopher repetition + quality, C4, FineWeb), no language id;
- ``rules+langid``: plus py3langid tagging;
- ``rules+langid+quality``: plus the quality classifier (trained here, in the same run);
- ``langid`` and ``quality`` alone.

Reference: a straightforward pure-Python implementation of Gopher's repetition rules (n-gram
strings joined and counted per document, datatrove's approach), measured on the same documents;
the ratio shows what the vectorised n-gram statistics buy. If lingua-language-detector is
installed, it is measured too, as the reference for language identification.
"""

from __future__ import annotations

import argparse
import gzip
import json
import resource
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path
from typing import Callable

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
sys.path.insert(0, str(REPO))

from dataprep.filters import apply_checks, make_checks  # noqa: E402
from dataprep.filters.classifier import QualityModel, save_training, train_quality_model  # noqa: E402
from dataprep.filters.config import QualityConfig  # noqa: E402
from dataprep.filters.gopher import words  # noqa: E402
from dataprep.recipe import parse_recipe  # noqa: E402
from dataprep.records import Document  # noqa: E402


def load_documents(corpora: Path) -> list[Document]:
    from resiliparse.extract.html2text import extract_plain_text
    from warcio.archiveiterator import ArchiveIterator

    docs: list[Document] = []
    for warc in sorted((corpora / "web").glob("*.warc.gz")):
        with open(warc, "rb") as f:
            for i, rec in enumerate(ArchiveIterator(f)):
                if rec.rec_type == "response":
                    html = rec.content_stream().read().decode("utf-8", "replace")
                    docs.append(Document(f"web/{warc.name}#{i}", "web", extract_plain_text(html, main_content=False), {}))
    for lang in ("en-us", "fr-fr", "es-es"):
        with gzip.open(corpora / "wiki" / f"summaries-{lang}.jsonl.gz", "rt", encoding="utf-8") as f:
            for i, line in enumerate(f):
                if i >= 2000:
                    break
                docs.append(Document(f"wiki/{lang}#{i}", "wiki", json.loads(line)["text"], {}))
    for p in sorted((corpora / "books" / "austen").glob("*.txt")):
        docs.append(Document(f"books/{p.name}#0", "books", p.read_text(encoding="utf-8"), {}))
    return docs


def reference_repetition(text: str) -> bool:
    """Gopher's n-gram rules the plain way: join each n-gram into a string and count them."""
    ws = words(text)
    total = sum(map(len, ws)) or 1
    for n, limit in ((2, 0.20), (3, 0.18), (4, 0.16)):
        grams = [" ".join(ws[i : i + n]) for i in range(len(ws) - n + 1)]
        if grams:
            gram, count = Counter(grams).most_common(1)[0]
            if count > 1 and (len(gram) - n + 1) * count / total > limit:
                return False
    for n, limit in ((5, 0.15), (6, 0.14), (7, 0.13), (8, 0.12), (9, 0.11), (10, 0.10)):
        grams = [" ".join(ws[i : i + n]) for i in range(len(ws) - n + 1)]
        counts = Counter(grams)
        covered = [False] * len(ws)
        for i, g in enumerate(grams):
            if counts[g] > 1:
                for j in range(i, i + n):
                    covered[j] = True
        if sum(len(w) for w, c in zip(ws, covered) if c) / total > limit:
            return False
    return True


def measure(fn: Callable[[Document], object], docs: list[Document]) -> float:
    """CPU seconds to apply ``fn`` to every document once."""
    start = time.process_time()
    for d in docs:
        fn(d)
    return time.process_time() - start


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--corpora", default=str(REPO.parent / "shared" / "corpora"))
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()
    corpora = Path(args.corpora)

    docs = load_documents(corpora)
    mb = sum(len(d.text.encode("utf-8")) for d in docs) / 1e6
    print(f"{len(docs)} documents, {mb:.1f} MB of text")

    def checks_for(language: bool, quality_model: str | None, rules: bool = True) -> list:
        families = ("gopher_repetition", "gopher_quality", "c4", "fineweb")
        filters = {f: {"enabled": rules} for f in families}
        filters["language"] = {"enabled": language}
        filters["quality"] = {"enabled": quality_model is not None, "tag_only": True}
        quality = {"model": quality_model} if quality_model else {}
        r = parse_recipe({"name": "b", "sources": [{"name": "web", "kind": "web", "paths": ["x"], "weight": 1, "filters": filters}], "quality": quality})
        checks = make_checks(r.sources[0], r.quality, r.seed)
        for c in checks:
            c.setup()
        return checks

    with tempfile.TemporaryDirectory() as tmp:
        labels = {"books": 1, "wiki": 1, "web": 0}
        t0 = time.perf_counter()
        model, metrics = train_quality_model(lambda: iter(docs), labels, QualityConfig(max_chunks_per_source=3000), seed=0)
        save_training(model, metrics, tmp)
        print(f"quality model trained in {time.perf_counter() - t0:.1f}s (held-out doc AUC {metrics['heldout_doc_auc']})")
        QualityModel.load(tmp)

        configs: dict[str, Callable[[Document], object]] = {}
        for name, kwargs in (
            ("rules", dict(language=False, quality_model=None)),
            ("rules+langid", dict(language=True, quality_model=None)),
            ("rules+langid+quality", dict(language=True, quality_model=tmp)),
            ("langid", dict(language=True, quality_model=None, rules=False)),
            ("quality", dict(language=False, quality_model=tmp, rules=False)),
        ):
            checks = checks_for(**kwargs)
            configs[name] = lambda d, checks=checks: apply_checks(checks, d)
        rep_checks = checks_for(False, None)
        repetition_only = [c for c in rep_checks if c.name == "gopher_repetition"]
        configs["gopher_repetition (ours)"] = lambda d: apply_checks(repetition_only, d)
        configs["gopher_repetition (reference)"] = lambda d: reference_repetition(d.text)
        try:
            from lingua import LanguageDetectorBuilder

            detector = LanguageDetectorBuilder.from_all_languages().build()
            configs["langid reference (lingua)"] = lambda d: detector.compute_language_confidence_values(d.text[:10_000])
        except ImportError:
            print("lingua-language-detector not installed: no language-id reference")

        best: dict[str, float] = {}
        for _ in range(args.repeat):
            for name, fn in configs.items():
                secs = measure(fn, docs)
                best[name] = min(best.get(name, float("inf")), secs)

    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"\n{'configuration':34s} {'CPU s':>8s} {'MB/s/core':>10s}")
    for name, secs in best.items():
        print(f"{name:34s} {secs:8.2f} {mb / secs:10.2f}")
    ours, ref = best["gopher_repetition (ours)"], best["gopher_repetition (reference)"]
    print(f"\ngopher repetition: vectorised {mb / ours:.2f} MB/s vs reference {mb / ref:.2f} MB/s: {ref / ours:.2f}x faster")
    print(f"language id costs {best['rules+langid'] / best['rules']:.2f}x the rules alone; "
          f"language id + scoring {best['rules+langid+quality'] / best['rules']:.2f}x")
    if "langid reference (lingua)" in best:
        print(f"py3langid vs lingua: {best['langid reference (lingua)'] / best['langid']:.1f}x faster")
    print(f"peak memory (RSS): {peak_mb:.0f} MB")


if __name__ == "__main__":
    main()
