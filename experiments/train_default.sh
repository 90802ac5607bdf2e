#!/usr/bin/env bash
# Train the default learned prior shipped as mcts_crn/model/default.pt (about 70 minutes on 2 cores).
#   bash experiments/train_default.sh [RUN]      (RUN defaults to experiments/out/train_default)
# The log goes to RUN.log; a killed run continues with the same command plus --resume.
set -euo pipefail
cd "$(dirname "$0")/.."
RUN=${1:-experiments/out/train_default}
mkdir -p "$(dirname "$RUN")"
python -m mcts_crn.train --out "$RUN" --iterations 22 --games-per-iteration 40 --workers 2 --simulations 60 \
    --steps 200 --seed 0 --quiet ${RESUME:+--resume} 2>&1 | tee -a "$RUN.log"
python -c "from mcts_crn.model import export_checkpoint; export_checkpoint('$RUN/checkpoint.pt', 'mcts_crn/model/default.pt')"
echo "exported $RUN/checkpoint.pt to mcts_crn/model/default.pt"
