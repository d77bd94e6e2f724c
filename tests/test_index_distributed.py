"""``qa index --ray``: embedding on a local Ray cluster (2 CPUs, started here) writes the same index as a
local build."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from qa.index import SentenceIndex, open_index
from qa.settings import DEFAULT_EMBEDDER
from tests.conftest import ROOT, SEED, FakeEmbedder
from tests.test_index_segments import STORIES

ray = pytest.importorskip("ray", reason="the Ray extra is not installed: pip install 'qa[ray]'")
RAY = str(Path(sys.executable).parent / "ray")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="module")
def ray_cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A one-node Ray cluster with 2 CPUs, as `ray start --head` makes it; its address."""
    port = _free_port()
    env = {**os.environ, "PYTHONPATH": str(ROOT), "RAY_USAGE_STATS_ENABLED": "0"}
    started = subprocess.run(
        [RAY, "start", "--head", "--num-cpus", "2", "--port", str(port), "--node-ip-address", "127.0.0.1",
         "--include-dashboard", "false", "--disable-usage-stats"],
        env=env, capture_output=True, text=True, timeout=180)
    if started.returncode != 0:
        pytest.fail(f"ray start failed:\n{started.stdout}\n{started.stderr}")
    try:
        yield f"127.0.0.1:{port}"
    finally:
        if ray.is_initialized():
            ray.shutdown()
        subprocess.run([RAY, "stop", "--force"], env=env, capture_output=True, timeout=120)


def _table(index: SentenceIndex) -> list[tuple[str, int, int, int, str]]:
    return [(s.article_id, s.index, s.start, s.end, s.text) for s in index.sentences]


def _corpus(tmp_path: Path) -> Path:
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    shutil.copy(SEED, corpus / SEED.name)
    for n, story in enumerate(STORIES):
        (corpus / f"story-{n}.txt").write_text(f"Story {n}\n{story}", encoding="utf-8")
    return corpus


def test_ray_build_equals_local_build(ray_cluster: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from qa.index.distributed import ray_encoder

    monkeypatch.setenv("RAY_USAGE_STATS_ENABLED", "0")
    corpus = _corpus(tmp_path)
    local = open_index(corpus, tmp_path / "local", FakeEmbedder())
    on_ray = open_index(corpus, tmp_path / "ray", FakeEmbedder(), encoder=ray_encoder(ray_cluster))
    assert _table(on_ray) == _table(local) and len(local.sentences) > 20
    positions = list(range(len(local.sentences)))
    np.testing.assert_allclose(on_ray.vectors_of(positions), local.vectors_of(positions), atol=1e-6)
    assert on_ray.manifest["fingerprint"] == local.manifest["fingerprint"]
    # an update on Ray embeds only what changed, like a local one
    (corpus / "story-9.txt").write_text("Story 9\nA new library opened in Porto.", encoding="utf-8")
    updated = open_index(corpus, tmp_path / "ray", FakeEmbedder(), encoder=ray_encoder(ray_cluster))
    assert [e["rows"] for e in updated.manifest["segments"]] == [len(local.sentences), 2]


def test_unreachable_cluster_is_a_clear_error(tmp_path: Path) -> None:
    child = subprocess.run(
        [str(Path(sys.executable).parent / "qa"), "index", "--corpus", str(_corpus(tmp_path)),
         "--index", str(tmp_path / "index"), "--ray", f"127.0.0.1:{_free_port()}"],
        capture_output=True, text=True, timeout=120, env={**os.environ, "RAY_USAGE_STATS_ENABLED": "0"})
    assert child.returncode == 1 and "cannot reach the Ray cluster" in child.stderr, child.stderr[-2000:]


@pytest.mark.real_model
def test_qa_index_on_ray_writes_the_index_a_local_build_writes(ray_cluster: str, tmp_path: Path) -> None:
    corpus = _corpus(tmp_path)
    env = {**os.environ, "PYTHONPATH": str(ROOT), "RAY_USAGE_STATS_ENABLED": "0"}
    qa = str(Path(sys.executable).parent / "qa")
    for name, extra in (("local", []), ("ray", ["--ray", ray_cluster])):
        done = subprocess.run([qa, "index", "--corpus", str(corpus), "--index", str(tmp_path / name),
                               "--backend", "fp32", *extra], env=env, capture_output=True, text=True, timeout=600)
        assert done.returncode == 0, done.stderr[-3000:]
    local, on_ray = SentenceIndex.load(tmp_path / "local"), SentenceIndex.load(tmp_path / "ray")
    assert _table(on_ray) == _table(local)
    positions = list(range(len(local.sentences)))
    np.testing.assert_allclose(on_ray.vectors_of(positions), local.vectors_of(positions), atol=1e-4)
    assert on_ray.manifest["embedder"] == local.manifest["embedder"] == DEFAULT_EMBEDDER
