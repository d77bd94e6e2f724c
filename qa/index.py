"""The sentence index on disk: FAISS vectors, the sentence table and a manifest.

Layout of the index folder::

    index/
      CURRENT              name of the live generation, replaced atomically
      gen-<id>/
        manifest.json      embedder, dimension, corpus fingerprint, files, versions
        articles.jsonl     one article per line, with its sentence spans
        vectors.faiss      unit sentence vectors, in sentence-table order

A build writes a whole new generation, then swaps ``CURRENT`` with ``os.replace``:
a build that dies half-way leaves the previous index serving. ``open_index``
checks the manifest against the corpus and the embedder, and rebuilds what is
stale, re-embedding only articles whose content changed.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import shutil
import time
import uuid
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path
from typing import Any, Protocol

import numpy as np

from qa.errors import CorpusError, CorruptIndexError
from qa.ingest import Corpus, Skipped, corpus_files, digest, read_corpus
from qa.schema import Article, Sentence
from qa.sentences import split_sentences

log = logging.getLogger(__name__)

FORMAT_VERSION = 1
CURRENT = "CURRENT"
MANIFEST = "manifest.json"
ARTICLES = "articles.jsonl"
VECTORS = "vectors.faiss"


class Embedder(Protocol):
    name: str

    def encode(self, texts: list[str], progress: bool = False) -> np.ndarray: ...


def file_signatures(root: Path) -> dict[str, list[int]]:
    """Size and mtime of every article file: a cheap test of whether the corpus changed."""
    signatures = {}
    for path in corpus_files(root):
        stat = path.stat()
        signatures[path.relative_to(root).as_posix()] = [stat.st_size, stat.st_mtime_ns]
    return signatures


def fingerprint(articles: list[Article]) -> str:
    return digest(*sorted(f"{a.id}\x01{a.digest}" for a in articles))


def _versions() -> dict[str, str]:
    versions = {}
    for package in ("qa", "faiss-cpu", "sentence-transformers", "transformers", "torch"):
        with contextlib.suppress(metadata.PackageNotFoundError):
            versions[package] = metadata.version(package)
    return versions


@dataclass
class SentenceIndex:
    """Articles, their sentences and one unit vector per sentence, searchable by inner product."""

    articles: dict[str, Article]
    sentences: list[Sentence]
    vectors: Any  # faiss.Index
    manifest: dict[str, Any] = field(default_factory=dict)
    _positions: dict[str, list[int]] = field(default_factory=dict, repr=False)

    def __post_init__(self) -> None:
        for pos, sentence in enumerate(self.sentences):
            self._positions.setdefault(sentence.article_id, []).append(pos)

    @property
    def skipped(self) -> list[Skipped]:
        return [Skipped(**s) for s in self.manifest.get("skipped", [])]

    def article_sentences(self, article_id: str) -> list[Sentence]:
        return [self.sentences[p] for p in self.article_positions(article_id)]

    def article_positions(self, article_id: str) -> list[int]:
        """Positions in ``sentences`` (and rows of ``vectors``) of one article's sentences, in order."""
        return self._positions.get(article_id, [])

    def search(self, queries: np.ndarray, k: int) -> list[list[tuple[int, float]]]:
        """For each query vector, up to ``k`` (sentence position, cosine) pairs, best first."""
        if not self.sentences:
            return [[] for _ in range(len(queries))]
        scores, ids = self.vectors.search(np.ascontiguousarray(queries, dtype=np.float32), min(k, len(self.sentences)))
        return [[(int(i), float(s)) for i, s in zip(row_ids, row_scores) if i >= 0]
                for row_ids, row_scores in zip(ids, scores)]

    # -- building -------------------------------------------------------------------------

    @classmethod
    def build(
        cls, corpus: Corpus, embedder: Embedder, previous: SentenceIndex | None = None,
        signatures: dict[str, list[int]] | None = None, progress: bool = False,
    ) -> SentenceIndex:
        """Index a corpus; vectors of articles unchanged since ``previous`` are reused, not re-embedded."""
        import faiss

        reusable: dict[str, np.ndarray] = {}
        if previous is not None and previous.manifest.get("embedder") == embedder.name:
            for article in corpus.articles:
                old = previous.articles.get(article.id)
                if old is not None and old.digest == article.digest:
                    positions = previous._positions.get(article.id, [])
                    if positions:
                        reusable[article.id] = previous.vectors.reconstruct_batch(np.array(positions, dtype=np.int64))
        sentences: list[Sentence] = []
        ranges: dict[str, tuple[int, int]] = {}
        for article in corpus.articles:
            split = split_sentences(article)
            ranges[article.id] = (len(sentences), len(sentences) + len(split))
            sentences.extend(split)
        todo = [i for a in corpus.articles if a.id not in reusable for i in range(*ranges[a.id])]
        log.info("indexing %d articles, %d sentences (%d to embed, %d reused)",
                 len(corpus.articles), len(sentences), len(todo), len(sentences) - len(todo))
        fresh = embedder.encode([sentences[i].text for i in todo], progress=progress)
        dimension = int(fresh.shape[1]) if todo else int(embedder.encode(["dimension"]).shape[1])
        matrix = np.zeros((len(sentences), dimension), dtype=np.float32)
        if todo:
            matrix[np.array(todo)] = fresh
        for article_id, vectors_of_article in reusable.items():
            begin, end = ranges[article_id]
            matrix[begin:end] = vectors_of_article
        vectors = faiss.IndexFlatIP(dimension)
        vectors.add(matrix)
        manifest = {
            "format_version": FORMAT_VERSION,
            "embedder": embedder.name,  # with its backend when that changes the vectors: all-MiniLM-L6-v2@bf16
            "backend": getattr(embedder, "backend", None),
            "dimension": int(dimension),
            "corpus": str(corpus.root),
            "fingerprint": fingerprint(corpus.articles),
            "articles": len(corpus.articles),
            "sentences": len(sentences),
            "files": signatures if signatures is not None else file_signatures(corpus.root),
            "skipped": [{"path": s.path, "reason": s.reason} for s in corpus.skipped],
            "versions": _versions(),
            "built": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        }
        return cls({a.id: a for a in corpus.articles}, sentences, vectors, manifest)

    # -- disk -----------------------------------------------------------------------------

    def save(self, folder: str | Path) -> Path:
        """Write a new generation under ``folder`` and make it current in one atomic step."""
        import faiss

        folder = Path(folder)
        folder.mkdir(parents=True, exist_ok=True)
        name = f"gen-{uuid.uuid4().hex[:12]}"
        tmp = folder / f".{name}.tmp"
        tmp.mkdir()
        try:
            with open(tmp / ARTICLES, "w", encoding="utf-8") as f:
                for article in self.articles.values():
                    spans = [[s.start, s.end] for s in self.article_sentences(article.id)]
                    f.write(json.dumps({**article.to_dict(), "sentences": spans}, ensure_ascii=False) + "\n")
            faiss.write_index(self.vectors, str(tmp / VECTORS))
            (tmp / MANIFEST).write_text(json.dumps(self.manifest, indent=2) + "\n", encoding="utf-8")
            for path in tmp.iterdir():
                _fsync(path)
            tmp.rename(folder / name)
            pointer = folder / f".{CURRENT}.{name}.tmp"
            pointer.write_text(name + "\n", encoding="utf-8")
            _fsync(pointer)
            os.replace(pointer, folder / CURRENT)
        except BaseException:
            shutil.rmtree(tmp, ignore_errors=True)
            raise
        for stale in folder.iterdir():  # earlier generations and leftovers of interrupted builds
            if stale.name != name and (stale.name.startswith("gen-") or stale.name.startswith(".gen-")):
                shutil.rmtree(stale, ignore_errors=True)
        return folder / name

    @classmethod
    def load(cls, folder: str | Path) -> SentenceIndex:
        """Read the current generation; ``CorruptIndexError`` says what is wrong with it."""
        import faiss

        folder = Path(folder)
        try:
            name = (folder / CURRENT).read_text(encoding="utf-8").strip()
            generation = folder / name
            manifest = json.loads((generation / MANIFEST).read_text(encoding="utf-8"))
            if manifest.get("format_version") != FORMAT_VERSION:
                raise CorruptIndexError(
                    f"index at {folder} has format {manifest.get('format_version')}, "
                    f"this qa reads {FORMAT_VERSION}: run `qa index` to rebuild it"
                )
            articles: dict[str, Article] = {}
            sentences: list[Sentence] = []
            with open(generation / ARTICLES, encoding="utf-8") as f:
                for line in f:
                    record = json.loads(line)
                    spans = record.pop("sentences")
                    article = Article(**record)
                    articles[article.id] = article
                    sentences.extend(
                        Sentence(article.id, i, s, e, article.text[s:e]) for i, (s, e) in enumerate(spans)
                    )
            vectors = faiss.read_index(str(generation / VECTORS))
        except CorruptIndexError:
            raise
        except FileNotFoundError as exc:
            raise CorruptIndexError(f"index at {folder} is incomplete ({exc.filename} is missing)") from exc
        except Exception as exc:  # noqa: BLE001 - json, faiss and type errors all mean a damaged index
            raise CorruptIndexError(f"index at {folder} is unreadable ({type(exc).__name__}: {exc})") from exc
        if vectors.ntotal != len(sentences) or vectors.d != manifest.get("dimension"):
            raise CorruptIndexError(
                f"index at {folder} is inconsistent: {vectors.ntotal} vectors of dimension {vectors.d} "
                f"for {len(sentences)} sentences"
            )
        return cls(articles, sentences, vectors, manifest)


def _fsync(path: Path) -> None:
    with open(path, "rb") as f:
        os.fsync(f.fileno())


def index_exists(folder: str | Path) -> bool:
    return (Path(folder) / CURRENT).exists()


def open_index(
    corpus_root: str | Path, folder: str | Path, embedder: Embedder, progress: bool = False,
    rebuild: bool = False, loaded: SentenceIndex | None = None,
) -> SentenceIndex:
    """The index of ``corpus_root`` in ``folder``, built or brought up to date first if needed.

    Nothing stale is ever returned: a changed, added or removed article, another
    embedder or an unreadable index all lead to a (partial) rebuild. ``loaded`` is an
    index already in memory: when it is still current, it is returned without disk reads.
    """
    corpus_root, folder = Path(corpus_root), Path(folder)
    signatures = file_signatures(corpus_root)
    previous: SentenceIndex | None = None
    if loaded is not None and not rebuild:
        if loaded.manifest.get("embedder") == embedder.name and loaded.manifest.get("files") == signatures:
            return loaded
        previous = loaded
    elif index_exists(folder) and not rebuild:
        try:
            previous = SentenceIndex.load(folder)
        except CorruptIndexError as exc:
            log.warning("%s; rebuilding it", exc)
        else:
            same_model = previous.manifest.get("embedder") == embedder.name
            if same_model and previous.manifest.get("files") == signatures:
                return previous
    elif folder.exists() and any(p.name.startswith("gen-") for p in folder.iterdir()) and not rebuild:
        log.warning("index at %s has no %s pointer; rebuilding it", folder, CURRENT)
    corpus = read_corpus(corpus_root)
    if not corpus.articles:
        raise CorpusError(
            f"no readable articles in {corpus_root}: add .txt, .md, .html or .json files there "
            "(or point --corpus / QA_CORPUS at your articles), then run `qa index`"
        )
    if (
        previous is not None
        and previous.manifest.get("embedder") == embedder.name
        and previous.manifest.get("fingerprint") == fingerprint(corpus.articles)
    ):
        # Files were touched but no article changed: record the new signatures only.
        previous.manifest = {**previous.manifest, "files": signatures,
                             "skipped": [{"path": s.path, "reason": s.reason} for s in corpus.skipped]}
        previous.save(folder)
        return previous
    index = SentenceIndex.build(corpus, embedder, previous=previous, signatures=signatures, progress=progress)
    index.save(folder)
    return index
