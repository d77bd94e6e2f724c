"""What this installation runs on: the CPU, each model's backend and why, the models, the index.

    describe(QA())      # {"cpu": {...}, "reader": {...}, "embedder": {...}, "index": {...}}

``qa info`` prints it. Describing loads both models, so on a host seen for the first time it also
makes the backend choice (``qa.backends.choice``), which later processes reuse.
"""

from __future__ import annotations

from typing import Any

from qa.backends.cpu import detect
from qa.settings import cache_home


def describe(qa: Any) -> dict[str, Any]:
    """The CPU, both models (asked backend, backend run, why, timings), the cache and the index."""
    cpu = detect()
    found: dict[str, Any] = {
        "cpu": {"name": cpu.name, "cores": cpu.cores, "isa": cpu.isa, "native_bf16": cpu.native_bf16,
                "vnni": cpu.vnni, "limits": cpu.limits, "key": cpu.key},
        "cache": str(cache_home()),
    }
    for kind, model in (("reader", qa.reader), ("embedder", qa.embedder)):
        if hasattr(model, "warm_up"):
            model.warm_up()
        choice = getattr(model, "choice", None)
        found[kind] = {"model": getattr(model, "name", type(model).__name__),
                       "asked": getattr(model, "backend", None),
                       "runs_on": getattr(choice, "backend", None), "why": getattr(choice, "reason", None),
                       "timings_ms": getattr(choice, "timings", None)}
    inner = getattr(qa.embedder, "_model", None)
    if hasattr(inner, "runner"):
        found["embedder"]["questions_on"] = inner.runner(1).backend
    found["index"] = _index(qa)
    return found


def _index(qa: Any) -> dict[str, Any]:
    from qa.errors import CorruptIndexError
    from qa.index import SentenceIndex, index_exists

    folder = qa.settings.index
    if not index_exists(folder):
        return {"folder": str(folder), "state": "not built: run `qa index`"}
    try:
        index = SentenceIndex.load(folder)
    except CorruptIndexError as exc:
        return {"folder": str(folder), "state": f"unreadable ({exc}); `qa index` rebuilds it"}
    m = index.manifest
    described = {"folder": str(folder), "embedder": index.embedder, "built_on": m.get("backend"),
                 "tolerance": m.get("tolerance"), "articles": m.get("articles"), "sentences": m.get("sentences"),
                 "segments": len(m.get("segments", [])), "built": m.get("built")}
    if index.embedder == getattr(qa.embedder, "name", None):
        described["agreement"] = round(index.agreement(qa.embedder), 6)
    return described


def render(found: dict[str, Any]) -> str:
    """``describe``'s result as ``qa info`` prints it."""
    cpu = found["cpu"]
    lines = [f"CPU       {cpu['name']}, {cpu['cores']} cores for this process, {cpu['isa']}; bf16 "
             f"{'native' if cpu['native_bf16'] else 'emulated'}; int8 dot products {'VNNI' if cpu['vnni'] else 'AVX2'}"
             + (f"; limited by {cpu['limits']}" if cpu["limits"] else "")]
    for kind in ("reader", "embedder"):
        m = found[kind]
        extra = f"; questions on {m['questions_on']}" if m.get("questions_on") and m["questions_on"] != m["runs_on"] \
            else ""
        lines.append(f"{kind:<9} {m['model']}: {m['runs_on']} (asked: {m['asked']}){extra}")
        if m.get("why"):
            lines.append(f"          why: {m['why']}")
    index = found["index"]
    if "state" in index:
        lines.append(f"index     {index['folder']}: {index['state']}")
    else:
        lines.append(f"index     {index['folder']}: {index['articles']} articles, {index['sentences']} sentences in "
                     f"{index['segments']} segments, embedder {index['embedder']} (built on {index['built_on']}, "
                     f"serves any backend within cosine {index['tolerance']}"
                     + (f"; this one agrees to {index['agreement']}" if "agreement" in index else "") + ")")
    lines.append(f"cache     {found['cache']} (backend choices per host, ONNX exports)")
    return "\n".join(lines)
