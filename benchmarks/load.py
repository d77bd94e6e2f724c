"""50 conversations at once through the JSON API (a benchmark, not a test).

    python benchmarks/load.py                               # starts `qa serve` on the seed corpus
    python benchmarks/load.py --url http://127.0.0.1:7860   # or drives a server already running
    python benchmarks/load.py --conversations 50 --turns 4

Each conversation (its own id) asks ``--turns`` questions in order through POST /api/chat, the later
ones follow-ups ("he", "it"); all conversations run at once. Reported: requests, errors (any
non-200 answer or transport failure: must be 0), throughput, and p50/p95 of the request latency as
the clients saw it (queueing included: the server answers one question at a time per model).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import socket
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CONVERSATION = [
    "Who offered Russia cooperation?",
    "On which day did he make the offer?",
    "How many people were killed in the attack?",
    "Who is the French Interior Minister?",
    "What did he say about the threat?",
]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


async def converse(client: object, n: int, turns: int, latencies: list[float], errors: list[str]) -> None:
    for turn in range(turns):
        question = CONVERSATION[turn % len(CONVERSATION)]
        began = time.perf_counter()
        try:
            r = await client.post("/api/chat", json={"question": question, "conversation": f"load-{n}"})
            if r.status_code != 200:
                errors.append(f"conversation {n} turn {turn}: HTTP {r.status_code} {r.text[:200]}")
        except Exception as exc:  # noqa: BLE001 - every failure is counted and reported
            errors.append(f"conversation {n} turn {turn}: {type(exc).__name__}: {exc}")
        latencies.append(time.perf_counter() - began)


async def drive(url: str, conversations: int, turns: int) -> tuple[list[float], list[str], float]:
    import httpx

    latencies: list[float] = []
    errors: list[str] = []
    limits = httpx.Limits(max_connections=conversations)
    async with httpx.AsyncClient(base_url=url, timeout=600, limits=limits) as client:
        began = time.perf_counter()
        await asyncio.gather(*(converse(client, n, turns, latencies, errors) for n in range(conversations)))
        return latencies, errors, time.perf_counter() - began


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--url", help="a running qa serve (default: start one on the seed corpus)")
    parser.add_argument("--conversations", type=int, default=50)
    parser.add_argument("--turns", type=int, default=4)
    args = parser.parse_args()
    server = None
    url = args.url
    if url is None:
        import httpx

        port = free_port()
        url = f"http://127.0.0.1:{port}"
        server = subprocess.Popen([str(Path(sys.executable).parent / "qa"), "serve", "--port", str(port)], cwd=ROOT,
                                  env=os.environ.copy(), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 180
        while True:
            try:
                if httpx.get(url + "/api/status", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if server.poll() is not None or time.monotonic() > deadline:
                raise SystemExit("qa serve did not start")
            time.sleep(0.5)
    try:
        latencies, errors, seconds = asyncio.run(drive(url, args.conversations, args.turns))
    finally:
        if server is not None:
            server.terminate()
            server.wait(30)
    ms = sorted(x * 1000 for x in latencies)
    print(f"{args.conversations} conversations x {args.turns} questions = {len(latencies)} requests against {url}")
    print(f"errors: {len(errors)}")
    for error in errors[:10]:
        print("  " + error)
    print(f"throughput: {len(latencies) / seconds:.1f} questions/s over {seconds:.1f} s")
    print(f"latency: p50 {statistics.median(ms):.0f} ms, p95 {ms[round(0.95 * (len(ms) - 1))]:.0f} ms, "
          f"max {ms[-1]:.0f} ms")
    sys.exit(1 if errors else 0)


if __name__ == "__main__":
    main()
