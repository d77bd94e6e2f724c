"""``qa serve --ray``: two Ray Serve replicas over one corpus and index (a local Ray cluster started here,
the packaged models): requests spread over both, a replica killed mid-traffic costs clients at most a
retry, Serve brings it back, and an article added to the corpus is answered by every replica."""

from __future__ import annotations

import asyncio
import os
import socket
import threading
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import ALPHA, BETA

ray = pytest.importorskip("ray", reason="the Ray extra is not installed: pip install 'qa[ray]'")
pytest.importorskip("ray.serve", reason="Ray Serve is not installed: pip install 'qa[ray]'")
httpx = pytest.importorskip("httpx")


QUESTION = {"question": "Who built the north bridge?"}
RETRYABLE = {429, 503}


def _through_proxy_middleware(app: object) -> list[dict[str, object]]:
    """The messages ``ReplicaLost`` sends for one GET handled by ``app``."""
    from qa.serving.replicas import ReplicaLost

    sent: list[dict[str, object]] = []

    async def receive() -> dict[str, object]:
        return {"type": "http.request", "body": b""}

    async def send(message: dict[str, object]) -> None:
        sent.append(message)

    asyncio.run(ReplicaLost(app)({"type": "http", "method": "GET", "path": "/"}, receive, send))
    return sent


def test_a_request_whose_replica_died_gets_503_with_retry_after() -> None:
    async def proxy_gave_up(scope: object, receive: object, send: object) -> None:
        return None  # what Serve's proxy does when the replica died mid-request: no response at all

    start = _through_proxy_middleware(proxy_gave_up)[0]
    assert start["status"] == 503 and (b"retry-after", b"2") in start["headers"]  # type: ignore[operator]


def test_the_apps_own_500_passes_unchanged() -> None:
    from qa.serving.replicas import REPLICA_HEADER

    async def app_error(scope: object, receive: object, send: object) -> None:
        await send({"type": "http.response.start", "status": 500, "headers": [(REPLICA_HEADER.encode(), b"r1")]})  # type: ignore[operator]
        await send({"type": "http.response.body", "body": b"{}"})  # type: ignore[operator]

    assert _through_proxy_middleware(app_error)[0]["status"] == 500


def test_a_public_bind_without_a_token_is_refused_before_ray_starts(tmp_path: Path) -> None:
    from qa.errors import AccessError
    from qa.serving.replicas import deploy

    with pytest.raises(AccessError, match="without a token"):
        deploy("local", 2, {"corpus": tmp_path, "index": tmp_path / "index"}, {}, "0.0.0.0", 8000, block=False)
    assert not ray.is_initialized()


def test_a_proxy_that_does_not_start_is_a_clear_error_and_stops_the_cluster(tmp_path: Path,
                                                                              monkeypatch: pytest.MonkeyPatch) -> None:
    from ray import serve

    from qa.errors import QAError
    from qa.serving.replicas import deploy

    def late(**_: object) -> None:  # what Ray Serve raises when its proxy misses the fixed 60 s
        raise TimeoutError("HTTP proxies not available after 60s.")

    monkeypatch.setattr(serve, "start", late)
    with pytest.raises(QAError, match="HTTP proxy did not start .TimeoutError"):
        deploy("local", 2, {"corpus": tmp_path, "index": tmp_path / "index"}, {}, "127.0.0.1", _free_port(),
               block=False)
    assert not ray.is_initialized()  # the cluster this call started is gone with it


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Deployment:
    """What the tests share: the running deployment, its corpus, and how long it took to start."""

    def __init__(self, deployed: object, corpus: Path, seconds: float):
        self.deployed, self.corpus, self.seconds = deployed, corpus, seconds
        self.url = deployed.url  # type: ignore[attr-defined]


@pytest.fixture(scope="module")
def deployment(tmp_path_factory: pytest.TempPathFactory, qa_cache: Path) -> Iterator[Deployment]:
    from ray import serve

    from qa.serving.replicas import PROXY_CALLBACK, PROXY_MIDDLEWARES, deploy

    root = tmp_path_factory.mktemp("replicas")
    corpus = root / "corpus"
    corpus.mkdir()
    (corpus / "alpha.txt").write_text(ALPHA, encoding="utf-8")
    (corpus / "beta.txt").write_text(BETA, encoding="utf-8")
    with pytest.MonkeyPatch.context() as env:
        # the cluster's processes inherit this environment: the tests' model cache, no telemetry, no network
        for var in [v for v in os.environ if v.startswith("QA_")]:
            env.delenv(var)
        env.setenv("QA_CACHE", str(qa_cache))
        env.setenv("HF_HUB_OFFLINE", "1")
        env.setenv("TRANSFORMERS_OFFLINE", "1")
        env.setenv("RAY_USAGE_STATS_ENABLED", "0")
        env.setenv(PROXY_CALLBACK, PROXY_MIDDLEWARES)
        began = time.monotonic()
        ray.init(address="local", num_cpus=4, include_dashboard=False, _node_ip_address="127.0.0.1",
                 log_to_driver=False)
        try:
            deployed = deploy("local", 2, {"corpus": corpus, "index": root / "index"}, {}, "127.0.0.1",
                              _free_port(), block=False)
            yield Deployment(deployed, corpus, time.monotonic() - began)
        finally:
            if ray.is_initialized():
                serve.shutdown()
                ray.shutdown()


class Client:
    """Several threads asking like real users: a 429 or 503 is retried after its Retry-After (at most
    2 s, 5 times), a connection dropped mid-answer (its replica killed) once, as a question may be
    asked again; anything else is the request's outcome."""

    def __init__(self, url: str):
        self.url = url
        self.outcomes: list[tuple[float, int, str | None, str | None]] = []  # (when, status, replica, answer)
        self.retries: Counter[tuple[int, bool]] = Counter()  # (status, had Retry-After)
        self.errors: list[str] = []
        self._lock = threading.Lock()

    def ask(self, http: httpx.Client, question: dict[str, str]) -> None:
        dropped = 0
        for _ in range(6):
            try:
                r = http.post(self.url + "/api/answer", json=question)
            except httpx.TransportError as exc:
                dropped += 1
                with self._lock:
                    if dropped > 1:
                        self.errors.append(repr(exc))
                        return
                    self.retries[(0, False)] += 1  # status 0: no answer came back at all
                time.sleep(0.5)
                continue
            except httpx.HTTPError as exc:
                with self._lock:
                    self.errors.append(repr(exc))
                return
            if r.status_code in RETRYABLE:
                with self._lock:
                    self.retries[(r.status_code, "retry-after" in r.headers)] += 1
                time.sleep(min(2.0, float(r.headers.get("retry-after", 1))))
                continue
            answer = r.json().get("text") if r.status_code == 200 else r.text[:200]
            with self._lock:
                self.outcomes.append((time.monotonic(), r.status_code, r.headers.get("x-qa-replica"), answer))
            return
        with self._lock:
            self.errors.append("still refused after 5 retries")

    def run(self, threads: int, until: float, question: dict[str, str] = QUESTION) -> list[threading.Thread]:
        def loop() -> None:
            with httpx.Client(timeout=60) as http:
                while time.monotonic() < until:
                    self.ask(http, question)

        workers = [threading.Thread(target=loop, daemon=True) for _ in range(threads)]
        for w in workers:
            w.start()
        return workers


def _wait(condition: object, seconds: float, what: str) -> float:
    began = time.monotonic()
    while not condition():  # type: ignore[operator]
        if time.monotonic() - began > seconds:
            pytest.fail(f"{what} did not happen within {seconds:.0f} s")
        time.sleep(0.25)
    return time.monotonic() - began


@pytest.mark.ray
@pytest.mark.real_model
def test_a_killed_replica_costs_clients_at_most_a_retry(deployment: Deployment) -> None:
    deployed = deployment.deployed
    before = deployed.replicas()
    assert len(before) == 2 and deployed.running() == 2
    assert httpx.get(deployment.url + "/", timeout=30).status_code == 200  # the chat page, mounted in each replica
    assert "qa_requests_total" in httpx.get(deployment.url + "/metrics", timeout=30).text

    client = Client(deployment.url)
    workers = client.run(threads=4, until=time.monotonic() + 12)
    time.sleep(3)
    victim = before[0]
    killed_at = time.monotonic()
    ray.kill(ray.get_actor(f"SERVE_REPLICA::qa#QAReplica#{victim}", namespace="serve"), no_restart=True)
    for w in workers:
        w.join(timeout=90)

    statuses = Counter(status for _, status, _, _ in client.outcomes)
    print(f"\nstarted in {deployment.seconds:.0f} s; outcomes {dict(statuses)}, retries {dict(client.retries)}")
    assert not client.errors, client.errors[:3]
    assert set(statuses) == {200}, [o for o in client.outcomes if o[1] != 200][:3]
    assert all(answer == "Karl Olsen" for _, _, _, answer in client.outcomes)
    assert all(had_header for status, had_header in client.retries if status)  # each refusal said when to retry
    answered_by = Counter(replica for _, _, replica, _ in client.outcomes)
    assert answered_by[victim] > 0 and answered_by[before[1]] > 0  # both took requests before the kill
    survivor_after = sum(1 for when, _, replica, _ in client.outcomes if when > killed_at + 1 and replica == before[1])
    assert survivor_after > 0  # the survivor kept answering

    def replaced() -> bool:
        now = deployed.replicas()
        return deployed.running() == 2 and len(now) == 2 and victim not in now

    # a replacement loads its models as each replica did at the start: on a loaded machine that took minutes
    _wait(replaced, max(90.0, 1.5 * deployment.seconds), "Serve replacing the killed replica")
    replacement = (set(deployed.replicas()) - set(before)).pop()
    client = Client(deployment.url)
    with httpx.Client(timeout=60) as http:
        _wait(lambda: client.ask(http, QUESTION) or replacement in {o[2] for o in client.outcomes},
              30, "the replacement answering")
    print(f"the replacement answered {time.monotonic() - killed_at:.1f} s after the kill")
    assert {status for _, status, _, _ in client.outcomes} == {200}


@pytest.mark.ray
@pytest.mark.real_model
def test_an_added_article_is_answered_by_every_replica(deployment: Deployment) -> None:
    question = {"question": "Who painted the harbour mural?"}
    replicas = set(deployment.deployed.replicas())
    assert len(replicas) == 2
    (deployment.corpus / "gamma.txt").write_text(
        "Ines Duarte painted the harbour mural in Porto.\nThe mural shows fishing boats.", encoding="utf-8")
    added = time.monotonic()
    client = Client(deployment.url)

    def everyone_knows() -> bool:
        with httpx.Client(timeout=60) as http:
            for _ in range(4):
                client.ask(http, question)
        return {replica for _, status, replica, answer in client.outcomes if answer == "Ines Duarte"} >= replicas

    took = _wait(everyone_knows, 30, "every replica answering from the added article")
    print(f"\nthe added article answered by both replicas {took:.1f} s after it was written")
    assert not client.errors and {status for _, status, _, _ in client.outcomes} == {200}
    assert time.monotonic() - added < 30
