"""The search tree: allocation, checks, and thin wrappers over the kernels of ``mcts_crn.native.tree``.

``make_tree`` allocates a ``Tree`` (struct of arrays, fixed dtypes) once per search; the wrappers check
their arguments (indices in range, dtypes, legal priors) and call the kernel, so that a mistake raises a
``ValueError`` here instead of corrupting memory inside a kernel. Running out of capacity is not a
mistake: ``add_node`` returns ``NODES_FULL`` and ``expand_node`` ``EDGES_FULL``, and the search stops.
The formulas (PUCT with a best-value mix, progressive widening, virtual loss) and the visit conventions
are documented in ``mcts_crn.native.tree``.

The protocol of one simulation, sketched for a search that keeps crns in a Python list ``states`` and a
dict ``index`` from canonical key to node (``apply``, ``key`` and ``evaluate`` are the caller's)::

    sel = select_leaf(tree, params)
    if sel.edge == NO_EDGE:                       # terminal leaf: its stored value again
        value = tree.node_value[sel.leaf]         # (a non-terminal one was left unexpanded: edges full)
    else:
        child_state = apply(states[tree.state[sel.leaf]], tree.edge_action[sel.edge])
        node = index.get(key(child_state))
        if node is not None:                      # transposition
            attach_child(tree, sel.edge, node)
            value = tree.node_value[node]
        else:
            priors, actions, value, terminal = evaluate(child_state)
            node = add_node(tree, sel.leaf, sel.edge, len(states), value, terminal)
            states.append(child_state); index[key(child_state)] = node
            if not terminal:
                expand_node(tree, node, actions, priors)
    backup_path(tree, sel.path, value)
"""
from __future__ import annotations

import math
from typing import NamedTuple

import numpy as np

from mcts_crn.native import tree as _kernels
from mcts_crn.native.tree import (
    BLOCKED,
    EDGES_FULL,
    FPU_PARENT,
    NO_EDGE,
    NO_PARENT,
    NODES_FULL,
    NOT_ATTACHED,
    OK,
    PATH_FULL,
    PENDING,
    ROOT,
    UNVISITED,
    Tree,
)

__all__ = [
    "BLOCKED", "EDGES_FULL", "FPU_PARENT", "NO_EDGE", "NO_PARENT", "NODES_FULL", "NOT_ATTACHED", "OK",
    "PATH_FULL", "PENDING", "ROOT", "STATUS_MESSAGES", "UNVISITED", "Batch", "ChildStatistics",
    "PuctParams", "Selection", "Tree", "add_node", "add_root", "attach_child", "backup_batch",
    "backup_path", "check_tree", "child_statistics", "expand_node", "make_tree", "principal_variation",
    "select_batch", "select_leaf",
]

STATUS_MESSAGES = {
    OK: "ok",
    NODES_FULL: "the tree's node capacity is used up",
    EDGES_FULL: "the tree's edge capacity is used up",
    PATH_FULL: "the path buffer is too short for the path (a cycle in the tree?)",
    BLOCKED: "every eligible edge is already pending in this batch",
    NOT_ATTACHED: "an edge on the path has no child node",
}

_INT32_MAX = np.iinfo(np.int32).max

_FIELD_DTYPES = {
    "visits": np.int32, "value_sum": np.float64, "best_value": np.float64, "node_value": np.float64,
    "parent": np.int32, "parent_edge": np.int32, "depth": np.int32, "state": np.int32,
    "terminal": np.bool_, "expanded": np.bool_, "edge_start": np.int32, "num_edges": np.int32,
    "edge_action": np.int32, "edge_prior": np.float64, "edge_child": np.int32, "edge_visits": np.int32,
    "edge_value_sum": np.float64, "edge_best": np.float64, "node_count": np.int32, "edge_count": np.int32,
}
EDGE_FIELDS = ("edge_action", "edge_prior", "edge_child", "edge_visits", "edge_value_sum", "edge_best")


class PuctParams(NamedTuple):
    """Selection parameters (see ``mcts_crn.native.tree.select_child`` for the formula).

    Attributes
    ----------
    c_puct : float
        Weight of the prior-driven exploration term.
    beta : float
        Weight of the best value in Q = (1 - beta) * mean + beta * best, in [0, 1].
    fpu : float
        Q of a never-visited edge; ``FPU_PARENT`` (NaN) for the parent's own Q.
    pw_c, pw_alpha : float
        Progressive widening: the ceil(pw_c * (N + 1) ** pw_alpha) highest-prior edges are eligible at a
        node with N visits; ``pw_c = inf`` turns it off.
    """

    c_puct: float = 1.25
    beta: float = 0.5
    fpu: float = FPU_PARENT
    pw_c: float = 2.0
    pw_alpha: float = 0.5


class Selection(NamedTuple):
    """One selected leaf: ``leaf`` node, ``edge`` to expand (``NO_EDGE`` if none), ``path`` int32 [L]."""

    leaf: int
    edge: int
    path: np.ndarray


class Batch(NamedTuple):
    """B selections from ``select_batch``: leaves, edges, path_lens int32 [B]; paths int32 [B, D]."""

    leaves: np.ndarray
    edges: np.ndarray
    paths: np.ndarray
    path_lens: np.ndarray
    virtual_loss: int


class ChildStatistics(NamedTuple):
    """Per-edge statistics of a node, edges in prior order: each field has shape [A]."""

    actions: np.ndarray
    priors: np.ndarray
    visits: np.ndarray
    mean: np.ndarray
    best: np.ndarray
    child: np.ndarray


def make_tree(capacity: int, edge_capacity: int) -> Tree:
    """Allocate an empty tree for ``capacity`` nodes (num_simulations + 1) and ``edge_capacity`` edges."""
    for name, value in (("capacity", capacity), ("edge_capacity", edge_capacity)):
        if int(value) != value or not 1 <= value <= _INT32_MAX:
            raise ValueError(f"{name} must be an integer in [1, {_INT32_MAX}], got {value!r}")
    n, e = int(capacity), int(edge_capacity)
    return Tree(
        visits=np.zeros(n, np.int32),
        value_sum=np.zeros(n, np.float64),
        best_value=np.full(n, -np.inf),
        node_value=np.full(n, np.nan),
        parent=np.full(n, NO_PARENT, np.int32),
        parent_edge=np.full(n, NO_EDGE, np.int32),
        depth=np.zeros(n, np.int32),
        state=np.full(n, -1, np.int32),
        terminal=np.zeros(n, np.bool_),
        expanded=np.zeros(n, np.bool_),
        edge_start=np.zeros(n, np.int32),
        num_edges=np.zeros(n, np.int32),
        edge_action=np.full(e, -1, np.int32),
        edge_prior=np.zeros(e, np.float64),
        edge_child=np.full(e, UNVISITED, np.int32),
        edge_visits=np.zeros(e, np.int32),
        edge_value_sum=np.zeros(e, np.float64),
        edge_best=np.full(e, -np.inf),
        node_count=np.zeros(1, np.int32),
        edge_count=np.zeros(1, np.int32),
    )


def check_tree(tree: Tree) -> None:
    """Raise ``ValueError`` unless ``tree`` has the fields, dtypes and shapes the kernels expect."""
    if not isinstance(tree, Tree):
        raise ValueError(f"expected a Tree, got {type(tree).__name__}")
    n, e = tree.visits.shape[0], tree.edge_action.shape[0]
    for name, dtype in _FIELD_DTYPES.items():
        array = getattr(tree, name)
        size = 1 if name in ("node_count", "edge_count") else (e if name in EDGE_FIELDS else n)
        if not isinstance(array, np.ndarray) or array.dtype != dtype or array.shape != (size,):
            raise ValueError(f"Tree.{name} must be a {np.dtype(dtype)} array of shape ({size},)")
        if not array.flags.c_contiguous or not array.flags.writeable:
            raise ValueError(f"Tree.{name} must be C-contiguous and writeable")
    if not 0 <= tree.node_count[0] <= n or not 0 <= tree.edge_count[0] <= e:
        raise ValueError("Tree.node_count / edge_count out of range")


def _check_node(tree: Tree, node: int, name: str = "node") -> int:
    if int(node) != node or not 0 <= node < tree.node_count[0]:
        raise ValueError(f"{name} {node!r} is not a node of the tree (0 .. {tree.node_count[0] - 1})")
    return int(node)


def _check_edge(tree: Tree, edge: int) -> int:
    if int(edge) != edge or not 0 <= edge < tree.edge_count[0]:
        raise ValueError(f"edge {edge!r} is not an edge of the tree (0 .. {tree.edge_count[0] - 1})")
    return int(edge)


def _check_value(value: float) -> float:
    if not math.isfinite(value):
        raise ValueError(f"a leaf value must be finite, got {value!r}")
    return float(value)


def _check_new_child(tree: Tree, edge: int) -> int:
    edge = _check_edge(tree, edge)
    if tree.edge_child[edge] not in (UNVISITED, PENDING):
        raise ValueError(f"edge {edge} already has child {tree.edge_child[edge]}")
    return edge


def add_root(tree: Tree, state: int, value: float, terminal: bool = False) -> int:
    """Make the root and back up its own evaluation (so ``visits[ROOT] == 1``). Returns ``ROOT``."""
    check_tree(tree)
    if tree.node_count[0] != 0:
        raise ValueError("the tree already has a root")
    node = _kernels.add_node(tree, NO_PARENT, NO_EDGE, int(state), _check_value(value), bool(terminal))
    _kernels.backup_path(tree, np.zeros(0, np.int32), 0, float(value))
    return node


def add_node(tree: Tree, parent: int, edge: int, state: int, value: float, terminal: bool = False) -> int:
    """Make the child of ``parent`` through ``edge`` (an edge of ``parent`` without a child).

    Returns the new node's index, or ``NODES_FULL`` when the tree is full. The value is counted by the
    caller's ``backup_path``.
    """
    parent = _check_node(tree, parent, "parent")
    edge = _check_new_child(tree, edge)
    start = tree.edge_start[parent]
    if not (tree.expanded[parent] and start <= edge < start + tree.num_edges[parent]):
        raise ValueError(f"edge {edge} is not an edge of node {parent}")
    return int(_kernels.add_node(tree, parent, edge, int(state), _check_value(value), bool(terminal)))


def attach_child(tree: Tree, edge: int, node: int) -> None:
    """Point ``edge`` (without a child yet) at the existing ``node``: a transposition."""
    edge = _check_new_child(tree, edge)
    _kernels.attach_child(tree, edge, _check_node(tree, node))


def expand_node(tree: Tree, node: int, actions, priors) -> int:
    """Give ``node`` one edge per legal action; returns ``OK`` or ``EDGES_FULL`` (nothing written).

    Parameters
    ----------
    actions : int [A]
        Legal actions, distinct. Masked actions must be left out: they get no edge.
    priors : float [A]
        Non-negative, finite prior weights (normalized by the kernel; all zero means uniform).
    """
    node = _check_node(tree, node)
    if tree.expanded[node] or tree.terminal[node]:
        raise ValueError(f"node {node} is already expanded or terminal")
    actions = np.ascontiguousarray(actions)
    priors = np.ascontiguousarray(priors, dtype=np.float64)
    if actions.ndim != 1 or priors.shape != actions.shape:
        raise ValueError(f"actions and priors must be 1-d of one length, got {actions.shape}, {priors.shape}")
    if actions.size and (not np.issubdtype(actions.dtype, np.integer)
                         or actions.min() < 0 or actions.max() > _INT32_MAX):
        raise ValueError("actions must be non-negative int32 codes")
    actions = actions.astype(np.int32, copy=False)
    if np.unique(actions).size != actions.size:
        raise ValueError("actions must be distinct")
    if not np.all(np.isfinite(priors)) or np.any(priors < 0):
        raise ValueError("priors must be finite and non-negative")
    return int(_kernels.expand_node(tree, node, actions, priors))


def _params(params: PuctParams | None) -> PuctParams:
    params = PuctParams() if params is None else params
    if not (params.c_puct >= 0 and 0 <= params.beta <= 1 and params.pw_c > 0 and params.pw_alpha >= 0):
        raise ValueError(f"invalid selection parameters {params}")
    if math.isinf(params.fpu):
        raise ValueError("fpu must be finite or FPU_PARENT")
    return PuctParams(*(float(p) for p in params))


def _raise_status(status: int) -> None:
    raise ValueError(STATUS_MESSAGES.get(status, f"tree kernel status {status}"))


def select_leaf(tree: Tree, params: PuctParams | None = None) -> Selection:
    """Walk down from the root by PUCT; see ``mcts_crn.native.tree.select_leaf``."""
    p = _params(params)
    if tree.node_count[0] == 0 or tree.visits[ROOT] == 0:
        raise ValueError("the root must be made and backed up first (add_root)")
    path = np.empty(max(1, int(tree.node_count[0])), np.int32)
    leaf, edge, length = _kernels.select_leaf(tree, p.c_puct, p.beta, p.fpu, p.pw_c, p.pw_alpha, path)
    if length < 0:
        _raise_status(length)
    return Selection(int(leaf), int(edge), path[:length])


def backup_path(tree: Tree, path, value: float) -> None:
    """Back up ``value`` along ``path`` (int32 [L] edges from the root; empty for the root alone)."""
    path = np.ascontiguousarray(path, dtype=np.int32)
    if path.ndim != 1 or (path.size and (path.min() < 0 or path.max() >= tree.edge_count[0])):
        raise ValueError("path must be a 1-d array of edges of the tree")
    status = _kernels.backup_path(tree, path, path.size, _check_value(value))
    if status != OK:
        _raise_status(status)


def select_batch(tree: Tree, batch_size: int, params: PuctParams | None = None, *,
                 virtual_loss: int = 1) -> Batch:
    """Select up to ``batch_size`` leaves with distinct edges to expand (virtual loss in between).

    See ``mcts_crn.native.tree.select_leaves``. Every returned edge to expand is ``PENDING`` until the
    caller gives it a child (``add_node`` or ``attach_child``); then ``backup_batch`` must follow.
    """
    p = _params(params)
    if int(batch_size) != batch_size or batch_size < 1:
        raise ValueError(f"batch_size must be a positive integer, got {batch_size!r}")
    if int(virtual_loss) != virtual_loss or virtual_loss < 0:
        raise ValueError(f"virtual_loss must be a non-negative integer, got {virtual_loss!r}")
    if tree.node_count[0] == 0 or tree.visits[ROOT] == 0:
        raise ValueError("the root must be made and backed up first (add_root)")
    b = int(batch_size)
    paths = np.empty((b, max(1, int(tree.node_count[0]))), np.int32)
    lens, leaves, edges = (np.empty(b, np.int32) for _ in range(3))
    count = _kernels.select_leaves(tree, p.c_puct, p.beta, p.fpu, p.pw_c, p.pw_alpha, int(virtual_loss),
                                   paths, lens, leaves, edges)
    if count < 0:
        _raise_status(count)
    return Batch(leaves[:count], edges[:count], paths[:count], lens[:count], int(virtual_loss))


def backup_batch(tree: Tree, batch: Batch, values) -> None:
    """Remove the batch's virtual visits and back up one value per selection (float [B])."""
    values = np.ascontiguousarray(values, dtype=np.float64)
    if values.shape != batch.leaves.shape:
        raise ValueError(f"expected {batch.leaves.shape[0]} values, got shape {values.shape}")
    if not np.all(np.isfinite(values)):
        raise ValueError("leaf values must be finite")
    status = _kernels.backup_paths(tree, batch.paths, batch.path_lens, batch.edges, values,
                                   batch.leaves.shape[0], batch.virtual_loss)
    if status != OK:
        _raise_status(status)


def child_statistics(tree: Tree, node: int = ROOT) -> ChildStatistics:
    """Visits, priors, mean and best value of each edge of ``node`` (prior order), for reports."""
    node = _check_node(tree, node)
    a = int(tree.num_edges[node])
    out = ChildStatistics(np.empty(a, np.int32), np.empty(a), np.empty(a, np.int32), np.empty(a),
                          np.empty(a), np.empty(a, np.int32))
    _kernels.child_statistics(tree, node, out.actions, out.priors, out.visits, out.mean, out.best, out.child)
    return out


def principal_variation(tree: Tree) -> np.ndarray:
    """Edges int32 [L] of the most-visited line from the root; ``tree.edge_action[pv]`` are its actions."""
    if tree.node_count[0] == 0:
        return np.zeros(0, np.int32)
    path = np.empty(int(tree.node_count[0]), np.int32)
    return path[:_kernels.principal_variation(tree, path)].copy()
