"""``python -m mcts_crn.search DATA.csv | --example NAME``: find the reaction network behind time series.

Prints the best network's reactions with fitted rates (± standard errors) and its ODE system, and writes
result.json, model.tex, model.xml (SBML) and fit.png to ``--out``.
"""
from __future__ import annotations

import argparse
import logging
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from mcts_crn.data import Dataset


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m mcts_crn.search",
                                     description="Find the mass-action reaction network behind time-series data.")
    source = parser.add_mutually_exclusive_group(required=True)
    source.add_argument("data", nargs="?", help="wide CSV (time[, experiment], one column per species) or .h5 file")
    source.add_argument("--example", metavar="NAME", help="built-in example data set (see --list-examples)")
    source.add_argument("--list-examples", action="store_true", help="list the built-in examples and exit")
    parser.add_argument("--latent", type=int, default=None, metavar="N",
                        help="most latent (unmeasured) species to add (default 0; an example's own count)")
    parser.add_argument("--max-order", type=int, default=None, help="most molecules a reaction side (default 2)")
    parser.add_argument("--max-reactions", type=int, default=None, help="most reactions in a network (default 8)")
    budget = parser.add_mutually_exclusive_group()
    budget.add_argument("--simulations", type=int, default=None, metavar="N", help="tree simulations (default 300)")
    budget.add_argument("--time-limit", type=float, default=None, metavar="S", help="wall-time budget in seconds")
    budget.add_argument("--max-fits", type=int, default=None, metavar="N",
                        help="budget in fits, every fit counted (the same on every machine, whatever the prior)")
    parser.add_argument("--seed", type=int, default=0, help="the run's seed (default 0)")
    parser.add_argument("--workers", type=int, default=1, metavar="N",
                        help="processes that fit networks at once (default 1; the result does not depend on it "
                             "within a budget of simulations or fits, and a time limit reaches further with more)")
    parser.add_argument("--batch-size", type=int, default=1, metavar="B",
                        help="leaves the tree search selects together, with virtual loss (default 1); with --workers, "
                             "B of 2 to 4 per worker lets the tree's fits run at once too (the result depends on B)")
    parser.add_argument("--prior", choices=("uniform", "heuristic", "learned"), default="heuristic",
                        help="prior over edits (default heuristic: the score test)")
    parser.add_argument("--top", type=int, default=5, metavar="K", help="alternatives to report (default 5)")
    parser.add_argument("--forbid", action="append", default=[], metavar="REACTION",
                        help="a reaction never to add, e.g. 'P -> S' (repeatable)")
    parser.add_argument("--require", action="append", default=[], metavar="REACTION",
                        help="a reaction the network must contain (repeatable)")
    parser.add_argument("--noise", type=float, default=None,
                        help="noise level of the data: relative (0.05 = 5%% of each value) or, with --noise-model "
                             "absolute, in the species' units (default: each species' error model estimated from "
                             "the data; an example's: 0.05 relative)")
    parser.add_argument("--noise-model", choices=("relative", "absolute"), default="relative",
                        help="what --noise means (default relative)")
    parser.add_argument("--out", type=Path, default=Path("mcts_crn_out"), metavar="DIR",
                        help="output folder (default ./mcts_crn_out)")
    parser.add_argument("--explain", action="store_true",
                        help="also write the search tree (tree.json, tree.dot) and the decision report")
    parser.add_argument("--quiet", action="store_true", help="no progress bar, only the result")
    return parser


def run_seeds(seed: int) -> tuple[np.random.SeedSequence, np.random.SeedSequence]:
    """The seeds a run with ``--seed seed`` spawns: one for an example's synthetic data, one for the search."""
    data_seed, search_seed = np.random.SeedSequence(seed).spawn(2)
    return data_seed, search_seed


def load_data(*, example: str | None = None, data: str | Path | None = None, noise: float | None = None,
              noise_model: str = "relative", seed: int = 0) -> tuple[Dataset, int]:
    """The data set a run searches, and the latent species it allows unless ``--latent`` says otherwise.

    ``example``: the built-in model's synthetic data (relative noise ``noise``, 0.05 by default, drawn from
    the run's data seed, ``run_seeds``), allowing the model's own number of latent species; ``data``: a
    wide CSV or HDF5 file (``.h5``, ``.hdf5``), with ``noise`` (under ``noise_model``) replacing its noise
    estimate where given, allowing none. A study that reruns a search's fits (``experiments/recovery.py``) gets the same
    data from the same arguments.
    """
    from mcts_crn.data import Dataset
    from mcts_crn.examples import get_example

    if (example is None) == (data is None):
        raise ValueError("give one of example and data")
    if example is not None:
        if noise_model != "relative":
            raise ValueError("an example's noise is relative")
        model = get_example(example)
        dataset = model.make_dataset(noise=0.05 if noise is None else noise,
                                     rng=np.random.default_rng(run_seeds(seed)[0]))
        return dataset, model.crn.num_latent
    path = str(data)
    dataset = Dataset.from_hdf5(path) if path.endswith((".h5", ".hdf5")) else Dataset.from_csv(path)
    if noise is not None:
        dataset = dataset.with_noise(noise, noise_model)
    return dataset, 0


def _evaluator(name: str):
    from mcts_crn.search.evaluators import PRIORS

    if name == "learned":
        try:
            from mcts_crn.model import load_default_evaluator
        except ImportError as error:
            raise SystemExit(f"error: the learned prior is not available in this installation ({error})")
        return load_default_evaluator()
    return PRIORS[name]()


def main(argv: list[str] | None = None) -> int:
    from mcts_crn.config import SearchConfig
    from mcts_crn.examples import EXAMPLES
    from mcts_crn.render.report import format_result, write_outputs
    from mcts_crn.search.evaluators import search_settings
    from mcts_crn.search.run import run_search

    args = build_parser().parse_args(argv)
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    if args.list_examples:
        for name, model in EXAMPLES.items():
            print(f"{name:24s} {model.title}")
        return 0
    if args.noise_model != "relative" and args.noise is None:
        raise SystemExit("error: --noise-model says what --noise means; give --noise too")
    dataset, latent = load_data(example=args.example, data=args.data, noise=args.noise,
                                noise_model=args.noise_model, seed=args.seed)
    _, search_seed = run_seeds(args.seed)
    evaluator = _evaluator(args.prior)
    config = SearchConfig(
        **search_settings(evaluator),  # a learned prior: the playout depth chosen with its checkpoint
        num_simulations=(None if (args.time_limit is not None or args.max_fits is not None) and args.simulations is None
                         else (args.simulations or 300)),
        time_limit=args.time_limit, max_fits=args.max_fits,
        max_latent=latent if args.latent is None else args.latent,
        max_order=args.max_order or 2,
        max_reactions=args.max_reactions or 8,
        forbidden=tuple(args.forbid), required=tuple(args.require), top_k=args.top, workers=args.workers,
        batch_size=args.batch_size)
    if not args.quiet:
        print(dataset.summary(), "\n")
    result = run_search(dataset, config=config, evaluator=evaluator, rng=search_seed,
                        progress=False if args.quiet else None)
    print(format_result(result))
    out = write_outputs(result, dataset, args.out,
                        extra_config={"prior": args.prior, "seed": args.seed, "example": args.example,
                                      "data": None if args.data is None else str(args.data),
                                      **({"prior_temperature": evaluator.temperature}
                                         if hasattr(evaluator, "temperature") else {})})
    if args.explain:
        from mcts_crn.explain import export_tree, write_tree
        from mcts_crn.explain.__main__ import write_explanation

        exported = export_tree(result)
        write_tree(exported, out / "tree.json")
        report = write_explanation(exported, out)
        if not args.quiet:
            print("\nwhy (visits, priors and values of the top actions at each step):\n" + report)
        model = getattr(evaluator, "model", None)
        if model is not None:
            from mcts_crn.explain.__main__ import write_attributions

            attributions = write_attributions(model, result, dataset, out)
            if not args.quiet:
                print("\n" + attributions)
        else:
            from mcts_crn.explain.__main__ import ATTRIBUTIONS_NEED_LEARNED

            for name in ("attributions.txt", "attributions.json", "attributions.png"):  # of an earlier run
                (out / name).unlink(missing_ok=True)
            if not args.quiet:
                print(f"\n({ATTRIBUTIONS_NEED_LEARNED})")
    if not args.quiet:
        written = ", tree.json, tree.dot, decisions.txt, decisions.png" if args.explain else ""
        if args.explain and getattr(evaluator, "model", None) is not None:
            written += ", attributions.txt, attributions.json, attributions.png"
        print(f"\nwrote {out}/result.json, model.tex, model.xml, fit.png" + written)
    return 0


if __name__ == "__main__":
    from mcts_crn.cli import run

    run(main)
