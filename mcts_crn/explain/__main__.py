"""``python -m mcts_crn.explain RESULT_DIR``: the decision report of a finished search.

Reads ``RESULT_DIR/tree.json`` (written by ``python -m mcts_crn.search ... --explain``), prints for every
step from the empty network to the best one the top actions with visits, priors, mean and best values,
and writes ``decisions.png`` and ``tree.dot`` beside it.
"""
from __future__ import annotations

import argparse
from pathlib import Path

from mcts_crn.explain.decisions import decision_report, format_decisions, load_tree, plot_decisions, to_dot


def write_explanation(exported: dict, out: Path, *, top: int = 5) -> str:
    """Write decisions.txt, decisions.png and tree.dot to ``out``; return the report text."""
    steps = decision_report(exported, top=top)
    text = format_decisions(steps)
    (out / "decisions.txt").write_text(text + "\n")
    plot_decisions(steps, out / "decisions.png")
    (out / "tree.dot").write_text(to_dot(exported))
    return text


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m mcts_crn.explain", description=__doc__.splitlines()[0])
    parser.add_argument("result_dir", type=Path, help="output folder of a search run with --explain")
    parser.add_argument("--top", type=int, default=5, help="actions shown per decision")
    args = parser.parse_args(argv)
    tree_file = args.result_dir / "tree.json"
    if not tree_file.exists():
        raise ValueError(f"{tree_file} not found: run the search with --explain --out {args.result_dir}")
    print(write_explanation(load_tree(tree_file), args.result_dir, top=args.top))
    print(f"\nwrote {args.result_dir}/decisions.txt, decisions.png, tree.dot")
    return 0


if __name__ == "__main__":
    from mcts_crn.cli import run

    run(main)
