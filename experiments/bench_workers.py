"""Benchmark: a search fitting in several processes (``SearchConfig.workers``) against one, in one run.

For each example model (5% noise, the designated species observed) the same search (heuristic prior, a budget
of ``--max-fits`` fits, seed 0) runs with 1 worker and with each count of ``--workers``, in turn, ``--repeats``
times (interleaved, so that a slow spell of the machine hits both). Under a budget in fits the searches must
make the same fits with the same results (the trace is compared); the ratio of the wall times (the fastest
repeat of each) is the speedup, the processes' start included. With ``--batch-size 1`` the tree search fits
one leaf at a time, so the workers overlap polishing's screens and full fits, pruning's, and nothing of the
tree's: the speedup is bounded by polishing's share of the time; with batches of several leaves the tree's
fits overlap too.

    python experiments/bench_workers.py [--max-fits 400] [--workers 2] [--repeats 2] [--batch-size 1] [NAME ...]

Prints a markdown table. Timings are only comparable within one run; on a machine with fewer cores than
workers the extra processes only take turns.
"""
from __future__ import annotations

import argparse
import os
import time

import numpy as np

from mcts_crn.config import SearchConfig
from mcts_crn.examples import EXAMPLES
from mcts_crn.search import run_search

DEFAULT_MODELS = ("michaelis_menten", "sir", "hiv", "malaria")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("names", nargs="*", default=list(DEFAULT_MODELS))
    parser.add_argument("--max-fits", type=int, default=400)
    parser.add_argument("--workers", type=lambda v: [int(w) for w in v.split(",")], default=[2],
                        help="comma-separated worker counts to compare with 1 (default 2)")
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--batch-size", type=int, default=1, help="leaves the tree selects together (default 1)")
    args = parser.parse_args(argv)
    counts = [1] + [w for w in args.workers if w != 1]
    print(f"{os.cpu_count()} cores; budget {args.max_fits} fits per search; tree batches of {args.batch_size}; "
          f"fastest of {args.repeats} repeats\n")
    print("| model | fit calls | polishing's share | "
          + " | ".join(f"{w} worker{'s' if w > 1 else ''} (s)" for w in counts)
          + " | " + " | ".join(f"speedup x{w}" for w in counts[1:]) + " | same trace |")
    print("|---" * (3 + 2 * len(counts)) + "|")
    for name in args.names:
        model = EXAMPLES[name]
        data = model.make_dataset(noise=0.05, rng=np.random.default_rng(0))
        times: dict[int, list[float]] = {w: [] for w in counts}
        traces: dict[int, list] = {}
        for _ in range(args.repeats):
            for w in counts:
                config = SearchConfig(max_fits=args.max_fits, max_latent=model.crn.num_latent,
                                      max_order=max(2, int(model.crn.orders.max())), workers=w,
                                      batch_size=args.batch_size)
                start = time.perf_counter()
                result = run_search(data, config=config, rng=0, progress=False)
                times[w].append(time.perf_counter() - start)
                traces[w] = [(row["key"], row["reward"], row["fit_calls"]) for row in result.trace]
        same = all(traces[w] == traces[1] for w in counts)
        # fit calls (screens included) after the tree search's last fit: polishing's and pruning's share
        tree_calls = max((row["fit_calls"] for row in result.trace if row["stage"] == "tree"), default=0)
        climbs = 1.0 - tree_calls / max(result.num_fit_calls, 1)
        best = {w: min(t) for w, t in times.items()}
        print(f"| {name} | {result.num_fit_calls} | {climbs:.2f} | "
              + " | ".join(f"{best[w]:.1f}" for w in counts) + " | "
              + " | ".join(f"{best[1] / best[w]:.2f}" for w in counts[1:]) + f" | {'yes' if same else 'NO'} |",
              flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
