"""Dense search within one segment: exact inner product over its memory-mapped vectors, or, for a
segment of at least ``Settings.ann_min_rows`` sentences, an approximate FAISS index beside them.

The approximate index is HNSW over 8-bit scalar-quantised vectors (``ANN_FACTORY``): a quarter of
the vectors' memory. Its candidates are re-scored with the exact float32 vectors, which stay on disk
in every segment (memory-mapped), so the scores it returns are exact cosines, comparable with the
exact segments', and recall@10 against exact search measured 1.00 at 1M sentences (docs/index.md, "Scale").
Reused vectors, merges and the similarities within an article are exact too.
"""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

import numpy as np

EXACT = "flat"
ANN_FACTORY = "HNSW32,SQ8"
EF_SEARCH = 512  # HNSW's search breadth: recall against speed, chosen by benchmarks/scale.py (docs/index.md, "Scale")
EXACT_BELOW = 20_000  # rows a filter leaves, below which an HNSW segment is searched exactly instead
RERANK_MIN = 50  # candidates the HNSW search returns, re-scored exactly; the best k of them are kept
EF_CONSTRUCTION = 64
ANN_FILE = "ann.faiss"


def build_ann(vectors: np.ndarray, path: Path, factory: str = ANN_FACTORY) -> None:
    """Build the approximate index of ``vectors`` (unit rows) and write it to ``path``."""
    import faiss

    index = faiss.index_factory(vectors.shape[1], factory, faiss.METRIC_INNER_PRODUCT)
    if hasattr(index, "hnsw"):
        index.hnsw.efConstruction = EF_CONSTRUCTION
    sample = vectors[np.linspace(0, len(vectors) - 1, min(len(vectors), 100_000)).astype(np.int64)]
    index.train(np.ascontiguousarray(sample, dtype=np.float32))
    for begin in range(0, len(vectors), 65_536):
        index.add(np.ascontiguousarray(vectors[begin : begin + 65_536], dtype=np.float32))
    faiss.write_index(index, str(path))


def top_rows(scores: np.ndarray, k: int) -> np.ndarray:
    """Rows of the ``k`` highest ``scores``, best first, ties by row (as FAISS orders them)."""
    if k < len(scores):
        kth = np.partition(scores, len(scores) - k)[len(scores) - k]
        rows = np.flatnonzero(scores >= kth)  # every tie of the k-th, so that the cut is by row
    else:
        rows = np.arange(len(scores))
    return rows[np.lexsort((rows, -scores[rows]))][:k]


class DenseIndex:
    """Top-k inner-product search over one segment's rows, skipping deleted rows."""

    def __init__(self, vectors: np.ndarray, kind: str, folder: Path):
        self.vectors = vectors  # (rows, dimension) float32, memory-mapped
        self.kind = kind
        self._folder = folder
        self._ann: Any = None
        self._lock = threading.Lock()
        self._deleted: np.ndarray | None = None
        self._not_deleted: Any = None  # (bitmap, IDSelectorBitmap): the selector points into the bitmap

    def load(self) -> None:
        """Read the approximate index into memory now (else on the first search)."""
        if self.kind == EXACT or self._ann is not None:
            return
        import faiss

        with self._lock:
            if self._ann is None:
                self._ann = faiss.read_index(str(self._folder / ANN_FILE))

    def search(self, queries: np.ndarray, k: int, deleted: np.ndarray | None) -> list[list[tuple[int, float]]]:
        """For each query, up to ``k`` (row, inner product) pairs, best first; ``deleted``: a boolean row mask."""
        rows = len(self.vectors)
        k = min(k, rows)
        if k <= 0:
            return [[] for _ in queries]
        if self.kind == EXACT:
            return self._exact(queries, k, deleted)
        self.load()
        import faiss

        candidates = min(rows, max(RERANK_MIN, 2 * k))
        params = faiss.SearchParametersHNSW()
        params.efSearch = max(EF_SEARCH, candidates)
        if deleted is not None and deleted.any():
            params.sel = self._selector(deleted)
            allowed = int(rows - deleted.sum())
            if allowed <= 0:
                return [[] for _ in queries]
            if allowed <= EXACT_BELOW:  # a narrow filter: HNSW would wander the graph for the few rows it allows
                return self._exact(queries, k, deleted)
            candidates = min(candidates, allowed)
        queries = np.ascontiguousarray(queries, dtype=np.float32)
        _, ids = self._ann.search(queries, candidates, params=params)
        out = []
        for query, found in zip(queries, ids):
            rows_found = np.sort(found[found >= 0])  # sorted: the memory-mapped reads go forward
            exact = np.asarray(self.vectors[rows_found] @ query)  # re-scored with the exact vectors
            order = np.lexsort((rows_found, -exact))[:k]
            out.append([(int(rows_found[i]), float(exact[i])) for i in order])
        return out

    def _selector(self, deleted: np.ndarray) -> Any:
        """FAISS's selector of the rows a mask leaves, built once per mask (an index's deletions never change;
        a filter's mask is new each question, and costs one pass over it)."""
        import faiss

        with self._lock:
            if self._deleted is not deleted:
                # a bitmap of the rows that may be returned (FAISS reads bit i & 7 of byte i >> 3)
                bits = np.packbits(~deleted, bitorder="little")
                selector = faiss.IDSelectorBitmap(len(deleted), faiss.swig_ptr(bits))
                self._not_deleted, self._deleted = (bits, selector), deleted
            return self._not_deleted[1]

    def _exact(self, queries: np.ndarray, k: int, deleted: np.ndarray | None) -> list[list[tuple[int, float]]]:
        queries = np.asarray(queries, dtype=np.float32)
        if self.kind != EXACT and deleted is not None:  # only the rows a filter leaves, not the whole segment
            rows = np.flatnonzero(~deleted)
            similarity = np.asarray(self.vectors[rows] @ queries.T).T
            return [[(int(rows[i]), float(row[i])) for i in top_rows(row, min(k, len(row)))] for row in similarity]
        similarity = np.asarray(self.vectors @ queries.T).T  # (queries, rows)
        if deleted is not None:
            similarity[:, deleted] = -np.inf
        out = []
        for row in similarity:
            top = top_rows(row, k)
            out.append([(int(i), float(row[i])) for i in top if np.isfinite(row[i])])
        return out
