"""Monte Carlo tree search kernels on a struct-of-arrays tree with CSR edges.

The tree (``Tree``) is a NamedTuple of preallocated arrays, as in DeepMind's mctx ``Tree``: node arrays of
length N = capacity (num_simulations + 1) and edge arrays of length E (caller-given). A node's edges are
the rows ``edge_start[n] .. edge_start[n] + num_edges[n] - 1`` of the edge arrays (CSR), written once by
``expand_node``, sorted by prior, descending. The kernels see a node's state only as an int32 handle into
a list kept by the caller. Transpositions make the tree a DAG: the caller maps canonical keys to node
indices and may point an edge at an existing node (``attach_child``) instead of making a new one
(``add_node``). Values are backed up along the path actually taken (edges recorded by ``select_leaf``),
so a node reached through two parents is never counted twice for one simulation.

Conventions
-----------
- Every node's first visit is its own evaluation: ``add_node`` stores the evaluation in ``node_value``
  and the caller backs it up (for the root, with an empty path). Hence, after the root's own backup and
  S completed simulations, ``visits[ROOT] == S + 1``; in a pure tree (no transpositions) every expanded
  node has ``visits[n] == 1 + sum(edge_visits[its edges])``, and every non-root node has
  ``visits[n] == edge_visits[parent_edge[n]]``. With transpositions a non-root node's visits are the sum
  of its incoming edges' visits.
- ``best_value[n]`` / ``edge_best[e]`` is the largest value backed up through the node / edge (-inf
  before the first one): the best leaf seen below, because we want the single best crn, not the average.
- A simulation that ends at a terminal node (or at an existing node reached through a new transposition
  edge) backs up that node's stored ``node_value`` again: terminal nodes are not re-evaluated.
- A simulation's path is the int32 list of edges from the root; its nodes are ``ROOT`` and the edges'
  children. Selection stops at the first edge whose child is ``UNVISITED`` (returned as the edge to
  expand, last on the path) or at a terminal / unexpanded node (edge ``NO_EDGE``).

Status codes: a kernel that returns an index returns a negative status instead when it cannot do its
job; the others return ``OK`` or a negative status. Running out of capacity is a status, never a crash.
Indices are not bounds-checked here; the Python wrappers (``mcts_crn.search.tree``) check them.
"""
from __future__ import annotations

import math
from typing import NamedTuple

import numpy as np

from ._compile import jit

ROOT = 0
"""Index of the root node (made first)."""
NO_PARENT = -1
"""``parent`` of the root."""
NO_EDGE = -1
"""``parent_edge`` of the root; edge returned by selection when no edge is to be expanded."""
UNVISITED = -1
"""``edge_child`` of an edge whose child node does not exist yet."""
PENDING = -2
"""``edge_child`` of an edge chosen for expansion by ``select_leaves`` whose child is not yet attached;
such an edge cannot be selected again."""
FPU_PARENT = math.nan
"""First-play urgency meaning "the parent's own Q" (pass as ``fpu``)."""

OK = 0
NODES_FULL = -1
"""The node arrays are full (add_node)."""
EDGES_FULL = -2
"""The edge arrays cannot hold the node's edges (expand_node); nothing was written."""
PATH_FULL = -3
"""The path buffer is shorter than the path (only possible with a cycle or a too small buffer)."""
BLOCKED = -4
"""Every eligible edge of a node on the way is PENDING (select_leaves): no further distinct leaf."""
NOT_ATTACHED = -5
"""A path given to backup has an edge without a child node; nothing was updated."""


class Tree(NamedTuple):
    """Search tree as arrays (N nodes, E edges), allocated once per search.

    Attributes
    ----------
    visits : int32 [N]
        Simulations that went through the node, its own evaluation included (plus virtual visits while a
        batch is in flight).
    value_sum : float64 [N]
        Sum of the values backed up through the node.
    best_value : float64 [N]
        Largest value backed up through the node; -inf before the first.
    node_value : float64 [N]
        The node's own evaluation (its leaf value).
    parent : int32 [N]
        The node through which the node was first reached; ``NO_PARENT`` for the root.
    parent_edge : int32 [N]
        The edge through which the node was made; ``NO_EDGE`` for the root.
    depth : int32 [N]
        Depth of the node when it was made (root 0).
    state : int32 [N]
        Caller's handle of the node's state (a crn kept Python-side).
    terminal : bool [N]
        No action to take: stop taken, or no legal action.
    expanded : bool [N]
        ``expand_node`` has written the node's edges.
    edge_start, num_edges : int32 [N]
        First edge and number of edges of the node (CSR rows).
    edge_action : int32 [E]
        Action of the edge (code of the action codec).
    edge_prior : float64 [E]
        Normalized prior probability of the edge; within a node the edges are sorted by it, descending.
    edge_child : int32 [E]
        Node the edge leads to; ``UNVISITED`` before it exists, ``PENDING`` while chosen by a batch.
    edge_visits : int32 [E]
        Simulations that took the edge (plus virtual visits while a batch is in flight).
    edge_value_sum : float64 [E]
        Sum of the values backed up through the edge.
    edge_best : float64 [E]
        Largest value backed up through the edge; -inf before the first.
    node_count, edge_count : int32 [1]
        Nodes and edges in use.
    """

    visits: np.ndarray
    value_sum: np.ndarray
    best_value: np.ndarray
    node_value: np.ndarray
    parent: np.ndarray
    parent_edge: np.ndarray
    depth: np.ndarray
    state: np.ndarray
    terminal: np.ndarray
    expanded: np.ndarray
    edge_start: np.ndarray
    num_edges: np.ndarray
    edge_action: np.ndarray
    edge_prior: np.ndarray
    edge_child: np.ndarray
    edge_visits: np.ndarray
    edge_value_sum: np.ndarray
    edge_best: np.ndarray
    node_count: np.ndarray
    edge_count: np.ndarray


@jit
def add_node(tree, parent, edge, state, value, terminal):
    """Make a node reached from ``parent`` through ``edge`` (``NO_PARENT``, ``NO_EDGE`` for the root).

    Parameters
    ----------
    tree : Tree
    parent, edge : int
        Parent node and the edge that now points at the new node.
    state : int
        Caller's handle of the node's state.
    value : float
        The node's evaluation, stored in ``node_value``; it is counted when the caller backs it up.
    terminal : bool
        Whether the node has no action to take.

    Returns
    -------
    int
        Index of the new node, or ``NODES_FULL``.
    """
    node = tree.node_count[0]
    if node >= tree.visits.shape[0]:
        return NODES_FULL
    tree.node_count[0] = node + 1
    tree.visits[node] = 0
    tree.value_sum[node] = 0.0
    tree.best_value[node] = -np.inf
    tree.node_value[node] = value
    tree.parent[node] = parent
    tree.parent_edge[node] = edge
    tree.depth[node] = 0 if parent < 0 else tree.depth[parent] + 1
    tree.state[node] = state
    tree.terminal[node] = terminal
    tree.expanded[node] = False
    tree.edge_start[node] = tree.edge_count[0]
    tree.num_edges[node] = 0
    if edge >= 0:
        tree.edge_child[edge] = node
    return node


@jit
def attach_child(tree, edge, node):
    """Point ``edge`` at the existing ``node`` (a transposition: the DAG case). Returns ``OK``."""
    tree.edge_child[edge] = node
    return OK


@jit
def expand_node(tree, node, actions, priors):
    """Write the edges of ``node``: one per legal action, priors normalized, sorted by prior.

    Only the given (legal) actions get edges, so a masked action can never be selected. The edges are
    sorted by prior, descending (stable: equal priors keep the given order), so that the edges eligible
    under progressive widening are a prefix of the node's row. Priors that sum to zero become uniform.
    A node expanded with no action is terminal.

    Parameters
    ----------
    tree : Tree
    node : int
    actions : int32 [A]
        Legal actions of the node, distinct.
    priors : float64 [A]
        Non-negative prior weights of the actions (normalized here: p_a / sum p).

    Returns
    -------
    int
        ``OK``, or ``EDGES_FULL`` (nothing written).
    """
    num = actions.shape[0]
    start = tree.edge_count[0]
    if start + num > tree.edge_action.shape[0]:
        return EDGES_FULL
    total = 0.0
    for i in range(num):
        total += priors[i]
    order = np.argsort(-priors, kind="mergesort")
    for j in range(num):
        i = order[j]
        e = start + j
        tree.edge_action[e] = actions[i]
        tree.edge_prior[e] = priors[i] / total if total > 0.0 else 1.0 / num
        tree.edge_child[e] = UNVISITED
        tree.edge_visits[e] = 0
        tree.edge_value_sum[e] = 0.0
        tree.edge_best[e] = -np.inf
    tree.edge_count[0] = start + num
    tree.edge_start[node] = start
    tree.num_edges[node] = num
    tree.expanded[node] = True
    if num == 0:
        tree.terminal[node] = True
    return OK


@jit
def node_q(tree, node, beta):
    """Q of a node: ``(1 - beta) * value_sum / visits + beta * best_value`` (0 if never visited)."""
    visits = tree.visits[node]
    if visits == 0:
        return 0.0
    mean = tree.value_sum[node] / visits
    if beta == 0.0:
        return mean
    return (1.0 - beta) * mean + beta * tree.best_value[node]


@jit
def num_eligible(num, visits, pw_c, pw_alpha):
    """Progressive widening: the ``k = min(num, max(1, ceil(pw_c * (visits + 1) ** pw_alpha)))`` edges
    of highest prior are eligible at a node with ``visits`` visits and ``num`` edges (Coulom 2007;
    Couetoux et al. 2011). ``pw_c = inf`` turns widening off."""
    width = pw_c * (visits + 1.0) ** pw_alpha
    if width >= num:
        return num
    k = int(math.ceil(width))
    return max(1, min(num, k))


@jit
def select_child(tree, node, c_puct, beta, fpu, pw_c, pw_alpha):
    """Edge of ``node`` with the highest PUCT score among the eligible ones.

    The score of edge e of node n (Silver et al. 2017, AlphaZero; Rosin 2011) is

        score(e) = Q(e) + c_puct * P(e) * sqrt(N(n)) / (1 + N(e)),
        Q(e) = (1 - beta) * W(e) / N(e) + beta * B(e)     for N(e) > 0,
        Q(e) = fpu (or the parent's Q(n), same mix, if fpu is FPU_PARENT)   for N(e) = 0,

    with N(n) = ``visits[n]`` (the node's own evaluation included, as in mctx), N(e), W(e), B(e) the
    edge's visits, value sum and best value, P(e) its prior. beta mixes the mean with the best value
    backed up through the edge. Only the first ``num_eligible`` edges (highest priors) compete; PENDING
    edges are skipped. Ties go to the lowest edge index (the higher prior).

    Returns
    -------
    int
        The chosen edge, or ``NO_EDGE`` if every eligible edge is PENDING.
    """
    start = tree.edge_start[node]
    count = num_eligible(tree.num_edges[node], tree.visits[node], pw_c, pw_alpha)
    sqrt_visits = math.sqrt(tree.visits[node])
    q_unvisited = node_q(tree, node, beta) if math.isnan(fpu) else fpu
    child = tree.edge_child[start:start + count]
    edge_visits = tree.edge_visits[start:start + count]
    value_sum = tree.edge_value_sum[start:start + count]
    edge_best = tree.edge_best[start:start + count]
    prior = tree.edge_prior[start:start + count]
    best = -1
    best_score = -np.inf
    unvisited_seen = False
    for j in range(count):
        if child[j] == PENDING:
            continue
        visits = edge_visits[j]
        if visits == 0:
            # Unvisited edges share Q and their priors do not increase along the row, so the first one
            # scores at least as high as any later one (and wins the tie): the rest need no score.
            if unvisited_seen:
                continue
            unvisited_seen = True
            q = q_unvisited
        else:
            mean = value_sum[j] / visits
            q = mean if beta == 0.0 else (1.0 - beta) * mean + beta * edge_best[j]
        score = q + c_puct * prior[j] * sqrt_visits / (1.0 + visits)
        if best < 0 or score > best_score:
            best = j
            best_score = score
    return NO_EDGE if best < 0 else start + best


@jit
def select_leaf(tree, c_puct, beta, fpu, pw_c, pw_alpha, path_out):
    """Walk down from the root by PUCT (``select_child``) to the place of the next evaluation.

    Parameters
    ----------
    tree : Tree
    c_puct, beta, fpu, pw_c, pw_alpha : float
        Exploration weight (>= 0), weight of the best value in Q (in [0, 1]), first-play urgency
        (``FPU_PARENT`` for the parent's Q), progressive-widening coefficient (> 0) and exponent (>= 0);
        see ``select_child``.
    path_out : int32 [D]
        Receives the edges taken from the root; D = N always suffices in a DAG without cycles.

    Returns
    -------
    leaf : int
        The last node reached: the parent of the edge to expand, or a terminal or unexpanded node.
    edge : int
        The edge whose child is ``UNVISITED`` (to be expanded; it is the last one on the path), or
        ``NO_EDGE`` when the walk ended at a terminal or unexpanded node.
    path_len : int
        Number of edges on the path, or ``PATH_FULL`` / ``BLOCKED``.
    """
    node = ROOT
    length = 0
    while True:
        if tree.terminal[node] or not tree.expanded[node]:
            return node, NO_EDGE, length
        e = select_child(tree, node, c_puct, beta, fpu, pw_c, pw_alpha)
        if e == NO_EDGE:
            return node, NO_EDGE, BLOCKED
        if length >= path_out.shape[0]:
            return node, NO_EDGE, PATH_FULL
        path_out[length] = e
        length += 1
        child = tree.edge_child[e]
        if child == UNVISITED:
            return node, e, length
        node = child


@jit
def _visit(tree, node, edge, value):
    if edge >= 0:
        tree.edge_visits[edge] += 1
        tree.edge_value_sum[edge] += value
        if value > tree.edge_best[edge]:
            tree.edge_best[edge] = value
    tree.visits[node] += 1
    tree.value_sum[node] += value
    if value > tree.best_value[node]:
        tree.best_value[node] = value


@jit
def backup_path(tree, path, path_len, value):
    """Back up one simulation's value along its path: root, then each edge and its child.

    Each node and edge on the path gets ``visits += 1``, ``value_sum += value`` and
    ``best = max(best, value)``.

    Parameters
    ----------
    tree : Tree
    path : int32 [D]
        Edges from the root (as written by ``select_leaf``); every one must have a child by now.
    path_len : int
        Number of edges on the path (0: the root alone, for the root's own evaluation).
    value : float
        The leaf value.

    Returns
    -------
    int
        ``OK``, or ``NOT_ATTACHED`` (nothing updated).
    """
    for i in range(path_len):
        if tree.edge_child[path[i]] < 0:
            return NOT_ATTACHED
    _visit(tree, ROOT, NO_EDGE, value)
    for i in range(path_len):
        e = path[i]
        _visit(tree, tree.edge_child[e], e, value)
    return OK


@jit
def _add_virtual_visits(tree, path, path_len, expanding, amount):
    # The child of an edge chosen for expansion does not exist when the virtual visits are added, so it
    # never gets them; the same rule removes them, whatever the edge is attached to meanwhile.
    tree.visits[ROOT] += amount
    for i in range(path_len):
        e = path[i]
        tree.edge_visits[e] += amount
        if not (expanding and i == path_len - 1):
            tree.visits[tree.edge_child[e]] += amount


@jit
def select_leaves(tree, c_puct, beta, fpu, pw_c, pw_alpha, virtual_loss, paths_out, path_lens_out,
                  leaves_out, edges_out):
    """Select up to B leaves for one batched evaluation, spread apart by virtual loss.

    After each selection its path gets ``virtual_loss`` virtual visits of value 0 (nodes and edges; the
    mean, hence Q, drops and the exploration term shrinks), and its edge to expand is marked
    ``PENDING`` so that no later selection of the batch picks it: the edges to expand are distinct.
    A terminal leaf may come back more than once (it needs no evaluation). ``backup_paths`` removes the
    virtual visits. Selection stops early when a walk is ``BLOCKED`` (all eligible edges pending).

    Parameters
    ----------
    tree : Tree
    c_puct, beta, fpu, pw_c, pw_alpha : float
        As in ``select_leaf``.
    virtual_loss : int
        Virtual visits per selection (0: none; then only the PENDING marks spread the batch).
    paths_out : int32 [B, D]
        Receives each selection's path.
    path_lens_out, leaves_out, edges_out : int32 [B]
        Receive each selection's ``path_len``, ``leaf``, ``edge`` (see ``select_leaf``).

    Returns
    -------
    int
        Number of selections made (1 .. B), or the status of the first walk when none could be made.
    """
    count = 0
    for b in range(paths_out.shape[0]):
        leaf, edge, length = select_leaf(tree, c_puct, beta, fpu, pw_c, pw_alpha, paths_out[b])
        if length < 0:
            if count == 0:
                return length
            break
        _add_virtual_visits(tree, paths_out[b], length, edge != NO_EDGE, virtual_loss)
        if edge != NO_EDGE:
            tree.edge_child[edge] = PENDING
        path_lens_out[b] = length
        leaves_out[b] = leaf
        edges_out[b] = edge
        count += 1
    return count


@jit
def backup_paths(tree, paths, path_lens, edges, values, count, virtual_loss):
    """Remove the virtual visits of ``select_leaves`` and back up the first ``count`` paths.

    Parameters
    ----------
    tree : Tree
    paths : int32 [B, D]
    path_lens, edges : int32 [B]
        As written by ``select_leaves``; every PENDING edge must have been given a child by now
        (``add_node`` or ``attach_child``).
    values : float64 [B]
        Leaf value of each selection.
    count : int
        Number of selections (the return value of ``select_leaves``).
    virtual_loss : int
        The same as given to ``select_leaves``.

    Returns
    -------
    int
        ``OK``, or ``NOT_ATTACHED`` (nothing updated).
    """
    for b in range(count):
        for i in range(path_lens[b]):
            if tree.edge_child[paths[b, i]] < 0:
                return NOT_ATTACHED
    for b in range(count):
        _add_virtual_visits(tree, paths[b], path_lens[b], edges[b] != NO_EDGE, -virtual_loss)
    for b in range(count):
        backup_path(tree, paths[b], path_lens[b], values[b])
    return OK


@jit
def child_statistics(tree, node, actions_out, priors_out, visits_out, mean_out, best_out, child_out):
    """Statistics of the edges of ``node``, in edge order (prior, descending), for reports.

    Parameters
    ----------
    tree : Tree
    node : int
    actions_out, visits_out, child_out : int32 [A]
        Receive each edge's action, visits and child (``UNVISITED`` if none).
    priors_out, mean_out, best_out : float64 [A]
        Receive each edge's prior, mean value (NaN if never visited) and best value (-inf if never).

    Returns
    -------
    int
        Number of edges A of the node (A <= len of the out arrays is the caller's duty).
    """
    start = tree.edge_start[node]
    num = tree.num_edges[node]
    for j in range(num):
        e = start + j
        visits = tree.edge_visits[e]
        actions_out[j] = tree.edge_action[e]
        priors_out[j] = tree.edge_prior[e]
        visits_out[j] = visits
        mean_out[j] = tree.edge_value_sum[e] / visits if visits > 0 else np.nan
        best_out[j] = tree.edge_best[e]
        child_out[j] = tree.edge_child[e]
    return num


@jit
def principal_variation(tree, path_out):
    """Follow the most visited edge from the root (ties: lowest index, the higher prior).

    Stops at a terminal or unexpanded node, or where no edge with a child has been visited.

    Parameters
    ----------
    tree : Tree
    path_out : int32 [D]
        Receives the edges.

    Returns
    -------
    int
        Number of edges written (stops silently when ``path_out`` is full).
    """
    node = ROOT
    length = 0
    while length < path_out.shape[0]:
        if tree.terminal[node] or not tree.expanded[node]:
            break
        start = tree.edge_start[node]
        best_edge = NO_EDGE
        best_visits = 0
        for e in range(start, start + tree.num_edges[node]):
            if tree.edge_child[e] >= 0 and tree.edge_visits[e] > best_visits:
                best_edge = e
                best_visits = tree.edge_visits[e]
        if best_edge == NO_EDGE:
            break
        path_out[length] = best_edge
        length += 1
        node = tree.edge_child[best_edge]
    return length
