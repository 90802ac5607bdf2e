"""Tree-search kernels: hand-computed PUCT choices and backups, capacity statuses, batches with virtual loss,
tree invariants (hypothesis), parity with the plain-Python reference and with NUMBA_DISABLE_JIT=1."""
import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mcts_crn.native import tree as kernels
from mcts_crn.native.tree import BLOCKED, EDGES_FULL, FPU_PARENT, NO_EDGE, NODES_FULL, NOT_ATTACHED, OK, PENDING, \
    ROOT, UNVISITED
from mcts_crn.search.tree import make_tree
from tests.reference.jit_parity import run_with_and_without_jit
from tests.reference.tree_reference import fake_search_kernels, fake_search_reference, tree_arrays

NO_WIDENING = math.inf


def three_armed_root(stats, prior=(0.5, 0.3, 0.2)):
    """Root (visits 1 + sum of edge visits) with three edges A, B, C; ``stats`` = [(visits, sum, best)]."""
    tree = make_tree(10, 10)
    kernels.add_node(tree, -1, NO_EDGE, 0, 0.5, False)
    kernels.expand_node(tree, ROOT, np.array([10, 11, 12], np.int32), np.array(prior))
    for e, (visits, value_sum, best) in enumerate(stats):
        tree.edge_visits[e], tree.edge_value_sum[e], tree.edge_best[e] = visits, value_sum, best
    tree.visits[ROOT] = 1 + sum(s[0] for s in stats)
    tree.value_sum[ROOT] = 0.5 + sum(s[1] for s in stats)
    tree.best_value[ROOT] = max([0.5] + [s[2] for s in stats])
    return tree


# Root N = 10; A: prior .5, 6 visits, mean .5, best 1.0; B: prior .3, 3 visits, mean .8, best .8; C: prior .2, new.
# U(e) = c * P * sqrt(10) / (1 + N(e)) with c = 1: U(A) = .2259, U(B) = .2372, U(C) = .6325.
HAND = [(6, 3.0, 1.0), (3, 2.4, 0.8), (0, 0.0, -np.inf)]


@pytest.mark.parametrize("beta, fpu, pw_c, expected", [
    (0.0, 0.0, NO_WIDENING, 1),   # A .5 + .2259 = .726;  B .8 + .2372 = 1.037;  C 0 + .6325
    (1.0, 0.0, NO_WIDENING, 0),   # A 1.0 + .2259 = 1.226 beats B 1.037: the best value decides
    (0.5, 0.0, NO_WIDENING, 1),   # A .75 + .2259 = .976 < B 1.037
    (0.5, 1.0, NO_WIDENING, 2),   # C 1.0 + .6325 = 1.633 with an optimistic first-play urgency
    (0.5, 1.0, 0.5, 1),           # widening: k = ceil(.5 * sqrt(11)) = 2, so C is not eligible
    (0.0, FPU_PARENT, NO_WIDENING, 2),  # parent mean (.5 + 3 + 2.4) / 10 = .59 + .6325 = 1.22 beats B
])
def test_select_child_matches_hand_computed_puct(beta, fpu, pw_c, expected):
    tree = three_armed_root(HAND)
    assert kernels.select_child(tree, ROOT, 1.0, beta, fpu, pw_c, 0.5) == expected


def test_parent_fpu_uses_the_parents_mixed_q():
    # Parent Q at beta = 1 is its best value 1.0: C scores 1.0 + .6325, more than A's 1.226.
    tree = three_armed_root(HAND)
    assert kernels.select_child(tree, ROOT, 1.0, 1.0, FPU_PARENT, NO_WIDENING, 0.5) == 2


def test_ties_go_to_the_lowest_edge_index():
    tree = three_armed_root([(0, 0.0, -np.inf)] * 3, prior=(1.0, 1.0, 1.0))
    assert kernels.select_child(tree, ROOT, 1.0, 0.0, 0.0, NO_WIDENING, 0.5) == 0
    tree.edge_visits[0], tree.edge_value_sum[0], tree.edge_best[0] = 1, 0.0, 0.0
    tree.visits[ROOT] = 2
    assert kernels.select_child(tree, ROOT, 1.0, 0.0, 0.0, NO_WIDENING, 0.5) == 1


@pytest.mark.parametrize("visits, pw_c, pw_alpha, expected", [
    (0, 1.0, 0.5, 1), (1, 1.0, 0.5, 2), (3, 1.0, 0.5, 2), (4, 1.0, 0.5, 3), (99, 1.0, 0.5, 10),
    (399, 1.0, 0.5, 20), (399, 2.0, 0.5, 40), (5, 0.01, 0.5, 1), (7, 1.0, 1.0, 8), (10, math.inf, 0.5, 50),
])
def test_progressive_widening_width(visits, pw_c, pw_alpha, expected):
    assert kernels.num_eligible(50, visits, pw_c, pw_alpha) == expected


def test_expand_sorts_by_prior_normalizes_and_keeps_only_legal_actions():
    tree = make_tree(4, 10)
    kernels.add_node(tree, -1, NO_EDGE, 0, 0.0, False)
    actions = np.array([7, 2, 9, 4], np.int32)
    assert kernels.expand_node(tree, ROOT, actions, np.array([1.0, 3.0, 1.0, 5.0])) == OK
    assert tree.edge_action[:4].tolist() == [4, 2, 7, 9]  # stable: 7 before 9 at equal prior
    np.testing.assert_allclose(tree.edge_prior[:4], [0.5, 0.3, 0.1, 0.1])
    assert tree.edge_child[:4].tolist() == [UNVISITED] * 4 and tree.edge_count[0] == 4
    assert tree.expanded[ROOT] and not tree.terminal[ROOT]
    node = kernels.add_node(tree, ROOT, 0, 1, 0.2, False)
    assert kernels.expand_node(tree, node, np.array([1, 3], np.int32), np.zeros(2)) == OK
    np.testing.assert_array_equal(tree.edge_prior[4:6], [0.5, 0.5])  # all-zero priors: uniform
    leaf = kernels.add_node(tree, ROOT, 1, 2, 0.2, False)
    assert kernels.expand_node(tree, leaf, np.zeros(0, np.int32), np.zeros(0)) == OK
    assert tree.terminal[leaf]  # no legal action


def test_select_leaf_walks_down_and_backup_path_updates_nodes_and_edges():
    tree = make_tree(8, 20)
    kernels.add_node(tree, -1, NO_EDGE, 0, 0.4, False)
    path = np.zeros(8, np.int32)
    assert kernels.backup_path(tree, path, 0, 0.4) == OK
    kernels.expand_node(tree, ROOT, np.array([0, 1], np.int32), np.array([0.75, 0.25]))
    # N(root) = 1: both edges unvisited with fpu 0, U = c P: edge 0 (prior .75).
    leaf, edge, length = kernels.select_leaf(tree, 1.0, 0.0, 0.0, NO_WIDENING, 0.5, path)
    assert (leaf, edge, length) == (ROOT, 0, 1) and path[0] == 0
    child = kernels.add_node(tree, ROOT, 0, 1, 0.9, False)
    kernels.expand_node(tree, child, np.array([5, 6, 8], np.int32), np.array([0.2, 0.2, 0.6]))
    assert kernels.backup_path(tree, path, 1, 0.9) == OK
    assert tree.visits[:2].tolist() == [2, 1] and tree.edge_visits[0] == 1
    np.testing.assert_allclose(tree.value_sum[:2], [1.3, 0.9])
    assert tree.best_value[:2].tolist() == [0.9, 0.9] and tree.edge_best[0] == 0.9
    # N(root) = 2: edge 0 scores .9 + .75 sqrt2 / 2 = 1.43, edge 1 scores 0 + .25 sqrt2 = .354.
    # At the child (N = 1) the prior .6 edge (action 8, edge 2) goes first.
    leaf, edge, length = kernels.select_leaf(tree, 1.0, 0.0, 0.0, NO_WIDENING, 0.5, path)
    assert (leaf, edge, length) == (child, 2, 2) and path[:2].tolist() == [0, 2]
    assert tree.edge_action[edge] == 8
    grandchild = kernels.add_node(tree, child, edge, 2, 0.1, True)
    assert tree.depth[grandchild] == 2 and tree.parent[grandchild] == child
    assert kernels.backup_path(tree, path, 2, 0.1) == OK
    assert tree.visits[:3].tolist() == [3, 2, 1] and tree.edge_visits[[0, 2]].tolist() == [2, 1]
    np.testing.assert_allclose(tree.value_sum[:3], [1.4, 1.0, 0.1])
    np.testing.assert_allclose(tree.edge_value_sum[[0, 2]], [1.0, 0.1])
    assert tree.best_value[:3].tolist() == [0.9, 0.9, 0.1] and tree.edge_best[[0, 2]].tolist() == [0.9, 0.1]


def test_selection_stops_at_a_terminal_node_with_no_edge():
    tree = make_tree(4, 4)
    kernels.add_node(tree, -1, NO_EDGE, 0, 0.5, False)
    path = np.zeros(4, np.int32)
    kernels.backup_path(tree, path, 0, 0.5)
    kernels.expand_node(tree, ROOT, np.array([3], np.int32), np.array([1.0]))
    kernels.add_node(tree, ROOT, 0, 1, 0.7, True)
    path[0] = 0
    kernels.backup_path(tree, path, 1, 0.7)
    assert kernels.select_leaf(tree, 1.0, 0.5, 0.0, NO_WIDENING, 0.5, path) == (1, NO_EDGE, 1)


def test_capacity_is_a_status_not_a_crash():
    tree = make_tree(2, 3)
    assert kernels.add_node(tree, -1, NO_EDGE, 0, 0.5, False) == 0
    assert kernels.expand_node(tree, ROOT, np.arange(4, dtype=np.int32), np.ones(4)) == EDGES_FULL
    assert tree.edge_count[0] == 0 and not tree.expanded[ROOT]
    assert kernels.expand_node(tree, ROOT, np.arange(3, dtype=np.int32), np.ones(3)) == OK
    assert kernels.add_node(tree, ROOT, 0, 1, 0.5, False) == 1
    assert kernels.add_node(tree, ROOT, 1, 2, 0.5, False) == NODES_FULL
    assert tree.node_count[0] == 2 and tree.edge_child[1] == UNVISITED
    path = np.array([1], np.int32)
    assert kernels.backup_path(tree, path, 1, 0.5) == NOT_ATTACHED
    assert tree.visits[ROOT] == 0
    short = np.zeros(0, np.int32)
    kernels.backup_path(tree, short, 0, 0.5)
    assert kernels.select_leaf(tree, 1.0, 0.5, 0.0, NO_WIDENING, 0.5, short)[2] == kernels.PATH_FULL


def test_masked_actions_are_never_selected():
    # Only actions 1, 4, 6 are legal at every node; the masked ones would otherwise carry most prior mass.
    legal = np.array([1, 4, 6], np.int32)
    rng = np.random.default_rng(3)
    tree = make_tree(301, 301 * 3)
    kernels.add_node(tree, -1, NO_EDGE, 0, 0.5, False)
    path = np.zeros(301, np.int32)
    kernels.backup_path(tree, path, 0, 0.5)
    kernels.expand_node(tree, ROOT, legal, np.array([0.01, 0.0, 0.02]))
    for s in range(300):
        leaf, edge, length = kernels.select_leaf(tree, 2.0, 0.5, 1.0, NO_WIDENING, 0.5, path)
        assert edge != NO_EDGE
        assert tree.edge_action[edge] in legal
        node = kernels.add_node(tree, leaf, edge, s + 1, rng.random(), False)
        kernels.expand_node(tree, node, legal, np.array([0.01, 0.0, 0.02]))
        kernels.backup_path(tree, path, length, tree.node_value[node])
    used = tree.edge_count[0]
    assert set(tree.edge_action[:used].tolist()) == set(legal.tolist())
    assert tree.edge_visits[:used][np.isin(tree.edge_action[:used], legal, invert=True)].sum() == 0


def test_batch_selects_distinct_edges_then_blocks_and_backup_removes_virtual_loss():
    tree = make_tree(8, 8)
    kernels.add_node(tree, -1, NO_EDGE, 0, 0.5, False)
    kernels.backup_path(tree, np.zeros(0, np.int32), 0, 0.5)
    kernels.expand_node(tree, ROOT, np.array([0, 1, 2], np.int32), np.array([0.6, 0.3, 0.1]))
    paths = np.zeros((5, 8), np.int32)
    lens, leaves, edges = (np.zeros(5, np.int32) for _ in range(3))
    count = kernels.select_leaves(tree, 1.0, 0.0, 0.0, NO_WIDENING, 0.5, 2, paths, lens, leaves, edges)
    assert count == 3  # the fourth walk finds every root edge pending
    assert sorted(edges[:3].tolist()) == [0, 1, 2] and leaves[:3].tolist() == [ROOT] * 3
    assert tree.edge_child[:3].tolist() == [PENDING] * 3
    assert tree.visits[ROOT] == 1 + 3 * 2 and tree.edge_visits[:3].tolist() == [2, 2, 2]
    assert kernels.select_leaves(tree, 1.0, 0.0, 0.0, NO_WIDENING, 0.5, 2, paths, lens, leaves, edges) == BLOCKED
    values = np.array([0.2, 0.8, 0.4])
    assert kernels.backup_paths(tree, paths, lens, edges, values, 3, 2) == NOT_ATTACHED
    for i in range(3):
        kernels.add_node(tree, ROOT, edges[i], i + 1, values[i], True)
    assert kernels.backup_paths(tree, paths, lens, edges, values, 3, 2) == OK
    assert tree.visits[:4].tolist() == [4, 1, 1, 1] and tree.edge_visits[:3].tolist() == [1, 1, 1]
    np.testing.assert_allclose(tree.value_sum[ROOT], 0.5 + 1.4)
    # Terminal leaves may repeat within a batch; their virtual visits also go away.
    count = kernels.select_leaves(tree, 1.0, 0.0, 0.0, NO_WIDENING, 0.5, 1, paths, lens, leaves, edges)
    assert count == 5 and np.all(edges == NO_EDGE)
    kernels.backup_paths(tree, paths, lens, edges, tree.node_value[leaves], count, 1)
    assert tree.visits[ROOT] == 9 and tree.visits[1:4].sum() == 8


def test_child_statistics_and_principal_variation():
    tree, _ = fake_search_kernels(5, 40, (1.0, 0.0, FPU_PARENT, NO_WIDENING, 0.5))
    a = int(tree.num_edges[ROOT])
    out = [np.zeros(a, np.int32), np.zeros(a), np.zeros(a, np.int32), np.zeros(a), np.zeros(a),
           np.zeros(a, np.int32)]
    assert kernels.child_statistics(tree, ROOT, *out) == a
    actions, priors, visits, mean, best, child = out
    s = slice(tree.edge_start[ROOT], tree.edge_start[ROOT] + a)
    np.testing.assert_array_equal(visits, tree.edge_visits[s])
    seen = visits > 0
    np.testing.assert_array_equal(mean[seen], tree.edge_value_sum[s][seen] / visits[seen])
    np.testing.assert_array_equal(best, tree.edge_best[s])
    np.testing.assert_array_equal(actions, tree.edge_action[s])
    np.testing.assert_array_equal(priors, tree.edge_prior[s])
    np.testing.assert_array_equal(child, tree.edge_child[s])
    assert np.all(np.isnan(mean[visits == 0]))
    pv = np.zeros(41, np.int32)
    length = kernels.principal_variation(tree, pv)
    assert length >= 1 and pv[0] == tree.edge_start[ROOT] + int(np.argmax(visits))
    node = ROOT
    for e in pv[:length]:
        row = np.arange(tree.edge_start[node], tree.edge_start[node] + tree.num_edges[node])
        assert tree.edge_visits[e] == tree.edge_visits[row].max()
        node = tree.edge_child[e]


# --- invariants and parity on random searches -------------------------------------------------------------

def check_invariants(tree, ends, num_simulations, pure):
    """Conventions of native/tree.py on a finished search (no batch in flight)."""
    n, m = int(tree.node_count[0]), int(tree.edge_count[0])
    assert tree.visits[ROOT] == num_simulations + 1
    assert np.all(tree.edge_child[:m] != PENDING)
    assert tree.edge_visits[:m][tree.edge_child[:m] == UNVISITED].sum() == 0
    incoming = np.zeros(n, np.int64)
    incoming_sum = np.zeros(n)
    attached = tree.edge_child[:m] >= 0
    np.add.at(incoming, tree.edge_child[:m][attached], tree.edge_visits[:m][attached])
    np.add.at(incoming_sum, tree.edge_child[:m][attached], tree.edge_value_sum[:m][attached])
    # A non-root node is entered only through its incoming edges.
    np.testing.assert_array_equal(incoming[1:], tree.visits[1:n])
    np.testing.assert_allclose(incoming_sum[1:], tree.value_sum[1:n], rtol=1e-12, atol=1e-12)
    for node in range(n):
        row = slice(tree.edge_start[node], tree.edge_start[node] + tree.num_edges[node])
        # A visit either ends at the node (its own evaluation, a transposition hit, a terminal) or goes on.
        assert tree.visits[node] == ends[node] + tree.edge_visits[row].sum()
        np.testing.assert_allclose(tree.value_sum[node], ends[node] * tree.node_value[node]
                                   + tree.edge_value_sum[row].sum(), rtol=1e-12, atol=1e-12)
        if tree.num_edges[node]:
            priors = tree.edge_prior[row]
            assert np.all(np.diff(priors) <= 0) and math.isclose(priors.sum(), 1.0, rel_tol=1e-12)
            assert len(set(tree.edge_action[row].tolist())) == tree.num_edges[node]
            assert not tree.terminal[node]
        visited = tree.edge_visits[row] > 0
        expected_best = max([tree.node_value[node]] + tree.edge_best[row][visited].tolist())
        assert tree.best_value[node] == expected_best
    if pure:
        assert np.all(ends[:n] == 1 + (tree.terminal[:n] & (tree.visits[:n] > 1)) * (tree.visits[:n] - 1))
        for node in range(1, n):
            e = tree.parent_edge[node]
            assert tree.edge_child[e] == node and tree.edge_visits[e] == tree.visits[node]
            assert tree.edge_value_sum[e] == tree.value_sum[node] and tree.edge_best[e] == tree.best_value[node]
            assert tree.depth[node] == tree.depth[tree.parent[node]] + 1
        # best_value is the best evaluation in the subtree.
        best = tree.node_value[:n].copy()
        for node in range(n - 1, 0, -1):  # children are made after their parents
            best[tree.parent[node]] = max(best[tree.parent[node]], best[node])
        np.testing.assert_array_equal(tree.best_value[:n], best)


search_settings = st.fixed_dictionaries({
    "seed": st.integers(0, 2**16),
    "num_simulations": st.integers(1, 100),
    "params": st.tuples(st.sampled_from([0.0, 0.5, 1.25, 3.0]), st.sampled_from([0.0, 0.5, 1.0]),
                        st.sampled_from([FPU_PARENT, 0.0, 1.0]), st.sampled_from([NO_WIDENING, 1.0, 0.5]),
                        st.sampled_from([0.5, 1.0])),
    "batch_size": st.integers(1, 4),
    "virtual_loss": st.integers(0, 3),
    "num_actions": st.integers(1, 8),
})


@settings(max_examples=150, deadline=None)
@given(search_settings, st.sampled_from([0.0, 0.3]))
def test_tree_invariants_hold_after_random_searches(kwargs, transposition_prob):
    tree, ends = fake_search_kernels(**kwargs, transposition_prob=transposition_prob)
    check_invariants(tree, ends, kwargs["num_simulations"], pure=transposition_prob == 0.0)


@settings(max_examples=100, deadline=None)
@given(search_settings, st.sampled_from([0.0, 0.3]))
def test_kernels_match_the_plain_python_reference_exactly(kwargs, transposition_prob):
    tree, ends = fake_search_kernels(**kwargs, transposition_prob=transposition_prob)
    reference, reference_ends = fake_search_reference(**kwargs, transposition_prob=transposition_prob)
    got, expected = tree_arrays(tree), reference.to_arrays()
    for name in expected:
        np.testing.assert_array_equal(got[name], expected[name], err_msg=name)
    np.testing.assert_array_equal(ends, reference_ends)
    pv = np.zeros(int(tree.node_count[0]), np.int32)
    assert pv[:kernels.principal_variation(tree, pv)].tolist() == reference.principal_variation()


PARITY_SCRIPT = """
import sys
import numpy as np
from tests.reference.tree_reference import fake_search_kernels, tree_arrays
runs = [fake_search_kernels(11, 80, (1.25, 0.5, float('nan'), 1.0, 0.5), batch_size=3, transposition_prob=0.2),
        fake_search_kernels(12, 60, (2.0, 0.0, 1.0, float('inf'), 0.5), batch_size=1, num_actions=8)]
arrays = {}
for i, (tree, ends) in enumerate(runs):
    arrays.update({f"{i}_{k}": v for k, v in tree_arrays(tree).items()}, **{f"{i}_ends": ends})
np.savez(sys.argv[1], **arrays)
"""


def test_kernels_give_identical_arrays_with_numba_disabled(tmp_path):
    results = run_with_and_without_jit(PARITY_SCRIPT, tmp_path, timeout=300)
    assert results["0"].keys() == results["1"].keys() and len(results["0"]) == 42
    for name, value in results["0"].items():
        np.testing.assert_array_equal(value, results["1"][name], err_msg=name)
