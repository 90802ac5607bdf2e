"""Optimizers of ``FitProblem``: batched Levenberg-Marquardt, L-BFGS-B and differential evolution.

All three minimize ``loss(theta) = sum_i r_i(theta)^2`` (the chi-square) over the box ``lower <= theta <=
upper`` and return one ``StartResult`` per start. A failed integration makes a trial point infeasible (its
loss is infinite); it is never an exception.
"""
from __future__ import annotations

import dataclasses
import logging

import numpy as np

from mcts_crn.config import FitConfig
from mcts_crn.fit.problem import FitProblem

logger = logging.getLogger(__name__)

_LAMBDA_MAX = 1e16


@dataclasses.dataclass
class StartResult:
    """Outcome of one start: the best point it reached, its loss and why it stopped."""

    theta: np.ndarray
    loss: float
    converged: bool
    iterations: int
    message: str
    residuals: np.ndarray | None = None
    jac: np.ndarray | None = None


class _Budget:
    """Counts the problem's simulations against ``config.max_simulations``."""

    def __init__(self, problem: FitProblem, limit: int) -> None:
        self.problem = problem
        self.start = problem.num_simulations
        self.limit = limit

    @property
    def left(self) -> int:
        return self.limit - (self.problem.num_simulations - self.start)


def _gauss_newton_step(grad: np.ndarray, hess: np.ndarray, scale: np.ndarray, lam: float,
                       free: np.ndarray) -> np.ndarray:
    """Solve ``(J^T J + lam diag(scale)) delta = -J^T r`` on the free parameters (zero elsewhere)."""
    if free.all():
        h = hess + np.diag(lam * scale)
        g = grad
    else:
        step = np.zeros_like(grad)
        if not free.any():
            return step
        h = hess[free][:, free] + np.diag(lam * scale[free])
        g = grad[free]
    try:
        solved = -np.linalg.solve(h, g)
    except np.linalg.LinAlgError:
        solved = -np.linalg.lstsq(h, g, rcond=None)[0]
    if free.all():
        return solved
    step[free] = solved
    return step


def _failure_text(status: int) -> str:
    from mcts_crn.simulate import status_message

    if status:
        return f"start point cannot be simulated: {status_message(int(status))}"
    return "start point cannot be simulated: amounts run away (residuals beyond 1e100 noise levels)"


def levenberg_marquardt(problem: FitProblem, theta0: np.ndarray, *, config: FitConfig,
                        max_simulations: int | None = None) -> list[StartResult]:
    """Levenberg-Marquardt from B starts at once, one batched simulation (with sensitivities) per iteration.

    Each start solves ``(J^T J + lambda D) delta = -J^T r`` with Jacobian ``J = dr/dtheta`` from the forward
    sensitivities and ``D`` the running maximum of ``diag(J^T J)`` (Moré's scaling, which makes the method
    invariant to the scale of each parameter, so a reaction started at a tiny rate moves as freely as any
    other). A parameter at a bound with the gradient pushing outwards is held there (a simple active
    set); the trial point is clipped to the box. The gain ratio ``rho`` of actual to predicted decrease
    updates ``lambda`` as in Nielsen (1999): ``lambda *= max(1/3, 1 - (2 rho - 1)^3)`` on success, times
    ``nu`` (doubling) on failure. An infeasible trial (failed integration) counts as a failure; after
    ``config.max_failures`` in a row the start stops. No step moves a log parameter by more than
    ``config.max_step`` (the Gauss-Newton step of a far-off start overshoots by orders of magnitude). A
    start converges when an accepted step lowers the loss by less than ``ftol`` relatively, when the
    lightly damped model predicts less than that for the next step (further trials would only measure
    the integrator's error), when the step moves ``theta`` by less than ``xtol`` relatively, or when the
    largest cosine between the residual and a free Jacobian column is below ``gtol``.

    Starts run in lock step: all current trial points are simulated together (one batched kernel call,
    ``FitProblem.simulate``). When a start converges with ``loss / N <= config.accept_chi2``, the starts
    whose loss is not lower stop (early exit).

    Parameters
    ----------
    problem : FitProblem
    theta0 : np.ndarray, float64 [B, P]
        Starting points (clipped to the bounds).
    config : FitConfig
    max_simulations : int, optional
        Simulation budget (default ``config.max_simulations``).

    Returns
    -------
    list of StartResult
        [B] results; a start whose first point cannot be simulated has ``loss = inf``.
    """
    theta0 = np.clip(np.atleast_2d(np.asarray(theta0, dtype=np.float64)), problem.lower, problem.upper)
    num_starts, num_params = theta0.shape
    budget = _Budget(problem, config.max_simulations if max_simulations is None else max_simulations)
    lower, upper = problem.lower, problem.upper
    num_points = problem.num_points

    residuals, jac, ok, status = problem.evaluate(theta0, jacobian=True)
    theta = theta0.copy()
    loss = np.where(ok, np.einsum("bn,bn->b", np.nan_to_num(residuals), np.nan_to_num(residuals)), np.inf)
    results = [StartResult(theta0[b].copy(), float(loss[b]), False, 0, "" if ok[b] else _failure_text(status[b]))
               for b in range(num_starts)]
    active = [b for b in range(num_starts) if ok[b]]
    state = {}
    for b in active:
        grad = jac[b].T @ residuals[b]
        hess = jac[b].T @ jac[b]
        diag = hess.diagonal().copy()
        state[b] = dict(r=residuals[b], J=jac[b], g=grad, H=hess, Hdiag=diag, D=np.maximum(diag, 0.0), lam=config.initial_damping,
                        nu=2.0, fails=0, it=0, fresh=True)
    if num_params == 0:
        for b in active:
            results[b].converged = True
            results[b].message = "no parameters"
        return results

    def propose(b: int):
        s = state[b]
        th = theta[b]
        g = s["g"]
        hess = s["H"]
        free = ~(((th <= lower) & (g > 0)) | ((th >= upper) & (g < 0)))
        d = s["D"]
        scale = np.maximum(d, 1e-12 * max(float(d.max()), 1e-300))
        step = _gauss_newton_step(g, hess, scale, s["lam"], free)
        longest = float(np.max(np.abs(step))) if step.size else 0.0
        if longest > config.max_step:
            step *= config.max_step / longest
        trial = np.minimum(np.maximum(th + step, lower), upper)
        step = trial - th
        predicted = -(g @ step) - 0.5 * step @ (hess @ step)   # decrease of loss / 2
        # cosine of the residual and each free Jacobian column (scale-free stationarity measure)
        norms = np.sqrt(np.maximum(s["Hdiag"], 1e-300)) * max(np.sqrt(loss[b]), 1e-300)
        cosine = float(np.max(np.abs(g[free]) / norms[free])) if free.any() else 0.0
        return trial, step, predicted, cosine

    while active:
        proposals = {}
        for b in list(active):
            s = state[b]
            trial, step, predicted, cosine = propose(b)
            done_message = None
            if cosine <= config.gtol:
                done_message = "gradient below gtol"
            elif np.sqrt(step @ step) <= config.xtol * (np.sqrt(theta[b] @ theta[b]) + config.xtol):
                done_message = "step below xtol"
            elif s["lam"] > _LAMBDA_MAX:
                done_message = "no further decrease (damping at its limit)"
            elif s["fresh"] and s["lam"] <= 1.0 and predicted <= 0.5 * config.ftol * loss[b]:
                # the (nearly undamped) Gauss-Newton model promises less than ftol: trial steps from here
                # would only measure the integrator's error
                done_message = "predicted decrease below ftol"
            if done_message is not None:
                results[b] = StartResult(theta[b].copy(), float(loss[b]), True, s["it"], done_message, s["r"], s["J"])
                active.remove(b)
                continue
            proposals[b] = (trial, step, predicted)
        if not proposals:
            break
        order = sorted(proposals)
        if budget.left < len(order):
            for b in order:
                results[b] = StartResult(theta[b].copy(), float(loss[b]), False, state[b]["it"],
                                         "simulation budget exhausted", state[b]["r"], state[b]["J"])
            break
        trials = np.array([proposals[b][0] for b in order])
        res_t, jac_t, ok_t, status_t = problem.evaluate(trials, jacobian=True)
        accept_exit = False
        for i, b in enumerate(order):
            s = state[b]
            s["it"] += 1
            trial, step, predicted = proposals[b]
            new_loss = float(res_t[i] @ res_t[i]) if ok_t[i] else np.inf
            actual = 0.5 * (loss[b] - new_loss)
            rho = actual / predicted if predicted > 0 else -1.0
            if ok_t[i] and actual > 0 and rho > 1e-4:
                small = actual <= 0.5 * config.ftol * loss[b]
                theta[b] = trial
                loss[b] = new_loss
                s["r"], s["J"] = res_t[i], jac_t[i]
                s["g"] = s["J"].T @ s["r"]
                s["H"] = s["J"].T @ s["J"]
                s["Hdiag"] = s["H"].diagonal().copy()
                s["D"] = np.maximum(s["D"], s["Hdiag"])
                s["lam"] *= max(1.0 / 3.0, 1.0 - (2.0 * rho - 1.0) ** 3)
                s["nu"] = 2.0
                s["fails"] = 0
                s["fresh"] = True
                if small:
                    results[b] = StartResult(theta[b].copy(), float(loss[b]), True, s["it"], "loss decrease below ftol",
                                             s["r"], s["J"])
                    active.remove(b)
                    if loss[b] <= config.accept_chi2 * num_points:
                        accept_exit = True
                    continue
            else:
                s["lam"] *= s["nu"]
                s["nu"] *= 2.0
                s["fresh"] = False
                if not ok_t[i]:
                    s["fails"] += 1
                    if s["fails"] >= config.max_failures:
                        results[b] = StartResult(theta[b].copy(), float(loss[b]), False, s["it"],
                                                 f"{s['fails']} integrations failed in a row "
                                                 f"(status {int(status_t[i])})", s["r"], s["J"])
                        active.remove(b)
                        continue
            if s["it"] >= config.max_iterations:
                results[b] = StartResult(theta[b].copy(), float(loss[b]), False, s["it"], "max_iterations reached",
                                         s["r"], s["J"])
                active.remove(b)
        if accept_exit:
            # drop the starts that are worse than a converged one within the noise; better ones go on
            accepted = min(results[b].loss for b in range(num_starts) if results[b].converged)
            for b in list(active):
                if loss[b] >= accepted:
                    results[b] = StartResult(theta[b].copy(), float(loss[b]), False, state[b]["it"],
                                             "stopped: another start fits within the noise", state[b]["r"],
                                             state[b]["J"])
                    active.remove(b)
    return results


def lbfgs(problem: FitProblem, theta0: np.ndarray, *, config: FitConfig,
          max_simulations: int | None = None) -> list[StartResult]:
    """scipy L-BFGS-B from each start in turn on the loss and its exact gradient ``2 J^T r``.

    A point that cannot be simulated gets a huge loss and zero gradient, so the line search backs off.
    Stops early once a start reaches ``loss / N <= config.accept_chi2``.
    """
    from scipy.optimize import minimize

    theta0 = np.clip(np.atleast_2d(np.asarray(theta0, dtype=np.float64)), problem.lower, problem.upper)
    budget = _Budget(problem, config.max_simulations if max_simulations is None else max_simulations)
    results = []
    huge = 1e100

    class _OutOfBudget(Exception):
        pass

    for b, start in enumerate(theta0):
        best = {"theta": start.copy(), "loss": np.inf}

        def fun(th):
            if budget.left <= 0:
                raise _OutOfBudget
            r, jac, ok, _ = problem.evaluate(th[None, :], jacobian=True)
            if not ok[0]:
                return huge, np.zeros_like(th)
            value = float(r[0] @ r[0])
            if value < best["loss"]:
                best.update(theta=th.copy(), loss=value)
            return value, 2.0 * (jac[0].T @ r[0])

        if problem.num_params == 0:
            fun(start)
            results.append(StartResult(start, best["loss"], np.isfinite(best["loss"]), 0, "no parameters"))
            continue
        try:
            out = minimize(fun, start, jac=True, method="L-BFGS-B",
                           bounds=list(zip(problem.lower, problem.upper)),
                           options=dict(maxiter=config.max_iterations * 5, ftol=config.ftol,
                                        gtol=config.gtol * max(problem.num_points, 1)))
            message = str(out.message)
            converged = bool(out.success) and np.isfinite(best["loss"])
            iterations = int(out.nit)
        except _OutOfBudget:
            message, converged, iterations = "simulation budget exhausted", False, -1
        if not np.isfinite(best["loss"]):
            message = "start point cannot be simulated"
        results.append(StartResult(best["theta"], best["loss"], converged, iterations, message))
        if converged and best["loss"] <= config.accept_chi2 * problem.num_points:
            for _ in range(b + 1, theta0.shape[0]):
                results.append(StartResult(theta0[b].copy(), np.inf, False, 0,
                                           "not run: another start fits within the noise"))
            break
    return results


def evolution(problem: FitProblem, theta0: np.ndarray, *, config: FitConfig, rng: np.random.Generator,
              max_simulations: int | None = None) -> list[StartResult]:
    """scipy differential evolution in a box of ``config.evolution_decades`` around the first start,
    each generation simulated in one batched call, then Levenberg-Marquardt from its best point.

    Differential evolution (Storn and Price 1997, J Global Optim 11:341-359) needs no gradient and no
    good start, at the price of many simulations (population ``evolution_popsize * P`` per generation).
    """
    from scipy.optimize import differential_evolution

    theta0 = np.clip(np.atleast_2d(np.asarray(theta0, dtype=np.float64)), problem.lower, problem.upper)
    limit = config.max_simulations if max_simulations is None else max_simulations
    center = theta0[0]
    if problem.num_params == 0:
        return levenberg_marquardt(problem, center[None, :], config=config, max_simulations=limit)
    half = config.evolution_decades * np.log(10.0)
    lower = np.maximum(problem.lower, center - half)
    upper = np.minimum(problem.upper, center + half)
    budget = _Budget(problem, 10 * limit)

    def batched(thetas: np.ndarray) -> np.ndarray:
        points = np.atleast_2d(thetas.T)
        if budget.left < points.shape[0]:
            return np.full(points.shape[0], 1e100)
        r, _, ok, _ = problem.evaluate(points, jacobian=False)
        return np.where(ok, np.einsum("bn,bn->b", np.nan_to_num(r), np.nan_to_num(r)), 1e100)

    out = differential_evolution(batched, list(zip(lower, upper)), popsize=config.evolution_popsize,
                                 maxiter=config.evolution_maxiter, rng=rng, polish=False, vectorized=True,
                                 updating="deferred", x0=center, tol=1e-6, init="latinhypercube")
    polished = levenberg_marquardt(problem, np.vstack([out.x, theta0]), config=config.replace(accept_chi2=0.0),
                                   max_simulations=limit)
    for result in polished:
        result.message = f"differential evolution ({out.nit} generations), then LM: {result.message}"
    return polished


OPTIMIZERS = {"lm": levenberg_marquardt, "lbfgs": lbfgs, "evolution": evolution}
"""``FitConfig.optimizer`` names and the functions they select."""
