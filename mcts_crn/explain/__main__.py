"""``python -m mcts_crn.explain RESULT_DIR | --learning RUN_DIR``: why a search chose its network, or what the
learned prior learned.

``RESULT_DIR``: reads ``tree.json`` (written by ``python -m mcts_crn.search ... --explain``), prints for every
step from the empty network to the best one the top actions with visits, priors, mean and best values,
writes ``decisions.png`` and ``tree.dot`` beside it, and prints ``attributions.txt`` (which data features
drove the learned policy) when the search ran with ``--prior learned``.

``--learning RUN_DIR``: scores every checkpoint of a training run (``RUN_DIR/checkpoints/iter_*.pt``) on
probe states of built-in examples (``mcts_crn.explain.learning``) and writes ``learning.txt`` and
``learning.png`` to ``RUN_DIR`` (or ``--out``).
"""
from __future__ import annotations

import argparse
import json
from pathlib import Path

from mcts_crn.explain.decisions import decision_report, format_decisions, load_tree, plot_decisions, to_dot

ATTRIBUTIONS_NEED_LEARNED = ("attributions through the model need the learned prior: run the search with "
                             "--prior learned --explain")


def write_explanation(exported: dict, out: Path, *, top: int = 5) -> str:
    """Write decisions.txt, decisions.png and tree.dot to ``out``; return the report text."""
    steps = decision_report(exported, top=top)
    text = format_decisions(steps)
    (out / "decisions.txt").write_text(text + "\n")
    plot_decisions(steps, out / "decisions.png")
    (out / "tree.dot").write_text(to_dot(exported))
    return text


def write_attributions(model, result, dataset, out: Path, *, steps: int = 64) -> str:
    """Attributions of the learned policy along a search's best path: write attributions.txt, .json and .png
    to ``out``; return the text. The path's states are refitted (``best_path_decisions``)."""
    from mcts_crn.explain.attribution import (attributions_to_json, best_path_decisions, format_attributions,
                                              plot_attributions, policy_attributions)

    states, fits, actions = best_path_decisions(result, dataset)
    rows = policy_attributions(model, dataset, result.space, states, fits, actions, steps=steps)
    text = format_attributions(rows)
    (out / "attributions.txt").write_text(text + "\n")
    document = attributions_to_json(rows, steps=steps, baseline="data_blind_baseline",
                                    grid_points=model.config.grid_points)
    (out / "attributions.json").write_text(json.dumps(document, indent=1, allow_nan=False) + "\n")
    plot_attributions(rows, out / "attributions.png")
    return text


def write_learning(run_dir: Path, out: Path, *, probes: list[str], states_per_task: int, seed: int = 0) -> str:
    """Probe every checkpoint of a training run; write learning.txt, learning.json and learning.png to ``out``."""
    from mcts_crn.explain.learning import (format_probe_table, make_probe_tasks, plot_probe_table, probe_priors,
                                           run_checkpoints)

    checkpoints = run_checkpoints(run_dir)
    options = {}
    config_file = run_dir / "config.json"
    if config_file.exists():  # the action space of the run's self-play searches
        config = json.loads(config_file.read_text())
        options = {"max_order": config.get("task", {}).get("max_order", 2),
                   "extra_reactions": config.get("train", {}).get("extra_reactions", 2)}
    tasks = make_probe_tasks(probes, states_per_task=states_per_task, seed=seed, **options)
    rows = probe_priors(checkpoints, tasks)
    text = format_probe_table(rows)
    out.mkdir(parents=True, exist_ok=True)
    (out / "learning.txt").write_text(text + "\n")
    (out / "learning.json").write_text(json.dumps(rows, indent=1) + "\n")
    plot_probe_table(rows, out / "learning.png")
    return text


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m mcts_crn.explain", description=__doc__.splitlines()[0])
    parser.add_argument("result_dir", type=Path, nargs="?", help="output folder of a search run with --explain")
    parser.add_argument("--learning", type=Path, metavar="RUN_DIR",
                        help="a training run folder: probe its checkpoints instead")
    parser.add_argument("--out", type=Path, default=None, metavar="DIR",
                        help="--learning: output folder (default RUN_DIR)")
    parser.add_argument("--probes", default=",".join(("dimerisation", "lotka_volterra", "sir")),
                        help="--learning: comma-separated built-in examples to probe")
    parser.add_argument("--probe-states", type=int, default=3, metavar="N",
                        help="--learning: states per probe example along a true build path (default 3)")
    parser.add_argument("--top", type=int, default=5, help="actions shown per decision")
    args = parser.parse_args(argv)
    if (args.result_dir is None) == (args.learning is None):
        parser.error("give either RESULT_DIR or --learning RUN_DIR")
    if args.learning is not None:
        out = args.learning if args.out is None else args.out
        print(write_learning(args.learning, out, probes=[p for p in args.probes.split(",") if p],
                             states_per_task=args.probe_states))
        print(f"\nwrote {out}/learning.txt, learning.json, learning.png")
        return 0
    tree_file = args.result_dir / "tree.json"
    if not tree_file.exists():
        raise ValueError(f"{tree_file} not found: run the search with --explain --out {args.result_dir}")
    print(write_explanation(load_tree(tree_file), args.result_dir, top=args.top))
    attributions = args.result_dir / "attributions.txt"
    print()
    print(attributions.read_text().rstrip() if attributions.exists() else ATTRIBUTIONS_NEED_LEARNED)
    print(f"\nwrote {args.result_dir}/decisions.txt, decisions.png, tree.dot")
    return 0


if __name__ == "__main__":
    from mcts_crn.cli import run

    run(main)
