"""Evaluators: a batch of states -> prior logits over each state's legal actions, and values.

The search receives an evaluator the way mctx receives ``recurrent_fn``, so it can be tested with a fake
one. An evaluator is any object with

``bind(dataset, space) -> evaluator``
    returns an evaluator for one search (precomputes what depends on the data only), and

``__call__(states, fits, legal) -> (logits, values)``
    ``states`` [B] CRNs, ``fits`` [B] their ``FitResult``, ``legal`` [B] int arrays of legal actions [A_b];
    returns ``logits`` [B] float64 arrays [A_b] and ``values`` float64 [B] (NaN where the evaluator has no
    value estimate: the search then uses the state's reward alone),

and optionally ``search_settings``, a dict of the ``SearchConfig`` settings it is meant to be searched with
(``search_settings(evaluator)`` reads it).

Two evaluators need no training: ``UniformEvaluator`` (equal priors) and ``ScoreTestEvaluator`` (the
score test: how much of the remaining misfit each candidate reaction could explain, to first order).
"""
from __future__ import annotations

import dataclasses
from typing import Any, Protocol, Sequence

import numpy as np

from mcts_crn.crn import ActionSpace, Crn
from mcts_crn.data import Dataset
from mcts_crn.fit import FitResult


class Evaluator(Protocol):
    def bind(self, dataset: Dataset, space: ActionSpace) -> "Evaluator": ...

    def __call__(self, states: Sequence[Crn], fits: Sequence[FitResult],
                 legal: Sequence[np.ndarray]) -> tuple[list[np.ndarray], np.ndarray]: ...


def search_settings(evaluator: Evaluator) -> dict[str, Any]:
    """The ``SearchConfig`` settings ``evaluator`` is meant to be searched with (its ``search_settings``: a
    learned prior's playout depth, chosen with its checkpoint); {} for one without. A caller building the
    search's config gives its own explicit settings precedence over these."""
    return dict(getattr(evaluator, "search_settings", None) or {})


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


def regression_fit(dataset: Dataset, space: ActionSpace, *, threshold: float = 0.05,
                   rounds: int = 5) -> tuple[np.ndarray, float]:
    """How much each candidate reaction over the observed species explains the changes in the data.

    Each observed series is smoothed by a penalized cubic spline with the penalty chosen by generalized
    cross-validation (``scipy.interpolate.make_smoothing_spline``), giving amounts ``x(t)`` and slopes
    ``x'(t)`` at the observation times. Mass action makes the slopes linear in the rate constants,

        x'(t) = sum_j k_j N_j m_j(x(t)),      m_j = prod_i x_i^{a_ji},

    so non-negative least squares (``scipy.optimize.nnls``) over the candidates that touch observed
    species only, with each species' rows scaled by its changes' spread, estimates every ``k_j`` at once;
    candidates whose share of the fitted slopes falls below ``threshold`` are dropped and the rest refitted,
    a few rounds (the sequentially thresholded least squares of SINDy: Brunton, Proctor & Kutz 2016 PNAS
    113:3932; for reaction networks: Hoffmann, Frohner & Noe 2019 J Chem Phys 150:025101).

    For unevenly spaced observations the splines and the quadrature use the observation index as their
    coordinate (times mapped piecewise linearly), which resolves every decade of log-spaced ones; evenly
    spaced ones use time (the same up to scale, but GCV and the grid differ slightly, and the searches'
    paths with them: SEIR was missed on two seeds with the index grid and found with the time grid).

    Returns
    -------
    shares : np.ndarray, float64 [K]
        Each candidate's share of the fitted changes (``|A_j k_j| / sum_l |A_l k_l|``), 0 for candidates
        that touch latent species or were dropped. All zero when no series has 4 or more points.
    explained : float
        Fraction of the scaled changes' sum of squares the last fit explains (its R^2; 0 when nothing was
        fitted). Low where the data are not a sparse mass-action regression over the observed species:
        an unmeasured species drives them, or a stiff network's fast and slow terms cancel in its integrals
        (Robertson: 0.13 against 0.89 to 0.998 for the other examples but the non-identifiable tumour-immune
        model, 0.47).
    """
    from scipy.interpolate import make_smoothing_spline
    from scipy.optimize import nnls

    num_observed = len(dataset.species)
    k_all = space.num_reaction_actions
    usable = np.flatnonzero(space._needs_species <= num_observed)
    reactants = space.reactants[usable, :num_observed].astype(np.float64)
    net = (space.products[usable, :num_observed] - space.reactants[usable, :num_observed]).astype(np.float64)
    rows, targets = [], []
    for experiment in dataset.experiments:
        times = experiment.times
        if np.allclose(np.diff(times), (times[-1] - times[0]) / (len(times) - 1), rtol=1e-6):
            steps = times  # evenly spaced: smoothing and quadrature in time
            u = grid = np.linspace(times[0], times[-1], 20 * len(times))
        else:
            # in the observation index u (times[u] = t): resolves every decade of log-spaced times
            steps = np.arange(len(times), dtype=np.float64)
            u = np.linspace(0.0, len(times) - 1.0, 20 * (len(times) - 1) + 1)
            grid = np.interp(u, steps, times)
        smooth = np.full((len(grid), num_observed), np.nan)
        for i in range(num_observed):
            ok = np.isfinite(experiment.values[:, i])
            if ok.sum() >= 4:
                spline = make_smoothing_spline(steps[ok], experiment.values[ok, i])
                smooth[:, i] = np.maximum(spline(u), 0.0)
        if not np.isfinite(smooth).all():
            continue
        monomials = np.prod(smooth[:, None, :] ** reactants[None, :, :], axis=2)        # [G, K_obs]
        integral = np.concatenate([np.zeros((1, len(usable))), np.cumsum(
            0.5 * (monomials[1:] + monomials[:-1]) * np.diff(grid)[:, None], axis=0)])
        at_times = np.array([np.interp(times, grid, integral[:, j]) for j in range(len(usable))]).T  # [T, K_obs]
        rows.append(at_times[:, None, :] * net.T[None, :, :])                                      # [T, O, K_obs]
        targets.append(experiment.values - smooth[0][None, :])                                     # [T, O]
    weights = np.zeros(k_all)
    if not rows:
        return weights, 0.0
    design = np.concatenate(rows)
    target = np.concatenate(targets)
    design = np.where(np.isfinite(target)[:, :, None], design, 0.0)
    spread = np.nanstd(target, axis=0)
    scale = np.where(np.isfinite(spread) & (spread > 0), 1.0 / np.where(spread > 0, spread, 1.0), 0.0)
    design = (design * scale[None, :, None]).reshape(-1, len(usable))
    target = np.nan_to_num(target * scale[None, :]).reshape(-1)
    active = np.ones(len(usable), dtype=bool)
    share = np.zeros(len(usable))
    explained = 0.0
    for _ in range(rounds):
        if not active.any():
            break
        rates, _ = nnls(design[:, active], target, maxiter=50 * len(usable))
        contribution = np.zeros(len(usable))
        contribution[active] = np.linalg.norm(design[:, active] * rates[None, :], axis=0)
        total = contribution.sum()
        if total <= 0:
            break
        share = contribution / total
        explained = 1.0 - float(np.sum((design[:, active] @ rates - target) ** 2)) / max(float(target @ target), 1e-300)
        keep = share >= threshold
        if (keep == active).all():
            break
        active = keep
    weights[usable] = share
    return weights, max(explained, 0.0)


def regression_confidence(explained: float) -> float:
    """Weight of the regression's shares in the heuristic prior given its ``R^2``: 1 from 0.8 up, 0 at 0.5
    and below, linear between."""
    return min(1.0, max(0.0, (explained - 0.5) / 0.3))


def candidate_gradients(crn: Crn, fit: FitResult, reactants: np.ndarray, products: np.ndarray,
                        dataset: Dataset, columns: np.ndarray, sigmas: list, *, epsilon: float = 1e-8,
                        grouped: bool | None = None, rtol: float | None = None,
                        atol: float | None = None) -> list[np.ndarray | None]:
    """Per experiment, ``g[t, o, j] = d y_hat[t, o] / d k_j / sigma[t, o]`` at ``k_j = 0`` for candidate
    reactions ``j`` (``reactants``, ``products`` [J, S]) added to the fitted ``crn`` (None where the
    simulation failed; 0 where sigma is missing).

    A candidate enters the sensitivity equations only through its forcing ``nu_j m_j(x(t))``
    (stoichiometry times monomial), so at ``k_j = 0`` its sensitivity is ``sum_i nu_ji w_ci`` where
    ``w_ci`` is that of a pseudo-reaction ``c -> c + e_i`` (its complex ``c`` making one ``i``). With
    ``grouped`` (default: when there are fewer complex-species pairs than candidates, as with every
    network of three species or more) the simulation carries the C x S pseudo-reactions of the C distinct
    reactant complexes instead of the J candidates: 168 in place of 756 for six species. ``rtol`` and
    ``atol`` override the simulator's tolerances (the tests compare the two forms at a vanishing
    ``epsilon`` and tight tolerances)."""
    from mcts_crn.simulate import simulate_batch

    s = crn.num_species
    nets = (products - reactants).astype(np.float64)
    complexes, inverse = np.unique(reactants, axis=0, return_inverse=True)
    inverse = inverse.reshape(-1)
    if grouped is None:
        grouped = len(complexes) * s < len(reactants)
    if grouped:
        extra_reactants = np.repeat(complexes, s, axis=0)
        extra_products = extra_reactants + np.tile(np.eye(s, dtype=np.int32), (len(complexes), 1))
    else:
        extra_reactants, extra_products = reactants, products
    extended = Crn(crn.species, crn.latent, np.vstack([crn.reactants, extra_reactants]),
                   np.vstack([crn.products, extra_products]))
    rates = np.concatenate([fit.rates, np.full(len(extra_reactants), epsilon)])
    run = simulate_batch(extended, rates, fit.x0, [e.times for e in dataset.experiments], sensitivities=True,
                         rtol=rtol, atol=atol)
    out: list[np.ndarray | None] = []
    for e, experiment in enumerate(dataset.experiments):
        if run.status[0, e] != 0:
            out.append(None)
            continue
        # d y / d k = (d y / d log k) / k, weighted by 1 / sigma
        sens = run.sensitivities[0, e, :experiment.num_times][:, columns, crn.num_reactions:] / epsilon
        if grouped:
            pairs = sens.reshape(sens.shape[0], sens.shape[1], len(complexes), s)
            sens = np.einsum("tojs,js->toj", pairs[:, :, inverse, :], nets)
        weights = np.where(np.isfinite(sigmas[e]), 1.0 / sigmas[e], 0.0)
        out.append(sens * weights[:, :, None])
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

    and the prior of reaction ``j`` is proportional to ``floor + Delta_j / L + w_reg c_j``: the fraction of
    the remaining misfit that reaction could explain, plus its share ``c_j`` of the data's slopes in a sparse
    non-negative regression over all candidates (``regression_fit``, computed once per data set; it
    sees past the first order of the score test where the data show every species), scaled by
    ``min(1, max(0, (R^2 - 0.5) / 0.3))`` with ``R^2`` the share of the data's changes that regression
    explains: in full where it explains 80% or more (every example but two: 0.89 to 0.998), not at all
    where it explains half or less (Robertson's stiff network, whose fast and slow terms cancel in the
    integrals: 0.13, where the regression would only mislead). ``ADD_LATENT`` gets ``floor + latent_weight
    * u`` with ``u = 1 - max_j Delta_j / L`` (misfit no single reaction explains suggests an unmeasured
    species); ``STOP`` gets ``floor + stop_weight / (1 + L / N)`` (high once the misfit is at the noise
    level, ``L / N ~ 1``).
    Reference: Rao CR (1948) Proc Camb Phil Soc 44:50-57 (score test).
    """

    floor: float = 0.02
    latent_weight: float = 0.3
    stop_weight: float = 0.5
    epsilon: float = 1e-8
    regression_weight: float = 2.0

    def bind(self, dataset: Dataset, space: ActionSpace) -> "_BoundScoreTest":
        if self.regression_weight > 0:
            shares, explained = regression_fit(dataset, space)
            weights = shares * regression_confidence(explained)
        else:
            weights = np.zeros(0)
        return _BoundScoreTest(self, dataset, space, dataset.sigmas(), weights)

    def __call__(self, states, fits, legal):  # pragma: no cover - only the bound form is called
        raise TypeError("bind(dataset, space) first")


@dataclasses.dataclass(frozen=True)
class _BoundScoreTest:
    config: ScoreTestEvaluator
    dataset: Dataset
    space: ActionSpace
    sigmas: list
    regression: np.ndarray

    def __call__(self, states, fits, legal):
        logits = [self._logits(crn, fit, actions) for crn, fit, actions in zip(states, fits, legal)]
        return logits, np.full(len(states), np.nan)

    def bind(self, dataset, space):
        return self.config.bind(dataset, space)

    def _logits(self, crn: Crn, fit: FitResult, actions: np.ndarray) -> np.ndarray:
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
            gradients = candidate_gradients(crn, fit, space.reactants[reaction_actions, :s],
                                            space.products[reaction_actions, :s], self.dataset, columns,
                                            self.sigmas, epsilon=cfg.epsilon)
            dot, norm2 = np.zeros(len(reaction_actions)), np.zeros(len(reaction_actions))
            for r, g in zip(residuals, gradients):
                if g is not None:
                    dot += np.einsum("to,toj->j", r, g)
                    norm2 += np.einsum("toj,toj->j", g, g)
            with np.errstate(invalid="ignore", divide="ignore"):
                delta = np.where(norm2 > 0, np.maximum(dot, 0.0) ** 2 / norm2, 0.0)
            delta = np.nan_to_num(np.minimum(delta / loss, 1.0))
        prior = np.full(len(actions), cfg.floor)
        prior[actions < space.num_reaction_actions] += delta
        if len(self.regression):
            prior[actions < space.num_reaction_actions] += cfg.regression_weight * self.regression[reaction_actions]
        explained = float(delta.max()) if len(delta) else 0.0
        prior[actions == space.ADD_LATENT] += cfg.latent_weight * (1.0 - explained)
        prior[actions == space.STOP] += cfg.stop_weight / (1.0 + loss / max(fit.num_points, 1))
        return np.log(prior)


PRIORS = {"uniform": UniformEvaluator, "heuristic": ScoreTestEvaluator}
"""Evaluator factories by command-line name (``learned`` is added by ``mcts_crn.model`` when available)."""
