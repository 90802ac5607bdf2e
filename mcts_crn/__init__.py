"""mcts_crn: find chemical reaction network (mass-action ODE) models behind biological time series.

Importing this package pulls in no torch: the learned prior (``mcts_crn.model``, ``mcts_crn.learn``)
is imported only when asked for.
"""
from __future__ import annotations

__version__ = "0.1.0"

from mcts_crn.crn import Crn
from mcts_crn.data import Dataset, Experiment

__all__ = ["Crn", "Dataset", "Experiment", "__version__"]
