"""Vocabulary benchmark: training time and peak memory, encode throughput against references.

Measures, on the shared corpora (``../shared/corpora``, read directly into a temporary document
store), in one run so a noisy machine affects every number alike:

1. training wall time and peak RSS of the whole process tree (the training process and the
   seeding processes it starts, sampled from /proc) for each ``--model-types`` x ``--sizes``,
   each training in its own process. ``unigram`` is the shipped path (chunk-seeded above
   ``--seed-chunk-chars``, vocab.seeds); ``unigram-whole`` is SentencePiece seeding the whole
   sample itself (the reference for memory, time and compression). Bytes per token of every
   model on the held-out encode text are printed beside it;
2. encode throughput (MB of UTF-8 per second) at 1 and 2 threads on held-out documents for
   ``Vocab.encode`` (segmented, the shipped path), raw SentencePiece on whole documents, and the
   exported Hugging Face tokenizer of the same model; ratios against the HF export, in wall-clock
   MB/s and in MB per CPU-second (the latter is what a shared, loaded machine cannot distort).

The shared corpora hold 86.3 M characters (84-85 M after the held-out split), so a sample of
``--sample-chars`` 100 M needs ``--extend-chars``: edited copies of documents (line order
reversed, the words of every line rotated by one, ids suffixed ``~copy``) are added to the
benchmark's store, every source in turn, until it holds that many characters.

Usage::

    python benchmarks/vocab.py --sample-chars 100000000 --extend-chars 104000000 \\
        --sizes 32000 236000 --model-types unigram unigram-whole --encode-mb 10
    python benchmarks/vocab.py --sample-chars 100000000 --extend-chars 104000000 --sizes 256000 --model-types bpe
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

SOURCES = [("books", 0.2), ("code", 0.2), ("wiki", 0.2), ("news", 0.05), ("dialogue", 0.15), ("web", 0.2)]


WHOLE = 10**15  # seed_chunk_chars of "unigram-whole": never chunked


def _recipe(size: int, model_type: str, sample_chars: int, seed_chunk_chars: int):
    from dataprep.recipe import Recipe, SourceSpec
    from dataprep.vocab_config import VocabConfig

    sources = tuple(SourceSpec(n, "text", ("(store)",), w) for n, w in SOURCES)
    if model_type == "unigram-whole":
        model_type, seed_chunk_chars = "unigram", WHOLE
    vocab = VocabConfig(size=size, model_type=model_type, sample_chars=sample_chars, seed_chunk_chars=seed_chunk_chars)
    return Recipe("bench", 1, sources, vocab=vocab)


def child_train(store: str, out: str, size: int, model_type: str, sample_chars: int, seed_chunk_chars: int) -> None:
    """Runs in a subprocess: train once, print seconds, sample and seeding as JSON."""
    from dataprep.errors import DataprepError
    from vocab.train import train_vocab

    started = time.monotonic()
    try:
        manifest = train_vocab(_recipe(size, model_type, sample_chars, seed_chunk_chars), out, store, force=True)
        result = {
            "seconds": time.monotonic() - started,
            "chars": manifest["sample"]["chars"],
            "chunks": manifest["seeding"].get("chunks", 1),
        }
    except DataprepError as e:
        result = {"error": str(e)}
    print(json.dumps(result))


def extend_documents(docs: dict, target_chars: int) -> int:
    """Add edited copies of documents to ``docs`` (every source in turn) until they hold
    ``target_chars`` characters; returns the characters added."""
    from dataprep.records import Document

    total = sum(len(d.text) for ds in docs.values() for d in ds)
    added = 0
    pools = {name: list(ds) for name, ds in docs.items()}
    i = 0
    while total + added < target_chars:
        progressed = False
        for name, pool in pools.items():
            if i < len(pool) and total + added < target_chars:
                d = pool[i]
                lines = [" ".join(ws[1:] + ws[:1]) for ws in (line.split(" ") for line in reversed(d.text.split("\n")))]
                text = "\n".join(lines)
                docs[name].append(Document(f"{d.id}~copy", d.source, text, d.meta))
                added += len(text)
                progressed = True
        i += 1
        if not progressed:
            break
    return added


def bytes_per_token(folder: str, texts: list[str]) -> float:
    """UTF-8 bytes per token of the vocabulary in ``folder`` over ``texts``."""
    from vocab.model import Vocab

    vocab = Vocab.load(folder)
    return sum(len(t.encode("utf-8")) for t in texts) / sum(len(ids) for ids in vocab.encode(texts))


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


def _run_measured(args: list[str]) -> dict:
    """Run a child; its JSON result plus the peak RSS of its process tree (MB)."""
    from measure import peak_rss_tree  # benchmarks/ is on the path

    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    with tempfile.TemporaryFile("w+") as out:
        proc = subprocess.Popen([sys.executable, __file__, *args], stdout=out, stderr=subprocess.PIPE, text=True)
        peak, _ = peak_rss_tree(proc)
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        err = proc.stderr.read()
        if proc.returncode != 0:
            raise SystemExit(f"child failed: {err[-2000:]}")
        out.seek(0)
        result = json.loads(out.read().strip().splitlines()[-1])
    result["peak_rss_mb"] = peak / 1e6
    # CPU seconds of the whole tree (every process waited for: the training process and its
    # seeding processes): unlike wall time, not inflated by other jobs on a shared machine.
    result["cpu_seconds"] = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return result


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--corpora", default=str(REPO.parent / "shared" / "corpora"))
    p.add_argument("--sample-chars", type=int, default=20_000_000)
    p.add_argument("--sizes", type=int, nargs="+", default=[32_000, 256_000])
    p.add_argument("--model-types", nargs="+", default=["unigram", "bpe"], help="unigram, unigram-whole, bpe")
    p.add_argument("--seed-chunk-chars", type=int, default=None, help="default: VocabConfig's")
    p.add_argument("--extend-chars", type=int, default=0, help="add edited copies until the store holds this many")
    p.add_argument("--encode-mb", type=float, default=10.0, help="held-out text encoded for throughput")
    p.add_argument("--encode-types", nargs="+", default=["unigram", "bpe"], help="model types whose encoding is timed")
    p.add_argument("--repeat", type=int, default=2)
    p.add_argument("--child", nargs="+", help=argparse.SUPPRESS)
    args = p.parse_args()
    if args.child:
        kind, *rest = args.child
        if kind == "train":
            child_train(rest[0], rest[1], int(rest[2]), rest[3], int(rest[4]), int(rest[5]))
        else:
            child_encode(rest[0], rest[1], int(rest[2]), int(rest[3]))
        return

    from dataprep.vocab_config import VocabConfig
    from tests.vocab.corpora_docs import corpus_documents, write_store

    chunk = args.seed_chunk_chars or VocabConfig().seed_chunk_chars
    tmp = Path(tempfile.mkdtemp(prefix="vocab-bench-"))
    docs = corpus_documents(Path(args.corpora))
    added = extend_documents(docs, args.extend_chars) if args.extend_chars else 0
    write_store(tmp / "store", docs)
    total = sum(len(d.text) for ds in docs.values() for d in ds)
    print(
        f"corpora: {sum(map(len, docs.values())):,} documents, {total:,} characters "
        f"({added:,} of them edited copies); sample {args.sample_chars:,}; seed chunks of {chunk:,}"
    )

    # Text for encoding and bytes per token: held-out documents of every source in turn (never
    # trained on), then others; no edited copies.
    from vocab.train import is_held_out

    texts, size_mb = [], 0.0
    pools = [
        sorted((d for d in ds if not d.id.endswith("~copy")), key=lambda d: (not is_held_out(1, d.id, 0.02), d.id), reverse=True)
        for ds in docs.values()
    ]
    while size_mb < args.encode_mb and any(pools):
        for pool in pools:
            if pool:
                d = pool.pop()
                texts.append(d.text)
                size_mb += len(d.text.encode("utf-8")) / 1e6
    held = [d.text for ds in docs.values() for d in ds if is_held_out(1, d.id, 0.02) and not d.id.endswith("~copy")]
    del docs

    print("\n== training (each in its own process; peak RSS of its whole process tree) ==")
    print(f"{'model':14} {'size':>8} {'sample':>11} {'chunks':>6} {'seconds':>9} {'CPU s':>8} {'peak MB':>9} {'held-out B/token':>16}  note")
    trained = {}
    for model_type in args.model_types:
        for size in args.sizes:
            out = tmp / f"{model_type}-{size}"
            r = _run_measured(
                ["--child", "train", str(tmp / "store"), str(out), str(size), model_type, str(args.sample_chars), str(chunk)]
            )
            note = r.get("error", "")
            seconds = f"{r['seconds']:9.1f}" if "seconds" in r else f"{'-':>9}"
            chars = f"{r['chars']:11,}" if "chars" in r else f"{'-':>11}"
            bpt = f"{bytes_per_token(str(out / 'vocab'), held):16.4f}" if "seconds" in r else f"{'-':>16}"
            print(
                f"{model_type:14} {size:>8} {chars} {r.get('chunks', '-'):>6} {seconds} {r['cpu_seconds']:8.1f} "
                f"{r['peak_rss_mb']:9.0f} {bpt}  {note}",
                flush=True,
            )
            if "seconds" in r:
                trained[(model_type, size)] = str(out / "vocab")

    texts_file = tmp / "texts.json"
    texts_file.write_text(json.dumps(texts))
    print(f"\n== encode throughput, MB/s on {size_mb:.1f} MB of documents of every source (best of {args.repeat}) ==")
    print(f"{'model':14} {'size':>8} {'threads':>7} {'dataprep':>9} {'arrays':>8} {'spm whole':>9} {'HF export':>9} {'ratio':>6}"
          f" {'dataprep/cpu-s':>14} {'HF/cpu-s':>9} {'cpu ratio':>9}")
    for (model_type, size), folder in trained.items():
        if model_type not in args.encode_types:
            continue
        for threads in (1, 2):
            r = _run_child(
                ["--child", "encode", folder, str(texts_file), str(threads), str(args.repeat)],
                env={"RAYON_NUM_THREADS": str(threads), "TOKENIZERS_PARALLELISM": "true"},
            )
            hf = r.get("hf_export")
            ratio = f"{r['dataprep'] / hf:6.1f}" if hf else f"{'-':>6}"
            c_ours, c_hf = r["cpu"].get("dataprep", float("nan")), r["cpu"].get("hf", float("nan"))
            print(
                f"{model_type:14} {size:>8} {threads:>7} {r['dataprep']:9.2f} {r['dataprep_arrays']:8.2f} "
                f"{r['sentencepiece_whole_docs']:9.2f} {hf if hf else float('nan'):9.2f} {ratio}"
                f" {c_ours:14.2f} {c_hf:9.2f} {c_ours / c_hf:9.1f}"
            )
    print(f"\n(work folder {tmp})")


if __name__ == "__main__":
    main()
