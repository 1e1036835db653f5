"""Train the lossless SentencePiece vocabulary from a document store.

Flow (``train_vocab``):

1. **Plan** (one pass over the ``id`` and ``text`` columns, no text materialised): every
   document gets two 64-bit hashes of ``(seed, id)``: one puts a ``holdout`` fraction aside for
   ``verify``/``eval``, the other orders the rest. Each source's character budget is
   ``sample_chars`` shared by the recipe weights (a source with less text than its share gives
   the rest to the others); within a source, documents are taken in hash order until the budget
   is spent, the last one cut at a line boundary. The result depends only on the seed, ids and
   texts: not on part layout, file order or worker count.
2. **Sample**: the chosen documents, in (source, hash) order, cut into line-aligned chunks below
   ``max_sentence_length`` bytes (SentencePiece silently skips longer "sentences") and fed whole
   otherwise, so newlines and indentation are learned.
3. **Train** SentencePiece from that iterator with the lossless options, threads pinned (a unigram
   sample above ``seed_chunk_chars`` seeded chunk by chunk in bounded memory, `vocab.seeds`), and
   write ``spm.model``, ``spm.vocab`` and ``vocab.json`` atomically, ``vocab.json`` last.

The store is read through a `dataprep.fs.FileSystem` and the outputs written through a
`dataprep.fs.FileWriter` (both local by default), so the caller may put the run folder on any
filesystem it can serve: ``dataprep run --out gs://...`` passes Beam's (this package does not
import Beam). SentencePiece trains in memory from the sampled texts either way; only the
finished files are written to the run folder.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import time
from dataclasses import dataclass, field
from typing import Any, Callable, Iterator, Sequence

import numpy as np
import pyarrow.compute as pc
import pyarrow.parquet as pq
import sentencepiece as spm
import xxhash

from dataprep.configs import to_plain
from dataprep.errors import FormatError, RecipeError, StageError
from dataprep.fs import FileSystem, FileWriter, LocalFileSystem, LocalFileWriter, is_url, join_path, read_file_bytes, relative_to_root
from dataprep.manifest import dumps_json, sha256_stream
from dataprep.recipe import Recipe
from dataprep.store import BUILD_MANIFEST, source_part_files
from dataprep.vocab_config import VocabConfig
from vocab.model import MODEL_FILE, SEGMENT_MAX, SEGMENT_MIN, SPACE_ESCAPE, Vocab, escape_space_symbol, quantize_scores
from vocab.seeds import NEWLINE_STANDIN, train_seeded

VOCAB_DIR = "vocab"
VOCAB_FILE = "spm.vocab"
MANIFEST_FILE = "vocab.json"
VOCAB_FORMAT = "dataprep-vocab v1"
# Bumped whenever sampling or training changes what a recipe produces, so an old vocabulary is
# not mistaken for an up-to-date one.
TRAINER_REVISION = 4
HASH_SPACE = 1 << 64
_TOO_LARGE = re.compile(r"Vocabulary size (?:is )?too high \((\d+)\)\. Please set it to a value <= (\d+)")
_TOO_LARGE_BPE = re.compile(r"Vocabulary size is smaller than required_chars\. (\d+) vs (\d+)")


def sample_key(seed: int, doc_id: str) -> int:
    """The 64-bit hash that orders documents for sampling (``xxh64`` of seed and id)."""
    return xxhash.xxh64_intdigest(f"vocab-sample\x00{seed}\x00{doc_id}".encode("utf-8", "surrogatepass"))


def holdout_key(seed: int, doc_id: str) -> int:
    """The 64-bit hash that decides the held-out split."""
    return xxhash.xxh64_intdigest(f"vocab-holdout\x00{seed}\x00{doc_id}".encode("utf-8", "surrogatepass"))


def is_held_out(seed: int, doc_id: str, holdout: float) -> bool:
    """True when the document is kept out of training for verify/eval (hash of seed and id).

    A source with no document below the ``holdout`` fraction still holds out one (its lowest
    hash; see `SourcePlan.extra_held_out`), so that every source can be verified on unseen text.
    """
    return holdout_key(seed, doc_id) < holdout * HASH_SPACE


def share_budget(budget: int, weights: dict[str, float], available: dict[str, int]) -> dict[str, int]:
    """Split ``budget`` characters among sources in proportion to ``weights``, capped by what each
    has; what a capped source cannot use goes to the others (water-filling).

    >>> share_budget(100, {"a": 1.0, "b": 1.0}, {"a": 10, "b": 500})
    {'a': 10, 'b': 90}
    """
    out = {s: 0 for s in weights}
    open_sources = {s for s in weights if available.get(s, 0) > 0}
    left = budget
    while open_sources and left > 0:
        total_w = sum(weights[s] for s in open_sources)
        shares = {s: int(left * weights[s] / total_w) for s in open_sources}
        capped = {s for s in open_sources if out[s] + shares[s] >= available[s]}
        if not capped:
            for s in sorted(open_sources):
                out[s] += shares[s]
            break
        for s in sorted(capped):
            left -= available[s] - out[s]
            out[s] = available[s]
        open_sources -= capped
    return out


def chunk_text(text: str, max_bytes: int) -> list[str]:
    """Cut ``text`` into chunks of at most ``max_bytes`` UTF-8 bytes, at line ends when possible.

    A single line longer than the limit is cut after its last space that fits, or at a character
    boundary. Concatenating the chunks gives back ``text``.

    >>> chunk_text("ab\\ncd\\nef", 6)
    ['ab\\ncd\\n', 'ef']
    """
    if len(text) * 4 <= max_bytes or len(text.encode("utf-8", "surrogatepass")) <= max_bytes:
        return [text] if text else []
    chunks: list[str] = []
    current: list[str] = []
    size = 0
    for line in text.splitlines(keepends=True):
        n = len(line.encode("utf-8", "surrogatepass"))
        if size + n > max_bytes and current:
            chunks.append("".join(current))
            current, size = [], 0
        if n > max_bytes:
            chunks.extend(_cut_line(line, max_bytes))
            continue
        current.append(line)
        size += n
    if current:
        chunks.append("".join(current))
    return chunks


def _cut_line(line: str, max_bytes: int) -> list[str]:
    out = []
    step = max(1, max_bytes // 4)  # a character is at most 4 UTF-8 bytes
    i = 0
    while i < len(line):
        piece = line[i : i + step]
        if i + step < len(line):
            space = piece.rfind(" ")
            if space > step // 2:
                piece = piece[: space + 1]
        out.append(piece)
        i += len(piece)
    return out


@dataclass
class SourcePlan:
    """What the sample takes from one source."""

    name: str
    weight: float
    documents: int = 0
    chars: int = 0
    held_out_documents: int = 0
    held_out_chars: int = 0
    budget_chars: int = 0
    threshold: int = -1  # documents with sample_key < threshold are taken whole
    partial_key: int = -1  # the one document cut to fill the budget exactly
    partial_chars: int = 0
    sampled_documents: int = 0
    sampled_chars: int = 0
    extra_held_out: list[str] = field(default_factory=list)

    def stats(self) -> dict[str, Any]:
        return {
            "weight": self.weight,
            "documents": self.documents,
            "chars": self.chars,
            "held_out_documents": self.held_out_documents,
            "held_out_chars": self.held_out_chars,
            "budget_chars": self.budget_chars,
            "sampled_documents": self.sampled_documents,
            "sampled_chars": self.sampled_chars,
            "extra_held_out": list(self.extra_held_out),
        }


def _iter_store_batches(files: Sequence[str], columns: list[str], fs: FileSystem | None = None) -> Iterator[Any]:
    fs = fs or LocalFileSystem()
    for path in files:
        try:
            # Local parts by path (pyarrow's own buffered reads); others through ``fs``, which
            # gives a seekable stream (Parquet reads the footer first).
            with (open(path, "rb") if isinstance(fs, LocalFileSystem) else fs.open(path)) as raw:
                f = pq.ParquetFile(raw)
                for rg in range(f.num_row_groups):
                    yield f.read_row_group(rg, columns=columns)
        except (OSError, ValueError) as e:  # pyarrow raises ArrowInvalid (a ValueError) on corrupt parts
            raise FormatError(f"{path}: unreadable document store part: {e}") from None


def _source_parts(fs: FileSystem, store_dir: str, name: str) -> list[str]:
    return [f.path for f in source_part_files(fs, store_dir, name)]


def plan_sample(recipe: Recipe, store_dir: str, fs: FileSystem | None = None) -> dict[str, SourcePlan]:
    """Pass 1: count each source's documents and characters and fix what the sample takes.

    ``fs`` serves the store (default: local files).

    Raises:
        StageError: the store holds no document for any recipe source.
    """
    fs = fs or LocalFileSystem()
    cfg: VocabConfig = recipe.vocab
    plans = {s.name: SourcePlan(s.name, s.weight) for s in recipe.sources}
    keys: dict[str, list[tuple[int, int]]] = {s: [] for s in plans}
    for name, plan in plans.items():
        parts = _source_parts(fs, store_dir, name)
        if not parts:
            continue
        lowest: tuple[int, str, int] | None = None
        for table in _iter_store_batches(parts, ["id", "text"], fs):
            ids = table.column("id").to_pylist()
            lengths = pc.utf8_length(table.column("text")).to_numpy(zero_copy_only=False)
            for doc_id, n in zip(ids, lengths.tolist()):
                plan.documents += 1
                plan.chars += n
                h = holdout_key(recipe.seed, doc_id)
                if h < cfg.holdout * HASH_SPACE:
                    plan.held_out_documents += 1
                    plan.held_out_chars += n
                    continue
                if n and (lowest is None or h < lowest[0]):
                    lowest = (h, doc_id, n)
                if n:
                    keys[name].append((sample_key(recipe.seed, doc_id), n))
        if plan.held_out_documents == 0 and plan.documents >= 2 and cfg.holdout > 0 and lowest is not None:
            _, doc_id, n = lowest
            plan.extra_held_out = [doc_id]
            plan.held_out_documents, plan.held_out_chars = 1, n
            drop = sample_key(recipe.seed, doc_id)
            keys[name] = [kn for kn in keys[name] if kn[0] != drop]
    if not any(p.documents for p in plans.values()):
        raise StageError(
            f"{store_dir}: the document store holds no documents of the recipe's sources "
            f"({', '.join(plans)}); nothing to train a vocabulary on"
        )
    available = {n: p.chars - p.held_out_chars for n, p in plans.items()}
    budgets = share_budget(cfg.sample_chars, {n: p.weight for n, p in plans.items()}, available)
    for name, plan in plans.items():
        plan.budget_chars = budgets[name]
        entries = sorted(keys[name])
        if not entries:
            continue
        lengths = np.array([n for _, n in entries], dtype=np.int64)
        cum = np.cumsum(lengths)
        whole = int(np.searchsorted(cum, plan.budget_chars, side="right"))  # docs that fit whole
        plan.sampled_documents = whole
        plan.sampled_chars = int(cum[whole - 1]) if whole else 0
        plan.threshold = entries[whole][0] if whole < len(entries) else HASH_SPACE
        left = plan.budget_chars - plan.sampled_chars
        if whole < len(entries) and left > 0:
            plan.partial_key = entries[whole][0]
            plan.partial_chars = left
            plan.sampled_documents += 1
            plan.sampled_chars += left
    return plans


def _cut_to_chars(text: str, limit: int) -> str:
    """The longest prefix of ``text`` of at most ``limit`` characters ending at a line end (or
    the plain prefix when the first line is longer)."""
    if len(text) <= limit:
        return text
    cut = text.rfind("\n", 0, limit)
    return text[: cut + 1] if cut >= 0 else text[:limit]


def collect_sample(
    recipe: Recipe, store_dir: str, plans: dict[str, SourcePlan], fs: FileSystem | None = None
) -> list[str]:
    """Pass 2: the sampled texts as training chunks, in (source, hash) order. ``fs`` serves the
    store (default: local files).

    Literal U+2581 is replaced as `Vocab.encode` does, so the trainer sees what encode will see.
    """
    fs = fs or LocalFileSystem()
    cfg: VocabConfig = recipe.vocab
    chunks: list[str] = []
    for name, plan in plans.items():
        if plan.sampled_documents == 0:
            continue
        chosen: list[tuple[int, str]] = []
        for table in _iter_store_batches(_source_parts(fs, store_dir, name), ["id", "text"], fs):
            ids = table.column("id").to_pylist()
            keys = [sample_key(recipe.seed, i) for i in ids]
            picks = [
                j
                for j, (doc_id, k) in enumerate(zip(ids, keys))
                if (k < plan.threshold or k == plan.partial_key)
                and not is_held_out(recipe.seed, doc_id, cfg.holdout)
                and doc_id not in plan.extra_held_out
            ]
            if not picks:
                continue
            texts = table.column("text").take(picks).to_pylist()
            for j, text in zip(picks, texts):
                if keys[j] == plan.partial_key and keys[j] >= plan.threshold:
                    text = _cut_to_chars(text, plan.partial_chars)
                chosen.append((keys[j], text))
        chosen.sort(key=lambda kt: kt[0])
        for _, text in chosen:
            # U+10FFFF and U+FDD0 are dataprep's stand-ins (for U+2581 and, in seeded training,
            # for "\n"); both are noncharacters, never in interchanged text: dropped.
            text = escape_space_symbol(text.replace(SPACE_ESCAPE, "").replace(NEWLINE_STANDIN, ""))
            chunks.extend(chunk_text(text, cfg.max_sentence_length))
    return chunks


def trainer_options(cfg: VocabConfig, vocab_size: int | None = None) -> dict[str, Any]:
    """The SentencePiece trainer options for ``cfg`` (everything pinned, nothing left default
    that could change the model), without input or output arguments."""
    return {
        "model_type": cfg.model_type,
        "vocab_size": vocab_size or cfg.size,
        "character_coverage": cfg.character_coverage,
        # Lossless (see dataprep.vocab_config.LOSSLESS for why each).
        "normalization_rule_name": cfg.normalization_rule_name,
        "remove_extra_whitespaces": cfg.remove_extra_whitespaces,
        "add_dummy_prefix": cfg.add_dummy_prefix,
        "byte_fallback": cfg.byte_fallback,
        "split_digits": cfg.split_digits,
        "allow_whitespace_only_pieces": cfg.allow_whitespace_only_pieces,
        # Pieces never span a space boundary except as a leading U+2581, and never mix scripts
        # (SentencePiece defaults, pinned so a library upgrade cannot change them silently).
        "split_by_whitespace": True,
        "split_by_unicode_script": True,
        "split_by_number": True,
        "treat_whitespace_as_suffix": False,
        "max_sentence_length": cfg.max_sentence_length,
        "max_sentencepiece_length": cfg.max_piece_length,
        # Our own sample is the input: no second sampling or shuffling inside SentencePiece.
        "input_sentence_size": 0,
        "shuffle_input_sentence": False,
        "num_threads": cfg.num_threads,
        "pad_id": cfg.pad_id,
        "eos_id": cfg.eos_id,
        "unk_id": cfg.unk_id,
        "bos_id": cfg.bos_id,
        "control_symbols": list(cfg.control_symbols()),
        # Every character of a special piece's text gets its own piece, so a literal "</s>" or
        # "<0x41>" in text always has a spelling out of normal pieces and is encoded as text by
        # the Hugging Face export too (see vocab.export).
        "required_chars": required_chars(cfg),
        "hard_vocab_limit": True,
        "vocabulary_output_piece_score": True,
        "minloglevel": 2,
    }


def required_chars(cfg: VocabConfig) -> str:
    """The characters of every special piece's text (``<unk>``, ``</s>``, ``<0xAB>``, sentinels,
    reserved symbols), sorted.

    >>> required_chars(VocabConfig(sentinels=0, reserved_symbols=()))
    '/0123456789<>ABCDEFadknpsux'
    """
    texts = ["<unk>", "<s>", "</s>", "<pad>", "<0x0123456789ABCDEF>", *cfg.control_symbols()]
    return "".join(sorted({c for t in texts for c in t}))


def _drain(sentences: Sequence[str]) -> Iterator[str]:
    """Yield the sentences in order, releasing each from a list once SentencePiece has copied it,
    so the sample is not held twice at peak (measured: ~10% of peak RSS at 100 M characters)."""
    if not isinstance(sentences, list):
        yield from sentences
        return
    sentences.reverse()
    while sentences:
        yield sentences.pop()


def train_model(
    sentences: Sequence[str],
    cfg: VocabConfig,
    progress: Callable[[str], None] | None = None,
    seeding: dict[str, Any] | None = None,
) -> bytes:
    """Train SentencePiece on ``sentences`` with the options of ``cfg``; the model bytes.

    A ``list`` of sentences is emptied as the trainer copies it (to halve the sample's memory).
    A unigram sample longer than ``cfg.seed_chunk_chars`` is seeded chunk by chunk in bounded
    memory (`vocab.seeds`); the statistics of that step go into ``seeding`` when given.

    Raises:
        StageError: no training text.
        RecipeError: ``vocab.size`` is larger than the text can fill (the message gives the
            largest size that works).
    """
    if not any(sentences):
        raise StageError("the training sample is empty: the store's documents hold no text")
    options = trainer_options(cfg)
    if cfg.model_type == "unigram" and sum(len(s) for s in sentences) > cfg.seed_chunk_chars:
        pool = sentences if isinstance(sentences, list) else list(sentences)
        try:
            proto, stats = train_seeded(pool, options, cfg.seed_chunk_chars, _train, progress)
        except RecipeError as e:
            # Chunk seeds keep fewer rare pieces than whole-sample ones (docs/vocab.md).
            raise RecipeError(
                e.key,
                e.expected,
                e.found,
                hint=f"{e.hint}; or set vocab.seed_chunk_chars above vocab.sample_chars: SentencePiece's "
                "whole-sample seeds keep more rare pieces (at about 24 bytes of memory per sample character)",
            ) from None
        if seeding is not None:
            seeding.update(stats)
        return proto
    return _train(_drain(sentences), options)


def _train(sentences: Iterator[str], options: dict[str, Any]) -> bytes:
    """Run SentencePiece's trainer on ``sentences``; its errors become typed, actionable ones."""
    out = bytearray()

    class _Writer:
        def write(self, data: bytes) -> None:
            out.extend(data)

    try:
        spm.SentencePieceTrainer.train(sentence_iterator=sentences, model_writer=_Writer(), **options)
    except RuntimeError as e:
        msg = str(e)
        m = _TOO_LARGE.search(msg)
        if m:
            raise RecipeError(
                "vocab.size",
                f"at most {int(m.group(2)):,} for this training sample",
                options["vocab_size"],
                hint="the sample has too few distinct pieces; lower vocab.size or raise vocab.sample_chars",
            ) from None
        m = _TOO_LARGE_BPE.search(msg)
        if m:
            raise RecipeError(
                "vocab.size",
                f"at least {int(m.group(2)):,} (the sample's distinct characters plus specials)",
                options["vocab_size"],
            ) from None
        raise StageError(f"SentencePiece training failed: {msg}") from None
    if not out:
        raise StageError("SentencePiece training produced no model")
    return bytes(out)


def vocab_text(vocab: Vocab) -> str:
    """The ``spm.vocab`` listing: ``piece<TAB>score`` per id, as ``spm_train`` writes it."""
    sp = vocab.processor
    return "".join(f"{sp.id_to_piece(i)}\t{sp.get_score(i):g}\n" for i in range(vocab.size))


def input_fingerprint(store_dir: str, sources: Sequence[str], fs: FileSystem | None = None) -> str:
    """SHA-256 identifying the input store: its build manifest's checksum when present, else the
    names and sizes of its part files. ``fs`` serves the store (default: local files)."""
    fs = fs or LocalFileSystem()
    manifest = read_file_bytes(fs, join_path(store_dir, BUILD_MANIFEST))
    if manifest is not None:
        return hashlib.sha256(manifest).hexdigest()
    h = hashlib.sha256()
    for name in sorted(sources):
        for info in source_part_files(fs, store_dir, name):
            rel = relative_to_root(info.path, store_dir) if is_url(store_dir) else os.path.relpath(info.path, store_dir)
            h.update(f"{rel}\t{info.size}\n".encode())
    return h.hexdigest()


def vocab_dir(out_dir: str) -> str:
    """Where a run folder keeps its vocabulary: ``out_dir/vocab`` (any filesystem's path)."""
    return join_path(out_dir, VOCAB_DIR)


def find_vocab_dir(path: str) -> str:
    """A vocab folder from either the run folder (``DIR``) or the vocab folder (``DIR/vocab``)."""
    if os.path.exists(os.path.join(path, VOCAB_DIR, MODEL_FILE)):
        return os.path.join(path, VOCAB_DIR)
    if os.path.exists(os.path.join(path, MODEL_FILE)):
        return path
    raise FormatError(f"{path}: no vocabulary here (expected {path}/vocab/{MODEL_FILE}; run `dataprep vocab train`)")


def check_store(store_dir: str, fs: FileSystem | None = None) -> None:
    """`FormatError` telling the user to build first when ``store_dir`` holds no document store.
    ``fs`` serves the store (default: local files); on an object store, where folders do not
    exist, the store is there when some object lies below ``documents/``."""
    fs = fs or LocalFileSystem()
    documents = join_path(store_dir, "documents")
    try:
        present = fs.is_dir(documents) or bool(fs.match(join_path(documents, "**")))
    except OSError:  # Beam's filesystems raise BeamIOError (an OSError) on a failed listing
        present = False
    if not present:
        raise FormatError(
            f"{store_dir}: no document store (expected {store_dir}/documents/<source>/part-*.parquet); "
            f"run `dataprep build RECIPE --out {store_dir}` first, or pass --input STORE"
        )


def train_vocab(
    recipe: Recipe,
    out_dir: str,
    input_store: str | None = None,
    *,
    force: bool = False,
    progress: Callable[[str], None] | None = None,
    fs: FileSystem | None = None,
    writer: FileWriter | None = None,
) -> dict[str, Any]:
    """Sample the store, train the vocabulary and write ``out_dir/vocab/`` (the manifest last).

    Args:
        recipe: the validated recipe (its ``seed``, ``sources`` weights and ``vocab`` section).
        out_dir: the run folder; the vocabulary goes to ``out_dir/vocab``.
        input_store: the document store written by ``dataprep build`` (default ``out_dir``).
        force: retrain even when a complete vocabulary for the same recipe and input exists.
        progress: called with a one-line message at each step (sampling, training, writing).
        fs: serves the store and the existing vocabulary (the up-to-date check); default local
            files. ``pipelines.fs.BeamFileSystem()`` serves gs://, s3://, ... paths.
        writer: writes ``spm.model``, ``spm.vocab`` and ``vocab.json`` (each atomically, in that
            order); default local files. It must write where ``fs`` reads.

    Returns:
        The ``vocab.json`` manifest, plus ``"skipped"`` (True when an up-to-date vocabulary was
        found) and ``"seconds"``.
    """
    fs = fs or LocalFileSystem()
    writer = writer or LocalFileWriter()
    store = input_store or out_dir
    check_store(store, fs)
    cfg = recipe.vocab
    names = [s.name for s in recipe.sources]
    store_fingerprint = input_fingerprint(store, names, fs)
    fingerprint = hashlib.sha256(
        json.dumps(
            {
                "recipe": recipe.fingerprint("seed", "sources", "vocab"),
                "input": store_fingerprint,
                "trainer": [TRAINER_REVISION, spm.__version__],
            },
            sort_keys=True,
        ).encode()
    ).hexdigest()
    target = vocab_dir(out_dir)
    manifest_path = join_path(target, MANIFEST_FILE)
    if not force:
        old = current_manifest(target, fingerprint, fs)
        if old is not None:
            return {**old, "skipped": True, "seconds": 0.0}
    say = progress or (lambda message: None)
    started = time.monotonic()
    say(f"planning the sample from {store} ...")
    plans = plan_sample(recipe, store, fs)
    sentences = collect_sample(recipe, store, plans, fs)
    sentence_count = len(sentences)
    say(
        f"training {cfg.model_type} vocabulary of {cfg.size:,} pieces on {sum(len(t) for t in sentences):,} "
        f"characters ({sentence_count:,} chunks, {cfg.num_threads} threads) ..."
    )
    seeding: dict[str, Any] = {}
    proto, grid = quantize_scores(train_model(sentences, cfg, say, seeding))  # empties ``sentences``
    vocab = Vocab(proto, join_path(target, MODEL_FILE))
    writer.remove(manifest_path)  # the old manifest must not vouch for the new files
    writer.write_bytes(join_path(target, MODEL_FILE), proto)
    writer.write_bytes(join_path(target, VOCAB_FILE), vocab_text(vocab).encode("utf-8"))
    options = trainer_options(cfg)
    options.pop("minloglevel")
    manifest = {
        "format": VOCAB_FORMAT,
        "recipe": recipe.name,
        "seed": recipe.seed,
        "fingerprint": fingerprint,
        "recipe_fingerprint": recipe.fingerprint("seed", "sources", "vocab"),
        "input_fingerprint": store_fingerprint,
        "model_sha256": vocab.fingerprint,
        "size": vocab.size,
        "model_type": vocab.model_type,
        "special_ids": {"pad": vocab.pad_id, "eos": vocab.eos_id, "unk": vocab.unk_id, "bos": vocab.bos_id},
        "vocab_config": to_plain(cfg),
        "trainer_options": options,
        "sentencepiece_version": spm.__version__,
        "space_escape": f"U+{ord(SPACE_ESCAPE):04X}",
        "score_grid": grid,
        "segment_chars": [SEGMENT_MIN, SEGMENT_MAX],
        # Chunk seeding (vocab.seeds): chunks and their characters, seed pieces; {} when the
        # sample was seeded whole by SentencePiece.
        "seeding": seeding,
        "sample": {
            "sentences": sentence_count,
            "chars": sum(p.sampled_chars for p in plans.values()),
            "sources": {n: p.stats() for n, p in plans.items()},
        },
    }
    writer.write_bytes(manifest_path, dumps_json(manifest))
    return {**manifest, "skipped": False, "seconds": time.monotonic() - started}


def current_manifest(vocab_folder: str, fingerprint: str, fs: FileSystem | None = None) -> dict[str, Any] | None:
    """The ``vocab.json`` of ``vocab_folder`` when it vouches for a complete vocabulary of this
    ``fingerprint`` (same format and fingerprint, ``spm.model`` with the recorded checksum);
    None when missing, unreadable, partial or stale (then the vocabulary is retrained). ``fs``
    serves the folder (default: local files)."""
    fs = fs or LocalFileSystem()
    try:
        data = read_file_bytes(fs, join_path(vocab_folder, MANIFEST_FILE))
        if data is None:
            return None
        old = json.loads(data)
        if not (isinstance(old, dict) and old.get("format") == VOCAB_FORMAT and old.get("fingerprint") == fingerprint):
            return None
        with fs.open(join_path(vocab_folder, MODEL_FILE)) as f:
            model_sha = sha256_stream(f)
    except (OSError, ValueError):  # a missing model, an unreadable or partial manifest: retrain
        return None
    return old if model_sha == old.get("model_sha256") else None


def read_vocab_manifest(vocab_folder: str) -> dict[str, Any]:
    """The ``vocab.json`` of a vocab folder; `FormatError` if missing or of another format."""
    from dataprep.manifest import read_manifest

    return read_manifest(os.path.join(vocab_folder, MANIFEST_FILE), VOCAB_FORMAT)
