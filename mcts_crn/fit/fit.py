"""``fit_rates``: rate constants (and unknown initial values) of a CRN from time-series data."""
from __future__ import annotations

import dataclasses
import logging
from typing import Mapping, Sequence

import numpy as np

from mcts_crn.config import FitConfig
from mcts_crn.crn import Crn
from mcts_crn.data import Dataset
from mcts_crn.fit.optimize import OPTIMIZERS, StartResult, levenberg_marquardt
from mcts_crn.fit.problem import FitProblem
from mcts_crn.fit.result import FitResult, fisher_uncertainty
from mcts_crn.simulate import status_message

logger = logging.getLogger(__name__)


@dataclasses.dataclass(frozen=True)
class _Rates:
    """The parts of a FitResult that ``FitProblem.warm_theta`` reads."""

    reactions: tuple[str, ...]
    rates: np.ndarray
    species: tuple[str, ...]
    x0: np.ndarray


def _seed_sequence(rng) -> np.random.SeedSequence:
    """One SeedSequence from a Generator, a SeedSequence, an int or None (None means seed 0: fits are
    reproducible by default)."""
    if isinstance(rng, np.random.SeedSequence):
        return rng
    if isinstance(rng, np.random.Generator):
        seq = getattr(rng.bit_generator, "seed_seq", None)
        if isinstance(seq, np.random.SeedSequence):
            return seq.spawn(1)[0]
        return np.random.SeedSequence(int(rng.integers(2**63)))
    return np.random.SeedSequence(0 if rng is None else int(rng))


def _starting_points(problem: FitProblem, warm_start, config: FitConfig, generator: np.random.Generator) -> np.ndarray:
    """[B, P] starts: the warm (or default) start, then seeded log-uniform perturbations of it.

    The perturbations multiply each parameter by ``exp(u)``, ``u ~ U(-ln s, ln s)`` with ``s =
    config.start_spread``; a reaction the warm start does not cover is centred on ``config.default_rate``
    instead of the tiny ``new_reaction_rate``, so the random starts also try it at full strength.
    """
    first, covered = problem.warm_theta(warm_start)
    starts = [first]
    if config.num_starts > 1:
        centre = first.copy()
        if warm_start is not None:
            uncovered = ~covered[: problem.num_reactions]
            centre[: problem.num_reactions][uncovered] = np.log(config.default_rate)
        half = np.log(config.start_spread)
        noise = generator.uniform(-half, half, size=(config.num_starts - 1, problem.num_params))
        starts.extend(centre + noise)
    return np.clip(np.array(starts).reshape(len(starts), problem.num_params), problem.lower, problem.upper)


def _screen_rate_shift(problem: FitProblem) -> np.ndarray:
    """[R] log shift of each reaction's screened rates: minus the log typical amounts (rescaled) of its
    reactants other than the scarcest, so that the reaction turns its scarcest reactant over at the
    screened rate. Observed species count at their scale, latent ones at the amount scale."""
    typical = np.ones(problem.num_species)
    scale = problem.dataset.species_scale
    typical[problem.columns] = np.where(scale > 0, scale / problem.amount_scale, 1.0)
    shift = np.zeros(problem.num_reactions)
    for r in range(problem.num_reactions):
        amounts = np.repeat(np.log(typical), problem.crn.reactants[r])
        if amounts.size >= 2:
            shift[r] = -(amounts.sum() - amounts.min())
    return shift


def _screened_starts(problem: FitProblem, window: FitProblem, first: np.ndarray, config: FitConfig,
                     generator: np.random.Generator) -> np.ndarray:
    """[K, P] wide starts: the best ``config.screen_starts`` of ``config.screen_size`` draws by their loss
    on ``window`` (the problem on the first ``config.screen_window`` of the time span), best first.

    The draws are a Latin hypercube in ``theta``: the log rates uniform over ``config.screen_rate_range``
    (shifted per reaction by ``_screen_rate_shift``), the log latent initial values uniform over
    ``config.screen_initial_range``; fitted initial values of observed species keep their value in
    ``first`` (the data inform them). One batched simulation without sensitivities scores them all.
    Points that cannot be simulated are dropped (K may be smaller, even 0).
    """
    num = config.screen_size
    num_rates = problem.num_reactions
    # Latin hypercube on [0, 1)^P: each parameter's range is cut into num strata, each used once
    unit = (generator.permuted(np.tile(np.arange(num), (problem.num_params, 1)), axis=1).T
            + generator.uniform(size=(num, problem.num_params))) / num
    theta = np.repeat(first[None, :], num, axis=0)
    low, high = np.log(config.screen_rate_range)
    theta[:, :num_rates] = low + (high - low) * unit[:, :num_rates] + _screen_rate_shift(problem)
    low, high = np.log(config.screen_initial_range)
    for q, p in enumerate(problem.initial_params):
        if p.latent:
            theta[:, num_rates + q] = low + (high - low) * unit[:, num_rates + q]
    theta = np.clip(theta, problem.lower, problem.upper)
    residuals, _, ok, _ = window.evaluate(theta, jacobian=False)
    loss = np.where(ok, np.einsum("bn,bn->b", np.nan_to_num(residuals), np.nan_to_num(residuals)), np.inf)
    order = np.argsort(loss, kind="stable")[: config.screen_starts]
    return theta[order[np.isfinite(loss[order])]]


def _screen(problem: FitProblem, first: np.ndarray, config: FitConfig, optimizer,
            generator: np.random.Generator) -> list[StartResult]:
    """The wide screen: ``_screened_starts``, each optimized for ``config.screen_window_iterations`` on the
    early window (where the basins are told apart: a point that gets the first phase right, a growth
    rate or an onset, is usually in the right basin, while on the whole span the loss of the later,
    mistimed dynamics dominates), then the best ``config.screen_keep`` of them by their window loss on all
    the data. Simulations on the window count in ``problem.num_simulations``."""
    if config.screen_window < 1.0:
        window = FitProblem(problem.crn, problem.dataset, config, time_fraction=config.screen_window)
    else:
        window = problem
    wide = _screened_starts(problem, window, first, config, generator)
    if len(wide) and config.screen_window_iterations:
        short = optimizer(window, wide, config=config.replace(accept_chi2=0.0,
                                                                max_iterations=config.screen_window_iterations))
        loss = np.array([o.loss for o in short])
        order = np.argsort(loss, kind="stable")
        wide = np.array([short[b].theta for b in order if np.isfinite(loss[b])]).reshape(-1, problem.num_params)
    if window is not problem:
        problem.num_simulations += window.num_simulations
    wide = wide[: config.screen_keep]
    if not len(wide):
        return []
    outcomes = optimizer(problem, wide, config=config)
    for o in outcomes:
        o.message = f"screened start: {o.message}"
    return outcomes


def _within_noise(outcomes: Sequence[StartResult], config: FitConfig, problem: FitProblem) -> bool:
    """Some start converged with ``chi2 / N <= config.accept_chi2``."""
    return any(o.converged and o.loss <= config.accept_chi2 * problem.num_points for o in outcomes)


def _failure(crn: Crn, problem: FitProblem, theta: np.ndarray, message: str, num_simulations: int,
             seed_entropy) -> FitResult:
    num_params = problem.num_params
    x0 = problem.x0_of(theta) * problem.amount_scale
    nan_predictions = tuple(np.full((int(n), crn.num_species), np.nan) for n in problem.num_times)
    return FitResult(
        success=False, message=message, species=crn.species, reactions=tuple(crn.reactions_text()),
        crn_key=crn.canonical_key(), rates=problem.rates_of(theta), rate_se=np.full(crn.num_reactions, np.inf),
        x0=x0, param_names=problem.parameter_names(),
        params=np.concatenate([problem.rates_of(theta), problem.initial_of(theta)]),
        param_se=np.full(num_params, np.inf), correlation=np.full((num_params, num_params), np.nan),
        loss=float("inf"), rss=float("inf"), num_points=problem.num_points, num_params=num_params,
        predictions=nan_predictions, num_simulations=num_simulations, seed_entropy=seed_entropy)


def _continuation(crn: Crn, dataset: Dataset, config: FitConfig, problem: FitProblem, first: np.ndarray,
                  best: StartResult) -> list[StartResult]:
    """Time continuation: fit growing windows of the data, each warm started from the last, then all of it.

    Runs from the first start and (if finite) the best point so far, in lock step. Simulations used on
    the windows are added to ``problem.num_simulations``.
    """
    theta = np.array([first] + ([best.theta] if np.isfinite(best.loss) else []))
    budget = max(config.max_simulations // 4, 10)
    for fraction in config.continuation_windows:
        window = FitProblem(crn, dataset, config, time_fraction=fraction)
        outs = levenberg_marquardt(window, theta, config=config.replace(accept_chi2=0.0), max_simulations=budget)
        problem.num_simulations += window.num_simulations
        theta = np.array([o.theta for o in outs])
    outs = levenberg_marquardt(problem, theta, config=config, max_simulations=budget)
    for o in outs:
        o.message = f"after time continuation: {o.message}"
    return outs


def _holdout(crn: Crn, dataset: Dataset, config: FitConfig, fit: FitResult, problem: FitProblem
             ) -> tuple[float, int, int]:
    """Refit without the last experiment (warm started, one start) and predict it.

    Returns the held-out chi-square, its number of points and the simulations used. The held-out
    experiment keeps its own fitted initial values from the full fit (it has to start somewhere); shared
    latent initial values come from the refit, like the rates.

    With ``config.holdout_predictive`` (default) the held-out chi-square is measured against the
    prediction's own uncertainty: with ``r`` the held-out experiment's weighted residuals under the
    refit, ``J`` their Jacobian with respect to the log rate constants and ``F`` the refit's Fisher
    information about the log rate constants (its other parameters, the initial values, profiled out:
    the Schur complement of ``J_train^T J_train``), the prediction is ``N(0, I + J F^-1 J^T)`` in
    weighted units, and

        chi2_h = r^T (I + J F^-1 J^T)^-1 r = r.r - b^T (F + J^T J)^-1 b,   b = J^T r   (Woodbury)

    (a pseudo-inverse where ``F + J^T J`` is singular). A network whose rate constants the other
    experiments fix predicts sharply and is judged on plain ``r.r``; one whose rates they leave open
    (two competition rates that only the held-out experiment separates) is not charged for the spread
    of its prediction along those directions, which no data in the refit could narrow. Without it a
    true network lost to a simpler one by a held-out chi-square of about 1700 against 80 points (the
    competitive Lotka-Volterra model of ``experiments/heldout_models.json``, whose refit to the first
    experiment leaves two rates uncertain by a factor of 1.5 to 2); with it the gap is about 45.
    """
    last = dataset.num_experiments - 1
    train = FitProblem(crn, dataset, config, experiments=range(last))
    test = FitProblem(crn, dataset, config, experiments=[last])
    theta, _ = train.warm_theta(fit)
    # a single warm-started start; a failed refit is a failed prediction
    out = levenberg_marquardt(train, theta[None, :], config=config.replace(accept_chi2=0.0),
                              max_simulations=max(config.max_simulations // 4, 10))[0]
    used = train.num_simulations
    if not np.isfinite(out.loss):
        return float("inf"), test.num_points, used
    x0 = np.array(fit.x0)
    known = dataset.experiments[last].initial_values
    if config.latent_initial == "shared":
        for q, p in enumerate(train.initial_params):
            if p.latent and crn.species[p.species_index] not in known:
                x0[last, p.species_index] = train.initial_of(out.theta)[q]
    rates = train.rates_of(out.theta)
    theta_test, _ = test.warm_theta(_Rates(fit.reactions, rates, fit.species, x0))
    predictive = config.holdout_predictive
    residuals, jac, ok, _ = test.evaluate(theta_test[None, :], jacobian=predictive)
    used += test.num_simulations
    if not ok[0]:
        return float("inf"), test.num_points, used
    r = residuals[0]
    chi2 = float(r @ r)
    if predictive:
        train_jac = out.jac  # the optimizer's Jacobian at the point it returned
        if train_jac is None:
            before = train.num_simulations
            _, evaluated, train_ok, _ = train.evaluate(out.theta[None, :], jacobian=True)
            used += train.num_simulations - before
            train_jac = evaluated[0] if train_ok[0] else None
        if train_jac is not None and np.isfinite(train_jac).all() and np.isfinite(jac).all():
            chi2 = _predictive_chi2(r, jac[0][:, :crn.num_reactions], train_jac, crn.num_reactions)
    return chi2, test.num_points, used


def _predictive_chi2(r: np.ndarray, jac: np.ndarray, train_jac: np.ndarray, num_rates: int) -> float:
    """``r^T (I + J F^-1 J^T)^-1 r`` (``_holdout``): ``r`` [N] weighted residuals, ``jac`` [N, R] their
    Jacobian in the log rate constants, ``train_jac`` [M, P] the refit's Jacobian (the first R columns the
    log rate constants); ``F`` is the refit's information about the rates with its other parameters
    profiled out."""
    info = train_jac.T @ train_jac
    f_rr = info[:num_rates, :num_rates]
    if info.shape[0] > num_rates:
        f_ri, f_ii = info[:num_rates, num_rates:], info[num_rates:, num_rates:]
        f_rr = f_rr - f_ri @ np.linalg.pinv(f_ii, rcond=1e-12, hermitian=True) @ f_ri.T
    b = jac.T @ r
    solved = np.linalg.pinv(f_rr + jac.T @ jac, rcond=1e-12, hermitian=True) @ b
    return float(max(r @ r - b @ solved, 0.0))


def fit_rates(crn: Crn, dataset: Dataset, *, config: FitConfig | None = None,
              rng: np.random.Generator | np.random.SeedSequence | int | None = None,
              warm_start: FitResult | Mapping[str, float] | None = None) -> FitResult:
    """Fit the rate constants of a CRN (and its unknown initial values) to a data set.

    Minimizes the chi-square

        loss(theta) = sum_{x, t, j observed} ((x_j(t; theta) - y_xtj) / sigma_xtj)^2

    over experiments x, time points t and data columns j (missing values skipped), with ``sigma`` from
    the data set's noise model (relative or absolute, per species; ``Dataset.sigmas``), over ``theta`` =
    the natural logs of the R rate constants and the Q fitted initial values, in rescaled units and within
    bounds (``FitProblem`` documents the layout, the rescaling and which initial values are fitted). The
    default optimizer is a batched Levenberg-Marquardt on the exact Jacobian of the weighted residuals from
    forward sensitivities (``optimize.levenberg_marquardt``); ``config.optimizer`` selects L-BFGS-B on the
    exact gradient or differential evolution. Starts: the warm start (or defaults), then seeded random
    perturbations, then (for a network with fitted latent initial values, if none of those nor the time
    continuation ends within the noise) the best points of a wide seeded screen, scored by one batched
    simulation and first optimized on the early time window (``config.screen_size``, ``_screen``); the
    fit stops early once a start fits within the noise (``config.accept_chi2``).

    Standard errors and correlations come from the Fisher information ``J^T J`` at the optimum
    (``result.fisher_uncertainty``).

    Parameters
    ----------
    crn : Crn
        The network. Data columns are matched to its species by name.
    dataset : Dataset
        The data and its noise levels.
    config : FitConfig, optional
    rng : np.random.Generator, SeedSequence or int, optional
        Source of the random starts (and of differential evolution); None means seed 0.
    warm_start : FitResult or mapping of str to float, optional
        A parent network's fit, or ``{reaction text: rate}``: shared reactions (and, from a FitResult,
        fitted initial values of species of the same name) start at those values.

    Returns
    -------
    FitResult
        ``success=False`` with a message when no start could be simulated; never raises for a fit that
        diverges.

    Raises
    ------
    ValueError
        For bad input at the edge: a data column that names no species of the CRN, or an observed species
        of the CRN without a data column.
    """
    config = FitConfig() if config is None else config
    problem = FitProblem(crn, dataset, config)
    seed = _seed_sequence(rng)
    start_seed, optimizer_seed, screen_seed = seed.spawn(3)
    entropy = seed.entropy if isinstance(seed.entropy, int) else None
    starts = _starting_points(problem, warm_start, config, np.random.default_rng(start_seed))
    optimizer = OPTIMIZERS[config.optimizer]
    if config.optimizer == "evolution":
        outcomes = optimizer(problem, starts, config=config, rng=np.random.default_rng(optimizer_seed))
    else:
        # the first (warm) start alone: in the search it usually ends within the noise, and then the
        # random starts are not needed at all; otherwise its perturbations run, in lock step
        outcomes = optimizer(problem, starts[:1], config=config)
        if len(starts) > 1 and not _within_noise(outcomes, config, problem):
            outcomes += optimizer(problem, starts[1:], config=config)
    best: StartResult = min(outcomes, key=lambda o: o.loss)
    if config.continuation_windows and not best.loss <= config.continuation_chi2 * problem.num_points:
        outcomes = outcomes + _continuation(crn, dataset, config, problem, starts[0], best)
        best = min(outcomes, key=lambda o: o.loss)
    if (config.optimizer != "evolution" and len(starts) > 1 and config.screen_size
            and any(p.latent for p in problem.initial_params) and not _within_noise(outcomes, config, problem)):
        # the initial value of a latent species and the rates of its reactions are what the data inform
        # least: their wrong basins (an onset mistimed, a pathway switched off) need starting points spread
        # over decades, not perturbations of one guess. Without them the perturbations and the time
        # continuation suffice (every example fits cold without the screen), so those fits skip its cost.
        outcomes = outcomes + _screen(problem, starts[0], config, optimizer, np.random.default_rng(screen_seed))
        best = min(outcomes, key=lambda o: o.loss)
    if not np.isfinite(best.loss):
        messages = sorted({o.message for o in outcomes})
        logger.debug("fit of %s failed: %s", crn, messages)
        return _failure(crn, problem, starts[0], "no start could be fitted: " + "; ".join(messages),
                        problem.num_simulations, entropy)

    theta = best.theta
    residuals, jac = best.residuals, best.jac
    if jac is None:
        r, j, ok, _ = problem.evaluate(theta[None, :], jacobian=True)
        residuals, jac = (r[0], j[0]) if ok[0] else (None, None)
    predictions, final_residuals, status = problem.predictions(theta)
    if residuals is None or status != 0 or not np.isfinite(final_residuals).all():
        return _failure(crn, problem, theta, f"final simulation failed: {status_message(status)}",
                        problem.num_simulations, entropy)
    se, corr = fisher_uncertainty(jac)
    # the loss of the reported predictions (the optimizer's simulations also carried sensitivities, whose
    # error control makes them differ in the last digits)
    residuals = final_residuals
    loss = float(residuals @ residuals)
    rss = float(np.sum((residuals / problem.w) ** 2) * problem.amount_scale ** 2)
    num_finite = sum(np.isfinite(o.loss) for o in outcomes)
    message = f"{best.message} (best of {num_finite}/{len(outcomes)} starts, {best.iterations} iterations)"
    result = FitResult(
        success=True, message=message, species=crn.species, reactions=tuple(crn.reactions_text()),
        crn_key=crn.canonical_key(), rates=problem.rates_of(theta), rate_se=se[: crn.num_reactions],
        x0=problem.x0_of(theta) * problem.amount_scale, param_names=problem.parameter_names(),
        params=np.concatenate([problem.rates_of(theta), problem.initial_of(theta)]), param_se=se,
        correlation=corr, loss=loss, rss=rss, num_points=problem.num_points, num_params=problem.num_params,
        predictions=predictions, num_simulations=problem.num_simulations, num_iterations=best.iterations,
        seed_entropy=entropy)
    if config.holdout and dataset.num_experiments >= 2:
        chi2, points, used = _holdout(crn, dataset, config, result, problem)
        held = problem.row_experiment == dataset.num_experiments - 1
        result = dataclasses.replace(result, holdout_chi2=chi2, holdout_points=points,
                                     holdout_fit_chi2=float(residuals[held] @ residuals[held]),
                                     num_simulations=result.num_simulations + used)
    return result


def fit_many(crns: Sequence[Crn], dataset: Dataset, *, config: FitConfig | None = None,
             rng: np.random.Generator | np.random.SeedSequence | int | None = None,
             warm_starts: Sequence[FitResult | Mapping[str, float] | None] | None = None,
             num_threads: int = 1) -> list[FitResult]:
    """Fit several CRNs to one data set (the search's batched leaf evaluation).

    Each fit gets its own child of one SeedSequence, so the results do not depend on ``num_threads``.
    The numba kernels release the GIL, so ``num_threads > 1`` overlaps the simulations of different fits.

    Returns
    -------
    list of FitResult
        One per CRN, in order.
    """
    seeds = _seed_sequence(rng).spawn(len(crns))
    warm_starts = [None] * len(crns) if warm_starts is None else list(warm_starts)
    if len(warm_starts) != len(crns):
        raise ValueError(f"{len(warm_starts)} warm starts for {len(crns)} crns")
    jobs = list(zip(crns, seeds, warm_starts))
    if num_threads <= 1:
        return [fit_rates(c, dataset, config=config, rng=s, warm_start=w) for c, s, w in jobs]
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(max_workers=num_threads) as pool:
        return list(pool.map(lambda job: fit_rates(job[0], dataset, config=config, rng=job[1], warm_start=job[2]),
                             jobs))
