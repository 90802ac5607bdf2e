import json

import numpy as np
import pytest

from mcts_crn.config import SearchConfig
from mcts_crn.examples import EXAMPLES
from mcts_crn.explain import decision_report, export_tree, format_decisions, load_tree, to_dot, write_tree
from mcts_crn.search import run_search


@pytest.fixture(scope="module")
def result():
    data = EXAMPLES["dimerisation"].make_dataset(noise=0.05, rng=2)
    return run_search(data, config=SearchConfig(num_simulations=30, max_reactions=3), rng=0, progress=False)


def test_decision_report_visit_counts_equal_the_tree(result):
    exported = export_tree(result)
    steps = decision_report(exported, top=100)
    tree = result.tree
    assert steps[0]["node"] == 0 and steps[-1]["reactions"] == result.best.crn.reactions_text()
    for step in steps:
        n = step["node"]
        assert step["visits"] == tree.visits[n]
        start, count = tree.edge_start[n], tree.num_edges[n]
        by_action = {result.space.describe(int(tree.edge_action[e])): int(tree.edge_visits[e])
                     for e in range(start, start + count)}
        for row in step["actions"]:
            assert row["visits"] == by_action[row["action"]]
        if step["taken"] is not None:
            assert sum(r["taken"] for r in step["actions"]) == 1
    text = format_decisions(steps)
    assert text.count("->") >= len(steps) - 1


def test_exported_tree_reloads(result, tmp_path):
    exported = export_tree(result, max_nodes=10)
    path = write_tree(exported, tmp_path / "tree.json")
    again = load_tree(path)
    assert again == json.loads(json.dumps(exported))
    assert decision_report(again) == decision_report(exported)
    assert set(exported["best_path"]) <= {n["id"] for n in exported["nodes"]}
    dot = to_dot(again)
    assert dot.startswith("digraph") and dot.count("->") >= len(again["best_path"]) - 1
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps({**exported, "schema_version": 99}))
    with pytest.raises(ValueError, match="bad.json"):
        load_tree(bad)


def test_integrated_gradients_are_zero_for_unused_features():
    torch = pytest.importorskip("torch")
    from mcts_crn.explain.attribution import integrated_gradients

    weights = torch.tensor([0.0, 2.0, 0.0, 0.0])

    def model(x):  # uses only feature 1, non-linearly
        return torch.tanh((x * weights).sum()) ** 2

    x = torch.tensor([0.3, -0.7, 1.5, 2.0], dtype=torch.float64)
    attributions = integrated_gradients(model, x, steps=200)
    assert attributions[[0, 2, 3]].abs().max().item() == 0.0
    # completeness: attributions add up to f(x) - f(0)
    np.testing.assert_allclose(attributions.sum().item(), (model(x) - model(torch.zeros_like(x))).item(), rtol=1e-3)
