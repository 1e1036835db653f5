"""Memory of `dataprep build` on long documents: part files bounded by text bytes, or by count only.

    .venv/bin/python benchmarks/build_parts.py                  # 2,000 books of 200,000 characters
    .venv/bin/python benchmarks/build_parts.py --books 500 --chars 100000

Makes a books-like source (``--books`` documents of ``--chars`` characters each, cut at spread
offsets from the shared corpora's books), then builds it with `build.parquet_bytes_per_part` set
so large that only the document count decides the parts (the store as it was before the byte
bound: one part of every book here), at its default (256 MiB) and at 16 MiB, dedup off (the
books are cut from one text and overlap). Each build runs
in a fresh process (the in-process runner, one worker); it prints the parts written, wall time
and the peak resident memory of the whole process tree, each as a ratio to the count-only
build. Then it reads each store back with `dataprep.store.iter_documents` (row group by row
group, as the vocabulary stage samples it) in a fresh process and prints that peak too.

What it shows on one machine: reading back follows the row-group bound (row groups hold at most
64 MiB of text, and at most a part's worth); the build's own peak barely moves, because the
in-process runner holds the documents between stages whatever the parts. The part bound is for
runners with several workers, where one worker writes one part from its grouped documents.
"""

from __future__ import annotations

import argparse
import glob
import json
import shutil
import subprocess
import sys
import tempfile
import threading
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "benchmarks"))

from measure import peak_rss_tree  # noqa: E402

BOUNDS = {"count only": 2**62, "default 256 MiB": None, "16 MiB": 16 * 2**20}


def make_books(corpora: Path, out: Path, books: int, chars: int) -> int:
    """Write ``books`` text files of ``chars`` characters under ``out``; returns the text bytes."""
    text = "".join(Path(p).read_text(encoding="utf-8", errors="replace") for p in sorted(glob.glob(str(corpora / "books" / "**" / "*.txt"), recursive=True)))
    if len(text) <= chars:
        raise SystemExit(f"{corpora}/books holds {len(text):,} characters; ask for fewer than that per book")
    out.mkdir(parents=True)
    total = 0
    for i in range(books):
        start = (i * 104_729) % (len(text) - chars)  # a prime stride: books overlap little
        body = f"Volume {i}\n\n" + text[start : start + chars]
        (out / f"book{i:05d}.txt").write_text(body, encoding="utf-8")
        total += len(body.encode("utf-8"))
    return total


def run(cmd: list[str]) -> tuple[float, int, str]:
    """Wall seconds, peak tree RSS (bytes) and stdout of one child process."""
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    out: dict[str, str] = {}
    readers = [threading.Thread(target=lambda k=k, s=s: out.__setitem__(k, s.read())) for k, s in (("out", proc.stdout), ("err", proc.stderr))]
    for r in readers:
        r.start()
    peak, wall = peak_rss_tree(proc)
    for r in readers:
        r.join()
    if proc.returncode != 0:
        raise SystemExit(f"{cmd} failed:\n{out.get('err', '')[-3000:]}")
    return wall, peak, out.get("out", "")


def child_read(store: str) -> None:
    """Read every document of the store back; print how many."""
    from dataprep.store import iter_documents

    print(sum(1 for _ in iter_documents(store)))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--corpora", default=str(REPO.parent / "shared" / "corpora"))
    ap.add_argument("--books", type=int, default=2000)
    ap.add_argument("--chars", type=int, default=200_000)
    ap.add_argument("--child-read", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child_read:
        child_read(args.child_read)
        return
    tmp = Path(tempfile.mkdtemp(prefix="bench-build-parts-"))
    try:
        nbytes = make_books(Path(args.corpora), tmp / "books", args.books, args.chars)
        print(f"{args.books:,} books of {args.chars:,} characters: {nbytes / 2**20:.0f} MiB of text\n")
        print(f"{'parquet_bytes_per_part':>24} {'parts':>6} {'build s':>8} {'build peak MiB':>15} {'x count only':>13} {'read peak MiB':>14} {'x count only':>13}")
        first = None
        for k, (label, bound) in enumerate(BOUNDS.items()):
            recipe = tmp / f"recipe-{k}.yaml"
            build = {} if bound is None else {"parquet_bytes_per_part": bound}
            source = {"name": "books", "kind": "books", "paths": [str(tmp / "books")], "weight": 1.0}
            # Dedup off: the books are cut from one text, so many overlap; this measures writing.
            spec = {"name": "parts", "seed": 1, "sources": [source], "build": build, "dedup": {"exact": False, "near": False}}
            recipe.write_text(json.dumps(spec))  # JSON is YAML
            out = tmp / f"out-{k}"
            wall, peak, _ = run([sys.executable, "-m", "dataprep.cli", "build", str(recipe), "--out", str(out)])
            parts = len(glob.glob(str(out / "documents" / "books" / "part-*.parquet")))
            _, read_peak, count = run([sys.executable, __file__, "--child-read", str(out)])
            if int(count.strip() or 0) != args.books:
                raise SystemExit(f"{label}: read back {count.strip()} documents, not {args.books}")
            first = first or (peak, read_peak)
            print(
                f"{label:>24} {parts:>6} {wall:>8.1f} {peak / 2**20:>15.0f} {peak / first[0]:>13.2f} "
                f"{read_peak / 2**20:>14.0f} {read_peak / first[1]:>13.2f}"
            )
            shutil.rmtree(out, ignore_errors=True)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
