"""Answer latency, indexing rate and cold start side by side: code versions x backends x kinds of host,
quiet and beside a busy process (a benchmark, not a test).

    git worktree add /tmp/base <commit>           # the version to compare with
    python benchmarks/hosts.py --run base=/tmp/base:bf16 --run base-fp32=/tmp/base:fp32 --run now=.:auto \
        --hosts native,avx2 --busy --cold 3 --squad ../shared/data/squad/dev-v1.1.json

Each ``--run LABEL=CHECKOUT:BACKEND`` runs in processes of its own with ``PYTHONPATH=CHECKOUT`` and
``QA_BACKEND=BACKEND``, each with an index of its own (a version's index format may differ).
``--hosts avx2`` runs everything again as on a CPU with AVX2 only: ``ATEN_CPU_CAPABILITY=avx2``,
``ONEDNN_MAX_CPU_ISA=AVX2`` and ``MKL_ENABLE_INSTRUCTIONS=AVX2``, after checking in a child process
that PyTorch then reports AVX2 and no native bf16; ONNX Runtime, which takes no such setting, is
imported from a copy held to its AVX2 kernels (``benchmarks/onnxruntime_avx2.py``), after checking
that its int8 matrix product then slows as it should.
Every run starts with an empty cache (``QA_CACHE``; ONNX exports are shared with the usual cache), so
``auto`` times the backends afresh on each kind of host, as on a user's first run there.

Measured per run, in this order, the runs taking turns within each measure:
- seed: ``qa.answer()`` on the seed article, the first ``--questions`` questions of
  eval/seed_questions.jsonl asked ``--repeat`` times after one warm-up; p50/p95. With ``--busy``, the
  same again beside one busy single-threaded process (``while True: pass``).
- beside ``qa index`` (``--beside-index``, with ``--squad``): the seed again while a second process of
  the same version rebuilds the index of the SQuAD articles below, over and over.
- indexing (``--squad``): the first ``--articles`` articles of a SQuAD file indexed from scratch in a
  running QA (models loaded and warmed up): sentences/s; and retrieval recall@5 of their questions.
- cold (``--cold N``): ``qa ask`` in a new process on the existing seed index, to the printed answer.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
AVX2 = {"ATEN_CPU_CAPABILITY": "avx2", "ONEDNN_MAX_CPU_ISA": "AVX2", "MKL_ENABLE_INSTRUCTIONS": "AVX2"}

CHILD = r"""
import json, os, shutil, statistics, sys, time
from pathlib import Path
mode, corpus, index = sys.argv[1], Path(sys.argv[2]), Path(sys.argv[3])
extra = json.loads(Path(sys.argv[4]).read_text(encoding="utf-8"))
from qa.pipeline import QA

def ms(samples):
    s = sorted(1000 * x for x in samples)
    return {"p50": round(statistics.median(s), 1), "p95": round(s[min(len(s) - 1, round(0.95 * (len(s) - 1)))], 1),
            "n": len(s)}

if mode == "seed":
    qa = QA(corpus=corpus, index=index)
    qa.index()
    questions = extra["questions"]
    qa.answer(questions[0])
    times, answers = [], {}
    for _ in range(extra["repeat"]):
        for q in questions:
            began = time.perf_counter()
            a = qa.answer(q)
            times.append(time.perf_counter() - began)
            answers[q] = a.text
    runs_on = {k: getattr(getattr(getattr(qa, k), "choice", None), "backend", getattr(getattr(qa, k), "backend", "?"))
               for k in ("reader", "embedder")}
    print(json.dumps({**ms(times), "runs_on": runs_on, "answers": answers}))
elif mode == "index":
    qa = QA(corpus=corpus, index=index)
    qa.embedder.encode(["warm up the embedder once"] * 64)
    if index.exists():
        shutil.rmtree(index)
    began = time.perf_counter()
    built = qa.index()
    seconds = time.perf_counter() - began
    try:
        from qa.evaluation.metrics import contains_answer
    except ImportError:  # versions before qa.evaluation became a package
        from qa.evaluation.questions import contains_answer
    hits = 0
    for q, answers in extra["questions"]:
        hits += any(contains_answer(p.text, answers) for p in qa.retriever.retrieve(q, 5))
    print(json.dumps({"sentences": len(built.sentences), "seconds": round(seconds, 2),
                      "per_second": round(len(built.sentences) / seconds, 1),
                      "recall_at_5": round(100 * hits / max(1, len(extra["questions"])), 2)}))
"""


ORT_AVX2: Path | None = None  # the ONNX Runtime copy held to AVX2, made by main() when --hosts has avx2
CACHE: Path | None = None  # this run's QA_CACHE


def host_env(kind: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in AVX2}
    if CACHE:
        env["QA_CACHE"] = str(CACHE)
    return {**env, **AVX2} if kind == "avx2" else env


def pythonpath(checkout: Path, kind: str) -> str:
    return f"{checkout}{os.pathsep}{ORT_AVX2}" if kind == "avx2" and ORT_AVX2 else str(checkout)


def fresh_cache(work: Path) -> Path:
    """An empty qa cache for this run, sharing the usual cache's ONNX exports (they depend on the model only)."""
    sys.path.insert(0, str(ROOT))
    from qa.settings import cache_home

    cache = work / "qa-cache"
    cache.mkdir()
    exports = cache_home() / "onnx"
    if exports.is_dir():
        (cache / "onnx").symlink_to(exports, target_is_directory=True)
    return cache


def check_avx2_takes_effect() -> str:
    code = ("import torch; print(torch.backends.cpu.get_cpu_capability(), "
            "torch.ops.mkldnn._is_mkldnn_bf16_supported())")
    out = subprocess.run([sys.executable, "-c", code], env=host_env("avx2"), capture_output=True, text=True,
                         check=True).stdout.split()
    if out != ["AVX2", "False"]:
        sys.exit(f"the AVX2 emulation did not take effect: PyTorch reports {out}")
    return " ".join(out)


def child(checkout: Path, backend: str, kind: str, mode: str, corpus: Path, index: Path, extra: dict,
          busy: bool = False, indexing: Path | None = None) -> dict:
    """One measure in a fresh process; ``busy``: beside a busy single-threaded process; ``indexing``: beside
    ``qa index --rebuild`` of that corpus, again and again, in a second process of the same version."""
    env = {**host_env(kind), "PYTHONPATH": pythonpath(checkout, kind), "QA_BACKEND": backend, "HF_HUB_OFFLINE": "1"}
    given = index.with_name(index.name + ".json")
    given.write_text(json.dumps(extra), encoding="utf-8")
    neighbour = None
    if busy:
        neighbour = subprocess.Popen([sys.executable, "-c", "while True: pass"])
    elif indexing:
        loop = (f"while true; do {sys.executable} -c 'from qa.cli import main; main()' index --rebuild "
                f"--corpus {indexing} --index {index}-neighbour >/dev/null 2>&1; done")
        neighbour = subprocess.Popen(["bash", "-c", loop], env=env, cwd=checkout, start_new_session=True)
    try:
        if neighbour:
            time.sleep(0.5 if busy else 6)  # the indexer past its start-up, embedding
        done = subprocess.run([sys.executable, "-c", CHILD, mode, str(corpus), str(index), str(given)],
                              env=env, cwd=checkout, capture_output=True, text=True, timeout=3600)
    finally:
        if neighbour:
            if indexing:
                os.killpg(neighbour.pid, 9)  # the loop and the qa index it runs
            else:
                neighbour.kill()
            neighbour.wait()
    if done.returncode != 0:
        sys.exit(f"{checkout} ({backend}, {kind}, {mode}) failed:\n{done.stderr[-3000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def cold(checkout: Path, backend: str, kind: str, corpus: Path, index: Path, question: str, times: int) -> dict:
    env = {**host_env(kind), "PYTHONPATH": pythonpath(checkout, kind), "QA_BACKEND": backend, "HF_HUB_OFFLINE": "1"}
    samples = []
    for _ in range(times):
        began = time.perf_counter()
        subprocess.run([sys.executable, "-c", "from qa.cli import main; main()", "ask", question, "--corpus",
                        str(corpus), "--index", str(index)], env=env, cwd=checkout, check=True, capture_output=True)
        samples.append(time.perf_counter() - began)
    return {"median_ms": round(1000 * statistics.median(samples)), "fastest_ms": round(1000 * min(samples))}


def squad_sample(path: Path, articles: int, folder: Path) -> tuple[Path, list]:
    """The first ``articles`` articles of a SQuAD file as a corpus, and their questions with answers."""
    sys.path.insert(0, str(Path(__file__).parent))
    from squad import squad_articles

    data = json.loads(path.read_text(encoding="utf-8"))["data"][:articles]
    corpus = folder / "squad-corpus"
    corpus.mkdir(parents=True, exist_ok=True)
    (corpus / "articles.json").write_text(json.dumps(squad_articles(data), ensure_ascii=False), encoding="utf-8")
    questions = [(q["question"], [x["text"] for x in q["answers"]])
                 for a in data for p in a["paragraphs"] for q in p["qas"] if q.get("answers")]
    return corpus, random.Random(11).sample(questions, min(1000, len(questions)))


def main() -> None:
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(1))  # so that a stopped run still stops its neighbours
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--run", action="append", required=True, metavar="LABEL=CHECKOUT:BACKEND")
    parser.add_argument("--hosts", default="native", help="native, avx2 or both (comma-separated)")
    parser.add_argument("--questions", type=int, default=24)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--busy", action="store_true", help="also measure the seed beside a busy process")
    parser.add_argument("--beside-index", action="store_true",
                        help="also measure the seed beside `qa index --rebuild` of the --squad articles, looping")
    parser.add_argument("--squad", type=Path, help="SQuAD file: also measure indexing and recall@5")
    parser.add_argument("--articles", type=int, default=12)
    parser.add_argument("--cold", type=int, default=0, metavar="N")
    parser.add_argument("--rounds", type=int, default=2, help="times each measure is taken, runs taking turns")
    parser.add_argument("--out", type=Path)
    args = parser.parse_args()
    runs = []
    for spec in args.run:
        label, _, rest = spec.partition("=")
        checkout, _, backend = rest.rpartition(":")
        runs.append((label, Path(checkout).resolve(), backend))
    kinds = [k.strip() for k in args.hosts.split(",") if k.strip()]
    global ORT_AVX2, CACHE
    questions = [json.loads(line)["question"] for line in (ROOT / "eval" / "seed_questions.jsonl").open()]
    questions = questions[: args.questions]
    results: dict = {}
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        CACHE = fresh_cache(work)
        if "avx2" in kinds:
            print(f"AVX2 emulation checked: PyTorch reports {check_avx2_takes_effect()}", flush=True)
            sys.path.insert(0, str(Path(__file__).parent))
            import onnxruntime_avx2

            ORT_AVX2 = onnxruntime_avx2.patch(work / "onnxruntime-avx2")
            print(f"ONNX Runtime held to AVX2: {onnxruntime_avx2.check(ORT_AVX2)}", flush=True)
        squad = squad_sample(args.squad, args.articles, work) if args.squad else None
        for kind in kinds:
            for r in range(args.rounds):
                for label, checkout, backend in runs:
                    index = work / f"{label}-{kind}-seed"
                    row = results.setdefault(f"{label} ({kind})", {"checkout": str(checkout), "backend": backend})
                    seed = child(checkout, backend, kind, "seed", ROOT / "seeds", index,
                                 {"questions": questions, "repeat": args.repeat})
                    row.setdefault("seed", []).append(seed)
                    print(f"{label:>12} {kind:>6} round {r}: seed p50 {seed['p50']} ms p95 {seed['p95']} ms "
                          f"on {seed['runs_on']}", flush=True)
                    if args.busy:
                        busy = child(checkout, backend, kind, "seed", ROOT / "seeds", index,
                                     {"questions": questions, "repeat": args.repeat}, busy=True)
                        row.setdefault("busy", []).append(busy)
                        print(f"{label:>12} {kind:>6} round {r}: beside a busy process p50 {busy['p50']} ms "
                              f"({busy['p50'] / seed['p50']:.2f}x)", flush=True)
                    if args.beside_index and squad:
                        near = child(checkout, backend, kind, "seed", ROOT / "seeds", index,
                                     {"questions": questions, "repeat": args.repeat}, indexing=squad[0])
                        row.setdefault("beside_index", []).append(near)
                        print(f"{label:>12} {kind:>6} round {r}: beside `qa index` p50 {near['p50']} ms "
                              f"({near['p50'] / seed['p50']:.2f}x)", flush=True)
                    if squad:
                        built = child(checkout, backend, kind, "index", squad[0], work / f"{label}-{kind}-squad",
                                      {"questions": squad[1]})
                        row.setdefault("indexing", []).append(built)
                        print(f"{label:>12} {kind:>6} round {r}: indexing {built['per_second']} sentences/s, "
                              f"recall@5 {built['recall_at_5']}%", flush=True)
                    if args.cold and r == 0:
                        row["cold"] = cold(checkout, backend, kind, ROOT / "seeds", index, questions[0], args.cold)
                        print(f"{label:>12} {kind:>6}: cold `qa ask` {row['cold']}", flush=True)
    print("\nsummary (medians over rounds):")
    for name, row in results.items():
        seed = statistics.median(s["p50"] for s in row["seed"])
        line = f"  {name:<24} seed p50 {seed:6.1f} ms"
        if "busy" in row:
            busy = statistics.median(s["p50"] for s in row["busy"])
            line += f"  busy {busy:6.1f} ms ({busy / seed:.2f}x)"
        if "beside_index" in row:
            near = statistics.median(s["p50"] for s in row["beside_index"])
            line += f"  beside qa index {near:6.1f} ms ({near / seed:.2f}x)"
        if "indexing" in row:
            line += f"  indexing {statistics.median(s['per_second'] for s in row['indexing']):6.1f}/s" \
                    f" recall@5 {row['indexing'][0]['recall_at_5']}%"
        if "cold" in row:
            line += f"  cold {row['cold']['median_ms']} ms"
        runs_on = row["seed"][0]["runs_on"]
        line += f"  [{runs_on}]"
        print(line)
    if args.out:
        args.out.write_text(json.dumps(results, indent=1), encoding="utf-8")


if __name__ == "__main__":
    main()
