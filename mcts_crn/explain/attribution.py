"""Attributions through the learned prior: which data features made the GNN's policy choose an edit.

``integrated_gradients`` is the method (Sundararajan, Taly & Yan 2017, ICML). ``policy_attributions``
applies it to the log-probability the model's policy gives an action at a state, with every model input
(species, reaction, graph and action features, ``mcts_crn.model.features``) varied together from a
data-blind baseline (``data_blind_baseline``: the same network with every feature that comes from the data
or the fit set to 0) to the actual features, and sums the attributions into human terms:

- per species: everything in that species' feature row (its trajectory, spread, scale, noise, missing
  fraction, the fit's prediction, its residuals and misfit share);
- per feature group, summed over species: ``trajectory`` (mean over experiments on the time grid),
  ``spread`` (max - min over experiments), ``level`` (scale, noise, missing fraction), ``prediction``
  (the current fit's curve and magnitude), ``residuals`` (weighted residuals on the grid), ``misfit``
  (the species' share of the chi-square);
- per time window: the species features that are resampled on the grid of G normalized times
  (trajectory, spread, prediction, residuals) are split into ``num_windows`` consecutive windows of grid
  points, labelled by the data's time;
- what is not per species: ``edit scores`` (each candidate's regression share, the fraction of the misfit
  it would explain, and the heuristic log prior built on them, summed over all legal actions since the
  softmax compares them), ``fit summary`` (the graph's misfit, failure flag, reward and parameter density)
  and ``reaction fits`` (identifiability and turnover of the reactions present).

By completeness the species, edit-score, fit-summary and reaction-fit parts add up to
``log p(a | x) - log p(a | baseline)``: how many nats the data moved the policy toward the action. The
structural inputs (flags, one-hot orders, counts) equal their baseline and get exactly zero.

Only the learned prior can be explained this way; the uniform and heuristic priors have no model inputs.
Torch is imported lazily.
"""
from __future__ import annotations

import copy
import dataclasses
from typing import TYPE_CHECKING, Any, Callable, Sequence

import numpy as np

if TYPE_CHECKING:
    from mcts_crn.model.features import StateFeatures

NUM_FLAG_FEATURES = 3
"""Leading species feature columns that are flags (``mcts_crn.model.features.NUM_FLAG_FEATURES``; checked
when features are built)."""

ATTRIBUTION_SCHEMA_VERSION = 1
SPECIES_GROUPS = ("flags", "trajectory", "spread", "level", "prediction", "residuals", "misfit")
OTHER_PARTS = ("edit scores", "fit summary", "reaction fits")
FIT_GRAPH_COLUMNS = (0, 1, 2, 7)
"""Graph features derived from the fit: misfit, fit failed, reward, parameters / points."""
NUM_DATA_ACTION_FEATURES = 3
"""The last action features come from the data and the fit: regression share, direct score, heuristic."""
_INPUTS = ("species", "reactions", "graph", "action_features")


def integrated_gradients(fn: Callable, inputs, baseline=None, *, steps: int = 64, batched: bool = False):
    """Integrated gradients of a scalar function of a tensor (Sundararajan, Taly & Yan 2017, ICML).

        IG_i(x) = (x_i - x'_i) * integral_0^1 d fn(x' + a (x - x')) / d x_i da

    approximated by the midpoint rule with ``steps`` points. The attributions add up to
    ``fn(x) - fn(x')`` (completeness) up to the quadrature error, and are exactly zero for inputs the
    function does not depend on or that equal their baseline.

    Parameters
    ----------
    fn : callable
        Tensor of the shape of ``inputs`` -> scalar tensor. With ``batched``: the path points stacked on a
        new leading axis [steps, ...] (one argument per input when ``inputs`` is a tuple) -> [steps], one
        forward and backward pass for all points.
    inputs : torch.Tensor or tuple of torch.Tensor
    baseline : same as ``inputs``, optional
        Reference input ``x'``; default zeros.
    steps : int
    batched : bool

    Returns
    -------
    torch.Tensor or tuple of torch.Tensor
        Attributions, the shape of ``inputs``.
    """
    import torch

    single = isinstance(inputs, torch.Tensor)
    xs = (inputs,) if single else tuple(inputs)
    xs = tuple(x.detach() for x in xs)
    if baseline is None:
        bases = tuple(torch.zeros_like(x) for x in xs)
    else:
        bases = tuple(b.detach() for b in ((baseline,) if single else tuple(baseline)))
    alphas = (torch.arange(steps, dtype=xs[0].dtype) + 0.5) / steps
    if batched:
        points = tuple((b[None] + alphas.reshape((-1,) + (1,) * x.dim()) * (x - b)[None]).requires_grad_(True)
                       for x, b in zip(xs, bases))
        grads = torch.autograd.grad(fn(*points).sum(), points, allow_unused=True)
        totals = tuple(torch.zeros_like(x) if g is None else g.sum(dim=0) for x, g in zip(xs, grads))
    else:
        totals = tuple(torch.zeros_like(x) for x in xs)
        for a in alphas:
            points = tuple((b + a * (x - b)).requires_grad_(True) for x, b in zip(xs, bases))
            grads = torch.autograd.grad(fn(*points), points, allow_unused=True)
            totals = tuple(t if g is None else t + g for t, g in zip(totals, grads))
    out = tuple((x - b) * t / steps for x, b, t in zip(xs, bases, totals))
    return out[0] if single else out


# ---------------------------------------------------------------------------------------- layout
def species_column_layout(grid_points: int) -> tuple[list[str], np.ndarray]:
    """Group and grid index of each species feature column (``FeatureBuilder._species_features``).

    Returns
    -------
    groups : list of str, [F_s]
        One of ``SPECIES_GROUPS`` per column.
    grid_index : int [F_s]
        The grid point of a time-resolved column, -1 for the others.
    """
    g = grid_points
    groups = (["flags"] * NUM_FLAG_FEATURES + ["trajectory"] * g + ["spread"] * g + ["level"] * 3
              + ["prediction"] * g + ["prediction"] + ["residuals"] * g + ["misfit"])
    grid = np.concatenate([np.full(NUM_FLAG_FEATURES, -1), np.arange(g), np.arange(g), np.full(3, -1),
                           np.arange(g), [-1], np.arange(g), [-1]]).astype(np.int64)
    return groups, grid


def data_blind_baseline(features: StateFeatures) -> StateFeatures:
    """The baseline of ``policy_attributions``: ``features`` with every data- and fit-derived input set to 0.

    Kept: the species flags (observed, latent, latent complete), the reactions' order one-hots, the graph's
    size counts (reactions, latent species, latent species left, latent complete), the actions' kind and
    order one-hots and whether the reverse reaction is present. Zeroed: the species' data summaries,
    predictions and residuals, the reactions' identifiability and turnover, the graph's misfit, failure
    flag, reward and parameter density, the actions' regression share, direct score and heuristic log
    prior. The baseline is the same network seen by a model that has no data: "how far did the data move
    the policy". (A zero misfit reads as a perfect fit and a zero log prior as probability 1 for every
    edit; both are the same for all actions, so the baseline still ranks edits by structure only.)
    """
    species = features.species.copy()
    species[:, NUM_FLAG_FEATURES:] = 0.0
    reactions = features.reactions.copy()
    if reactions.shape[1] >= 3:
        reactions[:, -3:] = 0.0  # identified, log se, log turnover (after the two one-hots)
    graph = features.graph.copy()
    graph[list(FIT_GRAPH_COLUMNS)] = 0.0
    actions = features.action_features.copy()
    actions[:, -NUM_DATA_ACTION_FEATURES:] = 0.0
    return dataclasses.replace(features, species=species, reactions=reactions, graph=graph,
                               action_features=actions)


def _window_labels(grid_points: int, num_windows: int, time_span: tuple[float, float]) -> tuple[list[str], list]:
    windows = [w for w in np.array_split(np.arange(grid_points), min(num_windows, grid_points)) if len(w)]
    first, last = time_span
    times = first + np.linspace(0.0, 1.0, grid_points) * (last - first)
    labels = [f"t {times[w[0]]:.3g}-{times[w[-1]]:.3g}" for w in windows]
    return labels, windows


# ---------------------------------------------------------------------------------------- model
class _PolicyFunction:
    """log p(action row | features) of a float64 copy of the model, for B stacked path points."""

    def __init__(self, model, features: StateFeatures) -> None:
        import torch

        from mcts_crn.model.batch import collate

        self.torch = torch
        self.model = copy.deepcopy(model).double().eval()
        self.features = features
        self._collate = collate
        self._batches: dict[int, Any] = {}

    def tensors(self, features: StateFeatures):
        return tuple(self.torch.from_numpy(np.asarray(getattr(features, name), dtype=np.float64))
                     for name in _INPUTS)

    def __call__(self, row: int, species, reactions, graph, action_features):
        """Each input with a leading [B] axis -> log p [B]."""
        num = species.shape[0]
        batch = self._batches.get(num)
        if batch is None:
            batch = self._batches[num] = self._collate([self.features] * num)
        f = self.features
        batch = dataclasses.replace(
            batch, species=species.reshape(-1, f.species.shape[1]),
            reactions=reactions.reshape(-1, f.reactions.shape[1]), graph=graph,
            action_features=action_features.reshape(-1, f.action_features.shape[1]))
        output = self.model(batch)
        return output.log_policy[self.torch.arange(num) * f.num_actions + row]

    def log_policy(self, features: StateFeatures) -> np.ndarray:
        """The policy's log-probabilities over the legal actions at ``features``, float64 [A]."""
        species, reactions, graph, action_features = self.tensors(features)
        batch = dataclasses.replace(self._collate([self.features]), species=species, reactions=reactions,
                                    graph=graph[None], action_features=action_features)
        with self.torch.no_grad():
            return self.model(batch).log_policy.numpy().astype(np.float64)


def _aggregate(attr: dict[str, np.ndarray], crn, features: StateFeatures, groups: list[str], grid: np.ndarray,
               windows: list, labels: list[str]) -> dict[str, Any]:
    species = attr["species"]  # [S, F_s]
    per_species = {name: float(species[i].sum()) for i, name in enumerate(crn.species)}
    group_index = np.array([SPECIES_GROUPS.index(g) for g in groups])
    per_group = {g: float(species[:, group_index == k].sum()) for k, g in enumerate(SPECIES_GROUPS)}
    timed = grid >= 0
    per_window = {}
    per_species_window = {name: {} for name in crn.species}
    for label, members in zip(labels, windows):
        columns = timed & np.isin(grid, members)
        per_window[label] = float(species[:, columns].sum())
        for i, name in enumerate(crn.species):
            per_species_window[name][label] = float(species[i, columns].sum())
    reactions = attr["reactions"]
    other = {"edit scores": float(attr["action_features"].sum()), "fit summary": float(attr["graph"].sum()),
             "reaction fits": float(reactions.sum())}
    species_total = float(species.sum())
    return {"total": species_total + sum(other.values()), "species_total": species_total,
            "species": per_species, "groups": per_group, "windows": per_window,
            "species_windows": per_species_window, "other": other,
            "reactions": {crn.reaction_text(r): float(reactions[r].sum()) for r in range(crn.num_reactions)}}


def policy_attributions(model, dataset, space, states: Sequence, fits: Sequence, actions: Sequence, *,
                        steps: int = 64, num_windows: int = 4,
                        baseline: Callable[[StateFeatures], StateFeatures] = data_blind_baseline,
                        num_threads: int | None = 1) -> list[dict[str, Any]]:
    """Attribute the learned policy's choice at each state to the data features (module docstring).

    For each state, the attributed quantity is ``log p(a | state)`` of the model's policy (softmax of the
    logits over the state's legal actions, temperature 1) for the given action ``a`` and for the top
    alternative (the legal action the policy likes best after ``a``). Integrated gradients run in float64
    on a copy of the model, all path points in one batch.

    Parameters
    ----------
    model : CrnGnn
    dataset : Dataset
    space : ActionSpace
    states : sequence of Crn, [B]
        States of ``space`` (for a search: the nodes along the best path).
    fits : sequence of FitResult or None, [B]
        Each state's fit (None: the fit features are zero, as for a failed fit).
    actions : sequence of int or None, [B]
        The action taken at each state (must be legal there); None skips the state.
    steps : int
        Integration points per attribution.
    num_windows : int
        Time windows of the grid (at most G).
    baseline : callable
        ``StateFeatures -> StateFeatures`` reference input; default ``data_blind_baseline``.
    num_threads : int or None
        Torch threads during the computation (restored after); None leaves them.

    Returns
    -------
    list of dict
        One per state with an action: ``step`` (its position in ``states``), ``reactions`` (the state),
        ``chosen`` and ``alternative`` (None when the action is the only legal one), each with ``action``
        (text), ``probability``, ``log_prob``, ``baseline_log_prob`` and the aggregated attributions
        (``total``, ``species_total``, ``species``, ``groups``, ``windows``, ``species_windows``, ``other``,
        ``reactions``: floats in nats, ``total`` ~ ``log_prob - baseline_log_prob``), and ``contrast``:
        the attributions of ``log p(chosen) - log p(alternative)`` (chosen minus alternative).
    """
    from mcts_crn.model import features as model_features
    from mcts_crn.model.evaluator import torch_threads

    builder = model_features.FeatureBuilder(dataset, space, model.config)
    groups, grid = species_column_layout(model.config.grid_points)
    if (model_features.NUM_FLAG_FEATURES != NUM_FLAG_FEATURES
            or len(groups) != model_features.species_feature_size(model.config)):  # pragma: no cover
        raise RuntimeError("the species feature layout changed: update mcts_crn.explain.attribution")
    labels, windows = _window_labels(model.config.grid_points, num_windows, dataset.time_span)
    out = []
    with torch_threads(num_threads):
        for step, (crn, fit, action) in enumerate(zip(states, fits, actions)):
            if action is None:
                continue
            legal = np.flatnonzero(space.legal_mask(crn))
            rows = np.flatnonzero(legal == int(action))
            if len(rows) == 0:
                raise ValueError(f"action {action} ({space.describe(int(action))}) is not legal in {crn}")
            features = builder(crn, fit, legal)
            reference = baseline(features)
            fn = _PolicyFunction(model, features)
            x, x0 = fn.tensors(features), fn.tensors(reference)
            log_p, log_p0 = fn.log_policy(features), fn.log_policy(reference)

            def explain(row: int) -> dict[str, Any]:
                attr = integrated_gradients(lambda *p: fn(row, *p), x, x0, steps=steps, batched=True)
                parts = {name: a.detach().numpy() for name, a in zip(_INPUTS, attr)}
                return {"action": space.describe(int(legal[row])), "probability": float(np.exp(log_p[row])),
                        "log_prob": float(log_p[row]), "baseline_log_prob": float(log_p0[row]),
                        **_aggregate(parts, crn, features, groups, grid, windows, labels)}

            chosen_row = int(rows[0])
            chosen = explain(chosen_row)
            others = np.delete(np.arange(len(legal)), chosen_row)
            alternative = explain(int(others[np.argmax(log_p[others])])) if len(others) else None
            out.append({"step": step, "reactions": crn.reactions_text(), "chosen": chosen,
                        "alternative": alternative,
                        "contrast": None if alternative is None else _contrast(chosen, alternative)})
    return out


def _contrast(a: dict[str, Any], b: dict[str, Any]) -> dict[str, Any]:
    """Attributions of log p(a) - log p(b): IG is linear in the function, so the difference of the two."""
    def diff(x, y):
        if isinstance(x, dict):
            return {k: diff(x[k], y.get(k, 0.0)) for k in x}
        return x - y
    keys = ("total", "species_total", "species", "groups", "windows", "other")
    return {"log_ratio": a["log_prob"] - b["log_prob"],
            "baseline_log_ratio": a["baseline_log_prob"] - b["baseline_log_prob"],
            **{k: diff(a[k], b[k]) for k in keys}}


# ---------------------------------------------------------------------------------------- search
def best_path_decisions(result, dataset, *, fit_config=None) -> tuple[list, list, list]:
    """States, fits and taken actions along a finished search's best path (``best_path_nodes``).

    The search keeps only the best networks' fits, so the states on the way are refitted here, each
    warm-started from its parent's fit as in the search (the best network keeps its own fit). The last
    state's action is ``STOP`` (why the policy stops there) when it is the best network and ``STOP`` is legal
    there; None (no decision) where the path ends at the best network's deepest ancestor in the tree.

    Returns
    -------
    states : list of Crn
    fits : list of FitResult
    actions : list of int or None
    """
    from mcts_crn.explain.decisions import best_path_nodes
    from mcts_crn.fit import fit_rates

    tree, space = result.tree, result.space
    path = best_path_nodes(result)
    states = [result.states[tree.state[n]] for n in path]
    actions: list[int | None] = []
    for n, nxt in zip(path, path[1:]):
        start, count = int(tree.edge_start[n]), int(tree.num_edges[n])
        taken = [int(tree.edge_action[e]) for e in range(start, start + count) if int(tree.edge_child[e]) == nxt]
        actions.append(taken[0] if taken else None)
    if states:  # why the policy stops at the best network; nothing where the path ends short of it
        at_best = result.best is not None and states[-1].canonical_key() == result.best.key
        actions.append(space.STOP if at_best and space.legal_mask(states[-1])[space.STOP] else None)
    fits: list = []
    previous = None
    for crn in states:
        if result.best is not None and crn.canonical_key() == result.best.key:
            fit = result.best.fit
        else:
            fit = fit_rates(crn, dataset, config=fit_config, warm_start=previous, rng=0)
        fits.append(fit)
        previous = fit
    return states, fits, actions


# ---------------------------------------------------------------------------------------- output
def _signed(value: float) -> str:
    return f"{value:+.2f}"


def _top_items(values: dict[str, float], k: int) -> str:
    items = sorted(values.items(), key=lambda kv: -abs(kv[1]))[:k]
    return "  ".join(f"{name} {_signed(v)}" for name, v in items) or "-"


def format_attributions(rows: list[dict[str, Any]], *, top: int = 4) -> str:
    """The attributions as text: per decision, how many nats the data moved the policy toward the chosen
    action and its top alternative, split by species, feature group, time window and the other inputs."""
    lines = ["Which data drove the learned policy (integrated gradients of log p(action) from a data-blind",
             "baseline, in nats: + pushed toward the action, - away; parts add up to 'data moved')."]
    for row in rows:
        network = "; ".join(row["reactions"]) or "(no reactions)"
        lines.append("")
        lines.append(f"step {row['step']}: {network}")
        for label, part in (("chose", row["chosen"]), ("alternative", row["alternative"])):
            if part is None:
                continue
            lines.append(f"  {label:11s} {part['action']:24s} p {part['probability']:.3f}   "
                         f"log p {part['log_prob']:+.2f} (data-blind {part['baseline_log_prob']:+.2f}, "
                         f"data moved {_signed(part['total'])})")
            lines.append(f"    species:  {_top_items(part['species'], top)}")
            groups = {k: v for k, v in part["groups"].items() if k != "flags"}
            lines.append(f"    features: {_top_items(groups, top)}")
            lines.append(f"    time:     {_top_items(part['windows'], top)}")
            lines.append(f"    other:    {_top_items(part['other'], 3)}")
        if row["contrast"] is not None:
            c = row["contrast"]
            lines.append(f"  chosen over alternative: log ratio {c['log_ratio']:+.2f} (data-blind "
                         f"{c['baseline_log_ratio']:+.2f}); species {_top_items(c['species'], top)}; "
                         f"features {_top_items({k: v for k, v in c['groups'].items() if k != 'flags'}, 2)}")
    return "\n".join(lines)


def attributions_to_json(rows: list[dict[str, Any]], **meta: Any) -> dict[str, Any]:
    """The JSON document of ``attributions.json``: schema version, ``meta`` and the rows."""
    return {"schema_version": ATTRIBUTION_SCHEMA_VERSION, **meta, "decisions": rows}


def plot_attributions(rows: list[dict[str, Any]], path) -> Any:
    """One bar chart per decision: attribution of the chosen action's log-probability to each species and
    to the inputs that are not per species."""
    from pathlib import Path

    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(max(1, len(rows)), 1, figsize=(7, 1.8 * max(1, len(rows))), squeeze=False)
    for ax, row in zip(axes[:, 0], rows):
        part = row["chosen"]
        names = list(part["species"]) + list(part["other"])
        values = list(part["species"].values()) + list(part["other"].values())
        ax.barh(range(len(names)), values, color=["tab:red" if v > 0 else "tab:blue" for v in values])
        ax.axvline(0.0, color="black", linewidth=0.6)
        ax.set_yticks(range(len(names)))
        ax.set_yticklabels(names, fontsize=7)
        ax.invert_yaxis()
        network = "; ".join(row["reactions"]) or "start"
        ax.set_title(f"step {row['step']}: {network}  ->  {part['action']}", fontsize=8)
    axes[-1, 0].set_xlabel("attribution to log p(chosen action) [nats]", fontsize=8)
    fig.tight_layout()
    path = Path(path)
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path
