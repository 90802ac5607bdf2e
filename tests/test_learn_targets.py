"""Targets from a search: visit distributions, best reward below a node, edits toward a network."""
import numpy as np
import pytest

from mcts_crn.crn import ActionSpace, Crn
from mcts_crn.learn.targets import best_below, build_order, toward_actions, visit_distribution
from mcts_crn.search import tree as T


def _small_tree():
    """root -> a, b; a -> c; b -> c (a transposition); rewards root .1, a .3, b .2, c .9."""
    tree = T.make_tree(8, 16)
    T.add_root(tree, 0, 0.1)
    T.expand_node(tree, T.ROOT, np.array([5, 7], np.int32), np.array([0.6, 0.4]))
    a = T.add_node(tree, T.ROOT, 0, 1, 0.3)
    b = T.add_node(tree, T.ROOT, 1, 2, 0.2)
    T.expand_node(tree, a, np.array([1], np.int32), np.array([1.0]))
    T.expand_node(tree, b, np.array([2], np.int32), np.array([1.0]))
    c = T.add_node(tree, a, int(tree.edge_start[a]), 3, 0.9)
    T.attach_child(tree, int(tree.edge_start[b]), c)
    tree.edge_visits[0], tree.edge_visits[1] = 3, 1
    return tree, (a, b, c)


def test_best_below_follows_transpositions():
    tree, (a, b, c) = _small_tree()
    rewards = np.array([0.1, 0.3, 0.2, 0.9])
    best = best_below(tree, rewards)
    np.testing.assert_allclose(best, [0.9, 0.9, 0.9, 0.9])
    rewards = np.array([0.1, 0.3, 0.2, np.nan])
    np.testing.assert_allclose(best_below(tree, rewards), [0.3, 0.3, 0.2, -np.inf])


def test_visit_distribution_over_legal_actions():
    tree, _ = _small_tree()
    pi = visit_distribution(tree, T.ROOT, np.array([2, 5, 7, 9]))
    np.testing.assert_allclose(pi, [0, 0.75, 0.25, 0])
    pi = visit_distribution(tree, T.ROOT, np.array([5, 7]), temperature=0.5)
    np.testing.assert_allclose(pi, [0.9, 0.1])


def test_toward_actions_with_a_latent_species():
    space = ActionSpace(("S", "P"), max_latent=1, max_reactions=5)
    target = Crn.from_text("S + E -> C\nC -> E + P", observed=["S", "P"])  # two latent species: out of reach
    assert not toward_actions(space.initial_state(), target, space, np.arange(space.num_actions)).any()
    target = Crn.from_text("S -> Q\nQ -> P\nP -> 0", observed=["S", "P"])
    state = space.initial_state()
    legal = np.flatnonzero(space.legal_mask(state))
    toward = legal[toward_actions(state, target, space, legal)]
    assert sorted(space.describe(a) for a in toward) == ["P -> 0", "add latent species"]
    state = space.apply(space.apply(state, space.ADD_LATENT),
                        space.encode_reaction(np.array([1, 0, 0]), np.array([0, 0, 1])))
    legal = np.flatnonzero(space.legal_mask(state))
    toward = legal[toward_actions(state, target, space, legal)]
    assert sorted(space.describe(a) for a in toward) == ["P -> 0", "X1 -> P"]
    # off the way: a reaction the target does not have
    off = state.add_reaction("P -> S")
    legal = np.flatnonzero(space.legal_mask(off))
    assert not toward_actions(off, target, space, legal).any()
    # at the target: stop
    done = state.add_reaction("X1 -> P").add_reaction("P -> 0")
    legal = np.flatnonzero(space.legal_mask(done))
    toward = legal[toward_actions(done, target, space, legal)]
    assert toward.tolist() == [space.STOP]


@pytest.mark.parametrize("seed", range(3))
def test_build_order_builds_the_target(seed):
    space = ActionSpace(("A", "B"), max_latent=1, max_reactions=6)
    target = Crn.from_text("A -> Z\nZ -> B\nB + Z -> A\nB -> 0", observed=["A", "B"])
    sequence = build_order(target, space, np.random.default_rng(seed))
    state = space.initial_state()
    for action in sequence[:-1]:
        state = space.apply(state, action)
    assert sequence[-1] == space.STOP and state.canonical_key() == target.canonical_key()
