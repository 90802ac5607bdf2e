"""The learned prior: a GNN over the species-reaction graph that scores edits (policy) and states (value).

This subpackage imports torch and torch-scatter; ``import mcts_crn`` does not import it.
"""
from mcts_crn.model.batch import GraphBatch, collate
from mcts_crn.model.checkpoint import export_checkpoint, load_model, read_checkpoint, save_checkpoint
from mcts_crn.model.evaluator import (
    DEFAULT_CHECKPOINT,
    BoundLearnedEvaluator,
    LearnedEvaluator,
    load_default_evaluator,
    load_evaluator,
)
from mcts_crn.model.features import FEATURE_VERSION, FeatureBuilder, StateFeatures
from mcts_crn.model.gnn import CrnGnn, ModelOutput, policy_value_loss
from mcts_crn.search.evaluators import PRIORS as _PRIORS

# the search's table of priors by command-line name (its docstring: "learned is added by mcts_crn.model")
_PRIORS.setdefault("learned", load_default_evaluator)

__all__ = [
    "DEFAULT_CHECKPOINT", "FEATURE_VERSION", "BoundLearnedEvaluator", "CrnGnn", "FeatureBuilder", "GraphBatch",
    "LearnedEvaluator", "ModelOutput", "StateFeatures", "collate", "export_checkpoint", "load_default_evaluator",
    "load_evaluator",
    "load_model", "policy_value_loss", "read_checkpoint", "save_checkpoint",
]
