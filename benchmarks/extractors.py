"""Measure HTML main-text extractors on real WARCs: speed, boilerplate left, main text kept.

Usage::

    .venv/bin/python benchmarks/extractors.py [WARC ...]   # default: ../shared/corpora/web/*.warc.gz

For every site (one WARC = one site) and every extractor it prints, in one run:

- ``MB/cpu-s``: HTML bytes extracted per CPU-second of the child process that ran the
  extractor (decoding excluded, the same for every extractor; CPU time rather than wall time
  because the machine is shared and noisy), and the speed ratio against resiliparse's
  main-content extractor measured in the same run;
- ``peak MB``: peak RSS of a fresh child process that ran only that extractor;
- ``boiler``: boilerplate lines remaining in the output, as a fraction of the boilerplate lines
  on the pages. A line is *boilerplate* when its normalised text occurs on at least half of the
  site's pages in the full visible text (resiliparse without main-content detection) and is not
  part of that page's main text (below). Lower is better;
- ``recall`` / ``prec``: bag-of-words recall and precision of the output against the page's main
  text: Sphinx's ``div[role=main]`` (``div.body``) for the Python docs, the body without
  ``div.navheader``/``div.navfooter`` for DocBook pages (Debian Reference), ``<main>`` or
  ``<article>`` elsewhere. Higher is better.

The extractor chosen as `dataprep.sources.web.Options.extractor`'s default comes from this
benchmark; docs/web-and-text.md records the numbers.
"""

from __future__ import annotations

import collections
import concurrent.futures
import glob
import os
import re
import resource
import sys
import time
from typing import Callable

import lxml.html
from warcio.archiveiterator import ArchiveIterator

HERE = os.path.dirname(os.path.abspath(__file__))
DEFAULT_WARCS = sorted(glob.glob(os.path.join(HERE, "..", "..", "shared", "corpora", "web", "*.warc.gz")))
REFERENCE = "resiliparse(main_content)"
WORD = re.compile(r"\w+")
SPACE = re.compile(r"\s+")
XMLNS = re.compile(r'\sxmlns="[^"]*"')
# A boilerplate line must recur on at least this share of a site's pages.
RECUR_SHARE = 0.5


def _resiliparse_main(html: str) -> str:
    from resiliparse.extract.html2text import extract_plain_text

    return extract_plain_text(html, main_content=True)


def _resiliparse_all(html: str) -> str:
    from resiliparse.extract.html2text import extract_plain_text

    return extract_plain_text(html, main_content=False)


def _trafilatura(html: str) -> str:
    import trafilatura

    return trafilatura.extract(html, include_comments=False) or ""


def _trafilatura_fast(html: str) -> str:
    import trafilatura

    return trafilatura.extract(html, include_comments=False, fast=True) or ""


EXTRACTORS: dict[str, Callable[[str], str]] = {
    REFERENCE: _resiliparse_main,
    "resiliparse(all text)": _resiliparse_all,
    "trafilatura": _trafilatura,
    "trafilatura(fast)": _trafilatura_fast,
}


def load_pages(path: str) -> list[str]:
    """Every HTML response payload of a WARC, decoded as UTF-8 (the shared WARCs declare it)."""
    pages = []
    with open(path, "rb") as fh:
        for record in ArchiveIterator(fh):
            if record.rec_type == "response":
                pages.append(record.content_stream().read().decode("utf-8", errors="replace"))
    return pages


def norm_line(line: str) -> str:
    return SPACE.sub(" ", line).strip()


def lines_of(text: str) -> set[str]:
    return {n for n in (norm_line(line) for line in text.splitlines()) if n}


def main_text(html: str) -> str:
    """The page's main content as the site's own markup marks it (see module docstring), as
    visible text in the same line layout as the extractors' output (resiliparse, all text)."""
    # XHTML pages (DocBook) declare a default namespace that would hide every tag from XPath.
    html = XMLNS.sub("", html, count=1)
    tree = lxml.html.fromstring(html.encode("utf-8"))
    nodes = []
    for xp in ("//div[@role='main']", "//div[contains(concat(' ', @class, ' '), ' body ')]", "//main", "//article"):
        nodes = tree.xpath(xp)
        if nodes:
            break
    else:
        for xp in ("//div[@class='navheader']", "//div[@class='navfooter']"):
            for node in tree.xpath(xp):
                node.drop_tree()
        body = tree.find("body")
        nodes = [body if body is not None else tree]
    fragment = "".join(lxml.html.tostring(n, encoding="unicode") for n in nodes[:1])
    return _resiliparse_all(f"<html><body>{fragment}</body></html>")


def bag(text: str) -> collections.Counter:
    return collections.Counter(w.lower() for w in WORD.findall(text))


def _run(name: str, pages: list[str]) -> tuple[list[str], float, float]:
    """Child process: run one extractor over all pages; (outputs, CPU seconds, peak RSS MB)."""
    fn = EXTRACTORS[name]
    fn(pages[0])  # import and warm up outside the timed loop
    start = time.process_time()
    out = [fn(html) for html in pages]
    seconds = time.process_time() - start
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return out, seconds, peak_mb


def measure_site(path: str) -> list[tuple]:
    pages = load_pages(path)
    mb = sum(len(p.encode("utf-8")) for p in pages) / 1e6
    results = {}
    for name in EXTRACTORS:
        # A fresh process per extractor, so peak memory belongs to that extractor alone.
        with concurrent.futures.ProcessPoolExecutor(max_workers=1) as pool:
            results[name] = pool.submit(_run, name, pages).result()

    full_lines = [lines_of(t) for t in results["resiliparse(all text)"][0]]
    counts = collections.Counter(line for ls in full_lines for line in ls)
    recurring = {line for line, c in counts.items() if c >= RECUR_SHARE * len(pages)}
    mains = [main_text(p) for p in pages]
    boiler_per_page = [(recurring & fl) - lines_of(m) for fl, m in zip(full_lines, mains)]
    main_bags = [bag(m) for m in mains]

    rows = []
    ref_speed = mb / results[REFERENCE][1]
    for name, (outs, seconds, peak) in results.items():
        boiler_total = boiler_left = 0
        overlap = ref_words = out_words = 0
        empty = 0
        for out, boiler, mbag in zip(outs, boiler_per_page, main_bags):
            empty += not out.strip()
            out_lines = lines_of(out)
            boiler_total += len(boiler)
            # Extractors re-wrap lines; a long boilerplate line inside an output line still counts.
            boiler_left += sum(1 for b in boiler if b in out_lines or (len(b) >= 15 and b in out))
            obag = bag(out)
            overlap += sum((obag & mbag).values())
            ref_words += sum(mbag.values())
            out_words += sum(obag.values())
        speed = mb / seconds
        rows.append(
            (
                os.path.basename(path),
                name,
                len(pages),
                f"{mb:.1f}",
                f"{speed:.2f}",
                f"{speed / ref_speed:.2f}",
                f"{peak:.0f}",
                f"{boiler_left / boiler_total:.3f}" if boiler_total else "n/a",
                f"{overlap / ref_words:.3f}" if ref_words else "n/a",
                f"{overlap / out_words:.3f}" if out_words else "n/a",
                empty,
            )
        )
    print(
        f"# {os.path.basename(path)}: {len(recurring)} lines recur on >= {RECUR_SHARE:.0%} of {len(pages)} pages; "
        f"{boiler_total} boilerplate line occurrences",
        file=sys.stderr,
    )
    return rows


def main(argv: list[str]) -> None:
    warcs = argv or DEFAULT_WARCS
    if not warcs:
        sys.exit("no WARC given and none found at ../shared/corpora/web/*.warc.gz")
    headers = ("warc", "extractor", "pages", "MB", "MB/cpu-s", "speed ratio", "peak MB", "boiler", "recall", "prec", "empty")
    rows = [row for path in warcs for row in measure_site(path)]
    widths = [max(len(str(x)) for x in col) for col in zip(headers, *rows)]
    for row in (headers, *rows):
        print("  ".join(str(x).ljust(w) for x, w in zip(row, widths)))
    print(f"\nspeed ratio = extractor MB/cpu-s / {REFERENCE} MB/cpu-s in this run; boiler: lower is better")


if __name__ == "__main__":
    main(sys.argv[1:])
