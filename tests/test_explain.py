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


def test_a_best_network_outside_the_tree_ends_the_path_at_its_deepest_ancestor(result):
    import dataclasses

    from mcts_crn import Crn
    from mcts_crn.explain import best_path_nodes
    from mcts_crn.search.run import Candidate

    tree, states = result.tree, result.states
    nodes = [n for n in range(int(tree.node_count[0])) if not tree.terminal[n]]
    deepest = max(nodes, key=lambda n: (int(tree.depth[n]), -n))
    crn = states[tree.state[deepest]]
    in_tree = {states[tree.state[n]].canonical_key() for n in nodes}
    extra = next(text for text in ("M -> 0", "D -> 0", "0 -> M", "0 -> D", "M -> D", "D -> M")
                 if text not in crn.reactions_text())
    best = Crn.from_text("\n".join([*crn.reactions_text(), extra]), species=list(crn.species),
                         observed=list(crn.observed_species))
    assert best.canonical_key() not in in_tree  # found by polishing, say: not a tree node
    outside = dataclasses.replace(result, best=Candidate(best, result.best.fit, 0.0, best.canonical_key(), 1))
    path = best_path_nodes(outside)
    assert path[0] == 0 and path[-1] == deepest
    assert all(int(tree.parent[b]) == a for a, b in zip(path, path[1:]))
    steps = decision_report(export_tree(outside))
    assert [step["node"] for step in steps] == path and not any(step["at_best"] for step in steps)
    assert "the best network is not in the tree" in format_decisions(steps)
    assert decision_report(export_tree(result))[-1]["at_best"]
    # a network of reactions that no node below the root has: no node is on the way to it, so the root alone
    used = {text for n in nodes[1:] for text in states[tree.state[n]].reactions_text()}
    unused = [text for text in ("D -> 0", "0 -> M", "0 -> D", "D -> M", "2 D -> 0", "M + D -> 2 D") if text not in used]
    assert len(unused) >= 2
    elsewhere = Crn.from_text("\n".join(unused[:2]), species=["M", "D"], observed=["M", "D"])
    assert best_path_nodes(dataclasses.replace(result, best=Candidate(
        elsewhere, result.best.fit, 0.0, elsewhere.canonical_key(), 1))) == [0]


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


# ------------------------------------------------------------------ attributions through the learned prior
def _tiny_model(seed: int):
    torch = pytest.importorskip("torch")
    from mcts_crn.config import ModelConfig
    from mcts_crn.model import CrnGnn

    torch.manual_seed(seed)  # a fresh random model (no skip: the policy head is not zero at the start)
    return CrnGnn(ModelConfig(hidden=8, num_layers=1, grid_points=4, heuristic_skip=False))


def test_policy_attributions_are_complete_and_add_up_by_species():
    from mcts_crn.crn import ActionSpace
    from mcts_crn.explain.attribution import format_attributions, policy_attributions
    from mcts_crn.fit import fit_rates

    data = EXAMPLES["dimerisation"].make_dataset(noise=0.05, rng=2)
    space = ActionSpace(data.species, max_latent=1, max_order=2, max_reactions=3)
    start = space.initial_state()
    with_latent = space.apply(start, space.ADD_LATENT)
    # at the latent state no fit: the latent species X1 has only its flags, which the baseline keeps
    reaction = space.encode_reaction(np.array([0, 1, 0]), np.array([0, 0, 1]))  # D -> X1
    states, fits = [start, with_latent], [fit_rates(start, data, rng=0), None]
    rows = policy_attributions(_tiny_model(0), data, space, states, fits, [int(np.flatnonzero(
        space.legal_mask(start))[0]), reaction], steps=64, num_windows=2)
    assert [r["step"] for r in rows] == [0, 1]
    for row in rows:
        for part in (row["chosen"], row["alternative"]):
            # completeness: the parts add up to log p(x) - log p(baseline)
            assert part["total"] == pytest.approx(part["log_prob"] - part["baseline_log_prob"], abs=1e-4)
            assert sum(part["species"].values()) == pytest.approx(part["species_total"], abs=1e-12)
            assert sum(part["groups"].values()) == pytest.approx(part["species_total"], abs=1e-12)
            assert part["groups"]["flags"] == 0.0 and 0.0 < part["probability"] <= 1.0
            assert sum(part["windows"].values()) == pytest.approx(
                sum(sum(w.values()) for w in part["species_windows"].values()), abs=1e-12)
        assert row["contrast"]["total"] == pytest.approx(
            row["contrast"]["log_ratio"] - row["contrast"]["baseline_log_ratio"], abs=2e-4)
    # the data moved the policy at the start state, through both species
    assert abs(rows[0]["chosen"]["species"]["M"]) > 1e-6 and abs(rows[0]["chosen"]["species"]["D"]) > 1e-6
    latent = rows[1]["chosen"]
    assert latent["species"]["X1"] == 0.0 and set(latent["species_windows"]["X1"].values()) == {0.0}
    assert latent["other"]["reaction fits"] == 0.0 and latent["reactions"] == {}  # no reactions yet
    text = format_attributions(rows)
    assert "D -> X1" in text and "species:" in text and "data moved" in text


def _tiny_checkpoints(folder, iterations):
    from mcts_crn.model import save_checkpoint

    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for k, iteration in enumerate(iterations):
        path = folder / f"iter_{iteration:04d}.pt"
        save_checkpoint(path, _tiny_model(k), iteration=iteration)
        paths.append(path)
    return paths


def test_probe_table_has_a_row_per_checkpoint_in_iteration_order(tmp_path):
    from mcts_crn.explain.learning import (format_probe_table, make_probe_tasks, plot_probe_table, probe_priors,
                                           score_true_edits)

    later, earlier = _tiny_checkpoints(tmp_path, [5, 0])
    tasks = make_probe_tasks(["dimerisation"], states_per_task=2)
    assert [s.step for s in tasks[0].states] == [0, 1] and tasks[0].states[0].toward.sum() == 2
    rows = probe_priors([later, earlier], tasks)
    assert [r["iteration"] for r in rows] == [0, 5] and [r["checkpoint"] for r in rows] == [str(earlier), str(later)]
    for row in rows:
        assert len(row["probes"]) == 2
        for probe in row["probes"]:
            assert 0.0 <= probe["p_true"] <= 1.0 and 0.0 < probe["value"] < 1.0
            assert probe["top"] in (0.0, 1.0) and probe["rank"] >= 1
        assert row["mean_p_true"] == pytest.approx(np.mean([p["p_true"] for p in row["probes"]]))
    assert rows[0]["probes"][0]["p_true"] != rows[1]["probes"][0]["p_true"]  # two different models
    text = format_probe_table(rows)
    assert "dimerisation@1" in text and "2 M -> D" in text
    assert plot_probe_table(rows, tmp_path / "learning.png").stat().st_size > 0
    assert score_true_edits(np.array([0.5, 0.3, 0.2]), np.array([False, True, True])) == {
        "mass": pytest.approx(0.5), "top": 0.0, "rank": 2.0}


def test_explain_cli_learning(tmp_path, capsys):
    from mcts_crn.explain.__main__ import main

    _tiny_checkpoints(tmp_path / "run" / "checkpoints", [0, 1])
    assert main(["--learning", str(tmp_path / "run"), "--probes", "dimerisation", "--probe-states", "1"]) == 0
    text = (tmp_path / "run" / "learning.txt").read_text()
    assert text.count("\n") > 5 and "dimerisation@0" in text
    assert (tmp_path / "run" / "learning.png").stat().st_size > 0
    assert [r["iteration"] for r in json.loads((tmp_path / "run" / "learning.json").read_text())] == [0, 1]
    assert "dimerisation@0" in capsys.readouterr().out


def test_search_cli_writes_attributions_with_the_learned_prior(tmp_path, capsys):
    pytest.importorskip("torch")
    from mcts_crn.explain.__main__ import main as explain_main
    from mcts_crn.search.__main__ import main as search_main

    out = tmp_path / "out"
    common = ["--example", "dimerisation", "--explain", "--out", str(out), "--quiet"]
    assert search_main([*common, "--prior", "learned", "--simulations", "20"]) == 0
    text = (out / "attributions.txt").read_text()
    assert "step 0: (no reactions)" in text and "species:" in text
    document = json.loads((out / "attributions.json").read_text())
    decisions = document["decisions"]
    tree = load_tree(out / "tree.json")
    # one decision per step of the best path, and STOP at its end where the path reaches the best network (it
    # ends at the best network's deepest ancestor in the tree where polishing found it)
    end = next(node for node in tree["nodes"] if node["id"] == tree["best_path"][-1])
    steps = len(tree["best_path"]) - (end["key"] != tree["best_key"])
    assert len(decisions) == steps >= 1 and (out / "attributions.png").stat().st_size > 0
    for row in decisions:
        assert set(row["chosen"]["species"]) == {"M", "D"}
    capsys.readouterr()
    assert explain_main([str(out)]) == 0
    assert "Which data drove the learned policy" in capsys.readouterr().out
    # another prior: no attributions (those of the earlier run are removed), and the report says why
    assert search_main([*common, "--prior", "uniform", "--simulations", "5"]) == 0
    assert not (out / "attributions.txt").exists()
    capsys.readouterr()
    assert explain_main([str(out)]) == 0
    assert "need the learned prior" in capsys.readouterr().out
