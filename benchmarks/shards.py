"""Benchmark the shards stage against a plain SentencePiece loop on the same documents.

    .venv/bin/python benchmarks/shards.py                      # shared corpora, sizes 1, 2, 4
    .venv/bin/python benchmarks/shards.py --corpora DIR --sizes 1 2 --workers 1 --repeat 3

For each corpus size it writes a document store from the shared corpora (Wikipedia summaries in
three languages, news, books, chat conversations; size N holds every document N times under new
ids; row groups hold at most 64 documents and 4 M characters, so they are the same size at every
corpus size, and part files at most 10,000 documents, as ``dataprep build`` writes them), trains
one small vocabulary, then measures, each in a fresh child process so
peak memory (max RSS) is the process's own:

- ``reference``: a plain loop reading the same store row group by row group and calling the same
  SentencePiece model (``Vocab.processor.encode``, one thread) on every document;
- ``shards``: ``write_shards`` (read, tokenize, spill, count, plan, sample, shuffle, pack, write
  Parquet and Megatron shards, the document index and the manifest) with the in-process Beam
  runner, weights proportional to each source's tokens so that the whole corpus is written once,
  ``shard_tokens`` 8 M.

It first runs the stage on a tiny store (50 short documents per source): its startup, the fixed
cost of building and running a Beam pipeline, which is why the ratio falls as the corpus grows.
Then per size it prints tokens/s, CPU seconds and peak RSS of both, and the pipeline's overhead
as time ratios (shards / reference, wall and CPU), also without the startup, and between
consecutive sizes the marginal overhead (extra stage time over extra plain-loop time: fixed costs
cancel). With ``--repeat N``
each child runs N times, the children taking turns, and the run with the least CPU is kept
(peak RSS: the largest). With
``--malloc-env``, ``shards+env`` runs the stage again with glibc's malloc told from process
start to keep freed buffers (``MALLOC_ARENA_MAX=2 MALLOC_MMAP_THRESHOLD_=33554432
MALLOC_TRIM_THRESHOLD_=1073741824``, see ``pipelines.shards.tune_malloc``). The machine is
shared and noisy, which is why both are measured in the same run.
"""

from __future__ import annotations

import argparse
import gzip
import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

SOURCES = {"wiki": 0.4, "news": 0.1, "books": 0.2, "dialogue": 0.3}


def corpus_documents(corpora: Path) -> dict[str, list[tuple[str, str]]]:
    """(id, text) per source from the shared corpora, without the build stage."""
    out: dict[str, list[tuple[str, str]]] = {s: [] for s in SOURCES}
    for lang in ("en-us", "fr-fr", "es-es"):
        with gzip.open(corpora / "wiki" / f"summaries-{lang}.jsonl.gz", "rt", encoding="utf-8") as f:
            for i, line in enumerate(f):
                out["wiki"].append((f"wiki/{lang}#{i}", json.loads(line)["text"]))
    with open(corpora / "news" / "lee_background.txt", encoding="utf-8") as f:
        out["news"] = [(f"news/lee#{i}", line.rstrip("\n")) for i, line in enumerate(f) if line.strip()]
    for path in sorted((corpora / "books").rglob("*.txt")):
        out["books"].append((f"books/{path.relative_to(corpora / 'books')}#0", path.read_text(encoding="utf-8", errors="replace")))
    with gzip.open(corpora / "dialogue" / "chitchat.jsonl.gz", "rt", encoding="utf-8") as f:
        for i, line in enumerate(f):
            rec = json.loads(line)
            turns = rec.get("messages") or []
            text = "\n".join(" ".join(m.get("text", "") for m in turn) for turn in turns)
            if text.strip():
                out["dialogue"].append((f"dialogue/chitchat#{i}", text))
    return out


def write_store(out_dir: Path, docs: dict[str, list[tuple[str, str]]], copies: int) -> int:
    """Write ``docs`` (each ``copies`` times, under distinct ids) as a document store; returns
    the number of characters written."""
    import pyarrow.parquet as pq

    from dataprep.manifest import write_json_atomic
    from dataprep.records import Document
    from dataprep.store import BUILD_FORMAT, BUILD_MANIFEST, SCHEMA, documents_to_table

    chars = 0
    for source, items in docs.items():
        rows = [Document(f"{i}~{c}", source, t, {}) for c in range(copies) for i, t in items]
        rows.sort(key=lambda d: d.id)
        chars += sum(len(d.text) for d in rows)
        # Row groups of at most 64 documents and 4 M characters: row groups, and so a reader's
        # memory, stay the same size at every corpus size (by count alone, the four copies of
        # each book at size 4 shared one 110 M-character row group). Part files of at most
        # 10,000 documents, as `dataprep build` writes them (build.parquet_rows_per_part).
        groups: list[list] = [[]]
        chars_in = 0
        for d in rows:
            if groups[-1] and (len(groups[-1]) >= 64 or chars_in + len(d.text) > 4_000_000):
                groups.append([])
                chars_in = 0
            groups[-1].append(d)
            chars_in += len(d.text)
        files: list[list[list]] = [[]]
        for group in groups:
            if files[-1] and sum(map(len, files[-1])) + len(group) > 10_000:
                files.append([])
            files[-1].append(group)
        for k, file_groups in enumerate(files):
            path = out_dir / "documents" / source / f"part-{k:05d}-of-{len(files):05d}.parquet"
            path.parent.mkdir(parents=True, exist_ok=True)
            with pq.ParquetWriter(path, SCHEMA, compression="zstd") as writer:
                for group in file_groups:
                    writer.write_table(documents_to_table(group))
    write_json_atomic(str(out_dir / BUILD_MANIFEST), {"format": BUILD_FORMAT, "fingerprint": f"bench-x{copies}"})
    return chars


def train_vocab(out_dir: Path, docs: dict[str, list[tuple[str, str]]]) -> None:
    """A small lossless vocabulary (8,000 pieces) trained on a sample of the documents."""
    from dataprep.configs import from_mapping
    from dataprep.vocab_config import VocabConfig
    from vocab.train import train_model

    cfg = from_mapping(VocabConfig, {"size": 8000}, "vocab")
    sample = [t[:20000] for items in docs.values() for _, t in items[:: max(1, len(items) // 2000)]]
    proto = train_model(sample, cfg)
    (out_dir / "vocab").mkdir(parents=True, exist_ok=True)
    (out_dir / "vocab" / "spm.model").write_bytes(proto)


def child_reference(run_dir: str) -> dict:
    """Plain loop: store row groups -> SentencePiece encode, one thread."""
    import pyarrow.parquet as pq

    from dataprep.store import part_files
    from vocab.model import Vocab

    sp = Vocab.load(os.path.join(run_dir, "vocab")).processor
    started = time.perf_counter()
    cpu = time.process_time()
    docs = 0
    per_source = {s: 0 for s in SOURCES}
    for source in SOURCES:
        for path in part_files(run_dir, [source]):
            f = pq.ParquetFile(path)
            for rg in range(f.num_row_groups):
                for text in f.read_row_group(rg, columns=["text"]).column("text").to_pylist():
                    per_source[source] += len(sp.encode(text)) + 1  # + end-of-document, as the stage counts
                    docs += 1
    seconds = time.perf_counter() - started
    return {
        "seconds": seconds,
        "cpu": time.process_time() - cpu,
        "tokens": sum(per_source.values()),
        "documents": docs,
        "per_source": per_source,
    }


def child_shards(run_dir: str, workers: int, weights: dict[str, float], parquet_encoding: str = "delta") -> dict:
    """The shards stage on the store, as ``dataprep shards`` runs it. With ``weights``
    proportional to each source's tokens, the largest budget without repeats writes (almost)
    every token once, so the stage tokenizes, shuffles, packs and writes the whole corpus."""
    import logging

    logging.getLogger("apache_beam").setLevel(logging.ERROR)
    from dataprep.recipe import Recipe, SourceSpec
    from dataprep.shards.config import ShardsConfig
    from pipelines.shards import write_shards

    recipe = Recipe(
        "bench",
        0,
        tuple(SourceSpec(name, "text", ("-",), w) for name, w in weights.items()),
        shards=ShardsConfig(shard_tokens=8_000_000, parquet_encoding=parquet_encoding),
    )
    started = time.perf_counter()
    cpu = time.process_time()
    m = write_shards(recipe, run_dir, workers=workers)
    seconds = time.perf_counter() - started
    cpu = time.process_time() - cpu
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu += children.ru_utime + children.ru_stime  # worker processes when workers > 1
    available = sum(s["available_tokens"] for s in m["sources"].values())
    written = sum(s["tokens"] for s in m["splits"].values())
    return {"seconds": seconds, "cpu": cpu, "tokens": available, "written": written, "shards": len(m["shards"])}


# glibc settings that keep freed buffers in the process (see pipelines.shards.tune_malloc).
MALLOC_ENV = {"MALLOC_ARENA_MAX": "2", "MALLOC_MMAP_THRESHOLD_": str(32 << 20), "MALLOC_TRIM_THRESHOLD_": str(1 << 30)}


def run_child(args: list[str], env: dict[str, str] | None = None) -> tuple[dict, float]:
    """Run this script as a child; return its JSON result and its peak RSS in MB."""
    proc = subprocess.Popen(
        [sys.executable, __file__, *args], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, env={**os.environ, **(env or {})}
    )
    out = proc.stdout.read()
    _, status, usage = os.wait4(proc.pid, 0)
    if status != 0:
        raise SystemExit(f"child {args} failed with status {status}")
    return json.loads(out.decode().strip().splitlines()[-1]), usage.ru_maxrss / 1024


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--corpora", default=str(REPO.parent / "shared" / "corpora"))
    ap.add_argument("--sizes", type=int, nargs="+", default=[1, 2, 4], help="corpus copies per size")
    ap.add_argument("--repeat", type=int, default=1, help="runs of each child; the least CPU is kept")
    ap.add_argument("--workers", type=int, default=1)
    ap.add_argument("--malloc-env", action="store_true", help="also run the stage with MALLOC_* settings from the start")
    ap.add_argument(
        "--parquet-encoding",
        choices=["delta", "plain", "byte_stream_split"],
        default="delta",
        help="shards.parquet_encoding of the stage (default: the recipe default, delta)",
    )
    ap.add_argument("--child", nargs="+", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        kind, run_dir = args.child[0], args.child[1]
        if kind == "reference":
            result = child_reference(run_dir)
        else:
            result = child_shards(run_dir, int(args.child[2]), json.loads(args.child[3]), *args.child[4:5])
        print(json.dumps(result))
        return

    docs = corpus_documents(Path(args.corpora))
    tmp = Path(tempfile.mkdtemp(prefix="bench-shards-"))

    def best(*children: tuple[list[str], dict[str, str] | None]) -> list[tuple[dict, float]]:
        # Per child: the least CPU of --repeat runs (the machine is shared: noise only ever adds
        # time) and the largest peak RSS of them (memory is not noise to hide). The children
        # take turns, so a burst of load from other jobs falls on all of them alike.
        runs: list[list[tuple[dict, float]]] = [[] for _ in children]
        for _ in range(args.repeat):
            for out, (child_args, env) in zip(runs, children):
                out.append(run_child(child_args, env))
        return [(min((r for r, _ in rs), key=lambda r: r["cpu"]), max(mb for _, mb in rs)) for rs in runs]

    try:
        vocab_home = tmp / "vocab-home"
        train_vocab(vocab_home, docs)
        # The stage's fixed cost (building and starting the Beam pipeline, its ~20 fused stages,
        # the manifest): the same stage on 50 documents of at most 2,000 characters per source.
        tiny = tmp / "startup"
        write_store(tiny, {s: [(i, t[:2000]) for i, t in items[:50]] for s, items in docs.items()}, 1)
        shutil.copytree(vocab_home / "vocab", tiny / "vocab")
        ((start, start_mb),) = best(
            (["--child", "shards", str(tiny), str(args.workers), json.dumps({s: 1.0 for s in SOURCES}), args.parquet_encoding], None)
        )
        print(f"startup (50 short documents per source): {start['seconds']:.2f} s wall, {start['cpu']:.2f} s CPU, peak {start_mb:.0f} MB")
        print()
        print(f"{'size':>4} {'MB text':>8} {'what':>10} {'tokens':>11} {'seconds':>8} {'tokens/s':>10} {'CPU s':>7} {'tokens/CPU s':>12} {'peak MB':>8}")
        rows = []
        for copies in args.sizes:
            run = tmp / f"x{copies}"
            chars = write_store(run, docs, copies)
            shutil.copytree(vocab_home / "vocab", run / "vocab")
            # Weights proportional to each source's tokens, counted by the plain loop.
            weights = json.dumps(run_child(["--child", "reference", str(run)])[0]["per_source"])
            stage = ["--child", "shards", str(run), str(args.workers), weights, args.parquet_encoding]
            children = [(["--child", "reference", str(run)], None), (stage, None)]
            if args.malloc_env:
                children.append((stage, MALLOC_ENV))
            results = best(*children)
            (ref, ref_mb), (pipe, pipe_mb) = results[:2]
            runs = [("reference", ref, ref_mb), ("shards", pipe, pipe_mb)]
            if args.malloc_env:
                tuned, tuned_mb = results[2]
                runs.append(("shards+env", tuned, tuned_mb))
            for what, r, mb in runs:
                print(
                    f"{copies:>4} {chars / 1e6:>8.1f} {what:>10} {r['tokens']:>11,} {r['seconds']:>8.1f} "
                    f"{r['tokens'] / r['seconds']:>10,.0f} {r['cpu']:>7.1f} {r['tokens'] / r['cpu']:>12,.0f} {mb:>8.0f}"
                )
            print(f"     shards wrote {pipe['written']:,} tokens in {pipe['shards']} shards (Parquet, {args.parquet_encoding} encoding, + Megatron)")
            rows.append((copies, "shards", pipe, ref, pipe_mb, ref_mb))
            if args.malloc_env:
                rows.append((copies, "shards+env", tuned, ref, tuned_mb, ref_mb))
        print()
        for copies, what, pipe, ref, pipe_mb, ref_mb in rows:
            print(
                f"size x{copies} {what}: overhead {pipe['seconds'] / ref['seconds']:.2f}x the plain loop's wall time, "
                f"{pipe['cpu'] / ref['cpu']:.2f}x its CPU time (workers={args.workers}); "
                f"without the startup: {(pipe['seconds'] - start['seconds']) / ref['seconds']:.2f}x wall, "
                f"{(pipe['cpu'] - start['cpu']) / ref['cpu']:.2f}x CPU; peak RSS {pipe_mb:.0f} MB vs {ref_mb:.0f} MB"
            )
        # The marginal overhead: the stage's extra CPU per extra token between two sizes, against
        # the plain loop's. Fixed costs (Beam's startup, planning rounds, the manifest) cancel
        # without being measured separately; this is what the ratio tends to on a large corpus.
        shards_rows = [r for r in rows if r[1] == "shards"]
        for (a, _, pa_, ra, _, _), (b, _, pb, rb, _, _) in zip(shards_rows, shards_rows[1:]):
            if rb["cpu"] > ra["cpu"] and rb["seconds"] > ra["seconds"]:
                print(
                    f"size x{a} -> x{b}: marginal overhead {(pb['cpu'] - pa_['cpu']) / (rb['cpu'] - ra['cpu']):.2f}x CPU, "
                    f"{(pb['seconds'] - pa_['seconds']) / (rb['seconds'] - ra['seconds']):.2f}x wall "
                    f"(extra stage time per extra plain-loop time)"
                )
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
