#!/usr/bin/env bash
# Train the default learned prior shipped as mcts_crn/model/default.pt (about 40 minutes on 2 cores, then about
# 15 minutes of choosing; measured with the code of stop 23).
#   bash experiments/train_default.sh [RUN]      (RUN defaults to experiments/out/train_default)
# The log goes to RUN.log; a killed run continues with the same command and RESUME=1 in the environment.
# Each of the 22 iterations plays 40 self-play games and stores the true build paths of 1500 more tasks
# (demonstration tasks: no search, about 20 times cheaper than a game), then trains 300 steps.
# The checkpoint shipped is chosen on 30 validation tasks (seed 7) kept disjoint from the learning curve's
# 30 test tasks (seed 2024), each search with a budget of 600 fits (every fit counted, so a prior that makes
# more fits per simulation gets no more): among iterations 10, 16 and 22, most recovered, then fewest
# median fits; then its search temperature (logits / T) among 0.5, 1 and 2, then the playout depth of its
# searches among 0, 1 and 2, by the same rule.
set -euo pipefail
cd "$(dirname "$0")/.."
RUN=${1:-experiments/out/train_default}
mkdir -p "$(dirname "$RUN")"
python -m mcts_crn.train --out "$RUN" --iterations 22 --games-per-iteration 40 --demonstration-tasks 1500 \
    --workers 2 --simulations 60 --steps 300 --seed 0 --quiet ${RESUME:+--resume} 2>&1 | tee -a "$RUN.log"
validate() {
    python experiments/learning_curve.py --run "$RUN" --tasks 30 --max-fits 600 --seed 7 --disjoint-from 2024:30 \
        --priors learned --workers 2 --out "$RUN/validation" --select "$@" 2>&1 | tee -a "$RUN.log"
}
selected() { python -c "import json, sys; print(json.load(open(sys.argv[1]))[sys.argv[2]])" \
    "$RUN/validation/selected.json" "$1"; }
validate --checkpoints 10,16,22
ITERATION=$(basename "$(selected checkpoint)" .pt); ITERATION=$((10#${ITERATION#iter_}))
# then the temperature its prior is used at in a search, then the playout depth, chosen the same way
validate --checkpoints "$ITERATION" --temperature 0.5,1,2
TEMPERATURE=$(selected temperature)
validate --checkpoints "$ITERATION" --temperature "$TEMPERATURE" --rollout-depth 0,1,2
python -c "import sys; from mcts_crn.model import export_checkpoint
export_checkpoint(sys.argv[1], 'mcts_crn/model/default.pt', search_temperature=float(sys.argv[2]),
                  search_rollout_depth=int(sys.argv[3]))" "$(selected checkpoint)" "$TEMPERATURE" "$(selected rollout_depth)"
echo "exported $(selected checkpoint) (search temperature $TEMPERATURE, playout depth $(selected rollout_depth))" \
    "to mcts_crn/model/default.pt"
