"""Vocabulary benchmark: training time and peak memory, encode throughput against references.

Measures, on the shared corpora (``../shared/corpora``, read directly into a temporary document
store), in one run so a noisy machine affects every number alike:

1. training wall time and peak RSS for each ``--model-types`` x ``--sizes`` (each training in its
   own process, so peak memory is that training's alone);
2. encode throughput (MB of UTF-8 per second) at 1 and 2 threads on held-out documents for
   ``Vocab.encode`` (segmented, the shipped path), raw SentencePiece on whole documents, and the
   exported Hugging Face tokenizer of the same model; ratios against the HF export, in wall-clock
   MB/s and in MB per CPU-second (the latter is what a shared, loaded machine cannot distort).

Usage::

    python benchmarks/vocab.py --sample-chars 20000000 --sizes 32000 256000 --model-types unigram bpe
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

SOURCES = [("books", 0.2), ("code", 0.2), ("wiki", 0.2), ("news", 0.05), ("dialogue", 0.15), ("web", 0.2)]


def _recipe(size: int, model_type: str, sample_chars: int):
    from dataprep.recipe import Recipe, SourceSpec
    from dataprep.vocab_config import VocabConfig

    sources = tuple(SourceSpec(n, "text", ("(store)",), w) for n, w in SOURCES)
    return Recipe("bench", 1, sources, vocab=VocabConfig(size=size, model_type=model_type, sample_chars=sample_chars))


def child_train(store: str, out: str, size: int, model_type: str, sample_chars: int) -> None:
    """Runs in a subprocess: train once, print seconds and peak RSS as JSON."""
    import resource

    from dataprep.errors import DataprepError
    from vocab.train import train_vocab

    started = time.monotonic()
    try:
        manifest = train_vocab(_recipe(size, model_type, sample_chars), out, store, force=True)
        result = {"seconds": time.monotonic() - started, "chars": manifest["sample"]["chars"]}
    except DataprepError as e:
        result = {"error": str(e)}
    result["peak_rss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps(result))


def child_encode(vocab_dir: str, texts_file: str, threads: int, repeat: int) -> None:
    """Runs in a subprocess (so RAYON_NUM_THREADS applies to HF): print MB/s per encoder."""
    from vocab.export import export_hf, load_hf_tokenizer
    from vocab.model import Vocab, escape_space_symbol

    with open(texts_file, encoding="utf-8") as f:
        texts = json.load(f)
    mb = sum(len(t.encode("utf-8")) for t in texts) / 1e6
    vocab = Vocab.load(vocab_dir)
    out = {"mb": mb}

    cpu: dict[str, float] = {}

    def best(fn, name: str = "") -> float:
        """Best wall-clock MB/s; also records MB per CPU-second (all threads) under ``name``:
        on a shared machine the CPU figure is the one that does not depend on other jobs."""
        times, cpus = [], []
        for _ in range(repeat):
            c = time.process_time()
            t = time.perf_counter()
            fn()
            times.append(time.perf_counter() - t)
            cpus.append(time.process_time() - c)
        if name:
            cpu[name] = mb / min(cpus)
        return mb / min(times)

    out["dataprep"] = best(lambda: vocab.encode(texts, num_threads=threads), "dataprep")
    out["dataprep_arrays"] = best(lambda: vocab.encode_arrays(texts, num_threads=threads))
    raw = [escape_space_symbol(t) for t in texts]
    out["sentencepiece_whole_docs"] = best(lambda: vocab.processor.encode(raw, num_threads=threads))
    tok = load_hf_tokenizer(export_hf(vocab_dir))
    if threads == 1:
        out["hf_export"] = best(lambda: [tok.encode(t, add_special_tokens=False) for t in texts], "hf")
    else:
        out["hf_export"] = best(lambda: tok.encode_batch(texts, add_special_tokens=False), "hf")
    out["cpu"] = cpu
    print(json.dumps(out))


def _run_child(args: list[str], env: dict[str, str] | None = None) -> dict:
    proc = subprocess.run(
        [sys.executable, __file__, *args], capture_output=True, text=True, env={**os.environ, **(env or {})}
    )
    if proc.returncode != 0:
        raise SystemExit(f"child failed: {proc.stderr[-2000:]}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--corpora", default=str(REPO.parent / "shared" / "corpora"))
    p.add_argument("--sample-chars", type=int, default=20_000_000)
    p.add_argument("--sizes", type=int, nargs="+", default=[32_000, 256_000])
    p.add_argument("--model-types", nargs="+", default=["unigram", "bpe"])
    p.add_argument("--encode-mb", type=float, default=10.0, help="held-out text encoded for throughput")
    p.add_argument("--repeat", type=int, default=2)
    p.add_argument("--child", nargs="+", help=argparse.SUPPRESS)
    args = p.parse_args()
    if args.child:
        kind, *rest = args.child
        if kind == "train":
            child_train(rest[0], rest[1], int(rest[2]), rest[3], int(rest[4]))
        else:
            child_encode(rest[0], rest[1], int(rest[2]), int(rest[3]))
        return

    from tests.vocab.corpora_docs import corpus_documents, write_store

    tmp = Path(tempfile.mkdtemp(prefix="vocab-bench-"))
    docs = corpus_documents(Path(args.corpora))
    write_store(tmp / "store", docs)
    total = sum(len(d.text) for ds in docs.values() for d in ds)
    print(f"corpora: {sum(map(len, docs.values())):,} documents, {total:,} characters; sample {args.sample_chars:,}")

    print("\n== training (each in its own process) ==")
    print(f"{'model':8} {'size':>8} {'seconds':>9} {'peak MB':>9}  note")
    trained = {}
    for model_type in args.model_types:
        for size in args.sizes:
            out = tmp / f"{model_type}-{size}"
            r = _run_child(["--child", "train", str(tmp / "store"), str(out), str(size), model_type, str(args.sample_chars)])
            note = r.get("error", "")
            seconds = f"{r['seconds']:9.1f}" if "seconds" in r else f"{'-':>9}"
            print(f"{model_type:8} {size:>8} {seconds} {r['peak_rss_mb']:9.0f}  {note}")
            if "seconds" in r:
                trained[(model_type, size)] = str(out / "vocab")

    # Text for encoding: documents of every source in turn, held-out ones first.
    from vocab.train import is_held_out

    texts, size_mb = [], 0.0
    pools = [sorted(ds, key=lambda d: (not is_held_out(1, d.id, 0.02), d.id), reverse=True) for ds in docs.values()]
    while size_mb < args.encode_mb and any(pools):
        for pool in pools:
            if pool:
                d = pool.pop()
                texts.append(d.text)
                size_mb += len(d.text.encode("utf-8")) / 1e6
    texts_file = tmp / "texts.json"
    texts_file.write_text(json.dumps(texts))
    print(f"\n== encode throughput, MB/s on {size_mb:.1f} MB of documents of every source (best of {args.repeat}) ==")
    print(f"{'model':8} {'size':>8} {'threads':>7} {'dataprep':>9} {'arrays':>8} {'spm whole':>9} {'HF export':>9} {'ratio':>6}"
          f" {'dataprep/cpu-s':>14} {'HF/cpu-s':>9} {'cpu ratio':>9}")
    for (model_type, size), folder in trained.items():
        for threads in (1, 2):
            r = _run_child(
                ["--child", "encode", folder, str(texts_file), str(threads), str(args.repeat)],
                env={"RAYON_NUM_THREADS": str(threads), "TOKENIZERS_PARALLELISM": "true"},
            )
            hf = r.get("hf_export")
            ratio = f"{r['dataprep'] / hf:6.1f}" if hf else f"{'-':>6}"
            c_ours, c_hf = r["cpu"].get("dataprep", float("nan")), r["cpu"].get("hf", float("nan"))
            print(
                f"{model_type:8} {size:>8} {threads:>7} {r['dataprep']:9.2f} {r['dataprep_arrays']:8.2f} "
                f"{r['sentencepiece_whole_docs']:9.2f} {hf if hf else float('nan'):9.2f} {ratio}"
                f" {c_ours:14.2f} {c_hf:9.2f} {c_ours / c_hf:9.1f}"
            )
    print(f"\n(work folder {tmp})")


if __name__ == "__main__":
    main()
