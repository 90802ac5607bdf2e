"""Data designs: the same mechanism observed under other initial amounts, time spans, sampling and noise.

A study that only ever sees an example's own data set learns little about the data a user brings. A
`DataDesign` redraws everything a modeller chooses when planning an experiment (how much of each species
to start with, for how long and how often to sample, how many experiments) and what the instrument gives
(the noise level and whether it is relative or absolute), and makes the data set from the example's true
network and rates.
"""
from __future__ import annotations

import dataclasses

import numpy as np

from mcts_crn.data import Dataset
from mcts_crn.examples.library import ExampleModel


@dataclasses.dataclass(frozen=True)
class DesignRanges:
    """The ranges `random_design` draws from (log-uniform for factors and point counts, uniform for noise).

    Attributes
    ----------
    amount_factor : (float, float)
        Factor on each non-zero initial amount of the example, per experiment and species.
    span_factor : (float, float)
        Factor on the example's observation window ``t_end``.
    num_times : (int, int)
        Observation times per experiment (inclusive).
    num_experiments : (int, int)
        Experiments (inclusive); experiment e starts from the example's experiment ``e mod X`` times factors.
    noise : (float, float)
        Noise level (a fraction: of each value under relative noise, of each species' largest value under
        absolute noise).
    noise_models : tuple of str
        Noise models drawn with equal probability.
    """

    amount_factor: tuple[float, float] = (0.5, 2.0)
    span_factor: tuple[float, float] = (0.25, 4.0)
    num_times: tuple[int, int] = (8, 100)
    num_experiments: tuple[int, int] = (1, 3)
    noise: tuple[float, float] = (0.02, 0.10)
    noise_models: tuple[str, ...] = ("relative", "absolute")


@dataclasses.dataclass(frozen=True)
class DataDesign:
    """An example observed under one design: the model with the design's initial amounts, window and
    sampling, and the noise of its measurements."""

    model: ExampleModel
    noise: float
    noise_model: str

    def make_dataset(self, rng: np.random.Generator | int | None = None) -> Dataset:
        """The design's data set (`ExampleModel.make_dataset`), noise drawn from ``rng``."""
        return self.model.make_dataset(noise=self.noise, rng=rng, noise_model=self.noise_model)

    def describe(self) -> str:
        """One line: experiments, points, window and noise."""
        m = self.model
        return (f"{len(m.initial)} experiment(s) x {m.num_times} points over [0, {m.t_end:.3g}], "
                f"{self.noise:.1%} {self.noise_model} noise")


def _log_uniform(rng: np.random.Generator, low: float, high: float) -> float:
    return float(np.exp(rng.uniform(np.log(low), np.log(high))))


def random_design(model: ExampleModel, rng: np.random.Generator | int | None = None,
                  ranges: DesignRanges | None = None, *, max_tries: int = 20) -> DataDesign:
    """A design for ``model`` drawn from ``ranges`` whose noise-free trajectories can be simulated.

    Raises RuntimeError if ``max_tries`` draws all fail to simulate (a model that blows up under most
    designs).
    """
    rng = np.random.default_rng(rng)
    ranges = ranges or DesignRanges()
    for _ in range(max_tries):
        num_experiments = int(rng.integers(ranges.num_experiments[0], ranges.num_experiments[1] + 1))
        initial = tuple(
            {s: amount * _log_uniform(rng, *ranges.amount_factor)
             for s, amount in model.initial[e % len(model.initial)].items() if amount}
            for e in range(num_experiments))
        designed = dataclasses.replace(
            model, initial=initial, t_end=model.t_end * _log_uniform(rng, *ranges.span_factor),
            num_times=int(round(_log_uniform(rng, *ranges.num_times))))
        noise = float(rng.uniform(*ranges.noise))
        noise_model = str(ranges.noise_models[int(rng.integers(len(ranges.noise_models)))])
        try:
            designed.trajectories()
        except RuntimeError:
            continue
        return DataDesign(designed, noise, noise_model)
    raise RuntimeError(f"example {model.name!r}: no simulable design in {max_tries} draws")
