"""What the learned prior learned over training: its policy and value on fixed probe states, per checkpoint.

A probe task is a built-in example's data set (``mcts_crn.examples``) and its true network. Its probe
states are the first states of a true build path (``mcts_crn.learn.targets.build_order``: the start state
with no reactions, then one true edit after another), each fitted once as the search would, warm-started
from the previous state. At every probe state, every checkpoint's policy is scored by the probability it
puts on the true next edits (``toward_actions``: any reaction of the true network not yet present, adding
a latent species while the truth has more, or stop once there), whether its top action is one, and the
rank of the best-ranked true edit; its value head gives the predicted best reward below the state, to be
compared with the reward of the true network. Read in checkpoint order, the table shows what training
changed on states whose right answer is known.

``true_path_states`` and ``score_true_edits`` are the shared pieces for scoring priors on true build
paths (``experiments/learning_curve.py``'s policy check does the same on generated held-out tasks).
"""
from __future__ import annotations

import dataclasses
import os
import re
from pathlib import Path
from typing import Any, Sequence

import numpy as np

from mcts_crn.crn import ActionSpace, Crn
from mcts_crn.data import Dataset

DEFAULT_PROBES = ("dimerisation", "lotka_volterra", "sir")


@dataclasses.dataclass(frozen=True, eq=False)
class PathState:
    """One state of a true build path.

    Attributes
    ----------
    step : int
        Edits made from the start state.
    crn : Crn
    fit : FitResult
    legal : int64 [A]
        The legal actions.
    toward : bool [A]
        Which of ``legal`` are true edits.
    action : int
        The true edit the path takes next.
    """

    step: int
    crn: Crn
    fit: Any
    legal: np.ndarray
    toward: np.ndarray
    action: int


@dataclasses.dataclass(frozen=True, eq=False)
class ProbeTask:
    """A data set with its true network, action space and probe states."""

    name: str
    dataset: Dataset
    target: Crn
    space: ActionSpace
    states: list[PathState]
    target_reward: float


def true_path_states(target: Crn, dataset: Dataset, space: ActionSpace, rng: np.random.Generator, *,
                     max_states: int | None = None, fit_config=None) -> list[PathState]:
    """The states along a random true build path of ``target`` (``build_order``), each fitted once.

    Each fit is warm-started from the previous state's, as in the search. The path ends at the state where
    the true edit is ``STOP`` (the target itself), or after ``max_states`` states.
    """
    from mcts_crn.fit import fit_rates
    from mcts_crn.learn.targets import build_order, toward_actions

    out: list[PathState] = []
    state, fit = space.initial_state(), None
    for step, action in enumerate(build_order(target, space, rng)):
        if max_states is not None and step >= max_states:
            break
        fit = fit_rates(state, dataset, config=fit_config, warm_start=fit, rng=step)
        legal = np.flatnonzero(space.legal_mask(state))
        out.append(PathState(step, state, fit, legal, toward_actions(state, target, space, legal), int(action)))
        if action == space.STOP:
            break
        state = space.apply(state, action)
    return out


def score_true_edits(probabilities: np.ndarray, toward: np.ndarray) -> dict[str, float]:
    """How a policy ranks the true edits at one state.

    Parameters
    ----------
    probabilities : float [A]
        The policy over the legal actions.
    toward : bool [A]
        The true edits among them.

    Returns
    -------
    dict
        ``mass``: probability on the true edits; ``top``: 1.0 if the most likely action is one, else 0.0;
        ``rank``: 1-based rank of the best-ranked true edit (ties broken by position).
    """
    probabilities = np.asarray(probabilities, dtype=np.float64)
    toward = np.asarray(toward, dtype=bool)
    order = np.argsort(-probabilities, kind="stable")
    hits = np.flatnonzero(toward[order])
    return {"mass": float(probabilities[toward].sum()), "top": float(toward[order[0]]) if len(order) else 0.0,
            "rank": float(hits[0] + 1) if len(hits) else float("nan")}


def make_probe_tasks(names: Sequence[str] = DEFAULT_PROBES, *, states_per_task: int = 3, noise: float = 0.05,
                     seed: int = 0, max_order: int = 2, extra_reactions: int = 2) -> list[ProbeTask]:
    """Probe tasks from built-in examples: their seeded data, and the first ``states_per_task`` states of a
    true build path (the start state first).

    Parameters
    ----------
    names : sequence of str
        Example names (``mcts_crn.examples.EXAMPLES``).
    states_per_task : int
    noise : float
        Relative noise of the data.
    seed : int
        Seeds the data and the build order.
    max_order, extra_reactions : int
        The action space, as in a self-play search: reactions up to ``max_order``, at most the true count
        plus ``extra_reactions``, the true number of latent species.
    """
    from mcts_crn.examples import get_example
    from mcts_crn.fit import fit_rates
    from mcts_crn.reward import reward

    tasks = []
    for j, name in enumerate(names):
        example = get_example(name)
        data_seed, path_seed = np.random.SeedSequence(seed, spawn_key=(j,)).spawn(2)
        dataset = example.make_dataset(noise=noise, rng=np.random.default_rng(data_seed))
        target = example.crn
        space = ActionSpace(dataset.species, max_latent=target.num_latent, max_order=max_order,
                            max_reactions=target.num_reactions + extra_reactions)
        states = true_path_states(target, dataset, space, np.random.default_rng(path_seed), max_states=states_per_task)
        fit = fit_rates(target, dataset, rng=0)
        tasks.append(ProbeTask(name, dataset, target, space, states,
                               float(reward(fit, target, dataset)) if fit.success else 0.0))
    return tasks


def checkpoint_iteration(path: str | os.PathLike, payload: dict | None = None) -> int | None:
    """A checkpoint's training iteration: stored ``iteration``, else the NNNN of ``iter_NNNN.pt``."""
    if payload is not None and isinstance(payload.get("iteration"), int):
        return int(payload["iteration"])
    match = re.search(r"iter_(\d+)", Path(path).stem)
    return int(match.group(1)) if match else None


def run_checkpoints(run_dir: str | os.PathLike) -> list[Path]:
    """The checkpoints of a training run (``RUN/checkpoints/iter_*.pt``; else ``RUN/*.pt``), by name."""
    run_dir = Path(run_dir)
    found = sorted((run_dir / "checkpoints").glob("iter_*.pt")) or sorted(run_dir.glob("*.pt"))
    if not found:
        raise ValueError(f"{run_dir}: no checkpoints (expected checkpoints/iter_*.pt of `python -m mcts_crn.train`)")
    return found


def probe_priors(checkpoints: Sequence[str | os.PathLike], probe_tasks: Sequence[ProbeTask], *,
                 num_threads: int | None = 1) -> list[dict[str, Any]]:
    """Score every checkpoint's policy and value on the probe states (module docstring).

    Parameters
    ----------
    checkpoints : sequence of paths
        Model checkpoints (``mcts_crn.model.save_checkpoint``).
    probe_tasks : sequence of ProbeTask
    num_threads : int or None
        Torch threads during the forward passes.

    Returns
    -------
    list of dict
        One row per checkpoint, in iteration order (stored iteration, else ``iter_NNNN`` in the name, else
        the given order): ``checkpoint``, ``iteration``, ``probes`` (one dict per probe state: ``task``,
        ``step``, ``state`` (reactions), ``true_edits`` (their text), ``p_true``, ``top``, ``rank``,
        ``value``, ``target_reward``), and the means ``mean_p_true``, ``top1``, ``mean_value``.
    """
    import torch

    from mcts_crn.model.batch import collate
    from mcts_crn.model.checkpoint import load_model, read_checkpoint
    from mcts_crn.model.evaluator import torch_threads
    from mcts_crn.model.features import FeatureBuilder

    entries = []
    for position, path in enumerate(checkpoints):
        iteration = checkpoint_iteration(path, read_checkpoint(path))
        entries.append((position if iteration is None else iteration, position, Path(path)))
    entries.sort(key=lambda e: (e[0], e[1]))
    builders: dict[tuple, FeatureBuilder] = {}
    rows = []
    with torch_threads(num_threads):
        for iteration, _, path in entries:
            model = load_model(path)
            config_key = tuple(sorted(model.config.to_dict().items()))
            features = []
            for t, task in enumerate(probe_tasks):
                builder = builders.get((t,) + config_key)
                if builder is None:
                    builder = builders[(t,) + config_key] = FeatureBuilder(task.dataset, task.space, model.config)
                features += [builder(s.crn, s.fit, s.legal) for s in task.states]
            with torch.no_grad():
                output = model(collate(features))
            policy = output.log_policy.double().exp().numpy()
            values = output.value.double().numpy()
            offsets = np.concatenate([[0], np.cumsum([f.num_actions for f in features])])
            probes = []
            i = 0
            for task in probe_tasks:
                for s in task.states:
                    score = score_true_edits(policy[offsets[i]:offsets[i + 1]], s.toward)
                    probes.append({"task": task.name, "step": s.step, "state": s.crn.reactions_text(),
                                   "true_edits": [task.space.describe(int(a)) for a in s.legal[s.toward]],
                                   "p_true": score["mass"], "top": score["top"],
                                   "rank": score["rank"] if np.isfinite(score["rank"]) else None,
                                   "value": float(values[i]), "target_reward": task.target_reward})
                    i += 1
            rows.append({"checkpoint": str(path), "iteration": int(iteration), "probes": probes,
                         "mean_p_true": float(np.mean([p["p_true"] for p in probes])) if probes else float("nan"),
                         "top1": float(np.mean([p["top"] for p in probes])) if probes else float("nan"),
                         "mean_value": float(np.mean([p["value"] for p in probes])) if probes else float("nan")})
    return rows


def _probe_label(probe: dict[str, Any]) -> str:
    return f"{probe['task']}@{probe['step']}"


def format_probe_table(rows: list[dict[str, Any]]) -> str:
    """The probe table as text: probability on the true edits per probe state and checkpoint, then the
    value estimates, then what each probe state is."""
    if not rows:
        return "no checkpoints"
    probes = rows[0]["probes"]
    labels = [_probe_label(p) for p in probes]
    width = max(8, *(len(s) for s in labels)) + 1
    lines = ["Probability the policy puts on the true next edits, per checkpoint (probe = example@edits made):",
             f"{'iteration':>9s}" + "".join(f"{s:>{width}s}" for s in labels) + f"{'mean':>8s}{'top-1':>7s}"]
    for row in rows:
        lines.append(f"{row['iteration']:>9d}" + "".join(f"{p['p_true']:>{width}.3f}" for p in row["probes"])
                     + f"{row['mean_p_true']:>8.3f}{row['top1']:>7.2f}")
    lines += ["", "Value estimate (predicted best reward below the state; the true network's reward in the last line):",
              f"{'iteration':>9s}" + "".join(f"{s:>{width}s}" for s in labels) + f"{'mean':>8s}"]
    for row in rows:
        lines.append(f"{row['iteration']:>9d}" + "".join(f"{p['value']:>{width}.3f}" for p in row["probes"])
                     + f"{row['mean_value']:>8.3f}")
    lines.append(f"{'truth':>9s}" + "".join(f"{p['target_reward']:>{width}.3f}" for p in probes))
    lines += ["", "probe states and their true edits:"]
    for label, p in zip(labels, probes):
        state = "; ".join(p["state"]) or "(no reactions)"
        lines.append(f"  {label:{width}s} {state}  ->  {', '.join(p['true_edits']) or '-'}")
    return "\n".join(lines)


def plot_probe_table(rows: list[dict[str, Any]], path: str | os.PathLike) -> Path:
    """Probability on the true edits (left) and value estimate (right) against the checkpoint iteration."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 2, figsize=(10, 4))
    iterations = [row["iteration"] for row in rows]
    if rows:
        for k, probe in enumerate(rows[0]["probes"]):
            axes[0].plot(iterations, [row["probes"][k]["p_true"] for row in rows], ".-", linewidth=0.8, alpha=0.7,
                         label=_probe_label(probe))
        axes[0].plot(iterations, [row["mean_p_true"] for row in rows], "o-", color="black", linewidth=2, label="mean")
        tasks = list(dict.fromkeys(p["task"] for p in rows[0]["probes"]))
        for task in tasks:
            ks = [k for k, p in enumerate(rows[0]["probes"]) if p["task"] == task]
            line, = axes[1].plot(iterations, [np.mean([row["probes"][k]["value"] for k in ks]) for row in rows],
                                 "o-", label=task)
            axes[1].axhline(rows[0]["probes"][ks[0]]["target_reward"], linestyle="--", color=line.get_color(),
                            linewidth=0.8)
    axes[0].set_ylim(-0.02, 1.02)
    axes[0].set_title("policy probability on the true next edits")
    axes[1].set_title("value estimate (dashed: reward of the true network)")
    for ax in axes:
        ax.set_xlabel("training iteration")
        ax.legend(fontsize=7)
    fig.tight_layout()
    path = Path(path)
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path
