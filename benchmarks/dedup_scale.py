"""Scale: a million small synthetic documents, 20% near duplicates, on the local Beam runner.

    python benchmarks/dedup_scale.py [--docs 1000000] [--check-order] [--workers 1]

Documents are 80-160 words drawn from a Zipf-like 50,000-word vocabulary (seeded); 20% of
them are near duplicates of an earlier one (one word replaced, deleted or inserted, so word
5-gram Jaccard is at least 0.88: all are true duplicates at 0.8). ``dataprep dedup`` runs in a
subprocess on Beam's in-process runner; the benchmark prints wall and CPU time, throughput and
the peak RSS of the process tree (sampled every 50 ms) next to the 4 GB target, and how many of
the planted duplicates were dropped. ``--check-order`` reruns on the same records in reverse
order and compares the outputs byte for byte (``--workers 2`` for another worker count).
"""

from __future__ import annotations

import argparse
import json
import random
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
sys.path.insert(0, str(HERE))

from measure import peak_rss_tree  # noqa: E402


def make_corpus(n: int, path: Path, seed: int = 0, dup_rate: float = 0.2) -> tuple[int, int]:
    """Write ``n`` JSONL records; returns (planted duplicates, bytes of text).

    Originals are 80-160 words; a planted duplicate copies an original and replaces, deletes
    or inserts one word, which keeps its word 5-gram Jaccard with the original >= 75/85 = 0.88:
    every planted duplicate is a true duplicate at 0.8.
    """
    import itertools

    rng = random.Random(seed)
    vocab = [f"w{i}" for i in range(50_000)]
    cum = list(itertools.accumulate(1 / (i + 1) ** 0.8 for i in range(len(vocab))))
    originals: list[list[str]] = []
    planted = size = 0
    with open(path, "w", encoding="utf-8") as f:
        for i in range(n):
            if originals and rng.random() < dup_rate:
                words = list(rng.choice(originals))
                op, j = rng.random(), rng.randrange(len(words))
                if op < 0.4:
                    words[j] = rng.choice(vocab)
                elif op < 0.7:
                    del words[j]
                else:
                    words.insert(j, rng.choice(vocab))
                planted += 1
            else:
                words = rng.choices(vocab, cum_weights=cum, k=rng.randint(80, 160))
                if len(originals) < 200_000:
                    originals.append(words)
                else:
                    originals[rng.randrange(len(originals))] = words
            text = " ".join(words)
            size += len(text)
            f.write(json.dumps({"id": f"d{i}", "text": text}) + "\n")
    return planted, size


def run(data: Path, out: Path, workers: int) -> tuple[float, float, int, dict]:
    exe = REPO / ".venv" / "bin" / "dataprep"
    cmd = [str(exe if exe.exists() else "dataprep"), "dedup", str(data), "--out", str(out), "--workers", str(workers)]
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    peak, secs = peak_rss_tree(proc)
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if proc.returncode != 0:
        raise SystemExit(f"dataprep dedup failed ({proc.returncode}):\n{proc.stderr.read()[-3000:]}")
    print(proc.stdout.read())
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return secs, cpu, peak, json.loads((out / "dedup" / "manifest.json").read_text())


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--docs", type=int, default=1_000_000)
    ap.add_argument("--workers", type=int, default=1)
    ap.add_argument("--check-order", action="store_true", help="rerun on reversed input and compare outputs")
    ap.add_argument("--tmp", default=None, help="folder for the corpus and outputs (default: a temporary one)")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory(dir=args.tmp) as tmp:
        tmpd = Path(tmp)
        data = tmpd / "docs.jsonl"
        t = time.perf_counter()
        planted, size = make_corpus(args.docs, data)
        print(f"{args.docs:,} documents, {size / 1e6:.0f} MB of text, {planted:,} planted near duplicates "
              f"({time.perf_counter() - t:.0f} s to generate)")
        secs, cpu, peak, manifest = run(data, tmpd / "out", args.workers)
        near = manifest["stages"]["near"]
        dropped = manifest["stages"]["exact"]["sources"]["input"]["dropped_exact_duplicate"] + near["sources"]["input"]["dropped_near_duplicate"]
        print(f"dataprep dedup, {args.workers} worker(s): {secs:.0f} s wall, {cpu:.0f} s CPU, "
              f"{args.docs / secs:,.0f} docs/s, {size / 1e6 / secs:.2f} MB/s, peak RSS {peak / 1e9:.2f} GB "
              f"(target < 4 GB: {'met' if peak < 4e9 else 'NOT met'})")
        print(f"dropped {dropped:,} of {planted:,} planted duplicates ({dropped / max(planted, 1):.1%}); "
              f"unconverged nodes {near['unconverged_nodes']}, changed per round {near['changed_per_round']}")
        if args.check_order:
            rev = tmpd / "reversed.jsonl"
            lines = data.read_text(encoding="utf-8").splitlines(keepends=True)
            rev.write_text("".join(reversed(lines)), encoding="utf-8")
            del lines
            secs2, _, peak2, _ = run(rev, tmpd / "out2", args.workers)
            same = (tmpd / "out" / "dedup" / "clusters.parquet").read_bytes() == (tmpd / "out2" / "dedup" / "clusters.parquet").read_bytes()
            print(f"reversed input: {secs2:.0f} s, peak {peak2 / 1e9:.2f} GB; clusters.parquet identical: {same}")


if __name__ == "__main__":
    main()
