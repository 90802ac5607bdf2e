"""``python -m mcts_crn.search DATA.csv | --example NAME``: the tool's main command.

The tree search itself arrives with its own issue; until then the command loads the data (a CSV/HDF5 file
or a built-in example), validates it, and prints its summary and, for an example, the published model's
reactions and ODE system.
"""
from __future__ import annotations

import argparse
import sys

from mcts_crn.data import Dataset


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m mcts_crn.search", description=__doc__.splitlines()[0])
    source = parser.add_mutually_exclusive_group(required=True)
    source.add_argument("data", nargs="?", help="wide CSV (time[, experiment], species...) or .h5 file")
    source.add_argument("--example", metavar="NAME", help="built-in example data set (see --list-examples)")
    source.add_argument("--list-examples", action="store_true", help="list the built-in examples and exit")
    parser.add_argument("--seed", type=int, default=0, help="seed for the example's synthetic noise")
    parser.add_argument("--noise", type=float, default=0.05, help="relative noise of an example's data")
    return parser


def main(argv: list[str] | None = None) -> int:
    from mcts_crn.examples import EXAMPLES, get_example
    from mcts_crn.render import ode_text, reactions_with_rates

    args = build_parser().parse_args(argv)
    if args.list_examples:
        for name, model in EXAMPLES.items():
            print(f"{name:24s} {model.title}")
        return 0
    if args.example:
        model = get_example(args.example)
        dataset = model.make_dataset(noise=args.noise, rng=args.seed)
    else:
        path = args.data
        dataset = Dataset.from_hdf5(path) if path.endswith((".h5", ".hdf5")) else Dataset.from_csv(path)
        model = None
    print(dataset.summary())
    if model is not None:
        print(f"\n{model.title}\n{model.citation}\n")
        print("\n".join(reactions_with_rates(model.crn, model.rates_array)))
        print()
        print(ode_text(model.crn, model.rates_array))
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except ValueError as error:
        print(f"error: {error}", file=sys.stderr)
        sys.exit(2)
