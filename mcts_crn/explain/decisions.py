"""Why the search chose what it chose: the decisions along the best network's path, and the tree itself.

``export_tree`` turns a finished search into plain data (JSON-ready): nodes with their network, reward,
visits, mean and best values, and edges with the action, prior and statistics. ``decision_report`` walks
that data from the root to the best network and, at every step, lists the top actions by visits with their
priors and values, marking the one taken. The same data go to GraphViz with ``to_dot``. Everything here
reads the exported data, so a report can be rebuilt from ``tree.json`` without re-running the search.
"""
from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import numpy as np

TREE_SCHEMA_VERSION = 1


def _finite(value: float) -> float | None:
    value = float(value)
    return value if math.isfinite(value) else None


def export_tree(result, *, max_nodes: int = 300) -> dict[str, Any]:
    """The search tree as plain data, pruned to the ``max_nodes`` most visited nodes.

    The path from the root to the best network is always kept, so the decision report can be rebuilt.

    Parameters
    ----------
    result : SearchResult
    max_nodes : int

    Returns
    -------
    dict
        ``{"schema_version", "best_key", "nodes": [...], "edges": [...]}``; node ids are the tree's.
    """
    tree, states, space = result.tree, result.states, result.space
    num_nodes = int(tree.node_count[0])
    rewards = {row["key"]: row["reward"] for row in result.trace}
    keep = set(np.argsort(-tree.visits[:num_nodes], kind="stable")[:max_nodes].tolist())
    path = best_path_nodes(result)
    keep.update(path)
    keep.add(0)
    nodes = []
    for n in sorted(keep):
        crn = states[tree.state[n]]
        key = crn.canonical_key()
        visits = int(tree.visits[n])
        nodes.append({
            "id": int(n), "parent": int(tree.parent[n]), "depth": int(tree.depth[n]),
            "reactions": crn.reactions_text(), "latent": list(crn.latent_species), "key": key,
            "terminal": bool(tree.terminal[n]), "reward": _finite(rewards.get(key, float("nan"))),
            "value": _finite(tree.node_value[n]), "visits": visits,
            "mean": _finite(tree.value_sum[n] / visits) if visits else None,
            "best": _finite(tree.best_value[n]) if visits else None,
        })
    edges = []
    for n in sorted(keep):
        if not tree.expanded[n]:
            continue
        start, count = int(tree.edge_start[n]), int(tree.num_edges[n])
        for e in range(start, start + count):
            child = int(tree.edge_child[e])
            visits = int(tree.edge_visits[e])
            if visits == 0 and child not in keep:
                continue
            edges.append({
                "source": int(n), "target": child if child in keep else None,
                "action": space.describe(int(tree.edge_action[e])), "prior": float(tree.edge_prior[e]),
                "visits": visits, "mean": _finite(tree.edge_value_sum[e] / visits) if visits else None,
                "best": _finite(tree.edge_best[e]) if visits else None,
            })
    return {"schema_version": TREE_SCHEMA_VERSION, "best_key": None if result.best is None else result.best.key,
            "best_path": path, "nodes": nodes, "edges": edges}


def best_path_nodes(result) -> list[int]:
    """Node ids from the root to the node of the best network (empty without a best network).

    A best network found by a playout or by polishing (not a tree node) ends the path at its deepest
    ancestor in the tree: the deepest node whose reactions are all in the best network (the root where
    no other node is; latent species by index, as the action space numbers them)."""
    if result.best is None:
        return []
    tree, states = result.tree, result.states
    target = None
    for n in range(int(tree.node_count[0])):
        if not tree.terminal[n] and states[tree.state[n]].canonical_key() == result.best.key:
            target = n
            break
    if target is None:  # a node is on a build path of the best network if its edits are among the best's
        best, space = result.best.crn, result.space
        edits = set(space.reaction_actions(best).tolist())
        ancestors = [n for n in range(int(tree.node_count[0])) if not tree.terminal[n]
                     and states[tree.state[n]].num_latent <= best.num_latent
                     and edits.issuperset(space.reaction_actions(states[tree.state[n]]).tolist())]
        target = max(ancestors, key=lambda n: (int(tree.depth[n]), -n), default=0)
    path = [target]
    while tree.parent[path[-1]] >= 0:
        path.append(int(tree.parent[path[-1]]))
    return path[::-1]


def decision_report(exported: dict[str, Any], *, top: int = 5) -> list[dict[str, Any]]:
    """The decisions along the best path: for each node, its top actions by visits and the one taken.

    Returns
    -------
    list of dict
        One per step: ``node``, ``reactions`` (the network before the step), ``taken`` (action text or
        None at the end), ``actions`` (top ``top`` rows: action, visits, prior, mean, best, taken),
        ``at_best`` (whether the node is the best network's; the path ends short of it, at its deepest
        ancestor in the tree, where a playout or polishing found it).
    """
    edges_by_source: dict[int, list[dict]] = {}
    for edge in exported["edges"]:
        edges_by_source.setdefault(edge["source"], []).append(edge)
    nodes = {node["id"]: node for node in exported["nodes"]}
    path = exported["best_path"]
    steps = []
    for i, n in enumerate(path):
        nxt = path[i + 1] if i + 1 < len(path) else None
        rows = sorted(edges_by_source.get(n, []), key=lambda e: (-e["visits"], -e["prior"]))
        taken = next((e["action"] for e in rows if nxt is not None and e["target"] == nxt), None)
        shown = rows[:top]
        if taken is not None and all(e["action"] != taken for e in shown):
            shown.append(next(e for e in rows if e["action"] == taken))
        steps.append({
            "node": n, "reactions": nodes[n]["reactions"], "reward": nodes[n]["reward"],
            "visits": nodes[n]["visits"], "taken": taken, "at_best": nodes[n]["key"] == exported["best_key"],
            "actions": [{**{k: e[k] for k in ("action", "visits", "prior", "mean", "best")},
                         "taken": e["action"] == taken} for e in shown],
        })
    return steps


def format_decisions(steps: list[dict[str, Any]]) -> str:
    """The decision report as text, one block per step."""
    def num(v, fmt=".3f"):
        return "-" if v is None else format(v, fmt)

    lines = []
    for i, step in enumerate(steps):
        network = "; ".join(step["reactions"]) or "(no reactions)"
        lines.append(f"step {i}: {network}   reward {num(step['reward'], '.4f')}, {step['visits']} visits")
        if not step["actions"]:
            lines.append("    (leaf)")
        for row in step["actions"]:
            mark = "->" if row["taken"] else "  "
            lines.append(f"  {mark} {row['action']:28s} visits {row['visits']:5d}  prior {row['prior']:.3f}  "
                         f"mean {num(row['mean'])}  best {num(row['best'])}")
    if steps and not steps[-1]["at_best"]:
        lines.append("  (the best network is not in the tree: a playout or polishing found it from this one)")
    return "\n".join(lines)


def to_dot(exported: dict[str, Any]) -> str:
    """GraphViz dot of the exported tree; the best path is drawn bold."""
    on_path = set(exported["best_path"])
    path_edges = set(zip(exported["best_path"], exported["best_path"][1:]))
    lines = ["digraph search {", '  node [shape=box, fontsize=9];']
    for node in exported["nodes"]:
        label = "\\n".join(node["reactions"][-3:]) or "start"
        label += f"\\nN={node['visits']} r={node['reward'] if node['reward'] is not None else float('nan'):.3f}"
        style = ", style=bold, color=red" if node["id"] in on_path else ""
        lines.append(f'  n{node["id"]} [label="{label}"{style}];')
    for edge in exported["edges"]:
        if edge["target"] is None:
            continue
        style = ", style=bold, color=red" if (edge["source"], edge["target"]) in path_edges else ""
        lines.append(f'  n{edge["source"]} -> n{edge["target"]} [label="{edge["action"]}\\nN={edge["visits"]}"{style}];')
    lines.append("}")
    return "\n".join(lines) + "\n"


def write_tree(exported: dict[str, Any], path: str | Path) -> Path:
    path = Path(path)
    path.write_text(json.dumps(exported, indent=1, allow_nan=False) + "\n")
    return path


def load_tree(path: str | Path) -> dict[str, Any]:
    """Read ``tree.json``; ValueError naming the file for another schema."""
    data = json.loads(Path(path).read_text())
    if data.get("schema_version") != TREE_SCHEMA_VERSION:
        raise ValueError(f"{path}: tree schema_version {data.get('schema_version')!r}, expected {TREE_SCHEMA_VERSION}")
    return data


def plot_decisions(steps: list[dict[str, Any]], path: str | Path) -> Path:
    """One bar chart per decision: visits of the top actions, the taken one highlighted."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    steps = [s for s in steps if s["actions"]]
    fig, axes = plt.subplots(max(1, len(steps)), 1, figsize=(7, 1.9 * max(1, len(steps))), squeeze=False)
    for ax, step in zip(axes[:, 0], steps):
        rows = step["actions"]
        ax.barh(range(len(rows)), [r["visits"] for r in rows],
                color=["tab:red" if r["taken"] else "tab:gray" for r in rows])
        ax.set_yticks(range(len(rows)))
        ax.set_yticklabels([r["action"] for r in rows], fontsize=7)
        ax.invert_yaxis()
        ax.set_xlabel("visits", fontsize=8)
        ax.set_title("; ".join(step["reactions"]) or "start", fontsize=8)
    fig.tight_layout()
    path = Path(path)
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path
