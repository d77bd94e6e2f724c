"""Many clients at once against `qa serve` while articles are being added (a benchmark, not a test).

    python benchmarks/load.py                                   # 200 clients for 60 s, an article every 5 s
    python benchmarks/load.py --clients 50 --seconds 30 --add-every 0
    python benchmarks/load.py --url http://127.0.0.1:7860 --token SECRET   # a server already running

Without ``--url`` it copies the seed corpus to a temporary folder and starts `qa serve` there (a process
of its own, with a write token), so the clients' own work does not share the server's interpreter.
Each client holds one conversation and asks its questions in turn through POST /api/chat; a 429 or
503 is honoured as a user's client would (wait Retry-After, ask again) and counted. A writer uploads
a new short article every ``--add-every`` seconds through POST /api/articles. Reported: requests,
answers, turned away (429) and timed out (503), lost (anything else: an error status, a dropped
connection, a 429/503 without Retry-After: must be 0), the latency of answered requests as the
clients saw it (p50, p95), articles added, and whether the index on disk is valid afterwards (its
generation opens, and every added article is in it and answerable).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
CONVERSATION = [
    "Who offered Russia cooperation?",
    "On which day did he make the offer?",
    "How many people were killed in the attack?",
    "Who is the French Interior Minister?",
    "What did he say about the threat?",
]
TOKEN = "load-benchmark-writer-token"
TOWNS = ["Aarhus", "Bergen", "Cork", "Delft", "Espoo", "Faro", "Graz", "Hull", "Izmir", "Jena", "Kaunas", "Lille"]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Tally:
    def __init__(self) -> None:
        self.latencies: list[float] = []
        self.busy = 0
        self.timed_out = 0
        self.lost: list[str] = []
        self.requests = 0


async def client_loop(client: Any, n: int, stop: float, tally: Tally) -> None:
    turn = 0
    while time.monotonic() < stop:
        question = CONVERSATION[turn % len(CONVERSATION)]
        began = time.perf_counter()
        tally.requests += 1
        try:
            r = await client.post("/api/chat", json={"question": question, "conversation": f"load-{n}-{turn // 5}"})
        except Exception as exc:  # noqa: BLE001 - every failure is counted and reported
            tally.lost.append(f"client {n}: {type(exc).__name__}: {exc}")
            await asyncio.sleep(1)
            continue
        if r.status_code == 200:
            tally.latencies.append(time.perf_counter() - began)
            turn += 1
        elif r.status_code in (429, 503) and r.headers.get("Retry-After", "").isdigit():
            if r.status_code == 429:
                tally.busy += 1
            else:
                tally.timed_out += 1
            await asyncio.sleep(int(r.headers["Retry-After"]) * random.uniform(0.5, 1.5))
        else:
            tally.lost.append(f"client {n}: HTTP {r.status_code} {r.text[:200]}")


async def writer_loop(client: Any, every: float, stop: float, added: list[tuple[str, str, str]],
                      lost: list[str]) -> None:
    n = 0
    while every > 0 and time.monotonic() + every < stop:
        await asyncio.sleep(every)
        town = TOWNS[n % len(TOWNS)]
        name = f"Councillor{n}x Varga"
        text = (f"{town} opens a ferry line {n}\nThe mayor of {town}, {name}, opened ferry line {n} on Tuesday.\n"
                f"The line carries {100 + n} passengers a day.")
        files = {"file": (f"ferry-{n}.txt", text.encode(), "text/plain")}
        try:
            r = await client.post("/api/articles", files=files, headers={"Authorization": f"Bearer {TOKEN}"})
            if r.status_code == 202 and r.json()["results"][0]["status"] == "added":
                added.append((r.json()["results"][0]["file"], f"Who opened ferry line {n} in {town}?", name))
            else:
                lost.append(f"upload {n}: HTTP {r.status_code} {r.text[:200]}")
        except Exception as exc:  # noqa: BLE001
            lost.append(f"upload {n}: {type(exc).__name__}: {exc}")
        n += 1


async def drive(url: str, clients: int, seconds: float, add_every: float) -> tuple[Tally, list[Any], float]:
    import httpx

    tally = Tally()
    added: list[tuple[str, str, str]] = []
    limits = httpx.Limits(max_connections=clients + 4, max_keepalive_connections=clients + 4)
    async with httpx.AsyncClient(base_url=url, timeout=120, limits=limits) as client:
        began = time.monotonic()
        stop = began + seconds
        await asyncio.gather(writer_loop(client, add_every, stop, added, tally.lost),
                             *(client_loop(client, n, stop, tally) for n in range(clients)))
        return tally, added, time.monotonic() - began


def start_server(work: Path, port: int) -> subprocess.Popen[bytes]:
    import httpx

    corpus = work / "corpus"
    shutil.copytree(ROOT / "seeds", corpus)
    env = {**os.environ, "QA_API_TOKEN": f"bench={TOKEN}"}
    log = (work / "serve.log").open("wb")
    server = subprocess.Popen([str(Path(sys.executable).parent / "qa"), "serve", "--port", str(port),
                               "--corpus", str(corpus), "--index", str(work / "index")],
                              cwd=work, env=env, stdout=log, stderr=subprocess.STDOUT)
    deadline = time.monotonic() + 300
    while True:
        try:
            if httpx.get(f"http://127.0.0.1:{port}/api/status", timeout=2).status_code == 200:
                return server
        except httpx.HTTPError:
            pass
        if server.poll() is not None or time.monotonic() > deadline:
            raise SystemExit(f"qa serve did not start: see {work / 'serve.log'}")
        time.sleep(0.5)


def check_index(url: str, work: Path | None, added: list[tuple[str, str, str]]) -> dict[str, Any]:
    """After the run: the index opens, holds every added article, and answers from each."""
    import httpx

    deadline = time.monotonic() + 300
    while httpx.get(url + "/api/status", timeout=30).json().get("updating") and time.monotonic() < deadline:
        time.sleep(1)
    status = httpx.get(url + "/api/status", timeout=30).json()
    report: dict[str, Any] = {"articles": status["articles"], "sentences": status["sentences"],
                              "generation": status.get("generation")}
    if work is not None:
        from qa.index import SentenceIndex

        index = SentenceIndex.load(work / "index")
        report["index_opens"] = True
        report["added_in_index"] = sum(any(a.startswith(f) for a in index.articles) for f, _, _ in added)
    right = 0
    for _, question, name in added:
        body = httpx.post(url + "/api/answer", json={"question": question}, timeout=120).json()
        right += name in (body.get("text") or "")
    report["added_answered"] = right
    return report


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--url", help="a running qa serve (default: start one on a copy of the seed corpus)")
    parser.add_argument("--token", help="its write token (with --url)")
    parser.add_argument("--clients", type=int, default=200)
    parser.add_argument("--seconds", type=float, default=60)
    parser.add_argument("--add-every", type=float, default=5.0, help="seconds between uploads (0: none)")
    parser.add_argument("--out", type=Path, help="write the figures here as JSON")
    args = parser.parse_args()
    global TOKEN
    if args.token:
        TOKEN = args.token
    server = None
    work = None
    url = args.url
    if url is None:
        work = Path(tempfile.mkdtemp(prefix="qa-load-"))
        port = free_port()
        url = f"http://127.0.0.1:{port}"
        server = start_server(work, port)
    try:
        tally, added, seconds = asyncio.run(drive(url, args.clients, args.seconds, args.add_every))
        index = check_index(url, work, added)
        metrics = __import__("httpx").get(url + "/metrics", timeout=30).text
    finally:
        if server is not None:
            server.terminate()
            server.wait(30)
    ms = sorted(x * 1000 for x in tally.latencies) or [0.0]
    figures = {
        "clients": args.clients, "seconds": round(seconds, 1), "requests": tally.requests,
        "answered": len(tally.latencies), "busy_429": tally.busy, "timed_out_503": tally.timed_out,
        "lost": len(tally.lost), "answers_per_second": round(len(tally.latencies) / seconds, 2),
        "p50_ms": round(statistics.median(ms)), "p95_ms": round(ms[round(0.95 * (len(ms) - 1))]),
        "max_ms": round(ms[-1]), "articles_added": len(added), **index,
        "cpu": os.cpu_count(),
    }
    print(json.dumps(figures, indent=1))
    for error in tally.lost[:10]:
        print("  lost: " + error)
    shown = ("qa_busy_total", "qa_model_calls_limit")
    print("\n".join(line for line in metrics.splitlines() if line.startswith(shown)))
    if args.out:
        args.out.write_text(json.dumps(figures, indent=1) + "\n", encoding="utf-8")
    if work is not None and server is not None:
        shutil.rmtree(work, ignore_errors=True)
    ok = not tally.lost and index.get("added_in_index", len(added)) == len(added)
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
