"""mcts_crn: find chemical reaction network (mass-action ODE) models behind biological time series.

Importing this package pulls in no torch: the learned prior (``mcts_crn.model``, ``mcts_crn.learn``)
is imported only when asked for.
"""
from __future__ import annotations

__version__ = "0.1.0"

from mcts_crn.crn import Crn
from mcts_crn.data import Dataset, Experiment
from mcts_crn.fit import FitResult, fit_rates
from mcts_crn.simulate import simulate
from mcts_crn.reward import reward  # the function; the module stays importable as mcts_crn.reward's members

__all__ = ["Crn", "Dataset", "Experiment", "FitResult", "__version__", "fit_rates", "reward", "simulate"]
