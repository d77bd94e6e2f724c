#!/usr/bin/env bash
# Train the reader on a lent GPU (the `device` tool's H200) in one prepared run, then package it here on CPU.
#
#   1. here:    bash scripts/train_on_device.sh prepare
#               makes runs/device/pairs.json.xz: SQuAD v1.1 train with every kind of unanswerable pair
#               (qa.training.negatives) already made, each context stored once (about 9 MB), so the GPU
#               machine needs only torch and transformers, which its image has.
#   2. device:  run(command="bash scripts/train_on_device.sh train", carry=["runs/device"], timeout_s=590)
#               trains EPOCHS epochs from the shipped reader (qa/models/reader-minilm) with bf16 autocast and
#               writes the model folder to $OUT as model.tar split into 15 MB parts (the tool returns
#               files of at most 16 MB), with the training log. Stops itself before the 10-minute limit.
#   3. here:    bash scripts/train_on_device.sh unpack DIR     (DIR: the files_at folder the tool reports)
#               rebuilds runs/reader-gpu/model; then score, package and calibrate it as docs/reader.md says.
#
# Nothing here needs a GPU to be correct: `train` falls back to the CPU (slowly) where there is none.
set -euo pipefail
cd "$(dirname "$0")/.."

TRAIN=${TRAIN:-../shared/data/squad/train-v1.1.reconstructed.json}
PAIRS=runs/device/pairs.json.xz
EPOCHS=${EPOCHS:-3}
BATCH=${BATCH:-64}
LR=${LR:-8e-05}
SEED=${SEED:-46}
# share of questions paired as each kind of unanswerable pair: the CPU stage-4 mix
SHARES='{"other": 0.1, "cut": 0.15, "hard": 0.15, "swap": 0.35, "antonym": 0.5, "negation": 0.05, "condition": 0.1}'

case "${1:-}" in
prepare)
    PY=${PY:-.venv/bin/python}
    "$PY" - "$TRAIN" "$PAIRS" "$SHARES" "$SEED" <<'EOF'
import json, sys, time
from collections import Counter
from qa.training import load_squad_examples, make_negatives
from qa.training.negatives import write_pairs

train, pairs, shares, seed = sys.argv[1], sys.argv[2], json.loads(sys.argv[3]), int(sys.argv[4])
began = time.time()
examples = load_squad_examples(train)
negatives = make_negatives(examples, shares, seed)
path = write_pairs(examples, negatives, pairs)
print(f"{len(examples)} questions + {len(negatives)} pairs {dict(Counter(n['kind'] for n in negatives))}")
print(f"wrote {path} ({path.stat().st_size / 1e6:.1f} MB) in {time.time() - began:.0f}s")
EOF
    ;;
train)
    test -f "$PAIRS" || { echo "no $PAIRS: run 'bash scripts/train_on_device.sh prepare' here and carry runs/device"; exit 2; }
    OUT=${OUT:-runs/device/out}
    mkdir -p "$OUT" runs/reader-gpu
    command -v nvidia-smi >/dev/null && nvidia-smi --query-gpu=name,memory.total --format=csv,noheader
    export PYTHONUNBUFFERED=1 PYTHONPATH=.${PYTHONPATH:+:$PYTHONPATH} HF_HUB_OFFLINE=1 TOKENIZERS_PARALLELISM=true
    # the pairs are already made: every maker's share is 0 here. --max-minutes stops training in time to
    # write and pack the model inside the tool's 10 minutes (loading and featurizing take about a minute)
    timeout 570 python3 -m qa.training --train "$PAIRS" --dev ../shared/data/squad/dev-v1.1.json \
        --out runs/reader-gpu --base qa/models/reader-minilm --epochs "$EPOCHS" --batch-size "$BATCH" \
        --lr "$LR" --seed "$SEED" --negatives 0 --cut-negatives 0 --checkpoint-every 2000 --log-every 100 --max-minutes "${MINUTES:-7}" \
        2>&1 | tee "$OUT/train.log" || echo "training stopped early (see train.log); packing the last checkpoint"
    if [ ! -f runs/reader-gpu/model/model.safetensors ]; then
        echo "no finished model: the checkpoint in runs/reader-gpu/checkpoint is lost with the machine"; exit 1
    fi
    tar -C runs/reader-gpu -cf runs/device/model.tar model
    split -b 15M -d runs/device/model.tar "$OUT/model.tar.part"
    ls -la "$OUT"
    ;;
unpack)
    DIR=${2:?usage: bash scripts/train_on_device.sh unpack DIR}
    mkdir -p runs/reader-gpu
    cat "$DIR"/model.tar.part* | tar -C runs/reader-gpu -xf -
    cp "$DIR"/train.log runs/reader-gpu/ 2>/dev/null || true
    echo "model in runs/reader-gpu/model; next: scripts/package_reader.py --model runs/reader-gpu/model ..."
    ;;
*)
    echo "usage: bash scripts/train_on_device.sh prepare | train | unpack DIR"; exit 2
    ;;
esac
