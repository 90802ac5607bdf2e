"""Benchmark: mass-action simulation with mcts_crn.simulate vs scipy solve_ivp vs libroadrunner.

Workloads (all at the same rtol / atol, default 1e-6 / 1e-9, the SimulateConfig defaults):

- ``michaelis_menten``: E + S <-> C -> E + P, 3 experiments (S0 = 10, 5, 2), 31 time points on
  [0, 30];
- ``hiv``: the HIV target-cell model (Perelson): 0 -> T, T -> 0, T + V -> I + V, I -> 0, I -> I + V,
  V -> 0, T0 = lambda / d = 1e6, V0 = 10, R0 about 3, 51 time points on [0, 100] days (acute peak of
  V near 4e7, trough near 30, rebound: a hard, mildly stiff trajectory);
- ``network_6x10``: a 6-species, 10-reaction network (complexes, a source, sinks), 51 points on [0, 50];
- ``robertson``: the stiff Robertson problem, 0 and 40 log-spaced points on [1e-5, 1e5].

One "simulation" is one evaluation of a workload (all its experiments). Columns:

- ``ours``: ``simulate`` (``simulate_batch`` for the 3 experiments), method "auto", per call, including the
  Python wrapper; ``ours+sens``: ``simulate_sensitivities`` with every log rate constant;
- ``scipy best``: the fastest of RK45, LSODA, BDF and Radau (analytic Jacobian for the implicit ones) with a
  numpy right-hand side, and which one it was (RK45 is not run on Robertson: minutes per solve);
  ``x scipy``: its time over ours (target >= 20);
- ``rr reset+sim``: libroadrunner (CVODE), model loaded once; per call and experiment, set the initial
  concentrations, ``reset()`` and ``simulate(times=...)``; ``rr load+sim``: building the RoadRunner from
  the SBML string and simulating; ``x rr``: rr reset+sim over ours (target > 1); a second table repeats
  rr reset+sim at rtol / 10 and rtol / 100, because CVODE's error test is looser than ours at equal
  tolerances (see ``err``);
- ``batch/set``: ``simulate_batch`` over 256 parameter sets (rate constants times lognormal(0, 0.3)),
  serial kernel and threaded kernel, time per parameter set; ``x scipy batch``: scipy's best method on 16 of
  those sets (time per set) over ours, serial and threaded (target >= 100);
- ``err``: the largest ``|x - ref| / (rtol |ref| + atol)`` of ours against a tight reference (Radau at
  rtol 1e-12), to show the speed is not bought with accuracy (roughly 1 means "within tolerance").

Times are the fastest of 5 rounds, each the mean over repeats lasting ``--min-time / 5`` seconds. Run from the repository root:
``python experiments/bench_simulate.py``. It prints a markdown table and writes nothing.
"""
from __future__ import annotations

import argparse
import os
import platform
import sys
import time
from pathlib import Path

import numba
import numpy as np
from scipy.integrate import solve_ivp

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # for tests.reference

from mcts_crn import Crn  # noqa: E402
from mcts_crn.simulate import simulate, simulate_batch, simulate_sensitivities  # noqa: E402

WORKLOADS = {
    "michaelis_menten": dict(
        text="E + S -> C\nC -> E + S\nC -> E + P", rates=[1.0, 0.5, 0.3],
        x0=[{"E": 1.0, "S": 10.0, "C": 0.0, "P": 0.0}, {"E": 1.0, "S": 5.0, "C": 0.0, "P": 0.0},
            {"E": 1.0, "S": 2.0, "C": 0.0, "P": 0.0}],
        times=np.linspace(0.0, 30.0, 31)),
    "hiv": dict(
        text="0 -> T\nT -> 0\nT + V -> I + V\nI -> 0\nI -> I + V\nV -> 0",
        rates=[1e4, 0.01, 2.4e-8, 1.0, 3000.0, 23.0],
        x0=[{"T": 1e6, "I": 0.0, "V": 10.0}], times=np.linspace(0.0, 100.0, 51)),
    "network_6x10": dict(
        text=("A + B -> C\nC -> A + B\nC -> D + B\nD + E -> F\nF -> D + E\nF -> A + E\n0 -> E\nE -> 0\n"
              "2 D -> B\nA -> 0"),
        rates=[1.0, 0.5, 0.3, 1.0, 0.2, 0.4, 0.1, 0.05, 0.1, 0.01],
        x0=[{"A": 2.0, "B": 1.0, "C": 0.0, "D": 0.0, "E": 0.5, "F": 0.0}], times=np.linspace(0.0, 50.0, 51)),
    "robertson": dict(
        text="A -> B\n2 B -> B + C\nB + C -> A + C", rates=[0.04, 3e7, 1e4],
        x0=[{"A": 1.0, "B": 0.0, "C": 0.0}], times=np.concatenate([[0.0], np.logspace(-5, 5, 40)]),
        stiff=True),
}


def timeit(fn, min_time, rounds=5):
    """Seconds per call: the fastest of ``rounds`` rounds, each the mean over ``min_time / rounds`` seconds
    (the minimum filters out the time slices other processes take on a shared machine)."""
    fn()
    best = float("inf")
    for _ in range(rounds):
        count, start = 0, time.perf_counter()
        while True:
            fn()
            count += 1
            elapsed = time.perf_counter() - start
            if elapsed >= min_time / rounds:
                break
        best = min(best, elapsed / count)
    return best


# ---------------------------------------------------------------------------- scipy
def scipy_functions(crn, rates):
    a = crn.reactants.astype(float)
    net = (crn.products - crn.reactants).astype(float)
    k = np.asarray(rates, dtype=float)

    def rhs(_t, x):
        return net.T @ (k * np.prod(x ** a, axis=1))

    def jac(_t, x):
        # dv_r/dx_j = a_rj v_r / x_j, written without dividing by x: lower the order of x_j by one.
        out = np.empty((a.shape[0], a.shape[1]))
        for j in range(a.shape[1]):
            lowered = a.copy()
            lowered[:, j] = np.maximum(a[:, j] - 1.0, 0.0)
            out[:, j] = k * a[:, j] * np.prod(x ** lowered, axis=1)
        return net.T @ out

    return rhs, jac


def scipy_solve(crn, rates, x0s, times, method, rtol, atol):
    rhs, jac = scipy_functions(crn, rates)
    kwargs = {} if method == "RK45" else {"jac": jac}
    out = []
    for x0 in x0s:
        sol = solve_ivp(rhs, (times[0], times[-1]), x0, method=method, t_eval=times, rtol=rtol, atol=atol,
                        **kwargs)
        if not sol.success:
            raise RuntimeError(sol.message)
        out.append(sol.y.T)
    return np.stack(out)


# ---------------------------------------------------------------------------- roadrunner
def sbml_string(crn, rates, x0):
    import libsbml

    doc = libsbml.SBMLDocument(3, 2)
    model = doc.createModel()
    model.setId("bench")
    comp = model.createCompartment()
    comp.setId("c")
    comp.setSize(1.0)
    comp.setConstant(True)
    for i, name in enumerate(crn.species):
        sp = model.createSpecies()
        sp.setId(name)
        sp.setCompartment("c")
        sp.setInitialConcentration(float(x0[i]))
        sp.setHasOnlySubstanceUnits(False)
        sp.setBoundaryCondition(False)
        sp.setConstant(False)
    for r in range(crn.num_reactions):
        par = model.createParameter()
        par.setId(f"k{r}")
        par.setValue(float(rates[r]))
        par.setConstant(True)
        rx = model.createReaction()
        rx.setId(f"r{r}")
        rx.setReversible(False)
        factors = [f"k{r}", "c"]
        for i, name in enumerate(crn.species):
            if crn.reactants[r, i]:
                ref = rx.createReactant()
                ref.setSpecies(name)
                ref.setStoichiometry(float(crn.reactants[r, i]))
                ref.setConstant(True)
                factors += [name] * int(crn.reactants[r, i])
            if crn.products[r, i]:
                ref = rx.createProduct()
                ref.setSpecies(name)
                ref.setStoichiometry(float(crn.products[r, i]))
                ref.setConstant(True)
        law = rx.createKineticLaw()
        law.setMath(libsbml.parseL3Formula(" * ".join(factors)))
    return libsbml.writeSBMLToString(doc)


def roadrunner_setup(sbml, crn, rtol, atol):
    import roadrunner

    rr = roadrunner.RoadRunner(sbml)
    rr.integrator.relative_tolerance = rtol
    rr.integrator.absolute_tolerance = atol
    rr.integrator.maximum_num_steps = 100_000
    rr.timeCourseSelections = [f"[{s}]" for s in crn.species]
    # Initial values go in through the model's array setter: ``setValue("init(...)")`` regenerates the
    # model (0.1 s a call).
    order = [crn.species.index(s) for s in rr.model.getFloatingSpeciesIds()]
    return rr, order


def roadrunner_run(setup, x0s, times):
    rr, order = setup
    out = []
    for x0 in x0s:
        rr.model.setFloatingSpeciesInitConcentrations(np.ascontiguousarray(x0[order]))
        rr.reset()
        out.append(np.asarray(rr.simulate(times=times)))
    return np.stack(out)


# ---------------------------------------------------------------------------- main
def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rtol", type=float, default=1e-6)
    parser.add_argument("--atol", type=float, default=1e-9)
    parser.add_argument("--batch", type=int, default=256)
    parser.add_argument("--min-time", type=float, default=0.3)
    parser.add_argument("--no-roadrunner", action="store_true")
    args = parser.parse_args()
    rtol, atol = args.rtol, args.atol
    rng = np.random.default_rng(0)

    rows = []
    for name, spec in WORKLOADS.items():
        crn = Crn.from_text(spec["text"])
        rates = np.asarray(spec["rates"], dtype=float)
        x0s = np.array([[x0[s] for s in crn.species] for x0 in spec["x0"]])
        times = spec["times"]
        multi = len(x0s) > 1

        def ours():
            if multi:
                return simulate_batch(crn, rates, x0s, times, rtol=rtol, atol=atol).states[0]
            return simulate(crn, rates, x0s[0], times, rtol=rtol, atol=atol)[None]

        def ours_sens():
            for x0 in x0s:
                simulate_sensitivities(crn, rates, x0, times, rtol=rtol, atol=atol)

        result = ours()
        stats = simulate_batch(crn, rates, x0s, times, rtol=rtol, atol=atol).stats[0]
        reference = scipy_solve(crn, rates, x0s, times, "Radau", 1e-12, atol * 1e-6)
        err = float(np.max(np.abs(result - reference) / (rtol * np.abs(reference) + atol)))
        t_ours = timeit(ours, args.min_time)
        t_sens = timeit(ours_sens, args.min_time)

        t_scipy = {}
        for method in ("RK45", "LSODA", "BDF", "Radau"):
            if method == "RK45" and spec.get("stiff"):
                continue  # millions of steps on Robertson up to 1e5: minutes per solve
            try:
                scipy_solve(crn, rates, x0s, times, method, rtol, atol)
                t_scipy[method] = timeit(lambda: scipy_solve(crn, rates, x0s, times, method, rtol, atol),
                                         args.min_time)
            except RuntimeError:
                pass
        best = min(t_scipy, key=t_scipy.get)

        t_rr_reset = t_rr_load = float("nan")
        if not args.no_roadrunner:
            sbml = sbml_string(crn, rates, x0s[0])
            rr = roadrunner_setup(sbml, crn, rtol, atol)
            rr_result = roadrunner_run(rr, x0s, times)
            rr_err = float(np.max(np.abs(rr_result - reference) / (rtol * np.abs(reference) + atol)))
            t_rr_reset = timeit(lambda: roadrunner_run(rr, x0s, times), args.min_time)
            t_rr_load = timeit(lambda: roadrunner_run(roadrunner_setup(sbml, crn, rtol, atol), x0s, times),
                               args.min_time)
            # CVODE's error test is looser than ours at equal tolerances: also time it at tighter ones.
            rr_tight = []
            for factor in (10.0, 100.0):
                tight = roadrunner_setup(sbml, crn, rtol / factor, atol / factor)
                tight_err = float(np.max(np.abs(roadrunner_run(tight, x0s, times) - reference)
                                         / (rtol * np.abs(reference) + atol)))
                rr_tight.append((factor, tight_err, timeit(lambda: roadrunner_run(tight, x0s, times),
                                                           args.min_time)))
        else:
            rr_err = float("nan")
            rr_tight = []

        batch_rates = rates * np.exp(rng.normal(0.0, 0.3, size=(args.batch, rates.size)))
        batch = simulate_batch(crn, batch_rates, x0s, times, rtol=rtol, atol=atol)
        failed = int((batch.status != 0).sum())
        t_batch = timeit(lambda: simulate_batch(crn, batch_rates, x0s, times, rtol=rtol, atol=atol),
                         args.min_time) / args.batch
        t_batch_par = timeit(lambda: simulate_batch(crn, batch_rates, x0s, times, rtol=rtol, atol=atol,
                                                    parallel=True), args.min_time) / args.batch
        sample = batch_rates[:16]
        t_scipy_batch = timeit(lambda: [scipy_solve(crn, k, x0s, times, best, rtol, atol) for k in sample],
                               args.min_time) / len(sample)
        rows.append(dict(
            name=name, S=crn.num_species, R=crn.num_reactions, X=len(x0s), T=len(times),
            steps=int(stats[:, 0].sum()), implicit=int(stats[:, 2].sum()), ours=t_ours, sens=t_sens,
            scipy=t_scipy[best], best=best, scipy_all=t_scipy, rr_reset=t_rr_reset, rr_load=t_rr_load,
            batch=t_batch, batch_par=t_batch_par, scipy_batch=t_scipy_batch, err=err, rr_err=rr_err,
            rr_tight=rr_tight, failed=failed))

    us = lambda s: f"{s * 1e6:,.1f}"  # noqa: E731
    print(f"# bench_simulate: rtol={rtol:g} atol={atol:g}, batch={args.batch}; "
          f"{platform.processor() or platform.machine()}, {os.cpu_count()} cpus, numba {numba.__version__}, "
          f"{numba.config.NUMBA_NUM_THREADS} threads, load average {os.getloadavg()[0]:.1f}\n")
    print("Times in microseconds per simulation (one workload evaluation, all its experiments).\n")
    print("| workload | S x R, X x T | steps (implicit) | ours | ours+sens | scipy best | x scipy | rr reset+sim "
          "| rr load+sim | x rr | batch/set serial | batch/set threads | x scipy batch (serial, threads) | err ours "
          "| err rr |")
    print("|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|")
    for r in rows:
        print(f"| {r['name']} | {r['S']}x{r['R']}, {r['X']}x{r['T']} | {r['steps']} ({r['implicit']}) "
              f"| {us(r['ours'])} | {us(r['sens'])} | {us(r['scipy'])} ({r['best']}) | {r['scipy'] / r['ours']:,.0f} "
              f"| {us(r['rr_reset'])} | {us(r['rr_load'])} | {r['rr_reset'] / r['ours']:,.1f} "
              f"| {us(r['batch'])} | {us(r['batch_par'])} "
              f"| {r['scipy_batch'] / r['batch']:,.0f}, {r['scipy_batch'] / r['batch_par']:,.0f} "
              f"| {r['err']:.2f} | {r['rr_err']:.2f} |")
    print("\nscipy methods (microseconds): " + "; ".join(
        f"{r['name']}: " + ", ".join(f"{m} {us(t)}" for m, t in r["scipy_all"].items()) for r in rows))
    if any(r["rr_tight"] for r in rows):
        print("\nlibroadrunner at tighter tolerances (reset+sim, microseconds; err in units of the requested "
              "rtol |x| + atol; x rr = its time over ours):\n")
        print("| workload | ours (err) | rr rtol/10 (err) | x rr | rr rtol/100 (err) | x rr |")
        print("|---|---|---|---|---|---|")
        for r in rows:
            cells = " | ".join(f"{us(t)} ({e:.2f}) | {t / r['ours']:,.1f}" for _, e, t in r["rr_tight"])
            print(f"| {r['name']} | {us(r['ours'])} ({r['err']:.2f}) | {cells} |")
    if any(r["failed"] for r in rows):
        print("\nfailed simulations in the batches: " + ", ".join(f"{r['name']} {r['failed']}" for r in rows))


if __name__ == "__main__":
    main()
