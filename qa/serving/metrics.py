"""What to watch a running server by: ``GET /metrics`` in Prometheus's text format (the standard
``prometheus_client``), and one structured log line per request (logger ``qa.requests``, JSON).

    qa_requests_total{route, method, status}       requests answered, by route and status
    qa_request_seconds{route}                      time to answer them
    qa_stage_seconds{stage}                        time per pipeline stage: interpret, retrieve, read
    qa_answers_total{outcome}                      answered / abstained (the abstention rate)
    qa_busy_total{reason}                          turned away: busy (429) or timed out (503)
    qa_model_calls_running, qa_model_calls_waiting the overload gate now
    qa_index_articles, qa_index_sentences, qa_index_generation    the index questions are answered from
    qa_index_update_seconds                        background index updates
    qa_feed_poll_seconds, qa_feed_new_items_total  feed polling rounds, and what they added

Each server has its own registry (tests run several in one process).
"""

from __future__ import annotations

import json
import logging
import time
from typing import TYPE_CHECKING, Any

from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.core import GaugeMetricFamily

if TYPE_CHECKING:
    from qa.index_service import IndexService
    from qa.serving.gate import Gate

requests_log = logging.getLogger("qa.requests")
LATENCY_BUCKETS = (0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0)


class Metrics:
    """The counters and histograms of one server."""

    def __init__(self, indexes: IndexService | None = None, gate: Gate | None = None):
        self.registry = CollectorRegistry()
        r = self.registry
        self.requests = Counter("qa_requests", "Requests answered", ["route", "method", "status"], registry=r)
        self.latency = Histogram("qa_request_seconds", "Time to answer a request", ["route"],
                                 buckets=LATENCY_BUCKETS, registry=r)
        self.stages = Histogram("qa_stage_seconds", "Time per pipeline stage", ["stage"],
                                buckets=LATENCY_BUCKETS, registry=r)
        self.answers = Counter("qa_answers", "Questions answered or abstained", ["outcome"], registry=r)
        self.busy = Counter("qa_busy", "Requests turned away", ["reason"], registry=r)
        self.updates = Histogram("qa_index_update_seconds", "Index updates", registry=r,
                                 buckets=(0.1, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600, 1800))
        self.polls = Histogram("qa_feed_poll_seconds", "Feed polling rounds", registry=r,
                               buckets=(0.1, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300))
        self.feed_items = Counter("qa_feed_new_items", "Feed entries added by polling", registry=r)
        r.register(_Live(indexes, gate))

    def stage(self, name: str, seconds: float) -> None:
        self.stages.labels(name).observe(seconds)

    def answered(self, answer: Any) -> None:
        self.answers.labels("answered" if getattr(answer, "answered", False) else "abstained").inc()

    def polled(self, seconds: float, new_items: int) -> None:
        self.polls.observe(seconds)
        self.feed_items.inc(new_items)

    def request(self, route: str, method: str, status: int, seconds: float, **fields: Any) -> None:
        """Count a request and write its log line."""
        self.requests.labels(route, method, str(status)).inc()
        self.latency.labels(route).observe(seconds)
        if requests_log.isEnabledFor(logging.INFO):
            line = {"time": time.strftime("%Y-%m-%dT%H:%M:%S%z"), "method": method, "route": route,
                    "status": status, "ms": round(seconds * 1000, 1), **{k: v for k, v in fields.items() if v}}
            requests_log.info(json.dumps(line, ensure_ascii=False))

    def exposition(self) -> bytes:
        return generate_latest(self.registry)


class _Live:
    """Gauges read when scraped: the index loaded and the gate's state."""

    def __init__(self, indexes: IndexService | None, gate: Gate | None):
        self.indexes, self.gate = indexes, gate

    def collect(self) -> Any:
        index = self.indexes.loaded if self.indexes is not None else None
        values = {
            "qa_index_articles": ("Articles in the index answered from", len(index.articles) if index else 0),
            "qa_index_sentences": ("Sentences in the index answered from", len(index.sentences) if index else 0),
            "qa_index_generation": ("Generation of the index answered from",
                                    int(index.manifest.get("generation", 0)) if index else 0),
            "qa_index_updating": ("1 while the index is being updated in the background",
                                  int(bool(self.indexes.state.get("updating"))) if self.indexes else 0),
        }
        if self.gate is not None:
            values["qa_model_calls_running"] = ("Model calls running now", self.gate.running)
            values["qa_model_calls_waiting"] = ("Requests waiting for a model call", self.gate.queued)
            values["qa_model_calls_limit"] = ("Model calls allowed at once", self.gate.limit)
        for name, (text, value) in values.items():
            yield GaugeMetricFamily(name, text, value=value)
