"""A finished search, for people (text) and for files (result.json, model.tex, model.xml, fit.png)."""
from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import numpy as np

from mcts_crn import __version__
from mcts_crn.data import Dataset
from mcts_crn.render.ode import ode_latex, ode_text, reactions_with_rates
from mcts_crn.render.plots import plot_fit
from mcts_crn.render.sbml import write_sbml
from mcts_crn.search.run import Candidate, SearchResult

RESULT_SCHEMA_VERSION = 1


def _finite(value: float) -> float | None:
    """JSON has no NaN or infinity: such values are written as null."""
    value = float(value)
    return value if math.isfinite(value) else None


def candidate_dict(candidate: Candidate, digits: int = 6) -> dict[str, Any]:
    """One network as JSON: reactions, rates with standard errors, ODEs, reward and loss."""
    crn, fit = candidate.crn, candidate.fit
    return {
        "reactions": crn.reactions_text(),
        "species": list(crn.species),
        "latent": [s for s in crn.latent_species],
        "rates": [_finite(k) for k in fit.rates],
        "rate_se_log": [_finite(s) for s in fit.rate_se],
        "x0": [[_finite(v) for v in row] for row in fit.x0],
        "ode_text": ode_text(crn, fit.rates, digits=digits),
        "ode_latex": ode_latex(crn, fit.rates, digits=digits),
        "reward": _finite(candidate.reward),
        "loss": _finite(fit.loss),
        "chi2_per_point": _finite(fit.chi2_per_point),
        "num_params": int(fit.num_params),
        "key": candidate.key,
        "fit_index": candidate.fit_index,
    }


def result_dict(result: SearchResult, dataset: Dataset, *, extra_config: dict | None = None) -> dict[str, Any]:
    """Everything ``result.json`` holds. ``elapsed`` is the only timing field."""
    return {
        "schema_version": RESULT_SCHEMA_VERSION,
        "version": __version__,
        "data": {"source": dataset.source, "species": list(dataset.species),
                 "num_experiments": dataset.num_experiments, "num_points": dataset.num_points,
                 "noise": {"model": dataset.noise_model, "given": dataset.noise_given,
                           "level": dataset.noise.tolist(),
                           "floor": None if dataset.noise_floor is None else dataset.noise_floor.tolist(),
                           "description": dataset.noise_description(), "note": dataset.noise_note}},
        "best": None if result.best is None else candidate_dict(result.best),
        "alternatives": [candidate_dict(c) for c in result.alternatives],
        "num_fits": result.num_fits,
        "num_fits_to_best": result.num_fits_to_best,
        "num_fit_calls": result.num_fit_calls,
        "num_simulations": result.num_simulations,
        "seed": result.seed_entropy,
        "config": {"search": result.config.to_dict(), **(extra_config or {})},
        "root_statistics": [{k: (_finite(v) if isinstance(v, float) else v) for k, v in row.items()}
                            for row in result.root_statistics],
        "trace": [{k: (_finite(v) if isinstance(v, float) else v) for k, v in row.items()} for row in result.trace],
        "elapsed": result.elapsed,
    }


def format_candidate(candidate: Candidate, *, digits: int = 4) -> str:
    """Reactions with rates (± standard errors) and the ODE system, as text."""
    fit = candidate.fit
    stderr = np.asarray(fit.rates) * np.asarray(fit.rate_se)
    lines = reactions_with_rates(candidate.crn, fit.rates, stderr, digits=digits)
    latent = candidate.crn.latent_species
    if latent:
        lines.append(f"latent species: {', '.join(latent)}")
    lines += ["", ode_text(candidate.crn, fit.rates, digits=digits), "",
              f"reward {candidate.reward:.4f}, chi2/N {fit.chi2_per_point:.3g}, {fit.num_params} parameters"]
    return "\n".join(lines)


def format_result(result: SearchResult) -> str:
    """The search's answer for the terminal: the best network and a ranked list of alternatives."""
    if result.best is None:
        return f"no complete network was fitted in {result.num_fits} fits"
    stage = result.trace[result.num_fits_to_best - 1]["stage"]
    found = {"tree": "the tree search", "climb": "polishing", "prune": "pruning"}[stage]
    lines = [f"best network (fit {result.num_fits_to_best} of {result.num_fits}, found by {found}; "
             f"{result.num_simulations} simulations, {result.elapsed:.1f} s):", "",
             format_candidate(result.best)]
    if result.alternatives:
        lines += ["", "alternatives:"]
        for rank, c in enumerate(result.alternatives, start=2):
            lines.append(f"  {rank}. reward {c.reward:.4f}  chi2/N {c.fit.chi2_per_point:.3g}  "
                         f"{'; '.join(c.crn.reactions_text())}")
    return "\n".join(lines)


def write_outputs(result: SearchResult, dataset: Dataset, out_dir: str | Path, *,
                  extra_config: dict | None = None) -> Path:
    """Write result.json, model.tex, model.xml (SBML) and fit.png to ``out_dir`` (made if missing)."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    payload = result_dict(result, dataset, extra_config=extra_config)
    (out / "result.json").write_text(json.dumps(payload, indent=1, allow_nan=False) + "\n")
    best = result.best
    if best is not None:
        fit = best.fit
        (out / "model.tex").write_text(
            "% mcts_crn " + __version__ + ": best network for " + dataset.source + "\n"
            + "\\[\n" + ode_latex(best.crn, fit.rates) + "\n\\]\n")
        write_sbml(out / "model.xml", best.crn, fit.rates, fit.x0[0],
                   notes=f"Found by mcts_crn {__version__} in {dataset.source} (experiment 1 initial amounts); "
                         f"reward {best.reward:.4f}")
        plot_fit(out / "fit.png", dataset, best.crn, fit.rates, fit.x0,
                 title=f"best network: reward {best.reward:.3f}")
    return out
