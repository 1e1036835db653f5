"""Build throughput and peak memory over ../shared/corpora, against a plain loop, in one run.

    python benchmarks/build.py [--corpora ../shared/corpora] [--repeat 2]

Each measurement runs in a fresh subprocess; peak memory is the largest sum of resident memory
over the process tree (the runner's workers included), sampled every 50 ms. The reference is a
plain single-process loop doing the same work with the same readers: read, normalise, length
check, filters, sorted Parquet parts. Runs are interleaved and the best of ``--repeat`` kept, so
the ratios survive a noisy shared machine. Prints MB/s of input and the overhead ratios.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import threading
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(HERE))

from measure import peak_rss_tree  # noqa: E402  (benchmarks/ is on the path)


def recipe_for(corpora: Path, tmp: Path, dedup: bool) -> Path:
    """The integration tests' all-corpora recipe; without dedup for the like-for-like ratio
    (the plain loop reads, cleans, filters and writes, but does not deduplicate)."""
    import yaml

    from tests.integration.test_build_integration import corpora_recipe

    path = corpora_recipe(corpora, tmp, name="dedup.yaml" if dedup else "nodedup.yaml")
    data = yaml.safe_load(path.read_text())
    if not dedup:
        data["dedup"] = {"exact": False, "near": False}
    path.write_text(yaml.safe_dump(data))
    return path


# ---- children ---------------------------------------------------------------------------------


def run_plain(recipe_path: str, out: str) -> None:
    """The reference: one process, no Beam, same readers and same per-document work."""
    from collections import defaultdict

    from dataprep.filters import make_checks
    from dataprep.fs import LocalFileSystem
    from dataprep.normalize import check_length, normalize_document
    from dataprep.recipe import load_recipe, match_sources
    from dataprep.records import Document
    from dataprep.sources import ReadContext, reader_module
    from dataprep.store import parquet_bytes

    recipe = load_recipe(recipe_path)
    fs = LocalFileSystem()
    inputs = match_sources(recipe, fs)
    kept = defaultdict(list)
    for spec in recipe.sources:
        checks = make_checks(spec, recipe.quality, recipe.seed)
        for c in checks:
            c.setup()
        min_chars = spec.min_chars if spec.min_chars is not None else recipe.build.min_chars
        for path, root in inputs[spec.name]:
            for rec in reader_module(spec.kind).read(fs, path, ReadContext(spec.name, root, spec.options)):
                if not isinstance(rec, Document):
                    continue
                doc = normalize_document(rec)
                if not check_length(doc.text, min_chars, recipe.build.max_chars).keep:
                    continue
                for c in checks:
                    doc, verdict = c(doc)
                    if not verdict.keep:
                        break
                else:
                    kept[spec.name].append(doc)
    for name, docs in kept.items():
        docs.sort(key=lambda d: d.id)
        os.makedirs(f"{out}/{name}", exist_ok=True)
        per = recipe.build.parquet_rows_per_part
        for i in range(0, len(docs), per):
            with open(f"{out}/{name}/part-{i // per:05d}.parquet", "wb") as f:
                f.write(parquet_bytes(docs[i : i + per]))


def run_pipeline(recipe_path: str, out: str, workers: int) -> None:
    from dataprep.recipe import load_recipe
    from pipelines.build import build_documents

    build_documents(load_recipe(recipe_path), out, workers=workers)


# ---- parent -------------------------------------------------------------------------------------


def measure(mode: str, recipe: Path, tmp: Path) -> tuple[float, float, int]:
    """Wall seconds, CPU seconds (the child and every process it waited for) and peak tree RSS
    of one child run. CPU time is what other load on a shared machine disturbs least."""
    import resource

    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    out = tempfile.mkdtemp(dir=tmp)
    cmd = [sys.executable, __file__, "--child", mode, "--recipe", str(recipe), "--out", out]
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    err = b""

    def drain() -> None:  # read stderr while running, so a chatty child cannot block on a full pipe
        nonlocal err
        err = proc.stderr.read()

    reader = threading.Thread(target=drain, daemon=True)
    reader.start()
    peak, elapsed = peak_rss_tree(proc)
    reader.join()
    if proc.returncode != 0:
        raise SystemExit(f"{mode} failed:\n{err.decode()[-3000:]}")
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return elapsed, cpu, peak


def input_bytes(recipe: Path) -> int:
    from dataprep.fs import LocalFileSystem
    from dataprep.recipe import load_recipe, match_sources

    inputs = match_sources(load_recipe(str(recipe)), LocalFileSystem())
    total = 0
    for units in inputs.values():
        for path, _ in units:
            if os.path.isdir(path):
                total += sum(f.stat().st_size for f in Path(path).rglob("*") if f.is_file())
            else:
                total += os.path.getsize(path)
    return total


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--corpora", default=str(REPO.parent / "shared" / "corpora"))
    ap.add_argument("--repeat", type=int, default=2)
    ap.add_argument("--child", choices=["plain", "pipeline1", "pipeline2", "dedup1"])
    ap.add_argument("--recipe")
    ap.add_argument("--out")
    a = ap.parse_args()
    if a.child:
        if a.child == "plain":
            run_plain(a.recipe, a.out)
        else:
            run_pipeline(a.recipe, a.out, workers=int(a.child[-1]))
        return

    tmp = Path(tempfile.mkdtemp(prefix="bench-build-"))
    recipe = recipe_for(Path(a.corpora), tmp, dedup=False)
    with_dedup = recipe_for(Path(a.corpora), tmp, dedup=True)
    size = input_bytes(recipe)
    modes = ("plain", "pipeline1", "pipeline2", "dedup1")
    best: dict[str, tuple[float, float, int]] = {}
    for _ in range(a.repeat):
        for mode in modes:
            secs, cpu, peak = measure(mode, with_dedup if mode == "dedup1" else recipe, tmp)
            prev = best.get(mode)
            best[mode] = (min(secs, prev[0]), min(cpu, prev[1]), max(peak, prev[2])) if prev else (secs, cpu, peak)
    plain, plain_cpu = best["plain"][0], best["plain"][1]
    print(f"input: {size / 1e6:.1f} MB over {a.corpora} (best of {a.repeat}, runs interleaved)")
    print(f"{'mode':<24}{'wall s':>8}{'MB/s':>7}{'vs plain':>9}{'CPU s':>8}{'vs plain':>9}{'peak MB':>9}")
    labels = {
        "plain": "plain loop (reference)",
        "pipeline1": "build, 1 worker",
        "pipeline2": "build, 2 workers",
        "dedup1": "build+dedup, 1 worker",
    }
    for mode in modes:
        secs, cpu, peak = best[mode]
        print(
            f"{labels[mode]:<24}{secs:>8.1f}{size / 1e6 / secs:>7.2f}{secs / plain:>8.2f}x"
            f"{cpu:>8.1f}{cpu / plain_cpu:>8.2f}x{peak / 1e6:>9.0f}"
        )
    print(f"2 workers vs 1 (wall): {best['pipeline1'][0] / best['pipeline2'][0]:.2f}x faster")
    print(json.dumps({m: {"wall_s": round(s, 2), "cpu_s": round(c, 2), "peak_bytes": p} for m, (s, c, p) in best.items()}))


if __name__ == "__main__":
    main()
