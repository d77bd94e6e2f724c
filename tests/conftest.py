"""Shared fixtures: no network, state in temp dirs, and fakes for the models."""

from __future__ import annotations

import hashlib
import os
import re
import shutil
import socket
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pytest

from qa.schema import Passage, Reading, Span

if TYPE_CHECKING:
    from qa.pipeline import QA

ROOT = Path(__file__).resolve().parent.parent
# The Ray clusters the tests start (module fixtures too) listen on loopback only: no token auth, so one
# test's cluster (ray.init writes ~/.ray/auth_token) never locks out another's (`ray start` in a subprocess)
os.environ["RAY_AUTH_MODE"] = "disabled"
SEED = ROOT / "seeds" / "000_6932526c1d07f25d.txt"


@pytest.fixture(scope="session")
def qa_cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One cache for the whole run: the int8 exports and the backend choice are made once, not per test."""
    return tmp_path_factory.mktemp("qa-cache")


@pytest.fixture(autouse=True)
def no_network(monkeypatch: pytest.MonkeyPatch, qa_cache: Path) -> None:
    """Tests run offline: any attempt to open a non-local connection fails loudly."""
    real_connect = socket.socket.connect

    def guarded(self: socket.socket, address: object) -> object:
        host = address[0] if isinstance(address, tuple) else str(address)
        if host not in {"127.0.0.1", "localhost", "::1"} and not str(host).startswith("/"):
            raise OSError(f"network access blocked in tests: {address}")
        return real_connect(self, address)

    monkeypatch.setattr(socket.socket, "connect", guarded)
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("TRANSFORMERS_OFFLINE", "1")
    for var in [v for v in os.environ if v.startswith("QA_")]:  # a developer's settings never leak into a test
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("QA_CACHE", str(qa_cache))


@pytest.fixture
def corpus(tmp_path: Path) -> Path:
    """An empty corpus folder."""
    folder = tmp_path / "corpus"
    folder.mkdir()
    return folder


@pytest.fixture
def seed_corpus(tmp_path: Path) -> Path:
    """A corpus folder holding a copy of the seed article."""
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    shutil.copy(SEED, corpus / SEED.name)
    return corpus


# Two short articles for conversations: a follow-up "When did it open?" fits beta better on its own,
# and alpha when the conversation is about alpha's bridge.
ALPHA = "Karl Olsen built the north bridge in Lund.\nThe bridge cost four million crowns.\nIt opened in spring."
BETA = "Maria Lopez built the south tower in Vigo.\nThe tower did open in autumn and is open daily to all.\n" \
       "Visitors open the gates."


@pytest.fixture
def two_articles(tmp_path: Path) -> Path:
    """A corpus folder with ``alpha.txt`` and ``beta.txt``."""
    corpus = tmp_path / "two-articles"
    corpus.mkdir()
    (corpus / "alpha.txt").write_text(ALPHA, encoding="utf-8")
    (corpus / "beta.txt").write_text(BETA, encoding="utf-8")
    return corpus


@pytest.fixture
def news_files() -> dict[str, str]:
    """The files of ``news_qa``'s corpus, by name: a test module may override this fixture to add more."""
    return {"alpha.txt": ALPHA, "beta.txt": BETA}


@pytest.fixture
def news_qa(tmp_path: Path, news_files: dict[str, str]) -> QA:
    """A ``QA`` with the fake models over ``news/`` (``news_files``), its index in ``index/``, rescanning at once."""
    from qa.pipeline import QA

    corpus = tmp_path / "news"
    corpus.mkdir()
    for name, text in news_files.items():
        (corpus / name).write_text(text, encoding="utf-8")
    return QA(corpus=corpus, index=tmp_path / "index", reader=FakeReader(), embedder=FakeEmbedder(),
              rescan_seconds=0)


class FakeEmbedder:
    """Hashed bag of words: similar wording gives similar vectors, no model needed."""

    def __init__(self, name: str = "fake-embedder", dimension: int = 256):
        self.name = name
        self.dimension = dimension
        self.encoded = 0

    def encode(self, texts: list[str], progress: bool = False) -> np.ndarray:
        self.encoded += len(texts)
        out = np.zeros((len(texts), self.dimension), dtype=np.float32)
        for row, text in enumerate(texts):
            for word in re.findall(r"\w+", text.lower()):
                out[row, int(hashlib.md5(word.encode()).hexdigest(), 16) % self.dimension] += 1.0
        norms = np.linalg.norm(out, axis=1, keepdims=True)
        return out / np.where(norms == 0, 1, norms)


class FakeReader:
    """Answers with the first capitalised two-word name in the best passage that shares a word
    with the question; scores come from the word overlap. Enough to drive the pipeline."""

    min_score = min_score_retrieved = 0.2
    calibration = None

    def read_many(self, items: list[tuple[str, list[Passage]]]) -> list[Reading]:
        readings = []
        for question, passages in items:
            words = {w for w in re.findall(r"\w+", question.lower()) if len(w) > 3}
            spans, no_answer = [], []
            for n, p in enumerate(passages):
                overlap = len(words & set(re.findall(r"\w+", p.text.lower()))) / max(1, len(words))
                no_answer.append(1.0 - overlap)
                m = re.search(r"[A-Z]\w+ [A-Z]\w+", p.text)
                if m and overlap > 0:
                    spans.append(Span(n, m.start(), m.end(), m.group(), overlap))
            spans.sort(key=lambda s: -s.score)
            readings.append(Reading(spans, no_answer))
        return readings


@pytest.fixture
def fake_embedder() -> FakeEmbedder:
    return FakeEmbedder()


@pytest.fixture
def fake_reader() -> FakeReader:
    return FakeReader()
