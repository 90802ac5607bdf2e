"""Benchmark: full search simulations (select + expand + backup) per second, tree kernels vs reference.

A trivial evaluator stands in for the fits: every node has ``--actions`` legal actions (default 200) with
pseudo-random priors, a node's value is a hash of the actions on its path, action 0 (stop) and depth
``--max-depth`` make a node terminal. Rows:

- ``numba loop``: the whole simulation loop is one njit function that calls the kernels (so the kernels
  are callable from other numba code); run at ``--simulations`` and at the Python rows' count, since
  the rate depends on the tree's size (a bigger tree has more eligible edges to score per level);
- ``python loop -> kernels``: a Python loop that calls the compiled kernels one by one (the dispatch
  cost a Python-side search pays per call);
- ``python loop -> wrappers``: the same through the checked wrappers of ``mcts_crn.search.tree``;
- ``reference``: the dict-based plain-Python ``tests/reference/tree_reference.py``.

Every row runs the same deterministic search, and the script checks that the numba loop and the
reference build identical trees before timing. Run from the repository root:
``python experiments/bench_tree.py [--simulations 100000]``.
"""
from __future__ import annotations

import argparse
import math
import os
import platform
import sys
import time
from pathlib import Path

import numba
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # for tests.reference

from mcts_crn.native import tree as kernels  # noqa: E402
from mcts_crn.search import tree as wrappers  # noqa: E402
from tests.reference.tree_reference import ReferenceTree, tree_arrays  # noqa: E402

MODULUS = 2147483647  # Park-Miller minimal standard LCG: int64 products never overflow


@numba.njit
def lcg(x):
    return (x * 48271) % MODULUS


@numba.njit
def fill_priors(node, priors):
    for a in range(priors.shape[0]):
        priors[a] = lcg(lcg(node * 1000 + a + 1)) / MODULUS


@numba.njit
def path_value(tree, path, length):
    h = 1
    for i in range(length):
        h = lcg(h + tree.edge_action[path[i]] + 1)
    return h / MODULUS


@numba.njit
def run_simulations_trivial(tree, num_simulations, num_actions, max_depth, c_puct, beta, fpu, pw_c, pw_alpha):
    """The whole search in numba; returns the number of completed simulations."""
    actions = np.arange(num_actions).astype(np.int32)
    priors = np.empty(num_actions)
    path = np.empty(tree.visits.shape[0], np.int32)
    kernels.add_node(tree, -1, -1, 0, 0.5, False)
    kernels.backup_path(tree, path, 0, 0.5)
    fill_priors(0, priors)
    kernels.expand_node(tree, 0, actions, priors)
    for s in range(num_simulations):
        leaf, edge, length = kernels.select_leaf(tree, c_puct, beta, fpu, pw_c, pw_alpha, path)
        if length < 0:
            return s
        if edge == kernels.NO_EDGE:
            value = tree.node_value[leaf]
        else:
            value = path_value(tree, path, length)
            terminal = tree.edge_action[edge] == 0 or tree.depth[leaf] + 1 >= max_depth
            node = kernels.add_node(tree, leaf, edge, s + 1, value, terminal)
            if node < 0:
                return s
            if not terminal:
                fill_priors(node, priors)
                if kernels.expand_node(tree, node, actions, priors) != kernels.OK:
                    return s
        kernels.backup_path(tree, path, length, value)
    return num_simulations


def py_priors(node, num_actions):
    return np.array([lcg.py_func(lcg.py_func(node * 1000 + a + 1)) / MODULUS for a in range(num_actions)])


def python_loop_kernels(tree, num_simulations, num_actions, max_depth, params):
    c_puct, beta, fpu, pw_c, pw_alpha = params
    actions = np.arange(num_actions, dtype=np.int32)
    path = np.empty(tree.visits.shape[0], np.int32)
    kernels.add_node(tree, -1, -1, 0, 0.5, False)
    kernels.backup_path(tree, path, 0, 0.5)
    kernels.expand_node(tree, 0, actions, py_priors(0, num_actions))
    for s in range(num_simulations):
        leaf, edge, length = kernels.select_leaf(tree, c_puct, beta, fpu, pw_c, pw_alpha, path)
        if edge == kernels.NO_EDGE:
            value = float(tree.node_value[leaf])
        else:
            value = path_value(tree, path, length)
            terminal = bool(tree.edge_action[edge] == 0 or tree.depth[leaf] + 1 >= max_depth)
            node = kernels.add_node(tree, leaf, edge, s + 1, value, terminal)
            if not terminal:
                kernels.expand_node(tree, node, actions, py_priors(node, num_actions))
        kernels.backup_path(tree, path, length, value)


def python_loop_wrappers(tree, num_simulations, num_actions, max_depth, params):
    params = wrappers.PuctParams(*params)
    actions = np.arange(num_actions, dtype=np.int32)
    wrappers.add_root(tree, 0, 0.5)
    wrappers.expand_node(tree, 0, actions, py_priors(0, num_actions))
    for s in range(num_simulations):
        sel = wrappers.select_leaf(tree, params)
        if sel.edge == wrappers.NO_EDGE:
            value = float(tree.node_value[sel.leaf])
        else:
            value = path_value(tree, sel.path, len(sel.path))
            terminal = bool(tree.edge_action[sel.edge] == 0 or tree.depth[sel.leaf] + 1 >= max_depth)
            node = wrappers.add_node(tree, sel.leaf, sel.edge, s + 1, value, terminal)
            if not terminal:
                wrappers.expand_node(tree, node, actions, py_priors(node, num_actions))
        wrappers.backup_path(tree, sel.path, value)


def reference_loop(num_simulations, num_actions, max_depth, params):
    c_puct, beta, fpu, pw_c, pw_alpha = params
    tree = ReferenceTree()
    actions = np.arange(num_actions, dtype=np.int32)
    tree.add_node(-1, -1, 0, 0.5, False)
    tree.backup_path([], 0.5)
    tree.expand_node(0, actions, py_priors(0, num_actions).tolist())
    for s in range(num_simulations):
        leaf, edge, path = tree.select_leaf(c_puct, beta, fpu, pw_c, pw_alpha)
        if edge == -1:
            value = tree.nodes[leaf]["node_value"]
        else:
            h = 1
            for e in path:
                h = (h + tree.edges[e]["action"] + 1) * 48271 % MODULUS
            value = h / MODULUS
            terminal = tree.edges[edge]["action"] == 0 or tree.nodes[leaf]["depth"] + 1 >= max_depth
            node = tree.add_node(leaf, edge, s + 1, value, terminal)
            if not terminal:
                tree.expand_node(node, actions, py_priors(node, num_actions).tolist())
        tree.backup_path(path, value)
    return tree


def timed(repeats, make_args, fn):
    """Best of ``repeats`` runs: (wall seconds, CPU seconds of this process, output of the last run).

    CPU time is shown as well because on a shared machine the wall time also counts other processes.
    """
    wall, cpu = math.inf, math.inf
    for _ in range(repeats):
        args = make_args()
        start, start_cpu = time.perf_counter(), time.process_time()
        out = fn(*args)
        wall = min(wall, time.perf_counter() - start)
        cpu = min(cpu, time.process_time() - start_cpu)
    return wall, cpu, args, out


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--simulations", type=int, default=100_000, help="simulations of the numba loop")
    parser.add_argument("--python-simulations", type=int, default=5_000, help="simulations of the Python rows")
    parser.add_argument("--actions", type=int, default=200, help="legal actions per node")
    parser.add_argument("--max-depth", type=int, default=12)
    parser.add_argument("--c-puct", type=float, default=1.25)
    parser.add_argument("--beta", type=float, default=0.5)
    parser.add_argument("--pw-c", type=float, default=1.0, help="inf: no progressive widening")
    parser.add_argument("--pw-alpha", type=float, default=0.5)
    parser.add_argument("--repeats", type=int, default=3, help="best of this many runs per row")
    args = parser.parse_args(argv)
    params = (args.c_puct, args.beta, math.nan, args.pw_c, args.pw_alpha)
    a, depth = args.actions, args.max_depth

    def fresh(n):
        return wrappers.make_tree(n + 1, (n + 1) * a)

    # Compile, and check that the numba loop and the reference build the same tree.
    check = min(args.python_simulations, 1000)
    tree = fresh(check)
    run_simulations_trivial(tree, check, a, depth, *params)
    reference = reference_loop(check, a, depth, params).to_arrays()
    got = tree_arrays(tree)
    for name in reference:
        if not np.array_equal(got[name], reference[name]):
            raise SystemExit(f"numba loop and reference differ in {name}")
    python_loop_kernels(fresh(10), 10, a, depth, params)

    rows = []
    wall, cpu, (tree, *_), done = timed(args.repeats, lambda: (fresh(args.simulations), args.simulations, a, depth,
                                                                *params), run_simulations_trivial)
    rows.append(("numba loop", done, wall, cpu, int(tree.node_count[0])))
    n = args.python_simulations
    wall, cpu, (tree, *_), done = timed(args.repeats, lambda: (fresh(n), n, a, depth, *params),
                                        run_simulations_trivial)
    rows.append(("numba loop", done, wall, cpu, int(tree.node_count[0])))
    for name, fn in (("python loop -> kernels", python_loop_kernels),
                     ("python loop -> wrappers", python_loop_wrappers)):
        wall, cpu, (tree, *_), _ = timed(args.repeats, lambda: (fresh(n), n, a, depth, params), fn)
        rows.append((name, n, wall, cpu, int(tree.node_count[0])))
    wall, cpu, _, ref = timed(args.repeats, lambda: (n, a, depth, params), reference_loop)
    rows.append(("reference (plain Python)", n, wall, cpu, len(ref.nodes)))

    reference_rate = rows[-1][1] / rows[-1][2]
    print(f"{a} legal actions per node, max depth {depth}, c_puct {args.c_puct}, beta {args.beta}, "
          f"widening c {args.pw_c} alpha {args.pw_alpha}, best of {args.repeats}; numba {numba.__version__}, "
          f"numpy {np.__version__}, {platform.processor() or platform.machine()}, {os.cpu_count()} CPUs")
    print(f"{'implementation':26s} {'simulations':>11s} {'wall s':>8s} {'sims/s':>9s} {'vs reference':>12s} "
          f"{'CPU s':>8s} {'sims/CPU s':>10s} {'nodes':>7s}")
    for name, sims, wall, cpu, nodes in rows:
        rate = sims / wall
        print(f"{name:26s} {sims:11d} {wall:8.3f} {rate:9.0f} {rate / reference_rate:11.1f}x "
              f"{cpu:8.3f} {sims / cpu:10.0f} {nodes:7d}")

if __name__ == "__main__":
    main()
