"""Self-play: one game is one search on a random task with the current model as prior.

The search runs with root Dirichlet noise and the model's logits divided by a temperature. The evaluator
records the features of every state it scores, so that after the search each expanded node with enough
visits becomes a sample without any refit:

- policy target: the visit distribution over the node's legal actions (``targets.visit_distribution``);
- value target: the best reward found at or below the node (``targets.best_below``);
- extra policy targets: the legal edits toward the best network found and toward the true network
  (``targets.toward_actions``), weighted in training by ``TrainConfig.best_weight`` / ``truth_weight``.

With ``TrainConfig.demonstrations`` the states along a random build order of the true network are fitted
(warm-started along the way, reusing the search's features where it reached them) and stored too, with
the remaining true edits as the policy target. ``demonstrate`` stores such a path alone, for a task that is
not searched (``TrainConfig.demonstration_tasks``).
"""
from __future__ import annotations

import dataclasses
import logging
from typing import Sequence

import numpy as np

from mcts_crn.config import FitConfig, SearchConfig, TaskConfig, TrainConfig
from mcts_crn.crn import ActionSpace, Crn
from mcts_crn.data import Dataset
from mcts_crn.fit import fit_rates
from mcts_crn.learn.replay import Sample, TaskRecord
from mcts_crn.learn.targets import best_below, build_order, toward_actions, visit_distribution
from mcts_crn.learn.tasks import Task, task_space
from mcts_crn.model.evaluator import BoundLearnedEvaluator, LearnedEvaluator
from mcts_crn.model.gnn import CrnGnn
from mcts_crn.reward import reward
from mcts_crn.search.run import SearchResult, run_search

logger = logging.getLogger(__name__)

SOURCE_SEARCH, SOURCE_DEMONSTRATION = 0, 1


@dataclasses.dataclass(frozen=True, eq=False)
class RecordingEvaluator:
    """A ``LearnedEvaluator`` that keeps the features and fit of every state it scores, by canonical key."""

    inner: LearnedEvaluator
    features: dict = dataclasses.field(default_factory=dict)
    fits: dict = dataclasses.field(default_factory=dict)

    def bind(self, dataset: Dataset, space: ActionSpace) -> "_BoundRecording":
        return _BoundRecording(self, self.inner.bind(dataset, space))

    def __call__(self, states, fits, legal):  # pragma: no cover - only the bound form is called
        raise TypeError("bind(dataset, space) first")


@dataclasses.dataclass(frozen=True, eq=False)
class _BoundRecording:
    parent: RecordingEvaluator
    bound: BoundLearnedEvaluator

    def bind(self, dataset, space):
        return self.parent.bind(dataset, space)

    def __call__(self, states: Sequence[Crn], fits: Sequence, legal: Sequence[np.ndarray]):
        features = self.bound.features.batch(states, fits, legal)
        for crn, fit, feats in zip(states, fits, features):
            key = crn.canonical_key()
            self.parent.features[key] = feats
            self.parent.fits[key] = fit
        return self.bound.evaluate(features)


def _sample(crn: Crn, features, policy, toward_best, toward_truth, outcome: float, visits: int, source: int) -> Sample:
    return Sample(features=features, latent=crn.latent.copy(), reactants=crn.reactants.copy(),
                  products=crn.products.copy(), policy=np.asarray(policy, np.float32),
                  toward_best=np.asarray(toward_best, bool), toward_truth=np.asarray(toward_truth, bool),
                  outcome=float(outcome), visits=int(visits), source=source)


def search_samples(result: SearchResult, recorder: RecordingEvaluator, truth: Crn | None, *,
                   min_visits: int = 1, visit_temperature: float = 1.0) -> list[Sample]:
    """Samples from a finished search: each expanded node whose edges hold at least ``min_visits`` visits.

    Parameters
    ----------
    result : SearchResult
    recorder : RecordingEvaluator
        The evaluator the search used (it holds the features of every scored state).
    truth : Crn, optional
        The true network, for the ``toward_truth`` target (all False without it).
    min_visits : int
    visit_temperature : float
    """
    tree, space = result.tree, result.space
    num_nodes = int(tree.node_count[0])
    keys = [crn.canonical_key() for crn in result.states]
    reward_of = {row["key"]: row["reward"] for row in result.trace}
    node_key = [keys[int(tree.state[n])] for n in range(num_nodes)]
    rewards = np.array([reward_of.get(k, np.nan) for k in node_key])
    outcome = best_below(tree, rewards)
    best = result.best.crn if result.best is not None else None
    samples = []
    for n in range(num_nodes):
        if tree.terminal[n] or not tree.expanded[n]:
            continue
        start, count = int(tree.edge_start[n]), int(tree.num_edges[n])
        visits = int(np.maximum(tree.edge_visits[start:start + count], 0).sum())
        features = recorder.features.get(node_key[n])
        if visits < min_visits or features is None:
            continue
        crn = result.states[int(tree.state[n])]
        actions = features.actions
        policy = visit_distribution(tree, n, actions, temperature=visit_temperature)
        toward_best = toward_actions(crn, best, space, actions) if best is not None else np.zeros(len(actions), bool)
        toward_truth = toward_actions(crn, truth, space, actions) if truth is not None else np.zeros(len(actions), bool)
        samples.append(_sample(crn, features, policy, toward_best, toward_truth, outcome[n], visits, SOURCE_SEARCH))
    return samples


def demonstration_samples(task: Task, space: ActionSpace, recorder: RecordingEvaluator,
                          bound: BoundLearnedEvaluator, *, fit_config: FitConfig | None,
                          rng: np.random.SeedSequence) -> tuple[list[Sample], float]:
    """Samples along a random build order of the true network, and the true network's reward.

    States the search already scored reuse its features and fits; the others are fitted here (warm-started
    from the previous state). The policy target is uniform over the legal edits toward the truth.
    """
    order_rng, fit_seed = rng.spawn(2)
    sequence = build_order(task.crn, space, np.random.default_rng(order_rng))
    state, previous_fit = space.initial_state(), None
    path: list[tuple[Crn, object, float]] = []
    for step, action in enumerate(sequence):
        key = state.canonical_key()
        fit = recorder.fits.get(key)
        if fit is None:
            fit = fit_rates(state, task.dataset, config=fit_config, warm_start=previous_fit,
                            rng=np.random.SeedSequence(fit_seed.entropy, spawn_key=fit_seed.spawn_key + (step,)))
        value = reward(fit, state, task.dataset) if fit.success else 0.0
        path.append((state, fit, value))
        previous_fit = fit
        if action != space.STOP:
            state = space.apply(state, action)
    truth_reward = path[-1][2]
    samples = []
    for state, fit, value in path:
        key = state.canonical_key()
        legal = np.flatnonzero(space.legal_mask(state))
        features = recorder.features.get(key)
        if features is None:
            features = bound.features(state, fit, legal)
        actions = features.actions
        toward = toward_actions(state, task.crn, space, actions)
        if not toward.any():
            continue
        policy = toward / toward.sum()
        samples.append(_sample(state, features, policy, np.zeros(len(actions), bool), toward,
                               max(value, truth_reward), 0, SOURCE_DEMONSTRATION))
    return samples, truth_reward


def play_game(task: Task, model: CrnGnn, *, config: TrainConfig | None = None,
              task_config: TaskConfig | None = None, iteration: int = 0, game: int = 0,
              rng: np.random.SeedSequence | int | None = None) -> tuple[TaskRecord, list[Sample]]:
    """Play one self-play game: search ``task`` with ``model`` as prior, and turn the tree into samples.

    Parameters
    ----------
    task : Task
    model : CrnGnn
    config : TrainConfig, optional
        Simulations, exploration noise, temperatures, targets.
    task_config : TaskConfig, optional
        Supplies ``max_order`` of the search.
    iteration, game : int
        Recorded with the task.
    rng : SeedSequence or int, optional
        The game's seed (the search and the demonstration get children).

    Returns
    -------
    TaskRecord, list of Sample
    """
    config = TrainConfig() if config is None else config
    task_config = TaskConfig() if task_config is None else task_config
    seed = rng if isinstance(rng, np.random.SeedSequence) else np.random.SeedSequence(0 if rng is None else rng)
    search_seed, demo_seed = seed.spawn(2)
    fit_config = FitConfig(num_starts=config.fit_starts)
    search_config = SearchConfig(
        num_simulations=config.simulations, max_latent=task.num_latent, max_order=task_config.max_order,
        max_reactions=task.num_reactions + config.extra_reactions, dirichlet_alpha=config.dirichlet_alpha,
        dirichlet_fraction=config.dirichlet_fraction, top_k=0)
    recorder = RecordingEvaluator(LearnedEvaluator(model, temperature=config.prior_temperature))
    result = run_search(task.dataset, config=search_config, evaluator=recorder, rng=search_seed,
                        fit_config=fit_config, progress=False)
    samples = search_samples(result, recorder, task.crn, min_visits=config.min_visits,
                             visit_temperature=config.visit_temperature)
    fits_to_truth = next((row["fit_calls"] for row in result.trace if row["key"] == task.key), 0)
    truth_reward = next((row["reward"] for row in result.trace if row["key"] == task.key), float("nan"))
    if config.demonstrations:
        bound = recorder.inner.bind(task.dataset, result.space)
        demos, truth_reward = demonstration_samples(task, result.space, recorder, bound, fit_config=fit_config,
                                                    rng=demo_seed)
        samples.extend(demos)
    record = TaskRecord(
        iteration=iteration, game=game, seed=task.seed, key=task.key, crn=task.crn.to_text(),
        species=",".join(task.crn.species), num_latent=task.num_latent, noise=task.noise,
        num_fits=result.num_fit_calls, fits_to_truth=fits_to_truth,
        best_reward=result.best.reward if result.best is not None else float("nan"),
        truth_reward=float(truth_reward), best_key=result.best.key if result.best is not None else "")
    return record, samples


def demonstrate(task: Task, model: CrnGnn, *, config: TrainConfig | None = None,
                task_config: TaskConfig | None = None, iteration: int = 0, game: int = 0,
                rng: np.random.SeedSequence | int | None = None) -> tuple[TaskRecord, list[Sample]]:
    """A demonstration task (``TrainConfig.demonstration_tasks``): no search, only the samples along a random
    build order of the true network (``demonstration_samples``; ``model`` gives the features only).

    Its record has ``num_fits`` 0 (nothing searched) and ``fits_to_truth`` 0; arguments as ``play_game``.
    """
    config = TrainConfig() if config is None else config
    task_config = TaskConfig() if task_config is None else task_config
    seed = rng if isinstance(rng, np.random.SeedSequence) else np.random.SeedSequence(0 if rng is None else rng)
    space = task_space(task, max_order=task_config.max_order, extra_reactions=config.extra_reactions)
    recorder = RecordingEvaluator(LearnedEvaluator(model, temperature=config.prior_temperature))
    samples, truth_reward = demonstration_samples(task, space, recorder, recorder.inner.bind(task.dataset, space),
                                                  fit_config=FitConfig(num_starts=config.fit_starts), rng=seed)
    record = TaskRecord(
        iteration=iteration, game=game, seed=task.seed, key=task.key, crn=task.crn.to_text(),
        species=",".join(task.crn.species), num_latent=task.num_latent, noise=task.noise, num_fits=0,
        fits_to_truth=0, best_reward=float("nan"), truth_reward=float(truth_reward), best_key="")
    return record, samples
