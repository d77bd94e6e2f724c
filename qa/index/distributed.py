"""Splitting and embedding new articles on a Ray cluster (``qa index --ray ADDRESS``; ``pip install
'qa[ray]'``). Only the heavy, parallel part moves: Ray Data splits the articles into sentences with
tasks, then embeds the sentences with ``map_batches`` on an actor pool (each actor loads the embedder
once); this process gathers the results and writes the index exactly as a local build does (the
same writer, the same segments), so the sentence table is identical and the vectors equal within
floating-point tolerance.

    open_index(corpus, folder, embedder, encoder=ray_encoder("auto"))
"""

from __future__ import annotations

import copy
import os
import socket
from collections.abc import Sequence
from typing import Any

import numpy as np

from qa.errors import QAError
from qa.index.segment import Part
from qa.index.writer import Embedder
from qa.schema import Article

BATCH = 256  # sentences per embedding call on an actor


def _ray() -> Any:
    try:
        import ray
        import ray.data  # noqa: F401 - Ray Data is an extra of its own
    except ImportError:
        raise QAError("qa index --ray needs Ray: pip install 'qa[ray]'") from None
    return ray


def _split(batch: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """Ray Data task: a batch of articles -> one row per sentence (article row, start, end, text)."""
    from qa.sentences import split_text

    rows, starts, ends, texts = [], [], [], []
    for row, text in zip(batch["row"], batch["text"]):
        for start, end in split_text(str(text)):
            rows.append(int(row))
            starts.append(start)
            ends.append(end)
            texts.append(str(text)[start:end])
    return {"row": np.array(rows, dtype=np.int64), "start": np.array(starts, dtype=np.int64),
            "end": np.array(ends, dtype=np.int64), "text": np.array(texts, dtype=object)}


class _Embed:
    """Ray Data actor: holds one embedder (loaded on the first batch) for all the batches it is given."""

    def __init__(self, embedder: Embedder, threads: int):
        os.environ["QA_THREADS"] = str(max(1, threads))  # the actor's share of the node (qa.backends.threads)
        self.embedder = embedder

    def __call__(self, batch: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        return {**batch, "vector": np.asarray(self.embedder.encode([str(t) for t in batch["text"]]),
                                              dtype=np.float32)}


def check_reachable(address: str) -> None:
    """Fail at once for a HOST:PORT nothing listens on (Ray itself retries for minutes)."""
    host, _, port = address.rpartition(":")
    if address in {"auto", "local"} or "://" in address or not port.isdigit():
        return
    try:
        socket.create_connection((host, int(port)), timeout=5).close()
    except OSError as exc:
        raise _unreachable(address, exc.strerror or exc) from None


def connect_cluster(address: str) -> None:
    """Join the running Ray cluster at ``address`` ("auto", "HOST:PORT", "ray://..."), or fail with a
    ``QAError`` that says how to start one (``qa index --ray`` and ``qa serve --ray`` both come here)."""
    import ray

    check_reachable(address)
    try:
        ray.init(address=address, log_to_driver=False, configure_logging=False)
    except (ConnectionError, RuntimeError, ValueError) as exc:
        raise _unreachable(address, exc) from exc


def _unreachable(address: str, reason: object) -> QAError:
    return QAError(f"cannot reach the Ray cluster at {address!r}: {reason} "
                   "(start one with `ray start --head`, or pass its address)")


def ray_encoder(address: str, cpus_per_actor: int = 1, actors: int | None = None) -> Any:
    """An ``ArticleEncoder`` (see ``qa.index.writer``) that runs on the Ray cluster at ``address``
    ("auto": the one this machine belongs to). ``actors``: embedding actors (default: one per
    ``cpus_per_actor`` CPUs of the cluster)."""

    def encode(articles: Sequence[Article], embedder: Embedder, progress: bool = False) -> list[Part]:
        ray = _ray()
        if not ray.is_initialized():
            connect_cluster(address)
        ray.data.DataContext.get_current().enable_progress_bars = progress
        pool = actors or max(1, int(ray.cluster_resources().get("CPU", 1)) // cpus_per_actor)
        shipped = copy.deepcopy(embedder)  # each actor loads its own model, never this process's copy
        items = [{"row": i, "text": a.text} for i, a in enumerate(articles)]
        sentences = ray.data.from_items(items, override_num_blocks=max(1, min(len(items), 4 * pool)))
        sentences = sentences.map_batches(_split, batch_size=4)
        embedded = sentences.map_batches(_Embed, fn_constructor_kwargs={"embedder": shipped,
                                                                        "threads": cpus_per_actor},
                                         batch_size=BATCH, concurrency=pool, num_cpus=cpus_per_actor)
        spans: list[list[tuple[int, int]]] = [[] for _ in articles]
        vectors: list[list[np.ndarray]] = [[] for _ in articles]
        gathered = []
        for batch in embedded.iter_batches(batch_size=4096, batch_format="numpy"):
            gathered.extend(zip(batch["row"].tolist(), batch["start"].tolist(), batch["end"].tolist(),
                                batch["vector"]))
        for row, start, end, vector in sorted(gathered, key=lambda g: (g[0], g[1])):
            spans[row].append((start, end))
            vectors[row].append(vector)
        dimension = len(gathered[0][3]) if gathered else 1
        return [Part(a, sp, np.array(v, dtype=np.float32).reshape(len(sp), dimension))
                for a, sp, v in zip(articles, spans, vectors)]

    return encode
