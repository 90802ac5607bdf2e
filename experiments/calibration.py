"""Reward calibration: does the true network outrank its one-reaction subsets and supersets?

For each example model, synthetic data at 5% noise (designated species observed, latent initial values
known) are fitted with the true network, with every network made by removing one of its reactions, and
with every network made by adding one candidate reaction (a seeded sample of 50 when there are more). The
true network passes when its reward exceeds all of theirs. Subsets and supersets are warm started from the
true network's fit, as a child in the search is from its parent.

    python experiments/calibration.py [--noise 0.05] [--seed 0] [--supersets 50] [--plain-holdout] [NAME ...]

``--plain-holdout`` scores the held-out prediction as a plain chi-square (``FitConfig.holdout_predictive``
off), as before its uncertainty was taken into account.

Prints a markdown table; writes per-network details to experiments/out/calibration_seed<SEED>[_plain_holdout].json.
"""
from __future__ import annotations

import argparse
import json
import os
import time

import numpy as np

from mcts_crn.config import FitConfig, RewardConfig
from mcts_crn.crn import Crn
from mcts_crn.examples import EXAMPLES
from mcts_crn.fit import fit_rates
from mcts_crn.reward import reward_parts


def neighbours(crn: Crn, max_order: int, num_supersets: int, rng: np.random.Generator):
    """(label, crn) for every one-reaction subset and a sample of one-reaction supersets."""
    out = [(f"-[{crn.reaction_text(r)}]", crn.remove_reaction(r)) for r in range(crn.num_reactions)]
    reactants, products = crn.candidate_reactions(max_order)
    new = [k for k in range(len(reactants)) if not crn.has_reaction(reactants[k], products[k])]
    if len(new) > num_supersets:
        new = sorted(rng.choice(new, size=num_supersets, replace=False).tolist())
    for k in new:
        child = crn.add_reaction((reactants[k], products[k]))
        out.append((f"+[{child.reaction_text(child.num_reactions - 1)}]", child))
    return out


def calibrate(name: str, *, noise: float, seed: int, num_supersets: int, fit_config: FitConfig,
              reward_config: RewardConfig) -> dict:
    """Fit the true network of one example and its neighbours; return the rewards and the verdict."""
    model = EXAMPLES[name]
    seeds = np.random.SeedSequence([seed, sum(map(ord, name))]).spawn(4)
    data_rng, start_rng, sample_rng = (np.random.default_rng(s) for s in seeds[:3])
    fit_seed = seeds[3]
    crn = model.crn
    dataset = model.make_dataset(noise=noise, rng=data_rng)
    start = model.rates_array * np.exp(start_rng.uniform(np.log(0.3), np.log(3.0), crn.num_reactions))
    t0 = time.perf_counter()
    truth = fit_rates(crn, dataset, config=fit_config, rng=fit_seed, warm_start=dict(zip(crn.reactions_text(), start)))
    true_parts = reward_parts(truth, crn, dataset, config=reward_config)
    rows = []
    max_order = max(2, int(crn.reactants.sum(axis=1).max()), int(crn.products.sum(axis=1).max()))
    child_seeds = fit_seed.spawn(crn.num_reactions + num_supersets + 1)
    for (label, child), child_seed in zip(neighbours(crn, max_order, num_supersets, sample_rng), child_seeds):
        fit = fit_rates(child, dataset, config=fit_config, rng=child_seed, warm_start=truth)
        parts = reward_parts(fit, child, dataset, config=reward_config)
        rows.append(dict(label=label, kind="subset" if label[0] == "-" else "superset", **_record(fit, parts)))
    elapsed = time.perf_counter() - t0
    subsets = [r for r in rows if r["kind"] == "subset"]
    supersets = [r for r in rows if r["kind"] == "superset"]
    best_sub = max(subsets, key=lambda r: r["reward"]) if subsets else None
    best_sup = max(supersets, key=lambda r: r["reward"]) if supersets else None
    beaten_by = [r["label"] for r in rows if r["reward"] >= true_parts.reward]
    return dict(name=name, num_points=truth.num_points, true_reward=true_parts.reward,
                truth=_record(truth, true_parts), best_subset=best_sub, best_superset=best_sup,
                beaten_by=beaten_by, passed=not beaten_by, num_fits=len(rows) + 1, seconds=elapsed, rows=rows)


def _record(fit, parts) -> dict:
    """What the reward reads from a fit (so other reward settings can be replayed from the JSON)."""
    return dict(reward=parts.reward, chi2=fit.loss, holdout=fit.holdout_chi2, holdout_fit=fit.holdout_fit_chi2,
                holdout_points=fit.holdout_points, params=fit.num_params, rate_se=fit.rate_se.tolist(),
                unsupported=parts.num_unsupported, success=fit.success, simulations=fit.num_simulations)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("names", nargs="*", default=list(EXAMPLES))
    parser.add_argument("--noise", type=float, default=0.05)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--supersets", type=int, default=50)
    parser.add_argument("--plain-holdout", action="store_true",
                        help="the held-out prediction as a plain chi-square (FitConfig.holdout_predictive off)")
    args = parser.parse_args(argv)
    fit_config, reward_config = FitConfig(holdout_predictive=not args.plain_holdout), RewardConfig()
    results = []
    print(f"noise {args.noise:g}, seed {args.seed}, up to {args.supersets} supersets; {reward_config}\n")
    print("| example | N | reward true | best subset | best superset | fits | s | pass |")
    print("|---|---|---|---|---|---|---|---|")
    for name in args.names:
        out = calibrate(name, noise=args.noise, seed=args.seed, num_supersets=args.supersets,
                        fit_config=fit_config, reward_config=reward_config)
        results.append(out)
        sub, sup = out["best_subset"], out["best_superset"]
        fmt = lambda r: f"{r['reward']:.4f} {r['label']}" if r else "-"  # noqa: E731
        print(f"| {name} | {out['num_points']} | {out['true_reward']:.4f} | {fmt(sub)} | {fmt(sup)} | "
              f"{out['num_fits']} | {out['seconds']:.1f} | {'yes' if out['passed'] else 'NO'} |", flush=True)
    passed = sum(r["passed"] for r in results)
    print(f"\n{passed} of {len(results)} examples pass.")
    for r in results:
        if not r["passed"]:
            print(f"- {r['name']}: true network beaten by {', '.join(r['beaten_by'])}")
    os.makedirs(os.path.join(os.path.dirname(__file__), "out"), exist_ok=True)
    suffix = "_plain_holdout" if args.plain_holdout else ""
    with open(os.path.join(os.path.dirname(__file__), "out", f"calibration_seed{args.seed}{suffix}.json"), "w") as fh:
        json.dump(dict(noise=args.noise, seed=args.seed, holdout_predictive=fit_config.holdout_predictive,
                       reward_config=reward_config.to_dict(), results=results),
                  fh, indent=1, default=float)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
