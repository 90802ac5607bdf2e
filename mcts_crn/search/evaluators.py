"""Evaluators: a batch of states -> prior logits over each state's legal actions, and values.

The search receives an evaluator the way mctx receives ``recurrent_fn``, so it can be tested with a fake
one. An evaluator is any object with

``bind(dataset, space) -> evaluator``
    returns an evaluator for one search (precomputes what depends on the data only), and

``__call__(states, fits, legal) -> (logits, values)``
    ``states`` [B] CRNs, ``fits`` [B] their ``FitResult``, ``legal`` [B] int arrays of legal actions [A_b];
    returns ``logits`` [B] float64 arrays [A_b] and ``values`` float64 [B] (NaN where the evaluator has no
    value estimate: the search then uses the state's reward alone).

Two evaluators need no training: ``UniformEvaluator`` (equal priors) and ``ScoreTestEvaluator`` (the
score test: how much of the remaining misfit each candidate reaction could explain, to first order).
"""
from __future__ import annotations

import dataclasses
from typing import Protocol, Sequence

import numpy as np

from mcts_crn.crn import ActionSpace, Crn
from mcts_crn.data import Dataset
from mcts_crn.fit import FitResult


class Evaluator(Protocol):
    def bind(self, dataset: Dataset, space: ActionSpace) -> "Evaluator": ...

    def __call__(self, states: Sequence[Crn], fits: Sequence[FitResult],
                 legal: Sequence[np.ndarray]) -> tuple[list[np.ndarray], np.ndarray]: ...


@dataclasses.dataclass(frozen=True)
class UniformEvaluator:
    """Equal prior over the legal actions; no value estimate."""

    def bind(self, dataset: Dataset, space: ActionSpace) -> "UniformEvaluator":
        return self

    def __call__(self, states, fits, legal):
        return [np.zeros(len(a)) for a in legal], np.full(len(states), np.nan)


def _weighted_residuals(fit: FitResult, dataset: Dataset, columns: np.ndarray, sigmas: list[np.ndarray]):
    """Per experiment: weighted residuals ``(y - prediction) / sigma`` [T_x, O] with 0 where y is missing."""
    out = []
    for e, experiment in enumerate(dataset.experiments):
        predicted = fit.predictions[e][:, columns]
        r = (experiment.values - predicted) / sigmas[e]
        out.append(np.where(np.isfinite(r), r, 0.0))
    return out


@dataclasses.dataclass(frozen=True)
class ScoreTestEvaluator:
    """Prior from the score test of each candidate reaction; no value estimate.

    For a fitted state with weighted residuals ``r = (y - y_hat) / sigma`` (missing values left out) and a
    candidate reaction ``j`` not in the network, let ``g_j = d y_hat / d k_j / sigma`` at ``k_j = 0`` (the
    forward sensitivities of the state's ODEs extended by every candidate at a vanishing rate, one
    simulation per experiment for all candidates). The chi-square ``L = |r|^2`` falls, to first order and
    with ``k_j >= 0``, by at most

        Delta_j = max(0, r . g_j)^2 / |g_j|^2                     (Rao's score statistic)

    and the prior of reaction ``j`` is proportional to ``floor + Delta_j / L``: the fraction of the remaining
    misfit that reaction could explain. ``ADD_LATENT`` gets ``floor + latent_weight * u`` with ``u = 1 -
    max_j Delta_j / L`` (misfit no single reaction explains suggests an unmeasured species); ``STOP`` gets
    ``floor + stop_weight / (1 + L / N)`` (high once the misfit is at the noise level, ``L / N ~ 1``).
    Reference: Rao CR (1948) Proc Camb Phil Soc 44:50-57 (score test).
    """

    floor: float = 0.02
    latent_weight: float = 0.3
    stop_weight: float = 0.5
    epsilon: float = 1e-8

    def bind(self, dataset: Dataset, space: ActionSpace) -> "_BoundScoreTest":
        return _BoundScoreTest(self, dataset, space, dataset.sigmas())

    def __call__(self, states, fits, legal):  # pragma: no cover - only the bound form is called
        raise TypeError("bind(dataset, space) first")


@dataclasses.dataclass(frozen=True)
class _BoundScoreTest:
    config: ScoreTestEvaluator
    dataset: Dataset
    space: ActionSpace
    sigmas: list

    def __call__(self, states, fits, legal):
        logits = [self._logits(crn, fit, actions) for crn, fit, actions in zip(states, fits, legal)]
        return logits, np.full(len(states), np.nan)

    def bind(self, dataset, space):
        return self.config.bind(dataset, space)

    def _logits(self, crn: Crn, fit: FitResult, actions: np.ndarray) -> np.ndarray:
        from mcts_crn.simulate import simulate_batch

        cfg, space = self.config, self.space
        actions = np.asarray(actions, dtype=np.int64)
        if not fit.success or len(actions) == 0:
            return np.zeros(len(actions))
        columns = np.array([crn.species_index(s) for s in self.dataset.species])
        residuals = _weighted_residuals(fit, self.dataset, columns, self.sigmas)
        loss = max(sum(float((r ** 2).sum()) for r in residuals), 1e-300)
        reaction_actions = actions[actions < space.num_reaction_actions]
        delta = np.zeros(len(reaction_actions))
        if len(reaction_actions):
            s = crn.num_species
            extended = Crn(crn.species, crn.latent,
                           np.vstack([crn.reactants, space.reactants[reaction_actions, :s]]),
                           np.vstack([crn.products, space.products[reaction_actions, :s]]))
            rates = np.concatenate([fit.rates, np.full(len(reaction_actions), cfg.epsilon)])
            times = [e.times for e in self.dataset.experiments]
            run = simulate_batch(extended, rates, fit.x0, times, sensitivities=True)
            dot = np.zeros(len(reaction_actions))
            norm2 = np.zeros(len(reaction_actions))
            for e, experiment in enumerate(self.dataset.experiments):
                if run.status[0, e] != 0:
                    continue
                count = experiment.num_times
                # d y / d k_j = (d y / d log k_j) / k_j, weighted by 1 / sigma
                sens = run.sensitivities[0, e, :count][:, columns, crn.num_reactions:] / cfg.epsilon
                weights = np.where(np.isfinite(self.sigmas[e]), 1.0 / self.sigmas[e], 0.0)
                g = sens * weights[:, :, None]
                dot += np.einsum("to,toj->j", residuals[e], g)
                norm2 += np.einsum("toj,toj->j", g, g)
            with np.errstate(invalid="ignore", divide="ignore"):
                delta = np.where(norm2 > 0, np.maximum(dot, 0.0) ** 2 / norm2, 0.0)
            delta = np.nan_to_num(np.minimum(delta / loss, 1.0))
        prior = np.full(len(actions), cfg.floor)
        prior[actions < space.num_reaction_actions] += delta
        explained = float(delta.max()) if len(delta) else 0.0
        prior[actions == space.ADD_LATENT] += cfg.latent_weight * (1.0 - explained)
        prior[actions == space.STOP] += cfg.stop_weight / (1.0 + loss / max(fit.num_points, 1))
        return np.log(prior)


PRIORS = {"uniform": UniformEvaluator, "heuristic": ScoreTestEvaluator}
"""Evaluator factories by command-line name (``learned`` is added by ``mcts_crn.model`` when available)."""
