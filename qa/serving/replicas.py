"""``qa serve --ray ADDRESS --replicas N``: the same app as ``qa serve`` (``server.build_app``), run as a
Ray Serve deployment of N replicas over one corpus folder and one index folder on shared storage.

    deployed = deploy("auto", 2, {"corpus": "/shared/articles", "index": "/shared/index"}, {},
                      host="0.0.0.0", port=8000, block=False)      # options: {"token": ...} off loopback
    deployed.url, deployed.replicas()                             # "http://0.0.0.0:8000", ["ab12", "cd34"]
    deployed.close()

Each replica is a whole ``QA``: it loads the models and the index itself, and re-checks the corpus
folder every ``Settings.rescan_seconds`` like a single server. When one of them sees a change it
updates the index under the index's write lock (``qa.index.lock``): it either writes the new
generation or, finding that another replica has just published it, loads that one; so every replica
answers from a newly added article within a rescan or two, and only one writes at a time.
Replicas never poll feeds (``Options.feed_poll_seconds`` is 0 in them): ``qa watch`` beside the
deployment polls them and writes the corpus, which the replicas then pick up like any other change.

Ray Serve's proxy listens on ``host:port`` and spreads requests over the replicas; each replica still
has its own bound on model calls (``gate``: 429 with Retry-After past it). A request that was running
on a replica that dies gets 503 with Retry-After (``ReplicaLost``, in the proxy), never a bare 500,
and Serve starts a replacement, which is routed to once its health check (``Replica.check_health``:
it can answer from its index) passes.
"""

from __future__ import annotations

import logging
import math
import os
import time
from collections.abc import Mapping
from dataclasses import fields, replace
from pathlib import Path
from typing import Any

from qa.errors import QAError
from qa.settings import Settings

log = logging.getLogger(__name__)

APP = "qa"  # the Serve application's name (``serve status``, ``serve.delete("qa")``)
DEPLOYMENT = "QAReplica"
REPLICA_HEADER = "x-qa-replica"  # which replica answered: set by the replica, so the proxy's own errors lack it
OPTIONS = {"token", "read_only", "allow_private", "max_concurrent", "max_waiting", "request_seconds", "warm_up",
           "feed_poll_seconds"}
HEADROOM = 8  # requests a replica takes beyond its gate's slots and line: the page's assets, /metrics, /api/status
HEALTH_CHECK_SECONDS = 5.0
# Serve's proxy takes middlewares only from a function named in its environment (set where the cluster starts)
PROXY_CALLBACK = "RAY_SERVE_HTTP_PROXY_CALLBACK_IMPORT_PATH"
PROXY_MIDDLEWARES = "qa.serving.replicas.proxy_middlewares"
RETRY_AFTER_SECONDS = 2  # what a client whose replica died is told to wait (a survivor takes the retry)


def _serve() -> tuple[Any, Any]:
    try:
        import ray
        from ray import serve
    except ImportError:
        raise QAError("qa serve --ray needs Ray Serve: pip install 'qa[ray]'") from None
    return ray, serve


def connect(address: str | None) -> bool:
    """Join the Ray cluster at ``address`` unless this process already has; whether a local cluster was
    started here (it ends with this process).

    ``None`` or ``"local"``: a new one-machine cluster in this process, bound to loopback;
    ``"auto"``: the cluster this machine belongs to (``ray start`` ran here, or ``RAY_ADDRESS``);
    ``"HOST:PORT"``: the cluster whose head listens there (the GCS port ``ray start --head`` printed).
    """
    ray, _ = _serve()
    if ray.is_initialized():
        return False
    if address in (None, "", "local"):
        os.environ.setdefault(PROXY_CALLBACK, PROXY_MIDDLEWARES)  # the proxy, started below, inherits it
        ray.init(address="local", _node_ip_address="127.0.0.1", include_dashboard=False,
                 log_to_driver=False, configure_logging=False)
        return True
    from qa.index.distributed import connect_cluster

    connect_cluster(address)
    return False


def replica_settings(settings: Mapping[str, Any]) -> Settings:
    """``Settings`` for the replicas, resolved here: this process's ``QA_*`` environment and ``settings``,
    with the corpus and index folders (and model folders that exist here) made absolute, as every node
    must see them at the same paths (shared storage)."""
    known = {f.name for f in fields(Settings)}
    unknown = sorted(set(settings) - known)
    if unknown:
        raise TypeError(f"unknown settings for the replicas: {', '.join(unknown)}")
    resolved = Settings.load(**settings)
    models = {k: str(Path(v).resolve()) for k in ("embedder", "reader")
              if Path(v := getattr(resolved, k)).exists()}
    return replace(resolved, corpus=resolved.corpus.resolve(), index=resolved.index.resolve(), **models)


class ReplicaLost:
    """Proxy middleware: a request whose replica died under it becomes 503 with Retry-After, which clients
    retry (a question is safe to ask again), not a bare 500. Serve's proxy answers such a request with no
    response at all (uvicorn then sends 500) or with a 500 of its own; the app's responses carry the
    replica's ``x-qa-replica`` header, so its own 500s pass unchanged."""

    def __init__(self, app: Any):
        self.app = app

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = False

        async def relay(message: dict[str, Any]) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
                headers = list(message.get("headers", []))
                if message["status"] == 500 and not any(k.lower() == REPLICA_HEADER.encode() for k, _ in headers):
                    message = {**message, "status": 503, "headers": [*headers, *_retry_headers()]}
            await send(message)

        try:
            await self.app(scope, receive, relay)
        except Exception:
            if started:
                raise
            log.warning("a request's replica died under it: 503", exc_info=True)
        if not started:
            await send({"type": "http.response.start", "status": 503,
                        "headers": [(b"content-type", b"text/plain; charset=utf-8"), *_retry_headers()]})
            await send({"type": "http.response.body", "body": b"the replica answering this request stopped; retry"})


def _retry_headers() -> list[tuple[bytes, bytes]]:
    return [(b"retry-after", str(RETRY_AFTER_SECONDS).encode())]


def proxy_middlewares() -> list[Any]:
    """The proxy's middlewares (``RAY_SERVE_HTTP_PROXY_CALLBACK_IMPORT_PATH`` names this function)."""
    from starlette.middleware import Middleware

    return [Middleware(ReplicaLost)]


class ReplicaHeader:
    """Replica middleware: names the replica that answered in ``x-qa-replica`` (``ReplicaLost`` reads it;
    a client can see the requests spread)."""

    def __init__(self, app: Any, name: str):
        self.app, self.name = app, name.encode()

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def named(message: dict[str, Any]) -> None:
            if message["type"] == "http.response.start":
                message = {**message, "headers": [*message.get("headers", []), (REPLICA_HEADER.encode(), self.name)]}
            await send(message)

        await self.app(scope, receive, named)


class Replica:
    """One replica: a whole ``QA`` over the shared folders and the app ``build_app`` makes of it."""

    def __init__(self, settings: Settings, options: dict[str, Any], host: str, threads: int):
        os.environ.setdefault("QA_THREADS", str(max(1, threads)))  # this replica's share of the node
        from qa.pipeline import QA
        from qa.serving.server import Options, warm_up

        began = time.monotonic()
        self.qa = QA(settings=settings)
        options = dict(options)
        token, read_only = options.pop("token", None), options.pop("read_only", None)
        self.options = Options.from_settings(self.qa, host, token, read_only, **options)
        if self.options.warm_up:
            warm_up(self.qa)
        try:
            from ray import serve

            self.name = serve.get_replica_context().replica_id.unique_id
        except Exception:  # noqa: BLE001 - outside a replica (a test of this class): any name will do
            self.name = f"{os.getpid()}"
        log.warning("replica %s ready in %.1f s", self.name, time.monotonic() - began)

    def __serve_build_asgi_app__(self) -> Any:
        from qa.serving.server import build_app

        app = build_app(self.qa, self.options)
        app.add_middleware(ReplicaHeader, name=self.name)
        return app

    def check_health(self) -> None:
        """Raise unless this replica can answer from its index: the index loads (re-checked against the
        corpus, as a question would) and a retrieval runs through the embedder."""
        self.qa.current_index()
        self.qa.retriever.retrieve("health check", 1)


def deployment(replicas: int, settings: Settings, options: dict[str, Any], host: str,
               cpus_per_replica: float = 1.0) -> Any:
    """The Serve application (``Deployment.bind()``): ``replicas`` copies of ``Replica``."""
    _, serve = _serve()
    from qa.serving.gate import WAITING_PER_SLOT

    slots = options.get("max_concurrent") or max(1, int(cpus_per_replica) // 2)
    waiting = options.get("max_waiting") or WAITING_PER_SLOT * slots
    request_seconds = float(options.get("request_seconds") or settings.request_seconds)
    options = {"max_concurrent": slots, "max_waiting": waiting, **options, "feed_poll_seconds": 0}
    ingress = serve.ingress()(Replica)
    return serve.deployment(
        ingress, name=DEPLOYMENT, num_replicas=replicas,
        ray_actor_options={"num_cpus": cpus_per_replica},
        # the replica's gate answers 429 past its slots and line; Serve sends it no more than that
        max_ongoing_requests=slots + waiting + HEADROOM,
        # past that, the proxy holds a bounded line of its own, then answers 503 with Retry-After
        max_queued_requests=4 * replicas * (slots + waiting),
        backpressure_config={"status_code": 503, "retry_after_s": RETRY_AFTER_SECONDS},
        health_check_period_s=HEALTH_CHECK_SECONDS, health_check_timeout_s=30.0,
        # a replica being stopped finishes the questions it has (each at most request_seconds)
        graceful_shutdown_wait_loop_s=2.0, graceful_shutdown_timeout_s=request_seconds + 5.0,
    ).bind(settings, options, host, max(1, math.ceil(cpus_per_replica)))


class Deployed:
    """A running deployment (``deploy(block=False)``): its URL, its replicas, ``close()``."""

    def __init__(self, url: str, started_cluster: bool, seconds: float):
        self.url, self.started_cluster, self.seconds = url, started_cluster, seconds

    def replicas(self) -> list[str]:
        """The ids of the replicas now running (Serve's own, as ``x-qa-replica`` names them)."""
        ray, _ = _serve()
        prefix = f"SERVE_REPLICA::{APP}#{DEPLOYMENT}#"
        named = ray.util.list_named_actors(all_namespaces=True)
        return sorted(a["name"][len(prefix):] for a in named
                      if a["namespace"] == "serve" and a["name"].startswith(prefix))

    def running(self) -> int:
        """How many replicas Serve reports RUNNING (healthy, routed to)."""
        _, serve = _serve()
        application = serve.status().applications.get(APP)
        if application is None:
            return 0
        return int(application.deployments[DEPLOYMENT].replica_states.get("RUNNING", 0))

    def close(self) -> None:
        """Remove the application; stop Serve and Ray too if this process started the cluster."""
        ray, serve = _serve()
        if not ray.is_initialized():
            return
        serve.delete(APP)
        if self.started_cluster:
            serve.shutdown()
            ray.shutdown()


def deploy(address: str | None, replicas: int, settings: Mapping[str, Any], options: Mapping[str, Any] | None = None,
           host: str | None = None, port: int | None = None, block: bool = True, cpus_per_replica: float = 1.0,
           **more_options: Any) -> Deployed:
    """Serve the app from ``replicas`` Ray Serve replicas behind Serve's proxy on ``host:port``.

    ``address``: the Ray cluster (``connect``: None/"local" starts one here, "auto", "HOST:PORT");
    ``settings``: ``Settings`` fields (corpus, index, reader, embedder, ...; unset ones from this
    process's ``QA_*`` environment); ``options``: ``token``, ``read_only``, ``allow_private``,
    ``max_concurrent``, ``max_waiting``, ``request_seconds``, ``warm_up`` as for ``qa serve`` (feeds are
    never polled in replicas: run ``qa watch`` beside them), also as keywords (``token=...``); ``host``/``port``
    default to the settings' (``QA_HOST``/``QA_PORT``, else 127.0.0.1:7860). A public ``host`` needs a token or
    read-only (``AccessError``, before anything starts). ``block``: serve until Ctrl-C, then remove
    the application; else return once every replica is ready.
    """
    from qa.serving.access import for_host

    options = {**(options or {}), **more_options}
    unknown = sorted(set(options) - OPTIONS)
    if unknown:
        raise TypeError(f"unknown options for the replicas: {', '.join(unknown)}")
    if replicas < 1:
        raise QAError(f"--replicas must be at least 1, not {replicas}")
    options = {k: v for k, v in options.items() if v is not None}
    if options.get("feed_poll_seconds"):
        log.warning("replicas do not poll feeds: run `qa watch` beside the deployment")
    options.pop("feed_poll_seconds", None)
    resolved = replica_settings(settings)
    host, port = host or resolved.host, port or resolved.port
    for_host(host, options.get("token") or resolved.api_token,
             bool(options.get("read_only", resolved.read_only)))  # refuse a public bind before starting anything
    ray, serve = _serve()
    began = time.monotonic()
    started = connect(address)
    try:
        try:
            serve.start(http_options={"host": host, "port": port})
        except (TimeoutError, ray.exceptions.RayActorError) as exc:  # Ray Serve gives its proxy a fixed 60 s
            raise QAError(f"Ray Serve's HTTP proxy did not start ({type(exc).__name__}: it gets 60 s, which a "
                          "busy machine may not give it); try again when the machine is quieter") from exc
        app = deployment(replicas, resolved, options, host, cpus_per_replica)
        serve.run(app, name=APP, route_prefix="/")
    except BaseException:
        if started:
            ray.shutdown()
        raise
    deployed = Deployed(f"http://{host}:{port}", started, time.monotonic() - began)
    log.warning("%d replicas ready in %.0f s: the chat at %s/ and the API at %s/api", replicas, deployed.seconds,
                deployed.url, deployed.url)
    if not block:
        return deployed
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        pass
    finally:
        deployed.close()
    return deployed
