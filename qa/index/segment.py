"""An immutable segment of the index: some articles, their sentences, vectors and lexical index.

    seg-<id>/
      segment.json      rows (sentences), articles, dimension, dense kind, embedder
      articles.sqlite   one row per article: id, source file, digest, first sentence row, sentence
                        count, date, site, and the whole record (``Article`` as JSON)
      spans.npy         (rows, 2) int32: each sentence's start and end in its article's text
      vectors.npy       (rows, dimension) float32 unit vectors, in sentence order
      ann.faiss         the approximate dense index, for large segments (``qa.index.dense``)
      lexical/          BM25 postings (``qa.index.lexical``)

A segment is written into a hidden temporary folder and renamed into place when complete, and is
never modified after: deletions live in the table of contents. Opening one reads only its article
table's ids; texts are read from SQLite on demand, vectors and postings are memory-mapped.
"""

from __future__ import annotations

import json
import shutil
import sqlite3
import threading
import uuid
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

import qa.index.dense as dense
import qa.index.lexical as lexical
from qa.errors import CorruptIndexError
from qa.files import fsync_path
from qa.schema import Article

META = "segment.json"
ARTICLES = "articles.sqlite"
SPANS = "spans.npy"
VECTORS = "vectors.npy"
LEXICAL = "lexical"
_CACHED_ARTICLES = 512
# segments never change once written, so their titles are read once per process, whichever
# generation of the index opens them again (a few hundred segments at most)
_TITLES: OrderedDict[str, list[str | None]] = OrderedDict()
_TITLES_LOCK = threading.Lock()


@dataclass(frozen=True)
class Part:
    """One article as a writer hands it over: its sentence spans and their vectors (one row each)."""

    article: Article
    spans: Sequence[tuple[int, int]]
    vectors: np.ndarray


def write_segment(folder: Path, parts: Sequence[Part], embedder: str, ann_min_rows: int) -> dict[str, object]:
    """Write ``parts`` as a new segment under ``folder``; its entry for the table of contents."""
    name = f"seg-{uuid.uuid4().hex[:12]}"
    tmp = folder / f".{name}.tmp"
    tmp.mkdir(parents=True)
    try:
        rows = sum(len(p.spans) for p in parts)
        dimension = int(parts[0].vectors.shape[1])
        db = sqlite3.connect(tmp / ARTICLES)
        db.execute("CREATE TABLE articles (row INTEGER PRIMARY KEY, id TEXT NOT NULL UNIQUE, source TEXT, "
                   "digest TEXT, first INTEGER, count INTEGER, date TEXT, site TEXT, record TEXT)")
        first, records = 0, []
        for row, p in enumerate(parts):
            a = p.article
            records.append((row, a.id, a.source, a.digest, first, len(p.spans), a.date, a.site,
                            json.dumps(a.to_dict(), ensure_ascii=False)))
            first += len(p.spans)
        db.executemany("INSERT INTO articles VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)", records)
        db.commit()
        db.close()
        spans = np.array([s for p in parts for s in p.spans], dtype=np.int32).reshape(rows, 2)
        np.save(tmp / SPANS, spans)
        vectors = np.lib.format.open_memmap(tmp / VECTORS, mode="w+", dtype=np.float32, shape=(rows, dimension))
        at = 0
        for p in parts:
            vectors[at : at + len(p.spans)] = p.vectors
            at += len(p.spans)
        vectors.flush()
        lexical.write(tmp / LEXICAL, [p.article.text[s:e] for p in parts for s, e in p.spans])
        kind = dense.EXACT
        if rows >= ann_min_rows:
            dense.build_ann(vectors, tmp / dense.ANN_FILE)
            kind = dense.ANN_FACTORY
        del vectors
        meta = {"rows": rows, "articles": len(parts), "dimension": dimension, "dense": kind, "embedder": embedder}
        (tmp / META).write_text(json.dumps(meta) + "\n", encoding="utf-8")
        for path in [*tmp.iterdir(), *(tmp / LEXICAL).iterdir()]:
            if path.is_file():
                fsync_path(path)
        tmp.rename(folder / name)
        fsync_path(folder)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return {"name": name, "rows": rows, "articles": len(parts), "dense": kind, "lexical": lexical.TOKENIZER}


class Segment:
    """A segment opened for reading: article ids in memory, everything else on disk."""

    def __init__(self, path: Path):
        self.path = path
        self.name = path.name
        try:
            meta = json.loads((path / META).read_text(encoding="utf-8"))
            self.rows, self.dimension, self.kind = int(meta["rows"]), int(meta["dimension"]), str(meta["dense"])
            self.embedder = str(meta.get("embedder", ""))
            self._db = sqlite3.connect(f"file:{path / ARTICLES}?mode=ro&immutable=1", uri=True,
                                       check_same_thread=False)
            table = self._db.execute("SELECT id, source, digest, first, count, date, site FROM articles "
                                     "ORDER BY row").fetchall()
            self.spans = np.load(path / SPANS, mmap_mode="r")
            vectors = np.load(path / VECTORS, mmap_mode="r")
            self.lexical = lexical.LexicalIndex(path / LEXICAL)
        except FileNotFoundError as exc:
            raise CorruptIndexError(f"index segment {path} is incomplete ({exc.filename} is missing)") from exc
        except Exception as exc:  # noqa: BLE001 - json, sqlite, numpy and bm25s errors all mean a damaged segment
            raise CorruptIndexError(f"index segment {path} is unreadable ({type(exc).__name__}: {exc})") from exc
        self.ids = [r[0] for r in table]
        self.sources = [r[1] for r in table]
        self.digests = [r[2] for r in table]
        self.first = np.array([r[3] for r in table], dtype=np.int64)
        self.count = np.array([r[4] for r in table], dtype=np.int64)
        self.dates: list[str | None] = [r[5] for r in table]  # what filters read, without the texts
        self.sites: list[str | None] = [r[6] for r in table]
        expected = (self.rows, self.dimension)
        if (vectors.shape != expected or self.spans.shape != (self.rows, 2) or self.lexical.rows != self.rows
                or len(table) != meta["articles"] or int(self.count.sum()) != self.rows):
            raise CorruptIndexError(
                f"index segment {path} is inconsistent: {vectors.shape[0]} vectors of dimension "
                f"{vectors.shape[1] if vectors.ndim == 2 else '?'}, {self.spans.shape[0]} spans, "
                f"{self.lexical.rows} lexical rows and {len(table)} articles for {self.rows} sentences")
        self.dense = dense.DenseIndex(vectors, self.kind, path)
        self._lock = threading.Lock()
        self._cache: OrderedDict[int, Article] = OrderedDict()

    @property
    def vectors(self) -> np.ndarray:
        return self.dense.vectors

    def article(self, row: int) -> Article:
        """The article in row ``row`` of the article table, read on demand (recent ones are cached)."""
        with self._lock:
            cached = self._cache.get(row)
            if cached is not None:
                self._cache.move_to_end(row)
                return cached
            (record,) = self._db.execute("SELECT record FROM articles WHERE row = ?", (row,)).fetchone()
            article = Article(**json.loads(record))
            self._cache[row] = article
            if len(self._cache) > _CACHED_ARTICLES:
                self._cache.popitem(last=False)
            return article

    def titles(self) -> list[str | None]:
        """Every article's title, in article-table order (read from the records once per process)."""
        key = str(self.path.resolve())
        with _TITLES_LOCK:
            if key in _TITLES:
                _TITLES.move_to_end(key)
                return _TITLES[key]
        with self._lock:
            try:
                rows = self._db.execute("SELECT json_extract(record, '$.title') FROM articles ORDER BY row").fetchall()
            except sqlite3.OperationalError:  # an SQLite built without JSON functions: parse the records here
                rows = [(json.loads(r).get("title"),) for (r,) in
                        self._db.execute("SELECT record FROM articles ORDER BY row")]
        titles = [r[0] for r in rows]
        with _TITLES_LOCK:
            _TITLES[key] = titles
            if len(_TITLES) > 1024:
                _TITLES.popitem(last=False)
        return titles

    def sentence_rows(self, row: int) -> tuple[int, int]:
        """The sentence rows [begin, end) of the article in row ``row`` of the article table."""
        begin = int(self.first[row])
        return begin, begin + int(self.count[row])

    def article_row(self, row: int) -> int:
        """The article-table row of sentence row ``row``."""
        return int(np.searchsorted(self.first, row, side="right") - 1)
