"""The Python side of the search tree: allocation and checks, bandits with known answers, masked actions,
transpositions through canonical keys, batches, and the report helpers."""
import math

import numpy as np
import pytest

from mcts_crn.search.tree import (
    EDGES_FULL,
    FPU_PARENT,
    NO_EDGE,
    NODES_FULL,
    OK,
    ROOT,
    UNVISITED,
    PuctParams,
    Tree,
    add_node,
    add_root,
    attach_child,
    backup_batch,
    backup_path,
    check_tree,
    child_statistics,
    expand_node,
    make_tree,
    principal_variation,
    select_batch,
    select_leaf,
)

NO_WIDENING = math.inf


def test_make_tree_allocates_fixed_dtypes_and_check_tree_guards_them():
    tree = make_tree(5, 12)
    check_tree(tree)
    assert tree.visits.dtype == np.int32 and tree.visits.shape == (5,)
    assert tree.edge_prior.dtype == np.float64 and tree.edge_prior.shape == (12,)
    assert tree.edge_start.shape == (5,) and tree.node_count.tolist() == [0] and tree.edge_count.tolist() == [0]
    assert np.all(tree.edge_child == UNVISITED)
    for bad in (0, -1, 2.5, 2**31):
        with pytest.raises(ValueError, match="capacity"):
            make_tree(bad, 10)
    with pytest.raises(ValueError, match="visits"):
        check_tree(tree._replace(visits=tree.visits.astype(np.int64)))
    with pytest.raises(ValueError, match="edge_best"):
        check_tree(tree._replace(edge_best=np.zeros(3)))


def test_root_visits_count_its_own_evaluation_plus_one_per_simulation():
    tree = make_tree(4, 8)
    assert add_root(tree, state=0, value=0.3) == ROOT
    assert tree.visits[ROOT] == 1 and tree.value_sum[ROOT] == 0.3 and tree.best_value[ROOT] == 0.3
    with pytest.raises(ValueError, match="already has a root"):
        add_root(tree, 0, 0.3)
    expand_node(tree, ROOT, [0, 1], [0.5, 0.5])
    for s in range(5):
        sel = select_leaf(tree)
        if sel.edge == NO_EDGE:  # a terminal child again: its stored value, no new node
            node = sel.leaf
        else:
            node = add_node(tree, sel.leaf, sel.edge, s + 1, 0.1 * s, terminal=True)
        backup_path(tree, sel.path, tree.node_value[node])
        assert tree.visits[ROOT] == s + 2
    assert tree.node_count[0] == 3 and tree.visits[1] + tree.visits[2] == 5


def run_bandit(rewards, params, num_simulations, legal=None, noise=0.0, seed=0):
    """A one-level tree: the root's actions are arms, each child a terminal node worth its arm's reward
    (or, with noise, an unexpanded node re-evaluated with fresh noise at every visit)."""
    rng = np.random.default_rng(seed)
    legal = np.arange(len(rewards)) if legal is None else np.asarray(legal)
    tree = make_tree(num_simulations + 1, len(rewards))
    add_root(tree, 0, 0.0)
    expand_node(tree, ROOT, legal, np.ones(len(legal)))

    def pull(arm):
        return float(np.clip(rewards[arm] + noise * rng.standard_normal(), 0.0, 1.0))

    for _ in range(num_simulations):
        sel = select_leaf(tree, params)
        if sel.edge != NO_EDGE:
            arm = tree.edge_action[sel.edge]
            value = pull(arm)
            add_node(tree, sel.leaf, sel.edge, int(arm), value, terminal=noise == 0.0)
        elif tree.terminal[sel.leaf]:
            value = tree.node_value[sel.leaf]
        else:
            value = pull(tree.state[sel.leaf])
        backup_path(tree, sel.path, value)
    stats = child_statistics(tree)
    visits = np.zeros(len(rewards), np.int64)
    visits[stats.actions] = stats.visits
    return tree, visits


REWARDS = np.array([0.30, 0.55, 0.10, 0.62, 0.45, 0.20, 0.50, 0.80, 0.05, 0.40])


@pytest.mark.parametrize("params", [
    PuctParams(c_puct=1.0, beta=0.0, fpu=0.0, pw_c=NO_WIDENING),
    PuctParams(c_puct=1.0, beta=0.5),                       # parent fpu, progressive widening on
    PuctParams(c_puct=2.0, beta=1.0, fpu=1.0, pw_c=1.0, pw_alpha=0.5),
])
def test_bandit_puts_most_visits_on_the_best_arm(params):
    tree, visits = run_bandit(REWARDS, params, 400)
    assert np.argmax(visits) == 7 and visits[7] > 0.5 * 400
    assert tree.visits[ROOT] == 401 and visits.sum() == 400
    assert tree.best_value[ROOT] == 0.80
    assert tree.edge_action[principal_variation(tree)].tolist() == [7]


def test_noisy_bandit_with_mean_backup_finds_the_best_arm():
    _, visits = run_bandit(REWARDS, PuctParams(c_puct=1.0, beta=0.0, fpu=1.0, pw_c=NO_WIDENING), 1500,
                           noise=0.2, seed=1)
    assert np.argmax(visits) == 7 and visits[7] > 0.4 * 1500


def test_masked_best_arm_is_never_visited():
    legal = [0, 1, 2, 3, 4, 5, 6, 8, 9]  # arm 7 is masked
    tree, visits = run_bandit(REWARDS, PuctParams(c_puct=1.0, beta=0.5, fpu=1.0), 300, legal=legal)
    assert visits[7] == 0 and 7 not in tree.edge_action[: tree.edge_count[0]]
    assert np.argmax(visits) == 3


def test_set_building_search_with_transpositions_finds_the_best_set():
    """States are sets of items (added in any order, like reactions): a DAG through canonical keys.

    Value of a set: a planted target {1, 3, 4} is worth 1, otherwise a Jaccard-like similarity; the stop
    action (code 5) ends a state. The best terminal state must be the planted set, every state must
    have exactly one node, and a node's visits must be the sum of its incoming edges' visits.
    """
    target, stop, items = frozenset({1, 3, 4}), 5, 5

    def value(state):
        return len(state & target) / (len(state | target) + 1.0) * (1.0 if state != target else 1.25)

    def legal(state):
        return np.array(sorted(set(range(items)) - state) + [stop], np.int32)

    num_simulations = 300
    tree = make_tree(num_simulations + 1, (num_simulations + 1) * (items + 1))
    states, index = [(frozenset(), False)], {(frozenset(), False): ROOT}
    add_root(tree, 0, value(frozenset()))
    expand_node(tree, ROOT, legal(frozenset()), np.ones(items + 1))
    params = PuctParams(c_puct=1.0, beta=0.5, fpu=FPU_PARENT, pw_c=NO_WIDENING)
    for _ in range(num_simulations):
        sel = select_leaf(tree, params)
        if sel.edge == NO_EDGE:
            node = sel.leaf
        else:
            items_so_far, _ = states[tree.state[sel.leaf]]
            action = int(tree.edge_action[sel.edge])
            key = (items_so_far, True) if action == stop else (items_so_far | {action}, False)
            node = index.get(key)
            if node is not None:
                attach_child(tree, sel.edge, node)
            else:
                node = add_node(tree, sel.leaf, sel.edge, len(states), value(key[0]), terminal=key[1])
                index[key] = node
                states.append(key)
                if not key[1]:
                    expand_node(tree, node, legal(key[0]), np.ones(len(legal(key[0]))))
        backup_path(tree, sel.path, tree.node_value[node])
    n, m = int(tree.node_count[0]), int(tree.edge_count[0])
    assert len(index) == n == len(states)
    assert tree.visits[ROOT] == num_simulations + 1
    incoming = np.zeros(n, np.int64)
    attached = tree.edge_child[:m] >= 0
    np.add.at(incoming, tree.edge_child[:m][attached], tree.edge_visits[:m][attached])
    assert np.array_equal(incoming[1:], tree.visits[1:n])
    assert np.bincount(tree.edge_child[:m][attached], minlength=n).max() > 1  # some transposition happened
    assert tree.best_value[ROOT] == value(target)
    pv = principal_variation(tree)
    assert frozenset(tree.edge_action[pv].tolist()) - {stop} == target


def test_batch_round_trip_leaves_no_virtual_visits():
    tree = make_tree(20, 60)
    add_root(tree, 0, 0.5)
    expand_node(tree, ROOT, np.arange(4), [0.4, 0.3, 0.2, 0.1])
    for step in range(4):
        batch = select_batch(tree, 3, PuctParams(pw_c=NO_WIDENING), virtual_loss=1)
        assert len(set(batch.edges[batch.edges != NO_EDGE].tolist())) == int(np.sum(batch.edges != NO_EDGE))
        values = np.zeros(len(batch.leaves))
        for i, (leaf, edge) in enumerate(zip(batch.leaves, batch.edges)):
            if edge == NO_EDGE:
                values[i] = tree.node_value[leaf]
                continue
            values[i] = 0.1 * (i + step)
            node = add_node(tree, leaf, edge, 0, values[i])
            assert expand_node(tree, node, np.arange(3), np.ones(3)) == OK
        backup_batch(tree, batch, values)
    m = int(tree.edge_count[0])
    n = int(tree.node_count[0])
    assert tree.visits[ROOT] == 1 + 12
    for node in range(n):
        row = slice(tree.edge_start[node], tree.edge_start[node] + tree.num_edges[node])
        assert tree.visits[node] == 1 + tree.edge_visits[row].sum()
    assert np.all(tree.edge_child[:m] >= UNVISITED)


def test_wrappers_reject_bad_arguments_and_report_capacity():
    tree = make_tree(2, 3)
    with pytest.raises(ValueError, match="root"):
        select_leaf(tree)
    add_root(tree, 0, 0.5)
    with pytest.raises(ValueError, match="distinct"):
        expand_node(tree, ROOT, [1, 1], [0.5, 0.5])
    with pytest.raises(ValueError, match="priors"):
        expand_node(tree, ROOT, [1, 2], [0.5, -0.1])
    with pytest.raises(ValueError, match="priors"):
        expand_node(tree, ROOT, [1, 2], [0.5, np.nan])
    with pytest.raises(ValueError, match="actions"):
        expand_node(tree, ROOT, [-1, 2], [0.5, 0.5])
    with pytest.raises(ValueError, match="one length"):
        expand_node(tree, ROOT, [1, 2], [0.5])
    assert expand_node(tree, ROOT, [1, 2, 3, 4], np.ones(4)) == EDGES_FULL
    assert expand_node(tree, ROOT, [1, 2, 3], np.ones(3)) == OK
    with pytest.raises(ValueError, match="already expanded"):
        expand_node(tree, ROOT, [1], [1.0])
    with pytest.raises(ValueError, match="not a node"):
        add_node(tree, 5, 0, 0, 0.5)
    with pytest.raises(ValueError, match="finite"):
        add_node(tree, ROOT, 0, 0, math.inf)
    assert add_node(tree, ROOT, 0, 1, 0.5) == 1
    with pytest.raises(ValueError, match="already has child"):
        attach_child(tree, 0, ROOT)
    assert add_node(tree, ROOT, 1, 2, 0.5) == NODES_FULL
    with pytest.raises(ValueError, match="not a node"):
        attach_child(tree, 1, 7)
    with pytest.raises(ValueError, match="no child"):
        backup_path(tree, [1], 0.5)
    with pytest.raises(ValueError, match="edges of the tree"):
        backup_path(tree, [9], 0.5)
    with pytest.raises(ValueError, match="selection parameters"):
        select_leaf(tree, PuctParams(beta=2.0))
    with pytest.raises(ValueError, match="batch_size"):
        select_batch(tree, 0)


def test_child_statistics_report_each_edge():
    tree, visits = run_bandit(REWARDS, PuctParams(c_puct=1.0, beta=0.0, fpu=0.0, pw_c=NO_WIDENING), 50)
    stats = child_statistics(tree)
    assert isinstance(tree, Tree) and stats.actions.shape == (10,)
    np.testing.assert_allclose(stats.priors, 0.1)
    seen = stats.visits > 0
    np.testing.assert_allclose(stats.mean[seen], REWARDS[stats.actions[seen]])
    np.testing.assert_array_equal(stats.best[seen], REWARDS[stats.actions[seen]])
    assert np.all(np.isnan(stats.mean[~seen])) and np.all(stats.child[~seen] == UNVISITED)
