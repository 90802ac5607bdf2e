"""The task generator: never an example model, non-trivial dynamics, buildable, reproducible."""
import numpy as np
import pytest

from mcts_crn.config import TaskConfig
from mcts_crn.crn import Crn
from mcts_crn.examples import EXAMPLES
from mcts_crn.learn import tasks as task_module
from mcts_crn.learn.targets import build_order
from mcts_crn.learn.tasks import all_observed, example_keys, generate_task, is_example, task_space


@pytest.mark.parametrize("name", sorted(EXAMPLES))
def test_every_example_is_recognized_under_relabelling_and_observation(name):
    crn = EXAMPLES[name].crn
    assert is_example(crn) and is_example(all_observed(crn))
    if crn.num_species > 4:  # the canonical key of 5+ anonymous species takes seconds; the ones above suffice
        return
    # renamed and reordered species, every one latent or every one observed: still the example
    rng = np.random.default_rng(len(name))
    order = list(rng.permutation(crn.num_species))
    names = tuple(f"Q{i}" for i in range(crn.num_species))
    renamed = Crn(names, np.zeros(crn.num_species, bool), crn.reactants[:, order], crn.products[:, order])
    assert is_example(renamed)
    partly = Crn(names, rng.random(crn.num_species) < 0.5, crn.reactants[:, order], crn.products[:, order])
    assert is_example(partly)


def test_generated_tasks_are_never_examples_and_are_not_flat():
    config = TaskConfig()
    keys = example_keys()
    for i in range(25):
        task = generate_task(np.random.SeedSequence(123, spawn_key=(i,)), config=config)
        assert task.key not in keys and not is_example(task.crn)
        assert task.key == task.crn.canonical_key()
        assert 2 <= task.crn.num_species <= config.max_species
        assert config.noise_range[0] <= task.noise <= config.noise_range[1]
        # each observed species moves: more than the noise could fake
        for x in task.dataset.experiments:
            assert np.isfinite(x.values).all() and (x.values >= 0).all()
        spread = max(np.ptp(x.values, axis=0).max() for x in task.dataset.experiments)
        assert spread > 0
        # the search can build it (latent species in a buildable order)
        space = task_space(task)
        sequence = build_order(task.crn, space, np.random.default_rng(i))
        state = space.initial_state()
        for action in sequence[:-1]:
            state = space.apply(state, action)
        assert state.canonical_key() == task.key and sequence[-1] == space.STOP


def test_a_generator_that_draws_an_example_rejects_it(monkeypatch):
    """Force every draw to be the dimerisation network (under other names): no task comes out."""
    dimer = EXAMPLES["dimerisation"].crn

    def draw(num_species, num_reactions, max_order, rng):
        reactants = np.zeros((2, num_species), np.int32)
        products = np.zeros((2, num_species), np.int32)
        reactants[:, :2], products[:, :2] = dimer.reactants, dimer.products
        return reactants, products

    monkeypatch.setattr(task_module, "_draw_reactions", draw)
    config = TaskConfig(min_species=2, max_species=2, max_latent=0, min_reactions=2, max_reactions=2, max_tries=50)
    with pytest.raises(RuntimeError, match="no acceptable task"):
        generate_task(0, config=config)


def test_same_seed_same_task_and_exclusion():
    a = generate_task(np.random.SeedSequence(9, spawn_key=(1,)))
    b = generate_task(np.random.SeedSequence(9, spawn_key=(1,)))
    assert a.key == b.key and a.seed == b.seed
    np.testing.assert_array_equal(a.dataset.experiments[0].values, b.dataset.experiments[0].values)
    c = generate_task(np.random.SeedSequence(9, spawn_key=(1,)), exclude={a.key})
    assert c.key != a.key
