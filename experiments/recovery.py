"""Structure recovery: run the search CLI on every example model's synthetic data and compare with the truth.

For each example: 5% noise, the designated observed species (Michaelis-Menten: S and P only, so E and C must
be found as latent species), ``--latent`` = the model's number of latent species. Prints per model whether
the best network is the truth (canonical key), the truth's rank among the best and the alternatives, the
number of fits (all fits made, polishing's screening fits included) and the fits made until the truth
was first fitted, and the wall time. Where the truth is not the best network, it says why: the truth is fitted
on the run's data as the search fits a network and ranked as the search ranks networks (the reward, less
``SearchConfig.simplicity`` times ``search.run.complexity``); if it ranks above the best network the search
missed it ("search"); if not, the data (under the reward) favour other networks, and the column counts the
distinct networks the search fitted that rank above the truth ("data": however far a search went, the
truth would rank below all of them).

    python experiments/recovery.py [--time-limit 600 | --max-fits N] [--prior heuristic] [--seed 0] [--only NAME ...]
                                   [--jobs N] [--workers N] [--batch-size B] [--out DIR] [--models FILE.json]
                                   [--via-csv] [--designs N]

``--designs N`` also runs each model on N data sets of other designs (``mcts_crn.examples.random_design``:
initial amounts x0.5-2, time spans x0.25-4, 8-100 points, 1-3 experiments, 2-10% relative or absolute noise,
seeded by ``--seed``, the model's name and the design's number), each written to ``DIR/<name>-d<k>/data.csv``
and searched through the command line with the noise estimated, as a user would (``--latent`` and, where
the model needs them, ``--max-order`` and ``--max-reactions``). Each model's own data set is design 0, and a
second table gives per model in how many designs the truth is first and in the top 3, the fits made per
second against design 0's, and why each miss happened.

``--models FILE.json`` runs on the models of that file in place of the built-in examples (a JSON object whose
``models`` list holds ``mcts_crn.examples.ExampleModel`` fields; ``experiments/heldout_models.json`` lists
published models that are not built in). Such models, and every model with ``--via-csv``, go through the
user's path: the synthetic data (5% noise, seeded by ``--seed`` and the model's name) are written to
``DIR/<name>/data.csv`` and the CLI runs on that file with ``--latent`` = the model's number of unmeasured
species and the noise estimated, as a user would (``--noise-given`` passes ``--noise 0.05``); the search then
knows no initial value (``--example`` data know them all).

Outputs go to DIR/<name>/ (default experiments/out/recovery, git-ignored); the table to stdout and
DIR/table.md. ``--jobs N`` runs N searches at once (one process each; on a machine with at least N cores,
each search then has a core to itself, as when two run on two cores); ``--workers N`` gives each search N fitting
processes (``python -m mcts_crn.search --workers``: one search on two cores is ``--jobs 1 --workers 2``);
``--batch-size B`` lets each tree search select B leaves at a time (``python -m mcts_crn.search --batch-size``); the
table keeps the models' order.
"""
from __future__ import annotations

import argparse
import concurrent.futures
import itertools
import json
import subprocess
import sys
import time
import zlib
from pathlib import Path

import numpy as np

from mcts_crn import fit_rates, reward
from mcts_crn.crn import Crn, latent_name
from mcts_crn.data import Dataset
from mcts_crn.examples import EXAMPLES, DataDesign, random_design
from mcts_crn.examples.library import ExampleModel
from mcts_crn.search.__main__ import load_data
from mcts_crn.search.run import complexity

OUT = Path(__file__).resolve().parent / "out" / "recovery"


def ode_signature(crn: Crn, names: dict[str, str]) -> frozenset:
    """The ODE's structure: for every species and monomial, the signs of the reactions' contributions.

    Two networks with equal signatures have the same polynomial ODE family (e.g. ``2 T -> T`` and
    ``2 T -> 0`` both give ``-c T^2``; ``I -> R`` equals ``I -> 0`` plus ``I -> I + R`` at equal rates), so
    no data can tell them apart. ``names`` renames species (latent ones) before comparing.
    """
    terms: dict[tuple, set] = {}
    for r in range(crn.num_reactions):
        monomial = tuple(sorted((names.get(crn.species[i], crn.species[i]), int(a))
                                for i, a in enumerate(crn.reactants[r]) if a))
        for i, change in enumerate(crn.stoichiometry[r]):
            if change:
                terms.setdefault((names.get(crn.species[i], crn.species[i]), monomial), set()).add(change > 0)
    return frozenset((key, frozenset(signs)) for key, signs in terms.items())


def same_ode(found: Crn, truth: Crn) -> bool:
    """Whether some renaming of ``found``'s latent species gives ``truth``'s ODE structure."""
    if sorted(found.observed_species) != sorted(truth.observed_species) or found.num_latent != truth.num_latent:
        return False
    target = ode_signature(truth, {})
    return any(ode_signature(found, dict(zip(found.latent_species, perm))) == target
               for perm in itertools.permutations(truth.latent_species))


def load_models(path: Path) -> dict[str, ExampleModel]:
    """The models of a JSON file (``{"models": [ExampleModel fields, ...]}``), by name; each checked as the
    built-in ones are (``ExampleModel`` checks the reaction text and one rate per reaction)."""
    try:
        specs = json.loads(Path(path).read_text())["models"]
    except (OSError, ValueError, KeyError, TypeError) as error:
        raise SystemExit(f"{path}: not a models file ({error})") from None
    models = {}
    for i, spec in enumerate(specs):
        try:
            model = ExampleModel(**{**spec, "rates": tuple(spec["rates"]), "initial": tuple(spec["initial"]),
                                    "observed": tuple(spec["observed"])})
        except (TypeError, KeyError, ValueError) as error:
            raise SystemExit(f"{path}: model {spec.get('name', i)}: {error}") from None
        if model.name in models:
            raise SystemExit(f"{path}: model {model.name} twice")
        models[model.name] = model
    return models


FIT_FAILED = 2.0
"""A truth whose refit has more than this many times the chi-square per point of the noise (1) and of the
best network was not fitted to its optimum (see ``truth_check``)."""


def truth_check(model: ExampleModel, dataset: Dataset, result: dict, seed: int) -> dict:
    """Where the truth stands on the data a search ran on (``dataset``, as the CLI built it: ``load_data``).

    The truth is fitted as the search would fit it: its latent species named as the search names them
    (``latent_name``: an example's data know the initial amounts of its own latent species by their names,
    which a search's network does not share, so the search fits them), with ``fit_rates``'s default settings
    (seeded by ``seed``), and again from its true rates (so that a poor basin of the fit cannot make it look
    worse than it is); the better fit is scored by the same reward and ranked as the search ranks networks:
    the reward less the run's ``simplicity`` times ``search.run.complexity``. Returns ``truth_reward``,
    ``best_reward`` (the search's best network), ``above_truth`` (the distinct complete networks of the
    search's trace, fitted successfully, that rank above the truth) and ``miss``: None where the truth is
    the best network, "search" where the truth ranks above the best (the search did not reach it), "fit"
    where the best ranks at least as high but the truth's fit is FIT_FAILED times worse per point than both
    the noise and the best network's (the network that made the data fits them to within the noise at its
    optimum, so neither fit found it: a limit of the fitter, or of the noise estimate, not of the data),
    "data" otherwise (no search would rank the truth first on these data).
    """
    names = dict(zip(model.crn.latent_species, (latent_name(j) for j in range(model.crn.num_latent))))
    crn = Crn(tuple(names.get(s, s) for s in model.crn.species), model.crn.latent, model.crn.reactants,
              model.crn.products)
    true_rates = dict(zip(crn.reactions_text(), model.rates))
    fits = [fit_rates(crn, dataset, rng=seed), fit_rates(crn, dataset, rng=seed, warm_start=true_rates)]
    scored = [(reward(fit, crn, dataset), fit.chi2_per_point) for fit in fits if fit.success]
    truth_reward, truth_chi2 = max(scored, default=(float("-inf"), float("inf")))
    simplicity = result["config"]["search"]["simplicity"]

    def rank(value: float, reactions: list[str]) -> float:
        return value - simplicity * complexity(Crn.from_text("\n".join(reactions)))

    truth_rank = truth_reward - simplicity * complexity(crn)
    best = result["best"]
    best_rank = rank(best["reward"], best["reactions"]) if best else float("-inf")
    ranks: dict[str, float] = {}
    for row in result["trace"]:
        # a network's rank is below its reward, so only those rewarded above the truth's rank can outrank it
        if row["complete"] and row["success"] and row["reward"] > truth_rank and row["key"] not in ranks:
            ranks[row["key"]] = rank(row["reward"], row["reactions"])
    truth = model.crn.canonical_key()
    above = sum(1 for key, value in ranks.items() if key != truth and value > truth_rank)
    best_chi2 = best["chi2_per_point"] if best else float("inf")
    if best and best["key"] == truth:
        miss = None
    elif truth_rank > best_rank:
        miss = "search"
    elif truth_chi2 > FIT_FAILED * max(1.0, best_chi2):
        miss = "fit"
    else:
        miss = "data"
    return {"truth_reward": truth_reward, "truth_chi2": truth_chi2,
            "best_reward": best["reward"] if best else float("-inf"),
            "best_chi2": best_chi2, "above_truth": above, "miss": miss}


def design_of(model: ExampleModel, seed: int, index: int) -> DataDesign:
    """Design ``index`` >= 1 of ``model`` in a run with ``--seed seed``."""
    return random_design(model, np.random.default_rng([seed, zlib.crc32(model.name.encode()), index]))


def run_one(model: ExampleModel, args, design: DataDesign | None = None, index: int = 0) -> dict:
    """Search one model's data (its own, or ``design``'s, numbered ``index``) through the CLI; the table's row."""
    name = model.name
    out = args.out / (name if design is None else f"{name}-d{index}")
    budget = ["--max-fits", str(args.max_fits)] if args.max_fits else ["--time-limit", str(args.time_limit)]
    cmd = [sys.executable, "-m", "mcts_crn.search", *budget,
           "--seed", str(args.seed), "--prior", args.prior, "--top", str(args.top), "--out", str(out), "--quiet",
           "--workers", str(args.workers), "--batch-size", str(args.batch_size)]
    if design is not None or args.via_csv or EXAMPLES.get(name) != model:
        out.mkdir(parents=True, exist_ok=True)
        if design is None:
            data = model.make_dataset(noise=0.05, rng=np.random.default_rng([args.seed, zlib.crc32(name.encode())]))
        else:
            data = design.make_dataset(np.random.default_rng([args.seed, zlib.crc32(name.encode()), index, 1]))
        data.to_csv(out / "data.csv")
        cmd += [str(out / "data.csv"), "--latent", str(model.crn.num_latent)]
        source = {"data": out / "data.csv"}
        if args.noise_given and design is None:
            cmd += ["--noise", "0.05"]
            source["noise"] = 0.05
    else:
        cmd += ["--example", name]
        source = {"example": name}
    order = int(max(model.crn.orders.max(), model.crn.products.sum(axis=1).max()))
    if order > 2:  # the Brusselator's autocatalytic step
        cmd += ["--max-order", str(order)]
    if model.crn.num_reactions > 8:
        cmd += ["--max-reactions", str(model.crn.num_reactions + 2)]
    start = time.perf_counter()
    done = subprocess.run(cmd, capture_output=True, text=True)
    wall = time.perf_counter() - start
    label = {"name": name, "design": index, "design_text": "own data" if design is None else design.describe()}
    if done.returncode != 0:
        return {**label, "error": done.stderr[-500:], "wall": wall}
    result = json.loads((out / "result.json").read_text())
    truth = model.crn.canonical_key()
    ranked = [result["best"]] + result["alternatives"] if result["best"] else result["alternatives"]
    crns = [Crn.from_text("\n".join(c["reactions"]), species=c["species"],
                          observed=[s for s in c["species"] if s not in c["latent"]]) for c in ranked]
    keys = [c.canonical_key() for c in crns]
    rank = keys.index(truth) + 1 if truth in keys else None
    equivalent = bool(crns) and same_ode(crns[0], model.crn)
    first = next((row["fit_calls"] for row in result["trace"] if row["key"] == truth), None)
    dataset, _ = load_data(**source, seed=args.seed)
    return {**label, "best_is_truth": rank == 1, "same_ode": equivalent, "rank": rank,
            "num_fits": result["num_fit_calls"],
            "fits_per_second": result["num_fit_calls"] / max(result["elapsed"], 1e-9),
            "fits_to_truth": first, "wall": wall, "best": result["best"]["reactions"] if result["best"] else None,
            "truth": model.crn.reactions_text(), **truth_check(model, dataset, result, args.seed)}


def why_missed(row: dict) -> str:
    """The table's last-but-one column: why the truth is not the best network (empty where it is)."""
    if row["miss"] == "search":
        return f"search: truth {row['truth_reward']:.4f}, best {row['best_reward']:.4f}"
    if row["miss"] == "fit":
        return (f"fit: truth {row['truth_reward']:.4f} at chi2/N {row['truth_chi2']:.3g}, best "
                f"{row['best_reward']:.4f} at {row['best_chi2']:.3g}")
    if row["miss"] == "data":
        return (f"data: best {row['best_reward']:.4f}, truth {row['truth_reward']:.4f}; "
                f"{row['above_truth']} fitted networks rank above the truth")
    return ""


def design_table(rows: list[dict], names: list[str], num_designs: int) -> list[str]:
    """Per model, over designs 1..N: the truth first, in the top 3, the lowest ratio of fits per second to
    design 0's (the model's own data), and the misses by verdict; then the share first among the designs
    whose verdict is not "data"."""
    lines = [f"| model | first (of {num_designs}) | top 3 | fits/s, own data | lowest fits/s ratio | "
             "missed by the search | truth not fitted | data favour others | errors |",
             "|---|---|---|---|---|---|---|---|---|"]
    first = decided = 0
    for name in names:
        own = next((r for r in rows if r["name"] == name and r["design"] == 0 and "error" not in r), None)
        designed = [r for r in rows if r["name"] == name and r["design"] > 0]
        good = [r for r in designed if "error" not in r]
        hits = sum(1 for r in good if r["best_is_truth"])
        first += hits
        decided += sum(1 for r in good if r["miss"] != "data")
        own_rate = own["fits_per_second"] if own else float("nan")
        lowest = min((r["fits_per_second"] / own_rate for r in good), default=float("nan"))
        lines.append(f"| {name} | {hits} | {sum(1 for r in good if r['rank'] and r['rank'] <= 3)} | {own_rate:.1f} | "
                     f"{lowest:.2f} | {sum(1 for r in good if r['miss'] == 'search')} | "
                     f"{sum(1 for r in good if r['miss'] == 'fit')} | "
                     f"{sum(1 for r in good if r['miss'] == 'data')} | {len(designed) - len(good)} |")
    lines.append(f"\ntruth first in {first} of the {decided} (model, design) pairs whose verdict is not \"data\"")
    return lines


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--time-limit", type=float, default=600.0)
    parser.add_argument("--max-fits", type=int, default=None,
                        help="a budget in fits for each search in place of --time-limit (the same on any machine)")
    parser.add_argument("--prior", default="heuristic")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--top", type=int, default=5)
    parser.add_argument("--only", nargs="*", default=None)
    parser.add_argument("--jobs", type=int, default=1, help="searches run at once (default 1)")
    parser.add_argument("--workers", type=int, default=1, help="fitting processes of each search (default 1)")
    parser.add_argument("--batch-size", type=int, default=1,
                        help="leaves each tree search selects at a time (default 1)")
    parser.add_argument("--out", type=Path, default=OUT, help=f"output folder (default {OUT})")
    parser.add_argument("--models", type=Path, default=None,
                        help="JSON file of models to run in place of the built-in examples (through CSV)")
    parser.add_argument("--via-csv", action="store_true",
                        help="run built-in examples through a CSV file and --latent, as a user would")
    parser.add_argument("--noise-given", action="store_true",
                        help="through a CSV file, give the search the data's noise (--noise 0.05), not its estimate")
    parser.add_argument("--designs", type=int, default=0, metavar="N",
                        help="also run each model on N data sets of other designs, noise estimated (default 0)")
    args = parser.parse_args(argv)
    if args.jobs < 1:
        parser.error(f"--jobs must be >= 1, got {args.jobs}")
    models = load_models(args.models) if args.models else dict(EXAMPLES)
    args.out.mkdir(parents=True, exist_ok=True)
    names = args.only or list(models)
    unknown = [name for name in names if name not in models]
    if unknown:
        parser.error(f"no model {unknown}; choose from {', '.join(models)}")
    if args.designs < 0:
        parser.error(f"--designs must be >= 0, got {args.designs}")
    runs = [(name, design_of(models[name], args.seed, k) if k else None, k)
            for name in names for k in range(args.designs + 1)]
    rows = []
    lines = ["| model | design | best = truth | best has the truth's ODE | rank of truth | fits | fits/s "
             "| fits to truth | wall (s) | why missed | best network |",
             "|---|---|---|---|---|---|---|---|---|---|---|"]
    print(lines[0] + "\n" + lines[1], flush=True)
    # each search is a subprocess, so threads suffice to run them at once; rows come back in the runs' order
    with concurrent.futures.ThreadPoolExecutor(max_workers=args.jobs) as pool:
        done = pool.map(lambda run: run_one(models[run[0]], args, run[1], run[2]), runs)
        for (name, _, _), row in zip(runs, done):
            rows.append(row)
            if "error" in row:
                line = (f"| {name} | {row['design_text']} | error | - | - | - | - | - | {row['wall']:.0f} | - "
                        f"| {row['error'][-120:]!r} |")
            else:
                best = "; ".join(row["best"] or [])
                line = (f"| {name} | {row['design_text']} | {'yes' if row['best_is_truth'] else 'no'} | "
                        f"{'yes' if row['same_ode'] else 'no'} | {row['rank'] or '>' + str(args.top + 1)} | "
                        f"{row['num_fits']} | {row['fits_per_second']:.1f} | {row['fits_to_truth'] or 'never'} | "
                        f"{row['wall']:.0f} | {why_missed(row)} | {best} |")
            lines.append(line)
            print(line, flush=True)
    recovered = sum(1 for r in rows if r.get("best_is_truth"))
    in_top3 = sum(1 for r in rows if r.get("rank") and r["rank"] <= 3)
    same = sum(1 for r in rows if r.get("same_ode"))
    search_misses = sum(1 for r in rows if r.get("miss") == "search")
    fit_misses = sum(1 for r in rows if r.get("miss") == "fit")
    data_misses = sum(1 for r in rows if r.get("miss") == "data")
    summary = (f"\nrecovered as best: {recovered} of {len(rows)}; best with the truth's ODE structure: {same} of "
               f"{len(rows)}; truth in the top 3: {in_top3} of {len(rows)}; missed by the search: {search_misses}; "
               f"truth not fitted to its optimum: {fit_misses}; "
               f"data favour other networks: {data_misses}")
    if args.designs:
        summary += "\n\n" + "\n".join(design_table(rows, names, args.designs))
    print(summary)
    (args.out / "table.md").write_text("\n".join(lines) + summary + "\n")
    (args.out / "rows.json").write_text(json.dumps(rows, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
