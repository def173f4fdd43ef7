#!/usr/bin/env bash
# Recreates models/brown-llama (the bundled base model of issue 9): a byte-level BPE tokenizer trained on the
# Brown corpus (held-out files excluded), then full-parameter pretraining of a ~5.9M-parameter Llama on the same
# documents. Takes ~20 min on 2 idle CPU cores (~40 min shared). A run that dies can be continued: RESUME=1 scripts/make-base-model.sh
set -euo pipefail
cd "$(dirname "$0")/.."
OUT=models/brown-llama
TOK=${TOK_DIR:-/tmp/brown-tokenizer}
RUN=${RUN_DIR:-/tmp/brown-llama.run}

if [[ -z "${RESUME:-}" ]]; then
  node bin/lorakit.js tokenizer train --corpus brown --vocab-size 4096 --model-max-length 1024 --out "$TOK"
fi
node bin/lorakit.js pretrain --corpus brown --tokenizer "$TOK" --out "$OUT" --run-dir "$RUN" \
  --hidden 256 --layers 6 --heads 4 --max-positions 1024 \
  --steps 2400 --seq 256 --batch 8 --lr 2e-3 --warmup-steps 100 --min-lr-ratio 0.1 --weight-decay 0.1 \
  --seed 0 --threads 2 --eval-every 100 --save-every 50 ${RESUME:+--resume}
