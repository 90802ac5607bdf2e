#!/usr/bin/env bash
# Train the default learned prior shipped as mcts_crn/model/default.pt (about 80 minutes on 2 cores).
#   bash experiments/train_default.sh [RUN]      (RUN defaults to experiments/out/train_default)
# The log goes to RUN.log; a killed run continues with the same command and RESUME=1 in the environment.
# The checkpoint shipped is chosen on 30 validation tasks (seed 7) kept disjoint from the learning curve's
# 30 test tasks (seed 2024), among every sixth iteration from 16: most recovered, then fewest median fits;
# then its search temperature (logits / T) among 0.5, 1 and 2, by the same rule.
set -euo pipefail
cd "$(dirname "$0")/.."
RUN=${1:-experiments/out/train_default}
mkdir -p "$(dirname "$RUN")"
python -m mcts_crn.train --out "$RUN" --iterations 40 --games-per-iteration 40 --workers 2 --simulations 60 \
    --steps 200 --seed 0 --quiet ${RESUME:+--resume} 2>&1 | tee -a "$RUN.log"
python experiments/learning_curve.py --run "$RUN" --tasks 30 --simulations 200 --seed 7 --disjoint-from 2024:30 \
    --checkpoints 16,22,28,34,40 --priors learned --workers 2 --out "$RUN/validation" --select 2>&1 | tee -a "$RUN.log"
selected() { python -c "import json, sys; print(json.load(open(sys.argv[1]))[sys.argv[2]])" \
    "$RUN/validation/selected.json" "$1"; }
ITERATION=$(basename "$(selected checkpoint)" .pt); ITERATION=$((10#${ITERATION#iter_}))
# then the temperature its prior is used at in a search, chosen the same way
python experiments/learning_curve.py --run "$RUN" --tasks 30 --simulations 200 --seed 7 --disjoint-from 2024:30 \
    --checkpoints "$ITERATION" --temperature 0.5,1,2 --priors learned --workers 2 --out "$RUN/validation" --select \
    2>&1 | tee -a "$RUN.log"
python -c "import sys; from mcts_crn.model import export_checkpoint
export_checkpoint(sys.argv[1], 'mcts_crn/model/default.pt', search_temperature=float(sys.argv[2]))" \
    "$(selected checkpoint)" "$(selected temperature)"
echo "exported $(selected checkpoint) (search temperature $(selected temperature)) to mcts_crn/model/default.pt"
