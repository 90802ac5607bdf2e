"""Data layer: experiments, data sets, noise levels, and the CSV and HDF5 files they live in.

The most upstream layer: it imports only numpy, h5py, the standard library and `mcts_crn.config`.
All h5py use of the package lives here.
"""
from mcts_crn.data.dataset import Dataset
from mcts_crn.data.experiment import DEFAULT_EXPERIMENT_NAME, Experiment
from mcts_crn.data.noise import NOISE_MODELS, estimate_noise

__all__ = ["DEFAULT_EXPERIMENT_NAME", "NOISE_MODELS", "Dataset", "Experiment", "estimate_noise"]
