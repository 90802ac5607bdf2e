"""The checkpoint shipped with the package: small, loadable, and usable by the search's command line."""
import json

import numpy as np

from mcts_crn.config import ModelConfig, SearchConfig
from mcts_crn.model import DEFAULT_CHECKPOINT, LearnedEvaluator, load_default_evaluator, read_checkpoint


def test_the_default_checkpoint_is_shipped_small_and_documented():
    assert DEFAULT_CHECKPOINT.is_file(), "train one: bash experiments/train_default.sh"
    assert DEFAULT_CHECKPOINT.stat().st_size < 20 * 2**20
    payload = read_checkpoint(DEFAULT_CHECKPOINT)
    assert payload["iteration"] >= 1 and "optimizer" not in payload
    assert ModelConfig.from_dict(json.loads(payload["model_config"])).hidden == 64
    assert len(json.loads(payload["history"])) == payload["iteration"]


def test_the_default_evaluator_drives_a_search_from_the_command_line(tmp_path):
    from mcts_crn.search import PRIORS
    from mcts_crn.search.__main__ import main

    evaluator = load_default_evaluator()
    assert isinstance(evaluator, LearnedEvaluator)
    # the search uses the prior at the temperature chosen with the checkpoint (experiments/train_default.sh)
    assert evaluator.temperature == read_checkpoint(DEFAULT_CHECKPOINT)["search_temperature"] > 0
    assert PRIORS["learned"] is load_default_evaluator  # registered by importing mcts_crn.model
    assert main(["--example", "dimerisation", "--prior", "learned", "--simulations", "6", "--seed", "1",
                 "--quiet", "--out", str(tmp_path)]) == 0
    result = json.loads((tmp_path / "result.json").read_text())
    assert result["best"] is not None and np.isfinite(result["best"]["reward"])
    assert result["config"]["prior"] == "learned" and result["config"]["prior_temperature"] == evaluator.temperature
    # and with the playout depth chosen with it, where it carries one
    stored = read_checkpoint(DEFAULT_CHECKPOINT).get("search_rollout_depth")
    assert evaluator.rollout_depth == stored
    assert result["config"]["search"]["rollout_depth"] == (SearchConfig().rollout_depth if stored is None else stored)
