"""Explaining a search: decision reports, tree export (JSON, GraphViz), attributions through the model."""
from mcts_crn.explain.decisions import (best_path_nodes, decision_report, export_tree, format_decisions,
                                        load_tree, plot_decisions, to_dot, write_tree)

__all__ = ["best_path_nodes", "decision_report", "export_tree", "format_decisions", "load_tree", "plot_decisions",
           "to_dot", "write_tree"]
