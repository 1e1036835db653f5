"""Documents of the shared real corpora, read directly (without the build pipeline), and a
helper writing them as a document store. Used by the vocab integration test and benchmark."""

from __future__ import annotations

import bz2
import gzip
import html
import json
import re
from pathlib import Path

from dataprep.records import Document
from dataprep.store import parquet_bytes, part_name

WIKI_TEXT = re.compile(r"<text[^>]*>(.*?)</text>", re.S)


def _doc(source: str, rel: str, pos: int, text: str) -> Document:
    return Document(f"{source}/{rel}#{pos}", source, text, {"file": rel, "position": pos})


def _read_text(path: Path) -> str | None:
    try:
        return path.read_bytes().decode("utf-8")
    except UnicodeDecodeError:
        return None


def corpus_documents(corpora: Path) -> dict[str, list[Document]]:
    """Every source of ``corpora`` as documents: books and code one per file, wiki one per page or
    summary, news one per line, dialogue one per conversation, web one per HTML page's text."""
    out: dict[str, list[Document]] = {k: [] for k in ("books", "code", "wiki", "news", "dialogue", "web")}
    for path in sorted((corpora / "books").rglob("*.txt")):
        text = _read_text(path)
        if text:
            out["books"].append(_doc("books", str(path.relative_to(corpora)), 0, text))
    for path in sorted((corpora / "code").rglob("*")):
        if path.is_file() and path.stat().st_size < 1_000_000:
            text = _read_text(path)
            if text:
                out["code"].append(_doc("code", str(path.relative_to(corpora)), 0, text))
    for path in sorted((corpora / "wiki").glob("*.jsonl.gz")):
        with gzip.open(path, "rt", encoding="utf-8") as f:
            for i, line in enumerate(f):
                rec = json.loads(line)
                if rec.get("text"):
                    out["wiki"].append(_doc("wiki", path.name, i, f"{rec.get('title', '')}\n\n{rec['text']}"))
    for path in sorted((corpora / "wiki").glob("*.xml.bz2")):
        xml = bz2.decompress(path.read_bytes()).decode("utf-8")
        for i, m in enumerate(WIKI_TEXT.finditer(xml)):
            out["wiki"].append(_doc("wiki", path.name, i, html.unescape(m.group(1))))
    for i, line in enumerate((corpora / "news" / "lee_background.txt").read_text(encoding="utf-8").splitlines()):
        if line.strip():
            out["news"].append(_doc("news", "lee_background.txt", i, line))
    with gzip.open(corpora / "dialogue" / "chitchat.jsonl.gz", "rt", encoding="utf-8") as f:
        for i, line in enumerate(f):
            rec = json.loads(line)
            turns = ["\n".join(m["text"] for m in turn) for turn in rec.get("messages", [])]
            if turns:
                out["dialogue"].append(_doc("dialogue", "chitchat.jsonl.gz", i, "\n\n".join(turns)))
    for path in sorted((corpora / "dialogue" / "chatterbot").rglob("*.yml")):
        text = _read_text(path)
        if text:
            out["dialogue"].append(_doc("dialogue", str(path.relative_to(corpora)), 0, text))
    out["web"] = _web_documents(corpora)
    return out


def _web_documents(corpora: Path) -> list[Document]:
    from resiliparse.extract.html2text import extract_plain_text
    from warcio.archiveiterator import ArchiveIterator

    docs = []
    for path in sorted((corpora / "web").glob("*.warc.gz")):
        with open(path, "rb") as f:
            for i, rec in enumerate(ArchiveIterator(f)):
                if rec.rec_type != "response":
                    continue
                body = rec.content_stream().read().decode("utf-8", "replace")
                text = extract_plain_text(body, main_content=True)
                if text.strip():
                    docs.append(_doc("web", path.name, i, text))
    return docs


def write_store(store_dir: Path, docs: dict[str, list[Document]], per_part: int = 2000) -> None:
    """Write ``docs`` as a document store (``store_dir/documents/<source>/part-*.parquet``)."""
    for source, items in docs.items():
        folder = store_dir / "documents" / source
        folder.mkdir(parents=True, exist_ok=True)
        items = sorted(items, key=lambda d: d.id)
        parts = [items[i : i + per_part] for i in range(0, len(items), per_part)] or [[]]
        for k, part in enumerate(parts):
            (folder / part_name(k, len(parts))).write_bytes(parquet_bytes(part))
