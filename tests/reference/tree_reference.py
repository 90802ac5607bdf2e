"""Slow, obviously correct reference of the tree search in ``mcts_crn.native.tree``, on dict-based nodes.

Nodes are dicts with a list of edge dicts; an edge also keeps its global index (the order in which edges
were made), so that ``to_arrays`` can lay the reference out like the kernels' ``Tree`` and the two can be
compared exactly. The arithmetic is written in the same order as in the kernels (same rounding).
"""
from __future__ import annotations

import math

import numpy as np

ROOT = 0
NO_EDGE = -1
UNVISITED = -1
PENDING = -2


class ReferenceTree:
    """The search tree as Python objects: ``nodes`` (list of dicts) and ``edges`` (list of dicts)."""

    def __init__(self):
        self.nodes = []
        self.edges = []

    # --- building ---------------------------------------------------------------------------------
    def add_node(self, parent, edge, state, value, terminal):
        node = {
            "visits": 0, "value_sum": 0.0, "best_value": -math.inf, "node_value": value,
            "parent": parent, "parent_edge": edge, "depth": 0 if parent < 0 else self.nodes[parent]["depth"] + 1,
            "state": state, "terminal": bool(terminal), "expanded": False, "edges": [],
            "edge_start": len(self.edges),
        }
        self.nodes.append(node)
        if edge >= 0:
            self.edges[edge]["child"] = len(self.nodes) - 1
        return len(self.nodes) - 1

    def attach_child(self, edge, node):
        self.edges[edge]["child"] = node

    def expand_node(self, node, actions, priors):
        total = 0.0
        for p in priors:
            total += p
        order = sorted(range(len(actions)), key=lambda i: -priors[i])  # stable
        n = self.nodes[node]
        n["edge_start"] = len(self.edges)
        for i in order:
            edge = {"index": len(self.edges), "action": int(actions[i]),
                    "prior": priors[i] / total if total > 0 else 1.0 / len(actions),
                    "child": UNVISITED, "visits": 0, "value_sum": 0.0, "best": -math.inf}
            self.edges.append(edge)
            n["edges"].append(edge)
        n["expanded"] = True
        if not actions.size:
            n["terminal"] = True

    # --- selection --------------------------------------------------------------------------------
    @staticmethod
    def node_q(node, beta):
        if node["visits"] == 0:
            return 0.0
        mean = node["value_sum"] / node["visits"]
        return mean if beta == 0.0 else (1.0 - beta) * mean + beta * node["best_value"]

    def eligible_edges(self, node, pw_c, pw_alpha):
        """The highest-prior edges allowed by progressive widening (edges are kept in prior order)."""
        edges = node["edges"]
        width = pw_c * (node["visits"] + 1.0) ** pw_alpha
        k = len(edges) if width >= len(edges) else max(1, min(len(edges), math.ceil(width)))
        return edges[:k]

    def score(self, node, edge, c_puct, beta, fpu):
        if edge["visits"] == 0:
            q = self.node_q(node, beta) if math.isnan(fpu) else fpu
        else:
            mean = edge["value_sum"] / edge["visits"]
            q = mean if beta == 0.0 else (1.0 - beta) * mean + beta * edge["best"]
        return q + c_puct * edge["prior"] * math.sqrt(node["visits"]) / (1.0 + edge["visits"])

    def select_leaf(self, c_puct, beta, fpu, pw_c, pw_alpha):
        """Returns ``(leaf, edge, path)``, path a list of edge indices; ``(leaf, NO_EDGE, None)`` if blocked."""
        index, path = ROOT, []
        while True:
            node = self.nodes[index]
            if node["terminal"] or not node["expanded"]:
                return index, NO_EDGE, path
            candidates = [e for e in self.eligible_edges(node, pw_c, pw_alpha) if e["child"] != PENDING]
            if not candidates:
                return index, NO_EDGE, None
            scores = [self.score(node, e, c_puct, beta, fpu) for e in candidates]
            edge = candidates[scores.index(max(scores))]  # first maximum: the lowest index wins ties
            path.append(edge["index"])
            if edge["child"] == UNVISITED:
                return index, edge["index"], path
            index = edge["child"]

    # --- backup -----------------------------------------------------------------------------------
    def path_nodes(self, path):
        return [ROOT] + [self.edges[e]["child"] for e in path]

    def backup_path(self, path, value):
        for index in self.path_nodes(path):
            node = self.nodes[index]
            node["visits"] += 1
            node["value_sum"] += value
            node["best_value"] = max(node["best_value"], value)
        for e in path:
            edge = self.edges[e]
            edge["visits"] += 1
            edge["value_sum"] += value
            edge["best"] = max(edge["best"], value)

    def _virtual(self, path, expanding, amount):
        nodes = [ROOT] + [self.edges[e]["child"] for e in (path[:-1] if expanding else path)]
        for index in nodes:
            self.nodes[index]["visits"] += amount
        for e in path:
            self.edges[e]["visits"] += amount

    def select_leaves(self, batch_size, c_puct, beta, fpu, pw_c, pw_alpha, virtual_loss):
        """List of ``(leaf, edge, path)``; edges to expand are distinct (marked PENDING)."""
        out = []
        for _ in range(batch_size):
            leaf, edge, path = self.select_leaf(c_puct, beta, fpu, pw_c, pw_alpha)
            if path is None:
                break
            self._virtual(path, edge != NO_EDGE, virtual_loss)
            if edge != NO_EDGE:
                self.edges[edge]["child"] = PENDING
            out.append((leaf, edge, path))
        return out

    def backup_paths(self, selections, values, virtual_loss):
        for (leaf, edge, path), value in zip(selections, values):
            self._virtual(path, edge != NO_EDGE, -virtual_loss)
        for (leaf, edge, path), value in zip(selections, values):
            self.backup_path(path, value)

    # --- reports ----------------------------------------------------------------------------------
    def principal_variation(self):
        index, path = ROOT, []
        while True:
            node = self.nodes[index]
            if node["terminal"] or not node["expanded"]:
                return path
            visited = [e for e in node["edges"] if e["child"] >= 0 and e["visits"] > 0]
            if not visited:
                return path
            most = max(e["visits"] for e in visited)
            edge = next(e for e in visited if e["visits"] == most)
            path.append(edge["index"])
            index = edge["child"]

    def to_arrays(self):
        """The tree laid out like the kernels' ``Tree`` fields (used part only)."""
        n = self.nodes
        e = self.edges
        return {
            "visits": np.array([x["visits"] for x in n], np.int32),
            "value_sum": np.array([x["value_sum"] for x in n], np.float64),
            "best_value": np.array([x["best_value"] for x in n], np.float64),
            "node_value": np.array([x["node_value"] for x in n], np.float64),
            "parent": np.array([x["parent"] for x in n], np.int32),
            "parent_edge": np.array([x["parent_edge"] for x in n], np.int32),
            "depth": np.array([x["depth"] for x in n], np.int32),
            "state": np.array([x["state"] for x in n], np.int32),
            "terminal": np.array([x["terminal"] for x in n], np.bool_),
            "expanded": np.array([x["expanded"] for x in n], np.bool_),
            "edge_start": np.array([x["edge_start"] for x in n], np.int32),
            "num_edges": np.array([len(x["edges"]) for x in n], np.int32),
            "edge_action": np.array([x["action"] for x in e], np.int32),
            "edge_prior": np.array([x["prior"] for x in e], np.float64),
            "edge_child": np.array([x["child"] for x in e], np.int32),
            "edge_visits": np.array([x["visits"] for x in e], np.int32),
            "edge_value_sum": np.array([x["value_sum"] for x in e], np.float64),
            "edge_best": np.array([x["best"] for x in e], np.float64),
            "node_count": np.array([len(n)], np.int32),
            "edge_count": np.array([len(e)], np.int32),
        }


def tree_arrays(tree):
    """The used part of a kernels' ``Tree`` as a dict, for comparison with ``ReferenceTree.to_arrays``."""
    n, e = int(tree.node_count[0]), int(tree.edge_count[0])
    edge_fields = ("edge_action", "edge_prior", "edge_child", "edge_visits", "edge_value_sum", "edge_best")
    out = {}
    for name in tree._fields:
        array = getattr(tree, name)
        used = 1 if name in ("node_count", "edge_count") else (e if name in edge_fields else n)
        out[name] = array[:used].copy()
    return out


# --- a fake search, driven the same way on the kernels and on the reference ------------------------------
def fake_evaluation(seed, node, depth, num_actions, terminal_prob=0.1, max_depth=8):
    """Deterministic stand-in for the evaluator: ``(value, terminal, actions, priors)`` of a new node.

    A function of (seed, node index) only, so that two implementations that build the same tree see the
    same evaluations. Values and priors are coarse (multiples of 1/20 and 1/10) to provoke ties; the
    actions left out of ``actions`` are the masked ones.
    """
    rng = np.random.default_rng([seed, node])
    value = float(rng.integers(0, 21)) / 20.0
    terminal = bool(rng.random() < terminal_prob or depth >= max_depth)
    k = int(rng.integers(1, num_actions + 1)) if rng.random() > 0.05 else 0
    actions = np.sort(rng.choice(num_actions, k, replace=False)).astype(np.int32)
    priors = np.round(rng.random(k), 1)
    return value, terminal, actions, priors


def transposition_target(seed, node_count, depths, depth):
    """A node at ``depth`` to attach the next new edge to, or -1 for a new node (same rule for both)."""
    rng = np.random.default_rng([seed, node_count, 7])
    if rng.random() >= depths["prob"]:
        return -1
    candidates = [i for i, d in enumerate(depths["list"]) if d == depth]
    return candidates[int(rng.integers(len(candidates)))] if candidates else -1


def fake_search_reference(seed, num_simulations, params, batch_size=1, virtual_loss=1, transposition_prob=0.0,
                          num_actions=5):
    """Run the fake search on a ``ReferenceTree``; returns ``(tree, ends)`` with ``ends[node]`` the number
    of simulations that ended at each node."""
    c_puct, beta, fpu, pw_c, pw_alpha = params
    tree = ReferenceTree()
    value, terminal, actions, priors = fake_evaluation(seed, 0, 0, num_actions)
    tree.add_node(-1, NO_EDGE, 0, value, terminal)
    tree.backup_path([], value)
    ends = [1]
    if not terminal:
        tree.expand_node(0, actions, priors)
    done = 0
    while done < num_simulations:
        batch = tree.select_leaves(min(batch_size, num_simulations - done), c_puct, beta, fpu, pw_c, pw_alpha,
                                   virtual_loss)
        values = []
        for leaf, edge, path in batch:
            if edge == NO_EDGE:
                node = leaf
            else:
                depth = tree.nodes[leaf]["depth"] + 1
                node = transposition_target(seed, len(tree.nodes),
                                            {"prob": transposition_prob,
                                             "list": [n["depth"] for n in tree.nodes]}, depth)
                if node >= 0:
                    tree.attach_child(edge, node)
                else:
                    value, terminal, actions, priors = fake_evaluation(seed, len(tree.nodes), depth, num_actions)
                    node = tree.add_node(leaf, edge, len(tree.nodes), value, terminal)
                    ends.append(0)
                    if not terminal:
                        tree.expand_node(node, actions, priors)
            ends[node] += 1
            values.append(tree.nodes[node]["node_value"])
        tree.backup_paths(batch, values, virtual_loss)
        done += len(batch)
    return tree, np.array(ends)


def fake_search_kernels(seed, num_simulations, params, batch_size=1, virtual_loss=1, transposition_prob=0.0,
                        num_actions=5):
    """The same fake search on the kernels of ``mcts_crn.native.tree``; returns ``(tree, ends)``."""
    from mcts_crn.native import tree as kernels
    from mcts_crn.search.tree import make_tree

    c_puct, beta, fpu, pw_c, pw_alpha = params
    tree = make_tree(num_simulations + 1, (num_simulations + 1) * num_actions)
    value, terminal, actions, priors = fake_evaluation(seed, 0, 0, num_actions)
    kernels.add_node(tree, -1, NO_EDGE, 0, value, terminal)
    assert kernels.backup_path(tree, np.zeros(0, np.int32), 0, value) == kernels.OK
    ends = [1]
    if not terminal:
        assert kernels.expand_node(tree, 0, actions, priors) == kernels.OK
    paths = np.zeros((batch_size, num_simulations + 1), np.int32)
    lens, leaves, edges = (np.zeros(batch_size, np.int32) for _ in range(3))
    done = 0
    while done < num_simulations:
        b = min(batch_size, num_simulations - done)
        count = kernels.select_leaves(tree, c_puct, beta, fpu, pw_c, pw_alpha, virtual_loss, paths[:b], lens[:b],
                                      leaves[:b], edges[:b])
        assert count > 0
        values = np.zeros(count)
        for i in range(count):
            leaf, edge = int(leaves[i]), int(edges[i])
            if edge == NO_EDGE:
                node = leaf
            else:
                n = int(tree.node_count[0])
                depth = int(tree.depth[leaf]) + 1
                node = transposition_target(seed, n, {"prob": transposition_prob,
                                                      "list": tree.depth[:n].tolist()}, depth)
                if node >= 0:
                    kernels.attach_child(tree, edge, node)
                else:
                    value, terminal, actions, priors = fake_evaluation(seed, n, depth, num_actions)
                    node = kernels.add_node(tree, leaf, edge, n, value, terminal)
                    assert node == n
                    ends.append(0)
                    if not terminal:
                        assert kernels.expand_node(tree, node, actions, priors) == kernels.OK
            ends[node] += 1
            values[i] = tree.node_value[node]
        assert kernels.backup_paths(tree, paths[:count], lens[:count], edges[:count], values, count,
                                    virtual_loss) == kernels.OK
        done += count
    return tree, np.array(ends)
