"""The HDF5 replay buffer: exact round trip, appends across reopenings, repair after a kill, targets."""
import h5py
import numpy as np
import pytest
import torch

from mcts_crn import __version__
from mcts_crn.config import ModelConfig, TaskConfig, TrainConfig
from mcts_crn.learn import ReplayBuffer, generate_task, play_game
from mcts_crn.learn.loop import feature_sizes
from mcts_crn.learn.replay import SCHEMA_VERSION
from mcts_crn.model import CrnGnn

QUICK_TASKS = TaskConfig(max_species=3, max_reactions=3, latent_probability=0.0, max_experiments=1, num_times=15)


@pytest.fixture(scope="module")
def games():
    """Two tiny self-play games (8 simulations each, with demonstrations)."""
    previous = torch.get_num_threads()
    torch.set_num_threads(1)
    model = CrnGnn(ModelConfig(hidden=16, num_layers=1))
    config = TrainConfig(simulations=8, min_visits=1)
    out = []
    for g in range(2):
        task = generate_task(np.random.SeedSequence(4, spawn_key=(g,)), config=QUICK_TASKS)
        out.append(play_game(task, model, config=config, task_config=QUICK_TASKS, game=g, rng=g))
    torch.set_num_threads(previous)
    return out


def _new(path):
    return ReplayBuffer(path, config={"note": "test"}, seed=42, feature_sizes=feature_sizes(ModelConfig()))


def _same(store, index, sample):
    f = store.features(index)
    np.testing.assert_array_equal(f.species, sample.features.species)
    np.testing.assert_array_equal(f.reactions, sample.features.reactions)
    np.testing.assert_array_equal(f.edges, sample.features.edges)
    np.testing.assert_array_equal(f.graph, sample.features.graph)
    np.testing.assert_array_equal(f.actions, sample.features.actions)
    np.testing.assert_array_equal(f.action_features, sample.features.action_features)
    np.testing.assert_array_equal(f.entries, sample.features.entries)
    np.testing.assert_array_equal(store.rows("policy", index), sample.policy)
    np.testing.assert_array_equal(store.rows("toward_truth", index), sample.toward_truth)
    np.testing.assert_array_equal(store.rows("toward_best", index), sample.toward_best)
    np.testing.assert_array_equal(store.rows("latent", index), sample.latent)
    num_species = sample.latent.shape[0]
    np.testing.assert_array_equal(store.rows("reactants", index)[:, :num_species], sample.reactants)
    np.testing.assert_array_equal(store.rows("products", index)[:, :num_species], sample.products)
    assert store.arrays["outcome"][index] == np.float32(sample.outcome)
    assert store.arrays["source"][index] == sample.source


def test_games_make_sensible_samples(games):
    for record, samples in games:
        assert samples, "a game gave no sample"
        sources = {s.source for s in samples}
        assert sources == {0, 1}  # search nodes and demonstrations
        for s in samples:
            assert s.policy.shape == s.features.actions.shape
            assert s.policy.sum() == pytest.approx(1.0, abs=1e-5)
            assert 0.0 <= s.outcome <= 1.0
            if s.source == 1:
                # a demonstration's target is uniform over edits toward the truth
                assert s.toward_truth.any()
                np.testing.assert_allclose(s.policy[s.toward_truth], 1.0 / s.toward_truth.sum(), rtol=1e-6)
        assert record.num_fits >= 1 and record.key


def test_round_trip_and_resumed_appends_lose_nothing(games, tmp_path):
    path = tmp_path / "replay.h5"
    (record_a, samples_a), (record_b, samples_b) = games
    buffer = _new(path)
    buffer.append(record_a, samples_a)
    del buffer
    reopened = ReplayBuffer(path)  # a restart: reopen and append
    reopened.append(record_b, samples_b)
    # readers (many processes at once: the learning curve's workers) open it without write access
    reader = ReplayBuffer(path, read_only=True)
    assert [t.key for t in reader.tasks()] == [record_a.key, record_b.key] and len(reader) == len(reopened)
    assert len(reopened) == len(samples_a) + len(samples_b)
    assert [t.key for t in reopened.tasks()] == [record_a.key, record_b.key]
    assert reopened.tasks()[1] == record_b
    store = reopened.load()
    for i, sample in enumerate(samples_a + samples_b):
        _same(store, i, sample)
    # the newest samples alone
    tail = reopened.load(last=len(samples_b))
    for i, sample in enumerate(samples_b):
        _same(tail, i, sample)
    attrs = reopened.attrs
    assert attrs["schema_version"] == SCHEMA_VERSION and attrs["seed"] == "42"
    assert attrs["package_version"] == __version__ and "note" in attrs["config"]


def test_an_append_interrupted_by_a_kill_is_cut_back(games, tmp_path):
    path = tmp_path / "replay.h5"
    (record_a, samples_a), (record_b, samples_b) = games
    _new(path).append(record_a, samples_a)
    # a kill after the ragged rows and some sample rows of the second game, before its task row
    with h5py.File(path, "a") as f:
        for name in ("species", "actions", "policy"):
            data = f["ragged"][name]
            data.resize((data.shape[0] + 7,) + data.shape[1:])
        data = f["samples/task"]
        data.resize((data.shape[0] + 2,))
        data[-2:] = 1
    repaired = ReplayBuffer(path)
    assert len(repaired) == len(samples_a)
    repaired.append(record_b, samples_b)
    store = repaired.load()
    for i, sample in enumerate(samples_a + samples_b):
        _same(store, i, sample)


def test_a_replay_of_another_schema_is_refused(tmp_path):
    path = tmp_path / "replay.h5"
    _new(path)
    with h5py.File(path, "a") as f:
        f.attrs["schema_version"] = 99
    with pytest.raises(ValueError, match="schema_version"):
        ReplayBuffer(path)
