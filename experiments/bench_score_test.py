"""Benchmark: the score test's candidate sensitivities, grouped by reactant complex against one per
candidate (``mcts_crn.search.evaluators.candidate_gradients``), on example networks at their fitted rates.

For each example (its true network with the latent species named as the search names them), the legal
candidate reactions of the search's action space (order 2) are scored both ways, after one untimed call
each (numba compilation); the script prints the candidates, the sensitivity parameters each way, the
median time of ``--repeats`` calls each way, their ratio, and the largest difference relative to the
largest sensitivity. That difference (about 1e-3) comes from the candidates' own effect on the trajectory
at their rate of 1e-8, which the one-per-candidate form has more of; at 1e-13 and tight tolerances the two
agree to 1e-8 (``tests/test_search_evaluators.py``). Run from the repository root:
``python experiments/bench_score_test.py``.
"""
from __future__ import annotations

import argparse
import platform
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))

from mcts_crn.search.evaluators import candidate_gradients  # noqa: E402
from test_search_evaluators import fitted_candidates  # noqa: E402


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", default="lotka_volterra,seir,michaelis_menten,phosphorylation_cycle")
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args(argv)
    print(f"python {platform.python_version()} on {platform.machine()}; median of {args.repeats} calls")
    print(f"{'model':24s} {'species':>7s} {'candidates':>10s} {'grouped params':>14s} {'direct s':>9s} "
          f"{'grouped s':>9s} {'ratio':>7s} {'max rel diff':>12s}")
    for name in args.models.split(","):
        crn, fit, data, reactants, products, columns = fitted_candidates(name)
        s = crn.num_species
        times, results = {}, {}
        for grouped in (False, True):
            def call(grouped=grouped):
                return candidate_gradients(crn, fit, reactants, products, data, columns, data.sigmas(),
                                           grouped=grouped)
            results[grouped] = call()
            runs = []
            for _ in range(args.repeats):
                start = time.perf_counter()
                call()
                runs.append(time.perf_counter() - start)
            times[grouped] = float(np.median(runs))
        diff = max(np.abs(a - b).max() / np.abs(a).max() for a, b in zip(results[False], results[True]))
        pairs = len(np.unique(reactants, axis=0)) * s
        print(f"{name:24s} {s:7d} {len(reactants):10d} {pairs:14d} {times[False]:9.3f} {times[True]:9.3f} "
              f"{times[False] / times[True]:6.1f}x {diff:12.1e}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
