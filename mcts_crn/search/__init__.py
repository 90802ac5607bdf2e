"""Structure search over reaction networks: the tree, the evaluators, ``run_search`` and the CLI."""
from mcts_crn.search.evaluators import PRIORS, Evaluator, ScoreTestEvaluator, UniformEvaluator, search_settings
from mcts_crn.search.run import Candidate, SearchResult, run_search

__all__ = ["PRIORS", "Candidate", "Evaluator", "ScoreTestEvaluator", "SearchResult", "UniformEvaluator",
           "run_search", "search_settings"]
