"""Benchmark: fit_rates against scipy least_squares (trf, finite-difference Jacobian, solve_ivp inside).

For each example model (5% noise, designated species observed, latent initial values known), both fit
the log rate constants from the same start (the true rates times factors drawn in [0.3, 3]) to the same
weighted residuals (``FitProblem``: same data, weights and rescaling). The baseline integrates with
scipy's RK45 (solve_ivp's default) and, separately, LSODA (compiled, with automatic stiff / non-stiff
switching like the kernels' "auto"), at the same tolerances; a baseline fit still running after
``--time-limit`` seconds is cut off.
Both final points are scored with one tight-tolerance simulation, so the losses compare exactly.

    python experiments/bench_fit.py [--repeats 3] [--baseline-repeats 1] [NAME ...]

Prints markdown tables: per example the time per fit and final loss of fit_rates with one start (the
like-for-like comparison), of fit_rates with its defaults (4 starts, hold-out refit), and of the
baseline; then fits per second of ``fit_many`` (the search's batched leaf evaluation) on each true
network's one-reaction supersets, warm started from the true fit (the fast path: the first start ends
within the noise), and on its one-reaction subsets with the latent species named as the search names them
(the slow path), with and without the wide screen.
"""
from __future__ import annotations

import argparse
import os
import time

import numpy as np

from mcts_crn.config import FitConfig
from mcts_crn.crn import Crn
from mcts_crn.examples import EXAMPLES
from mcts_crn.fit import FitProblem, fit_many, fit_rates


class _OutOfTime(Exception):
    pass


def baseline_fit(problem: FitProblem, theta0: np.ndarray, *, rtol: float, atol: float, method: str,
                 time_limit: float) -> tuple[np.ndarray | None, int]:
    """scipy least_squares (trf, 2-point finite differences) with solve_ivp per experiment.

    Returns the final theta (None when it ran past ``time_limit`` seconds) and the number of ODE solves
    (one per experiment).
    """
    from scipy.integrate import solve_ivp
    from scipy.optimize import least_squares

    crn = problem.crn
    reactants = crn.reactants.astype(np.float64)
    net = (crn.products - crn.reactants).astype(np.float64)          # [R, S]
    num_r = problem.num_reactions
    counter = {"solves": 0, "calls": 0}
    deadline = time.perf_counter() + time_limit

    def rhs(_t, x, k):
        counter["calls"] += 1
        if counter["calls"] % 1000 == 0 and time.perf_counter() > deadline:
            raise _OutOfTime            # a stiff problem under an explicit method: give up
        return net.T @ (k * np.prod(np.maximum(x, 0.0)[None, :] ** reactants, axis=1))

    def residuals(theta):
        k = np.exp(theta[:num_r])
        x0 = problem.x0_of(theta)
        states = np.full((problem.times.shape[0], problem.times.shape[1], crn.num_species), np.nan)
        if time.perf_counter() > deadline:
            raise _OutOfTime
        for e in range(problem.times.shape[0]):
            n = int(problem.num_times[e])
            t = problem.times[e, :n]
            counter["solves"] += 1
            sol = solve_ivp(rhs, (0.0, t[-1]), x0[e], method=method, t_eval=t, args=(k,), rtol=rtol, atol=atol)
            if sol.status != 0 or sol.y.shape[1] != n:
                return np.full(problem.num_points, 1e6)
            states[e, :n] = sol.y.T
        r = (states.reshape(-1)[problem.flat_index] - problem.y) * problem.w
        return np.where(np.isfinite(r), r, 1e6)

    try:
        out = least_squares(residuals, theta0, jac="2-point", method="trf", bounds=(problem.lower, problem.upper))
    except _OutOfTime:
        return None, counter["solves"]
    return out.x, counter["solves"]


def searched_names(crn: Crn) -> Crn:
    """The CRN with its latent species renamed ``X1, X2, ...`` (data sets know the latent initial values of
    the examples by their names; under these names they are fitted, as in the search)."""
    names = iter(f"X{i}" for i in range(1, crn.num_species + 1))
    species = tuple(next(names) if latent else s for s, latent in zip(crn.species, crn.latent))
    return Crn(species, crn.latent, crn.reactants, crn.products)


def exact_loss(crn, data, rates) -> float:
    """Chi-square of given rates (known initial values) with a tight-tolerance simulation."""
    problem = FitProblem(crn, data, FitConfig(rtol=1e-9, atol=1e-9, max_steps=1_000_000))
    r, _, ok, _ = problem.evaluate(problem.theta_from(rates)[None, :], jacobian=False)
    return float(r[0] @ r[0]) if ok[0] else float("inf")


def timed(fn, repeats: int):
    best, out = np.inf, None
    for _ in range(repeats):
        t0 = time.perf_counter()
        out = fn()
        best = min(best, time.perf_counter() - t0)
    return best, out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("names", nargs="*", default=list(EXAMPLES))
    parser.add_argument("--repeats", type=int, default=3, help="timing repeats of fit_rates (best is kept)")
    parser.add_argument("--baseline-repeats", type=int, default=1)
    parser.add_argument("--supersets", type=int, default=30)
    parser.add_argument("--time-limit", type=float, default=60.0, help="seconds before a baseline fit is cut off")
    args = parser.parse_args(argv)
    one = FitConfig(num_starts=1, holdout=False)
    default = FitConfig()
    print(f"cpus: {os.cpu_count()}; fit_rates tolerances rtol {default.rtol:g}, atol {default.atol:g} x scale; "
          "time = best of repeats\n")
    print("| example | R | N | ours, 1 start: ms | sims | loss | ours, default: ms | loss | "
          "scipy+LSODA: ms | solves | loss | scipy+RK45: ms | solves | loss | speed-up vs LSODA | vs RK45 |")
    print("|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|")
    speedups = {"LSODA": [], "RK45": []}
    neighbours = {}
    for name in args.names:
        model = EXAMPLES[name]
        crn = model.crn
        data = model.make_dataset(noise=0.05, rng=np.random.default_rng(1))
        start_rng = np.random.default_rng(2)
        start = model.rates_array * np.exp(start_rng.uniform(np.log(0.3), np.log(3.0), crn.num_reactions))
        warm = dict(zip(crn.reactions_text(), start))
        fit_rates(crn, data, config=one, warm_start=warm)                  # compile / warm caches
        t_one, fit_one = timed(lambda: fit_rates(crn, data, config=one, warm_start=warm, rng=0), args.repeats)
        t_def, fit_def = timed(lambda: fit_rates(crn, data, config=default, warm_start=warm, rng=0), args.repeats)
        loss_one = exact_loss(crn, data, fit_one.rates)
        loss_def = exact_loss(crn, data, fit_def.rates)
        problem = FitProblem(crn, data, one)
        theta0 = problem.theta_from(start)
        cells = []
        for method in ("LSODA", "RK45"):
            t_base, (theta_base, solves) = timed(
                lambda: baseline_fit(problem, theta0, rtol=one.rtol, atol=problem.atol, method=method,
                                     time_limit=args.time_limit), args.baseline_repeats)
            if theta_base is None:
                cells.append(f"> {1e3 * args.time_limit:.0f} | {solves} | - | > {args.time_limit / t_one:.0f}x")
                speedups[method].append(args.time_limit / t_one)
                continue
            loss_base = exact_loss(crn, data, problem.rates_of(theta_base))
            speedups[method].append(t_base / t_one)
            cells.append(f"{1e3 * t_base:.0f} | {solves} | {loss_base:.3f} | {t_base / t_one:.0f}x")
        (lsoda_time, lsoda_solves, lsoda_loss, lsoda_speed), (rk_time, rk_solves, rk_loss, rk_speed) = (
            c.split(" | ") for c in cells)
        print(f"| {name} | {crn.num_reactions} | {problem.num_points} | {1e3 * t_one:.1f} | {fit_one.num_simulations} | "
              f"{loss_one:.3f} | {1e3 * t_def:.1f} | {loss_def:.3f} | {lsoda_time} | {lsoda_solves} | {lsoda_loss} | "
              f"{rk_time} | {rk_solves} | {rk_loss} | {lsoda_speed} | {rk_speed} |", flush=True)
        neighbours[name] = (crn, data, fit_def)
    for method, values in speedups.items():
        print(f"\nspeed-up of one start against scipy+{method}: median {np.median(values):.0f}x, "
              f"min {np.min(values):.0f}x", end="")
    print("\n")

    print("Batched path: fit_many over one-reaction supersets, warm started from the true network's fit "
          "(default FitConfig: 4 starts, hold-out refit)\n")
    print("| example | networks | fits/s (1 thread) | fits/s (2 threads) | mean sims per fit |")
    print("|---|---|---|---|---|")
    for name, (crn, data, parent) in neighbours.items():
        rng = np.random.default_rng(0)
        reactants, products = crn.candidate_reactions(max(2, int(crn.reactants.sum(axis=1).max())))
        new = [k for k in range(len(reactants)) if not crn.has_reaction(reactants[k], products[k])]
        chosen = rng.choice(new, size=min(args.supersets, len(new)), replace=False)
        crns = [crn.add_reaction((reactants[k], products[k])) for k in chosen]
        warm = [parent] * len(crns)
        t1, fits = timed(lambda: fit_many(crns, data, rng=0, warm_starts=warm), 1)
        t2, _ = timed(lambda: fit_many(crns, data, rng=0, warm_starts=warm, num_threads=2), 1)
        sims = np.mean([f.num_simulations for f in fits])
        print(f"| {name} | {len(crns)} | {len(crns) / t1:.1f} | {len(crns) / t2:.1f} | {sims:.0f} |", flush=True)

    print("\nSlow path: fit_many over each true network less one reaction, its latent species renamed X1, X2, ... "
          "as the search names them (so their initial values are fitted), warm started from that network's fit "
          "from the true rates: fits that mostly do not end within the noise, so the random starts, the time "
          "continuation and (with latent species) the wide screen run; 1 thread\n")
    print("| example | networks | within noise | fits/s | mean sims per fit | fits/s without the screen | sims | "
          "slow-down |")
    print("|---|---|---|---|---|---|---|---|")
    unscreened = FitConfig(screen_size=0)
    for name in args.names:
        model = EXAMPLES[name]
        crn = searched_names(model.crn)
        data = neighbours[name][1]
        parent = fit_rates(crn, data, rng=0, warm_start=dict(zip(crn.reactions_text(), model.rates_array)))
        crns = [crn.remove_reaction(r) for r in range(crn.num_reactions)]
        warm = [parent] * len(crns)
        t1, fits = timed(lambda: fit_many(crns, data, rng=0, warm_starts=warm), 1)
        t0, plain = timed(lambda: fit_many(crns, data, rng=0, warm_starts=warm, config=unscreened), 1)
        within = np.mean([f.success and f.chi2_per_point <= default.accept_chi2 for f in fits])
        print(f"| {name} | {len(crns)} | {within:.2f} | {len(crns) / t1:.1f} | "
              f"{np.mean([f.num_simulations for f in fits]):.0f} | {len(crns) / t0:.1f} | "
              f"{np.mean([f.num_simulations for f in plain]):.0f} | {t1 / t0:.1f}x |", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
