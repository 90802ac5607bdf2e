"""Fitting rate constants (and unknown initial values) of a CRN to time-series data."""
from mcts_crn.fit.fit import fit_many, fit_rates
from mcts_crn.fit.optimize import OPTIMIZERS
from mcts_crn.fit.problem import FitProblem, match_species
from mcts_crn.fit.result import FitResult, fisher_uncertainty

__all__ = ["OPTIMIZERS", "FitProblem", "FitResult", "fisher_uncertainty", "fit_many", "fit_rates", "match_species"]
