"""Training: targets, a step that lowers the loss, and the loop's checkpoints that resume."""
import json

import numpy as np
import pytest
import torch

from mcts_crn.config import ModelConfig, TaskConfig, TrainConfig
from mcts_crn.learn import ReplayBuffer, generate_task, make_batch, make_optimizer, play_game, policy_target, train_step
from mcts_crn.learn import loop
from mcts_crn.learn.loop import feature_sizes, initial_model, run_training
from mcts_crn.learn.training import evaluate_loss, usable
from mcts_crn.model import CrnGnn, read_checkpoint

QUICK_TASKS = TaskConfig(max_species=3, max_reactions=3, latent_probability=0.0, max_experiments=1, num_times=15)
QUICK_TRAIN = TrainConfig(iterations=1, games_per_iteration=1, simulations=6, steps_per_iteration=2, batch_size=8,
                          min_visits=1)


pytestmark = pytest.mark.usefixtures("one_torch_thread")


def test_policy_target_mixes_visits_and_edits():
    visits = np.array([0.5, 0.5, 0.0, 0.0], np.float32)
    best = np.array([False, False, True, False])
    truth = np.array([False, False, False, False])
    target = policy_target(visits, best, truth, best_weight=1.0, truth_weight=1.0)
    np.testing.assert_allclose(target, [0.25, 0.25, 0.5, 0.0])  # the empty truth part is left out
    target = policy_target(np.zeros(4, np.float32), best, np.array([True, False, False, True]),
                           best_weight=0.5, truth_weight=1.0)
    np.testing.assert_allclose(target, [1 / 3, 0, 1 / 3, 1 / 3], rtol=1e-6)
    assert policy_target(np.zeros(2), np.zeros(2, bool), np.zeros(2, bool), best_weight=1, truth_weight=1).sum() == 0


def test_training_steps_lower_the_loss_on_a_fixed_batch(tmp_path):
    model = CrnGnn(ModelConfig(hidden=32, num_layers=2))
    buffer = ReplayBuffer(tmp_path / "r.h5", feature_sizes=feature_sizes(model.config))
    config = TrainConfig(simulations=10, min_visits=1, learning_rate=3e-3)
    for g in range(2):
        task = generate_task(np.random.SeedSequence(8, spawn_key=(g,)), config=QUICK_TASKS)
        buffer.append(*play_game(task, model, config=config, task_config=QUICK_TASKS, game=g, rng=g))
    store = buffer.load()
    indices = usable(store, config)
    assert len(indices) >= 8
    batch, policy, value = make_batch(store, indices, config)
    torch.manual_seed(0)
    optimizer = make_optimizer(model, config)
    before = evaluate_loss(model, batch, policy, value, config=config)
    for _ in range(30):
        train_step(model, optimizer, batch, policy, value, config=config)
    after = evaluate_loss(model, batch, policy, value, config=config)
    assert after["policy"] < 0.8 * before["policy"], (before, after)
    assert after["value"] < before["value"], (before, after)
    assert after["loss"] < 0.8 * before["loss"]


def test_a_checkpoint_resumes_the_iteration_count_and_the_replay(tmp_path):
    run = tmp_path / "run"
    model_config = ModelConfig(hidden=16, num_layers=1)
    history = run_training(run, train_config=QUICK_TRAIN, model_config=model_config, task_config=QUICK_TASKS,
                           seed=3, progress=False)
    assert [h["iteration"] for h in history] == [1]
    first = read_checkpoint(run / "checkpoint.pt")
    assert first["iteration"] == 1 and "state" in first["optimizer"]
    with pytest.raises(ValueError, match="already holds a run"):
        run_training(run, train_config=QUICK_TRAIN, progress=False)
    # as if killed during iteration 2 after its first game: that game is in the replay, not played again
    seed = loop.game_seed(3, 2, 0)
    record, samples, _ = loop._play_job({
        "checkpoint": str(run / "checkpoints" / "iter_0001.pt"), "iteration": 2, "game": 0, "seed": seed.entropy,
        "spawn_key": list(seed.spawn_key), "train_config": QUICK_TRAIN.to_dict(), "task_config": QUICK_TASKS.to_dict()})
    ReplayBuffer(run / "replay.h5").append(record, samples)
    games_before = ReplayBuffer(run / "replay.h5").num_tasks
    history = run_training(run, resume=True, overrides={"iterations": 2, "games_per_iteration": 2}, progress=False)
    assert [h["iteration"] for h in history] == [1, 2]
    assert history[1]["games"] == 1
    latest = read_checkpoint(run / "checkpoint.pt")
    assert latest["iteration"] == 2 and json.loads(latest["train_config"])["iterations"] == 2
    assert json.loads(latest["model_config"]) == model_config.to_dict()
    tasks = ReplayBuffer(run / "replay.h5").tasks()
    assert [(t.iteration, t.game) for t in tasks] == [(1, 0), (2, 0), (2, 1)]
    assert len(tasks) == games_before + 1
    assert (run / "checkpoints" / "iter_0000.pt").exists() and (run / "checkpoints" / "iter_0002.pt").exists()
    # a game already in the replay for the next iteration is skipped on resume
    history = run_training(run, resume=True, overrides={"iterations": 2}, progress=False)
    assert len(history) == 2
    # the same seed gives the same initial weights
    a, b = initial_model(model_config, 5), initial_model(model_config, 5)
    for (name, p), q in zip(a.state_dict().items(), b.state_dict().values()):
        assert torch.equal(p, q), name


def test_demonstration_tasks_store_true_build_paths_without_a_search(tmp_path):
    """``demonstration_tasks``: tasks of their own seeds, stored as the states along their true networks' build
    orders (every policy target on a true edit), no search (``num_fits`` 0), and not stored twice on resume."""
    from mcts_crn.learn.targets import toward_actions
    from mcts_crn.learn.tasks import task_space

    run = tmp_path / "run"
    config = TrainConfig.from_dict({**QUICK_TRAIN.to_dict(), "demonstration_tasks": 3})
    history = run_training(run, train_config=config, model_config=ModelConfig(hidden=16, num_layers=1),
                           task_config=QUICK_TASKS, seed=3, progress=False)
    assert history[0]["games"] == 1 and history[0]["demonstration_tasks"] == 3
    buffer = ReplayBuffer(run / "replay.h5", read_only=True)
    tasks = buffer.tasks()
    demos = [(row, t) for row, t in enumerate(tasks) if t.num_fits == 0]
    assert [t.game for _, t in demos] == [0, 1, 2] and all(t.num_fits > 0 for t in tasks if t not in
                                                             [d for _, d in demos])
    expected = [loop.game_task(loop.demonstration_seed(3, 1, j), QUICK_TASKS) for j in range(3)]
    assert [t.key for _, t in demos] == [task.key for task in expected]
    store = buffer.load()
    for (row, record), task in zip(demos, expected):
        mine = np.flatnonzero(store.arrays["task"] == row)
        # one sample per state of the build order (each reaction added, then the network itself: STOP)
        assert len(mine) == task.num_reactions + task.num_latent + 1
        assert (store.arrays["source"][mine] == 1).all()
        space = task_space(task, max_order=QUICK_TASKS.max_order, extra_reactions=config.extra_reactions)
        for i in mine:
            policy, toward = store.rows("policy", i), store.rows("toward_truth", i)
            assert toward.any() and np.allclose(policy, toward / toward.sum())
            assert set(store.rows("actions", i)[toward].tolist()) <= set(range(space.num_actions))
    # as if killed during iteration 2's demonstrations after the first: it is not stored again
    seed = loop.demonstration_seed(3, 2, 0)
    record, samples, _ = loop._play_job({
        "checkpoint": str(run / "checkpoints" / "iter_0001.pt"), "iteration": 2, "game": 0, "seed": seed.entropy,
        "spawn_key": list(seed.spawn_key), "train_config": config.to_dict(), "task_config": QUICK_TASKS.to_dict(),
        "demonstration": True})
    assert record.num_fits == 0 and record.key == loop.game_task(seed, QUICK_TASKS).key
    ReplayBuffer(run / "replay.h5").append(record, samples)
    history = run_training(run, resume=True, overrides={"iterations": 2}, progress=False)
    assert history[1]["games"] == 1 and history[1]["demonstration_tasks"] == 2
    assert sorted((t.iteration, t.game) for t in ReplayBuffer(run / "replay.h5").tasks() if t.num_fits == 0) == [
        (1, 0), (1, 1), (1, 2), (2, 0), (2, 1), (2, 2)]
