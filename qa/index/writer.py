"""Bring the index up to date with the corpus folder, at a cost in proportion to what changed.

Under the write lock (``qa.index.lock``): the files that changed since the current generation
(``qa.index.sync``) are read; their articles that are new or changed go into one new segment, with
vectors re-used wherever the same content is already indexed (by digest, under any id); articles
changed or gone are deleted by tombstone; the new generation is published atomically; then small
segments may be merged (``qa.index.merge``) and unreferenced files removed.
"""

from __future__ import annotations

import contextlib
import logging
import time
from collections.abc import Callable, Sequence
from importlib import metadata
from pathlib import Path
from typing import Any, Protocol

import numpy as np

import qa.index.merge as merge
from qa.errors import CorpusError, CorruptIndexError
from qa.index import lexical
from qa.index.lock import write_lock
from qa.index.segment import Part, write_segment
from qa.index.sentence_index import SentenceIndex
from qa.index.sync import Changes, diff, file_signatures, skipped_file
from qa.index.toc import FORMAT_VERSION, collect_garbage, index_exists, publish
from qa.ingest import digest, read_corpus
from qa.schema import Article
from qa.sentences import SPLITTER, split_text

log = logging.getLogger("qa.index")

ANN_MIN_ROWS = 200_000  # Settings.ann_min_rows: segments this large get the approximate dense index


class Embedder(Protocol):
    name: str

    def encode(self, texts: list[str], progress: bool = False) -> np.ndarray: ...


# Splits and embeds new articles: the local one below, or qa.index.distributed's on a Ray cluster.
ArticleEncoder = Callable[[Sequence[Article], Embedder, bool], list[Part]]


def encode_articles(articles: Sequence[Article], embedder: Embedder, progress: bool = False) -> list[Part]:
    """Split ``articles`` into sentences and embed them all in one call (batched by length)."""
    spans = [split_text(a.text) for a in articles]
    texts = [a.text[s:e] for a, sp in zip(articles, spans) for s, e in sp]
    vectors = embedder.encode(texts, progress=progress) if texts else np.zeros((0, 1), dtype=np.float32)
    parts, at = [], 0
    for article, sp in zip(articles, spans):
        parts.append(Part(article, sp, vectors[at : at + len(sp)]))
        at += len(sp)
    return parts


def fingerprint(pairs: Sequence[tuple[str, str]]) -> str:
    """One digest of every (article id, content digest) pair."""
    return digest(*sorted(f"{a}\x01{d}" for a, d in pairs))


def _versions() -> dict[str, str]:
    versions = {}
    for package in ("qa", "faiss-cpu", "bm25s", "sentence-transformers", "transformers", "torch"):
        with contextlib.suppress(metadata.PackageNotFoundError):
            versions[package] = metadata.version(package)
    return versions


def open_index(
    corpus_root: str | Path, folder: str | Path, embedder: Embedder, progress: bool = False,
    rebuild: bool = False, loaded: SentenceIndex | None = None, ann_min_rows: int = ANN_MIN_ROWS,
    encoder: ArticleEncoder | None = None, optimize: bool = False,
) -> SentenceIndex:
    """The index of ``corpus_root`` in ``folder``, brought up to date first if needed.

    Nothing stale is ever returned: a changed, added or removed file, another embedder or an
    unreadable index all lead to an update (or a rebuild). ``loaded``: an index already in memory,
    returned as is while it is current. ``encoder``: how new articles are split and embedded
    (default: here, with ``embedder``). ``optimize``: merge everything into one segment.
    """
    corpus_root, folder = Path(corpus_root), Path(folder)
    signatures = file_signatures(corpus_root)
    if not rebuild and not optimize:
        if loaded is not None and loaded.is_current(embedder.name, signatures) and serves(loaded, embedder):
            return loaded
        current = _load(folder, warn=False)
        if current is not None and current.is_current(embedder.name, signatures) and serves(current, embedder):
            return current
    with write_lock(folder):
        previous = None if rebuild else _load(folder, warn=True)
        signatures = file_signatures(corpus_root)  # again: the corpus may have changed while we waited
        if previous is not None and previous.embedder != embedder.name:
            log.info("index at %s was built with %s; re-embedding with %s", folder,
                     previous.embedder, embedder.name)
            previous = None
        elif previous is not None and not serves(previous, embedder):
            log.warning("index at %s: vectors of %s on this backend drift from the index's beyond cosine %s; "
                        "re-embedding", folder, embedder.name, tolerance(previous, embedder))
            previous = None
        elif previous is not None and previous.splitter != SPLITTER:
            log.info("index at %s was split into sentences by %s; rebuilding it with %s", folder,
                     previous.splitter, SPLITTER)
            previous = None
        if previous is None or not previous.is_current(embedder.name, signatures):
            previous = _update(corpus_root, folder, embedder, signatures, previous, progress,
                               ann_min_rows, encoder or encode_articles)
        stale = previous.lexically_stale
        if stale:  # words an older tokenizer made: the segments are rewritten, their vectors kept
            log.info("index at %s: rewriting the words of %d segment(s) for BM25 (%s)", folder, len(stale),
                     lexical.TOKENIZER)
            previous = _merge(folder, previous, stale, embedder.name, ann_min_rows)
        names = merge.optimize(previous.manifest) if optimize else merge.merge_small(previous.manifest)
        if names:
            previous = _merge(folder, previous, names, embedder.name, ann_min_rows)
        collect_garbage(folder)
        return previous


def tolerance(index: SentenceIndex, embedder: Embedder) -> float | None:
    """The lowest cosine at which ``embedder``'s vectors may serve ``index``: the one recorded when it was
    built, else the embedder's own; None for embedders that declare none (their vectors are exact)."""
    recorded = index.manifest.get("tolerance")
    own = getattr(embedder, "tolerance", None)
    if own is None:
        return None
    return float(recorded) if isinstance(recorded, (int, float)) else float(own)


def article_part(index: SentenceIndex, article_id: str) -> Part:
    """A live article of ``index`` with its spans and exact vectors, to re-use or merge into a new segment."""
    s, row = index.live.rows[article_id]
    segment = index.segments[s]
    begin, end = segment.sentence_rows(row)
    spans = [(int(a), int(b)) for a, b in segment.spans[begin:end]]
    return Part(segment.article(row), spans, np.array(segment.vectors[begin:end]))


def serves(index: SentenceIndex, embedder: Embedder) -> bool:
    """Whether ``embedder``, on whatever backend it runs here, may answer from ``index``: its vectors of
    a few of the index's sentences agree with the stored ones to the tolerance. An index built on
    another backend (or host) is served as it is; only arithmetic that drifts further rebuilds it."""
    limit = tolerance(index, embedder)
    return limit is None or index.agreement(embedder) >= limit


def _load(folder: Path, warn: bool) -> SentenceIndex | None:
    if not index_exists(folder):
        if warn and folder.exists() and any(p.name.startswith(("toc-", "gen-")) for p in folder.iterdir()):
            log.warning("index at %s has no CURRENT pointer; rebuilding it", folder)
        return None
    try:
        return SentenceIndex.load(folder)
    except CorruptIndexError as exc:
        if warn:
            log.warning("%s; rebuilding it", exc)
        return None


def _update(
    corpus_root: Path, folder: Path, embedder: Embedder, signatures: dict[str, list[int]],
    previous: SentenceIndex | None, progress: bool, ann_min_rows: int, encoder: ArticleEncoder,
) -> SentenceIndex:
    indexed_files = previous.manifest.get("files", {}) if previous is not None else {}
    changes = diff(indexed_files, signatures) if previous is not None else Changes(added=sorted(signatures))
    corpus = read_corpus(corpus_root, only=changes.to_read)
    touched = changes.files
    live = list(previous.live.articles()) if previous is not None else []
    old = {a: (src, d) for a, src, d in live if src in touched}  # articles the changed files held
    by_digest = {d: a for a, _, d in live}
    elsewhere = {a for a, src, _ in live if src not in touched}  # ids held by files that did not change
    kept, fresh = set(), []
    for article in corpus.articles:
        if article.id in old and old[article.id][1] == article.digest:
            kept.add(article.id)  # same content: stays where it is
            continue
        if article.id in elsewhere:
            raise CorpusError(f"two articles share the id {article.id!r}: give them distinct ids")
        fresh.append(article)
    deleted = set(old) - kept
    parts: dict[str, Part] = {}
    for article in fresh:  # the same content indexed under any id: its spans and vectors as they are
        if previous is not None and article.digest in by_digest:
            known = article_part(previous, by_digest[article.digest])
            parts[article.id] = Part(article, known.spans, known.vectors)
    todo = [a for a in fresh if a.id not in parts]
    log.info("updating the index at %s: %d files changed, %d articles to write (%d new, %d re-used), "
             "%d deleted", folder, len(touched), len(fresh), len(todo), len(parts), len(deleted))
    if todo:
        unique: dict[str, Article] = {}
        for article in todo:  # the same content twice in this update is embedded once
            unique.setdefault(article.digest, article)
        encoded = {p.article.digest: p for p in encoder(list(unique.values()), embedder, progress)}
        parts.update((a.id, Part(a, encoded[a.digest].spans, encoded[a.digest].vectors)) for a in todo)
    ordered = [parts[a.id] for a in fresh if parts[a.id].spans]
    segments: list[dict[str, Any]] = []
    sentences = 0
    if previous is not None:
        for s, entry in enumerate(previous.manifest["segments"]):
            gone = {*entry.get("deleted", []), *(a for a in deleted if previous.live.rows[a][0] == s)}
            if len(gone) < entry["articles"]:
                segments.append({**entry, "deleted": sorted(gone)})
        sentences = len(previous.sentences) - sum(len(previous.article_positions(a)) for a in deleted)
    dimension = previous.dimension if previous is not None else None
    if ordered:
        entry = write_segment(folder, ordered, embedder.name, ann_min_rows)
        segments.append({**entry, "deleted": []})
        dimension = int(ordered[0].vectors.shape[1])
        sentences += entry["rows"]
    pairs = [(a, d) for a, _, d in live if a not in deleted] + [(p.article.id, p.article.digest) for p in ordered]
    if not pairs:
        raise CorpusError(
            f"no readable articles in {corpus_root}: add .txt, .md, .html or .json files there "
            "(or point --corpus / QA_CORPUS at your articles), then run `qa index`"
        )
    skipped = [s for s in (previous.manifest.get("skipped", []) if previous is not None else [])
               if skipped_file(s["path"]) not in touched]
    toc = _toc(corpus_root, embedder, dimension, segments, pairs, sentences, signatures,
               skipped + [{"path": s.path, "reason": s.reason} for s in corpus.skipped])
    publish(folder, toc)
    return SentenceIndex.load(folder)


def _merge(folder: Path, index: SentenceIndex, names: list[str], embedder: str, ann_min_rows: int) -> SentenceIndex:
    """Rewrite the segments ``names`` as one, leaving out their deleted articles; publish the result."""
    began = time.perf_counter()
    chosen = set(names)
    ids = [a for s, segment in enumerate(index.segments) if segment.name in chosen
           for row, a in enumerate(segment.ids) if index.live.is_live(s, row)]
    entry = write_segment(folder, [article_part(index, a) for a in ids], embedder, ann_min_rows) if ids else None
    segments = [e for e in index.manifest["segments"] if e["name"] not in chosen]
    if entry is not None:
        segments.append({**entry, "deleted": []})
    publish(folder, {**index.manifest, "segments": segments, "dense": sorted({e["dense"] for e in segments}),
                     "built": time.strftime("%Y-%m-%dT%H:%M:%S%z")})
    log.info("merged %d segments (%d articles) in %.1f s", len(names), len(ids), time.perf_counter() - began)
    return SentenceIndex.load(folder)


def _toc(corpus_root: Path, embedder: Embedder, dimension: int | None, segments: list[dict[str, Any]],
         pairs: list[tuple[str, str]], sentences: int, files: dict[str, list[int]],
         skipped: list[dict[str, str]]) -> dict[str, Any]:
    return {
        "format_version": FORMAT_VERSION,
        "embedder": embedder.name,  # the model: any backend whose vectors agree to "tolerance" serves the index
        "tolerance": getattr(embedder, "tolerance", None),  # lowest cosine to the stored vectors (qa.embedding)
        "backend": getattr(getattr(embedder, "choice", None), "backend", None),  # what built it, for the record
        "splitter": SPLITTER,  # other sentence boundaries are another index
        "dimension": dimension,
        "corpus": str(corpus_root),
        "fingerprint": fingerprint(pairs),
        "articles": len(pairs),
        "sentences": sentences,  # live ones: deleted articles' rows stay in their segments until a merge
        "dense": sorted({e["dense"] for e in segments}),
        "segments": segments,
        "files": files,
        "skipped": skipped,
        "versions": _versions(),
        "built": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
    }
