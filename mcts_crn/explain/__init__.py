"""Explaining a search: decision reports, tree export (JSON, GraphViz), attributions through the model.

``mcts_crn.explain.attribution`` (integrated gradients of the learned policy, aggregated by species, feature
group and time window) and ``mcts_crn.explain.learning`` (the learned prior's policy and value on probe
states over training checkpoints) use torch and are imported on demand.
"""
from mcts_crn.explain.decisions import (best_path_nodes, decision_report, export_tree, format_decisions,
                                        load_tree, plot_decisions, to_dot, write_tree)

__all__ = ["best_path_nodes", "decision_report", "export_tree", "format_decisions", "load_tree", "plot_decisions",
           "to_dot", "write_tree"]
