"""The learning-curve script (experiments/learning_curve.py): its comparisons between priors, the rule that
picks the checkpoint to ship, and held-out task sets kept disjoint from one another."""
from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest
from conftest import experiment_script

from mcts_crn.config import TaskConfig, TrainConfig


@pytest.fixture(scope="module")
def learning_curve():
    with experiment_script("learning_curve.py", "learning_curve_script") as module:
        yield module


def _rows(fits: list[int]) -> list[dict]:
    return [{"task": j, "fits_to_truth": f} for j, f in enumerate(fits)]


def test_compare_counts_paired_tasks_and_the_baselines_last_recovery(learning_curve) -> None:
    # 0 = not recovered. Both recovered tasks 0 and 3: ratios 100/10 and 80/40, geometric mean sqrt(20).
    # The baseline recovered 2 tasks, the second by 100 fits; the prior its second by 20.
    c = learning_curve.compare(_rows([10, 20, 0, 40]), _rows([100, 0, 0, 80]))
    assert c["paired_tasks"] == 2 and c["paired"] == pytest.approx(math.sqrt(20.0))
    assert c["k"] == 2 and c["at_k"] == pytest.approx(5.0)
    # a prior that recovered fewer tasks than the baseline has no ratio at the baseline's k
    fewer = learning_curve.compare(_rows([0, 0, 0, 40]), _rows([100, 50, 0, 80]))
    assert fewer["k"] == 3 and math.isnan(fewer["at_k"]) and fewer["paired"] == pytest.approx(2.0)


def test_compare_medians_count_unrecovered_tasks_as_beyond_the_budget(learning_curve) -> None:
    # censored medians: the prior's tasks sorted 10, 20, 40, inf -> 30; the baseline's 80, 100, 300, inf -> 200
    c = learning_curve.compare(_rows([10, 20, 0, 40]), _rows([100, 300, 0, 80]), budget=1000)
    assert c["median"] == pytest.approx(200.0 / 30.0) and not c["median_is_bound"]
    # the baseline recovered half of the tasks: its median lies beyond the budget, the ratio at least 1000 / 30
    bound = learning_curve.compare(_rows([10, 20, 0, 40]), _rows([100, 0, 0, 80]), budget=1000)
    assert bound["median_is_bound"] and bound["median"] == pytest.approx(1000.0 / 30.0)
    assert math.isnan(learning_curve.compare(_rows([10, 20, 0, 40]), _rows([100, 0, 0, 80]))["median"])
    # no ratio where the prior's own median is unreached
    assert math.isnan(learning_curve.compare(_rows([10, 0, 0, 40]), _rows([100, 50, 60, 80]), budget=1000)["median"])


def test_compare_bootstrap_intervals(learning_curve) -> None:
    """The 90% intervals come from resampling tasks: a prior exactly 4 times faster on every task has the
    interval [4, 4]; noisy ratios give an interval around the estimate that narrows with more tasks."""
    same = learning_curve.compare(_rows([5, 10, 20, 0]), _rows([20, 40, 80, 0]))
    assert same["paired"] == pytest.approx(4.0)
    assert same["paired_ci"] == pytest.approx((4.0, 4.0)) and same["at_k_ci"] == pytest.approx((4.0, 4.0))
    assert same["median"] == pytest.approx(4.0) and same["median_ci"] == pytest.approx((4.0, 4.0))
    rng = np.random.default_rng(1)

    def noisy(n: int) -> dict:
        fits = rng.integers(10, 100, size=n)
        return learning_curve.compare(_rows(list(fits)), _rows(list((fits * np.exp(rng.normal(1.0, 1.0, n))).astype(int))))

    small, large = noisy(20), noisy(500)
    for c in (small, large):
        assert c["paired_ci"][0] < c["paired"] < c["paired_ci"][1]
    def width(c: dict) -> float:
        return math.log(c["paired_ci"][1] / c["paired_ci"][0])

    assert width(large) < 0.5 * width(small)
    # the true ratio e^1 lies inside the large set's interval
    assert large["paired_ci"][0] < math.e < large["paired_ci"][1]


def test_select_checkpoint_prefers_recovery_then_fewer_fits(learning_curve) -> None:
    table = {"heuristic": {"recovered": 9, "median_fits_recovered": 10.0},
             "learned@1": {"recovered": 5, "median_fits_recovered": 50.0},
             "learned@2": {"recovered": 6, "median_fits_recovered": 300.0},
             "learned@3": {"recovered": 6, "median_fits_recovered": 200.0}}
    assert learning_curve.select_checkpoint(table) == "learned@3"
    assert learning_curve.select_checkpoint({"heuristic": table["heuristic"]}) is None


def test_validation_tasks_are_disjoint_from_the_test_tasks(learning_curve, tmp_path: Path) -> None:
    task = TaskConfig(max_species=3, max_reactions=3, num_times=11)
    (tmp_path / "config.json").write_text(json.dumps({"task": task.to_dict(), "train": TrainConfig().to_dict()}))
    test, _, _, num_training = learning_curve.held_out_tasks(tmp_path, 3, 5)
    assert num_training == 0 and len({t.key for t in test}) == 3
    # the same seed drawn again but disjoint from itself: every task is redrawn
    again, _, _, _ = learning_curve.held_out_tasks(tmp_path, 3, 5, ((5, 3),))
    assert not {t.key for t in again} & {t.key for t in test}
    assert [t.key for t in learning_curve.held_out_tasks(tmp_path, 3, 5)[0]] == [t.key for t in test]


def test_training_tasks_rebuilt_from_the_runs_seed_are_those_self_play_drew(learning_curve, tmp_path: Path) -> None:
    """A run kept without its replay buffer: ``training_games`` rebuilds the tasks of its games from its seed, so
    the held-out tasks stay disjoint from them, and of its demonstration tasks. The rebuilt tasks are the ones
    the loop's jobs play."""
    from mcts_crn.learn.loop import demonstration_seed, game_seed, game_task
    from mcts_crn.learn.tasks import generate_task

    task = TaskConfig(max_species=2, max_reactions=2, num_times=11)
    train = TrainConfig(demonstration_tasks=4)
    (tmp_path / "config.json").write_text(json.dumps({"task": task.to_dict(), "train": train.to_dict(), "seed": 3}))
    # the loop's worker seeds a game's task with the child (0,) of the game's seed
    key = game_seed(3, 2, 1)
    played = generate_task(np.random.SeedSequence(key.entropy, spawn_key=(0, 2, 1, 0)), config=task)
    assert game_task(key, task).key == played.key
    training = {game_task(game_seed(3, i, g), task).key for i in (1, 2) for g in range(20)}
    training |= {game_task(demonstration_seed(3, i, j), task).key for i in (1, 2) for j in range(4)}
    free, _, _, num_free = learning_curve.held_out_tasks(tmp_path, 8, 5)
    kept, _, _, num_training = learning_curve.held_out_tasks(tmp_path, 8, 5, training_games=(2, 20))
    assert num_free == 0 and num_training == len(training) > 1
    assert not {t.key for t in kept} & training
    # with few two-species networks some of the free draw are training tasks, and those are redrawn
    assert {t.key for t in free} & training


def test_training_history_falls_back_to_the_latest_checkpoint(learning_curve, tmp_path: Path) -> None:
    """A run kept without history.json: the self-play record saved in its latest checkpoint is read."""
    from mcts_crn.config import ModelConfig
    from mcts_crn.learn.loop import initial_model
    from mcts_crn.model.checkpoint import save_checkpoint

    model = initial_model(ModelConfig(hidden=8, num_layers=1), seed=0)
    (tmp_path / "checkpoints").mkdir()
    record = [{"iteration": i, "games": 10, "recovered": i + 1, "selfplay_seconds": 60.0} for i in (1, 2, 3)]
    save_checkpoint(tmp_path / "checkpoints" / "iter_0002.pt", model, iteration=2, history=json.dumps(record[:2]))
    save_checkpoint(tmp_path / "checkpoints" / "iter_0003.pt", model, iteration=3, history=json.dumps(record))
    assert learning_curve.training_history(tmp_path) == record
    assert learning_curve.self_play_line(record).endswith("2/10 3/10 4/10")
    (tmp_path / "history.json").write_text(json.dumps(record[:1]))
    assert learning_curve.training_history(tmp_path) == record[:1]
    assert learning_curve.training_history(tmp_path / "absent") == []
