"""The structure search: Monte Carlo tree search over reaction networks, every state fitted and scored.

Each simulation walks down the tree by PUCT (``mcts_crn.native.tree``), takes one new edit (an action of
``mcts_crn.crn.ActionSpace``), fits the resulting network (``fit_rates``, warm-started from its parent),
scores it (``reward``), asks the evaluator for priors over its legal edits, and backs the value up the
path. Networks are identified by their canonical key: a network reached twice (a transposition) becomes
one node with several parents and is fitted once.

A node's value is its own network's reward (mixed with the evaluator's value estimate when there is one),
so the best value below a node is the best network found below it, which the selection rule weighs
beside the mean (``SearchConfig.beta``).
"""
from __future__ import annotations

import collections
import dataclasses
import itertools
import logging
import math
import sys
import time
from typing import Any, Callable, Iterator

import numpy as np

from mcts_crn import __version__
from mcts_crn.config import FitConfig, RewardConfig, SearchConfig
from mcts_crn.crn import ActionSpace, Crn
from mcts_crn.data import Dataset
from mcts_crn.fit import FitResult, fit_rates
from mcts_crn.reward import reward
from mcts_crn.search import moves
from mcts_crn.search import tree as T
from mcts_crn.search.evaluators import Evaluator, ScoreTestEvaluator

logger = logging.getLogger(__name__)

STOP_SUFFIX = "|stop"
PRUNE_SHARE = 0.02  # the last share of a budget in time or fits, kept for pruning the best network
MIN_STALL = 1000  # under a budget in fits alone, the tree ends after max(this, max_fits) simulations without a fit


@dataclasses.dataclass(frozen=True, eq=False)
class Candidate:
    """A fitted network: the CRN, its fit, its reward and canonical key, and when it was first fitted."""

    crn: Crn
    fit: FitResult
    reward: float
    key: str
    fit_index: int


@dataclasses.dataclass(frozen=True, eq=False)
class SearchResult:
    """What a search found and how.

    Attributes
    ----------
    best : Candidate or None
        The highest-reward complete network (one where ``STOP`` is legal); None if none was fitted.
    alternatives : list of Candidate
        The next ``top_k`` complete networks by reward.
    num_fits : int
        Networks fitted (each once, transpositions included).
    num_fits_to_best : int
        1-based position of the best network in the fit order.
    num_fit_calls : int
        All fits made: ``num_fits``, plus polishing's screening fits, plus the cold refits of networks that
        became the best so far. Each trace entry's ``fit_calls`` counts them up to that network's fit.
    num_simulations : int
        Tree simulations run.
    trace : list of dict
        One entry per fit, in order: ``key``, ``reactions``, ``reward``, ``loss``, ``num_params``,
        ``complete``, ``success``, ``fit_calls``, ``stage`` (what made the fit: ``"tree"``, the tree search
        and its playouts; ``"climb"``, polishing, during the tree search or after it; ``"prune"``).
    root_statistics : list of dict
        The root's edges: ``action``, ``prior``, ``visits``, ``mean``, ``best``.
    seed_entropy : int
    config : SearchConfig
    elapsed : float
        Wall time in seconds.
    tree : Tree
        The search tree (node ``state`` indexes ``states``).
    states : list of Crn
    space : ActionSpace
    """

    best: Candidate | None
    alternatives: list[Candidate]
    num_fits: int
    num_fits_to_best: int
    num_simulations: int
    trace: list[dict[str, Any]]
    root_statistics: list[dict[str, Any]]
    seed_entropy: int
    config: SearchConfig
    elapsed: float
    tree: T.Tree
    states: list[Crn]
    space: ActionSpace
    num_fit_calls: int

    @property
    def version(self) -> str:
        return __version__


def _fit_job(dataset: Dataset, reward_config: RewardConfig | None, crn: Crn, fit_config: FitConfig,
             warm_start: FitResult | None, seed: np.random.SeedSequence, screen: bool) -> FitResult | float:
    """One fit of the search: the ``FitResult``, or for a screen (``screen``) only its reward (0 if it failed)."""
    fit = fit_rates(crn, dataset, config=fit_config, warm_start=warm_start, rng=seed)
    if not screen:
        return fit
    return float(reward(fit, crn, dataset, config=reward_config)) if fit.success else 0.0


_WORKER: dict[str, Any] = {}  # a fitting process's data set and reward settings (``_start_worker``)


def _start_worker(dataset: Dataset, reward_config: RewardConfig | None) -> None:
    _WORKER.update(dataset=dataset, reward_config=reward_config)


def _worker_fit_job(*job) -> FitResult | float:
    return _fit_job(_WORKER["dataset"], _WORKER["reward_config"], *job)


class _Fitter:
    """Runs the search's fits (``_fit_job``): in this process, or with ``workers`` > 1 in that many processes,
    started at the first call that has more than one fit to make and kept until ``close``. Processes, not
    threads: the simulation kernels release the GIL, but the optimizer's Python between them holds it, and
    two threads fitted only 1.3 times as fast as one where two processes fit 1.85 times as fast (HIV's true
    network, 2 cores)."""

    def __init__(self, dataset: Dataset, reward_config: RewardConfig | None, workers: int) -> None:
        self.dataset, self.reward_config, self.workers = dataset, reward_config, workers
        self.ahead = 4 * workers  # jobs in flight: fits vary in length, and results are taken in order
        self._pool = None

    def in_order(self, jobs: list[tuple]) -> Iterator[FitResult | float]:
        """The results of ``jobs`` (the arguments of ``_fit_job`` after the data set and reward settings) in
        order. With workers, ``workers`` jobs run at once and up to ``ahead`` are handed out, ahead of the
        caller; a caller that stops taking results drops those computed ahead, so what it does with the
        results cannot depend on how many ran at once."""
        if self.workers <= 1 or len(jobs) <= 1:
            for job in jobs:
                yield _fit_job(self.dataset, self.reward_config, *job)
            return
        if self._pool is None:
            import multiprocessing
            from concurrent.futures import ProcessPoolExecutor

            self._pool = ProcessPoolExecutor(self.workers, mp_context=multiprocessing.get_context("spawn"),
                                             initializer=_start_worker, initargs=(self.dataset, self.reward_config))
        queue = iter(jobs)
        pending = collections.deque(self._pool.submit(_worker_fit_job, *job)
                                    for job in itertools.islice(queue, self.ahead))
        try:
            while pending:
                result = pending.popleft().result()
                pending.extend(self._pool.submit(_worker_fit_job, *job) for job in itertools.islice(queue, 1))
                yield result
        finally:
            for future in pending:
                future.cancel()

    def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=True)
            self._pool = None


def _grow(tree: T.Tree, nodes: int, edges: int) -> T.Tree:
    """A larger copy of ``tree`` (the struct of arrays is fixed-size; growing doubles it)."""
    bigger = T.make_tree(nodes, edges)
    node_count, edge_count = int(tree.node_count[0]), int(tree.edge_count[0])
    for name in tree._fields:
        old, new = getattr(tree, name), getattr(bigger, name)
        if name in ("node_count", "edge_count"):
            new[:] = old
        elif name in T.EDGE_FIELDS:
            new[:edge_count] = old[:edge_count]
        else:
            new[:node_count] = old[:node_count]
    return bigger


def complexity(crn: Crn) -> float:
    """The complexity that ``SearchConfig.simplicity`` weighs: ten per reaction, plus five per reaction
    that consumes its reactants and makes a species that a catalytic reaction of the same reactants also
    makes, plus twice the molecules each reaction creates or destroys (``|sum of products - reactants|``),
    plus the molecules each reaction changes (``sum |products - reactants|``), plus the molecules on both
    sides.

    Among networks that fit alike the one with fewer reactions wins (Michaelis-Menten's three over the
    four-reaction form with the enzyme eliminated by its conservation law); then the one that makes each
    species from given reactants one way (an infected cell that makes virions, ``I -> I + V``, and dies,
    ``I -> 0``, over the same cell releasing one more virion as it dies, ``I -> V``: the same ODE with the
    production rate shifted; likewise mRNA making protein and decaying); then the one closest to
    conserving molecules (``2 T -> T`` over ``2 T -> 0`` at half the rate; ``X -> Y`` over ``X -> X + Y``
    beside ``X -> 0``; ``0 -> X`` over ``0 -> 3 X``), then the one whose reactions change the fewest
    molecules (Robertson's ``2 B -> B + C``, one B made C, over ``2 B -> 2 C`` or ``2 B -> A + C`` at other
    rates: with B quasi-steady near 1e-5 the three fit the data alike), then the one with the fewest
    molecules."""
    if not crn.num_reactions:
        return 0.0
    net = crn.stoichiometry
    change = np.abs(net.sum(axis=1)).sum()
    catalytic = (crn.products >= crn.reactants).all(axis=1)
    doubled = 0
    for r in np.flatnonzero(~catalytic):
        same = catalytic & (crn.reactants == crn.reactants[r]).all(axis=1)
        if same.any() and ((net[same] > 0) & (net[r] > 0)).any():
            doubled += 1
    return float(10 * crn.num_reactions + 5 * doubled + 2 * change + np.abs(net).sum() + crn.reactants.sum()
                 + crn.products.sum())


def _climbs(gain: float, current: Crn, new: Crn, min_gain: float) -> bool:
    """Whether a climb from ``current`` steps to ``new``, whose rank is higher by ``gain``: by more than
    ``min_gain`` (no drifting over a plateau of networks that fit alike), or by any amount to a simpler
    network (an equal fit in fewer parts; the complexity bounds how many such steps there can be)."""
    return gain > min_gain or (gain > 0 and complexity(new) < complexity(current))


def _share_time(next_climb: Callable[[], Iterator[None] | None], slots: int, until: float,
                clock: Callable[[], float] = time.perf_counter) -> None:
    """Run climbs (generators that pause before every step) in ``slots`` slots until ``clock()`` reaches
    ``until`` or ``next_climb()`` gives none: the slot that has used the least time takes the next step,
    and where a slot's climb ends the next climb starts in it (the time ``next_climb`` took to choose it
    counts as the slot's). The clock is the wall time, or the fits made under a budget in fits."""
    accounts = [0.0] * slots
    running: list[Iterator[None] | None] = [None] * slots
    while clock() < until:
        for slot in range(slots):
            # not past the end: a climb started then ends at once, and the next start would be tried
            while running[slot] is None and clock() < until:
                began = clock()
                climb = next_climb()
                accounts[slot] += clock() - began
                if climb is None:
                    break
                if next(climb, StopIteration) is not StopIteration:
                    running[slot] = climb
        busy = [slot for slot in range(slots) if running[slot] is not None]
        if not busy:
            return
        slot = min(busy, key=lambda k: (accounts[k], k))
        began = clock()
        if next(running[slot], StopIteration) is StopIteration:
            running[slot] = None
        accounts[slot] += clock() - began


def _softmax_top(logits: np.ndarray, keep: int) -> tuple[np.ndarray, np.ndarray]:
    """Indices of the ``keep`` largest logits and their softmax probabilities (renormalized over them)."""
    order = np.argsort(-logits, kind="stable")[:keep]
    z = logits[order] - logits[order].max()
    p = np.exp(z)
    return order, p / p.sum()


class PriorCache:
    """Edges (the legal actions of highest prior, and their renormalized probabilities) and values of states,
    each state evaluated once.

    Keyed by the state's exact labelling (its species and its set of reaction actions), not by the canonical
    key: networks that differ only in which latent species a reaction uses (``X1`` or ``X2``) share a
    canonical key, but an action index means a different edit in each, so edges cached for one labelling
    are not legal in the other.
    """

    def __init__(self, space: ActionSpace, evaluator, max_children: int, dirichlet_alpha: float = 0.0,
                 dirichlet_fraction: float = 0.0, noise_rng: np.random.Generator | None = None) -> None:
        self.space, self.evaluator, self.max_children = space, evaluator, max_children
        self.dirichlet_alpha, self.dirichlet_fraction, self.noise_rng = dirichlet_alpha, dirichlet_fraction, noise_rng
        self._cache: dict[tuple, tuple[tuple[np.ndarray, np.ndarray], float]] = {}

    def key(self, crn: Crn) -> tuple:
        return crn.num_species, tuple(sorted(self.space.reaction_actions(crn).tolist()))

    def __call__(self, batch_states: list[Crn], batch_fits: list[FitResult], root: bool = False):
        """Edges and values of ``batch_states``; ``root`` re-evaluates and mixes Dirichlet noise in."""
        keys = [self.key(c) for c in batch_states]
        todo = [i for i, k in enumerate(keys) if k not in self._cache or root]
        if todo:
            legal = [np.flatnonzero(self.space.legal_mask(batch_states[i])) for i in todo]
            logits, values = self.evaluator([batch_states[i] for i in todo], [batch_fits[i] for i in todo], legal)
            for i, actions, lg, v in zip(todo, legal, logits, values):
                if len(actions) == 0:
                    self._cache[keys[i]] = ((actions.astype(np.int32), np.zeros(0)), float(v))
                    continue
                keep, p = _softmax_top(np.asarray(lg, dtype=np.float64), self.max_children)
                if root and self.dirichlet_alpha > 0:
                    p = (1 - self.dirichlet_fraction) * p + self.dirichlet_fraction * self.noise_rng.dirichlet(
                        np.full(len(p), self.dirichlet_alpha))
                self._cache[keys[i]] = ((actions[keep].astype(np.int32), p), float(v))
        return [self._cache[k][0] for k in keys], np.array([self._cache[k][1] for k in keys])


def run_search(dataset: Dataset, *, config: SearchConfig | None = None, evaluator: Evaluator | None = None,
               rng: np.random.SeedSequence | int | None = None, fit_config: FitConfig | None = None,
               reward_config: RewardConfig | None = None, progress: bool | None = None,
               callback: Callable[[int, Candidate | None], None] | None = None) -> SearchResult:
    """Search for the reaction network behind ``dataset``.

    Parameters
    ----------
    dataset : Dataset
        Observed species must be identifiers (they become species names of the networks).
    config : SearchConfig, optional
    evaluator : Evaluator, optional
        Priors (and values) for new states; default the score test (``ScoreTestEvaluator``).
    rng : SeedSequence or int, optional
        The run's one seed: each fit gets a child sequence keyed by its fit index (so the same seed and
        budget in simulations give the same result), the root noise another.
    fit_config, reward_config : optional
        Settings of ``fit_rates`` and ``reward``.
    progress : bool, optional
        A tqdm bar over simulations; default on when stderr is a terminal.
    callback : callable, optional
        Called after every simulation with the number of simulations and the best candidate so far.

    Returns
    -------
    SearchResult
    """
    config = SearchConfig() if config is None else config
    fitter = _Fitter(dataset, reward_config, config.workers)
    try:
        return _run_search(dataset, config, evaluator, rng, fit_config, reward_config, progress, callback, fitter)
    finally:
        fitter.close()  # the fitting processes end with the search, also when it fails


def _run_search(dataset: Dataset, config: SearchConfig, evaluator: Evaluator | None,
                rng: np.random.SeedSequence | int | None, fit_config: FitConfig | None,
                reward_config: RewardConfig | None, progress: bool | None,
                callback: Callable[[int, Candidate | None], None] | None, fitter: _Fitter) -> SearchResult:
    """``run_search``'s body, fitting through ``fitter``."""
    fit_config = FitConfig() if fit_config is None else fit_config
    seed = rng if isinstance(rng, np.random.SeedSequence) else np.random.SeedSequence(0 if rng is None else rng)
    bad = [s for s in dataset.species if not s.isidentifier()]
    if bad:
        raise ValueError(f"{dataset.source}: species names {bad} are not identifiers; rename the columns "
                         "(letters, digits and _, not starting with a digit)")
    space = ActionSpace(dataset.species, max_latent=config.max_latent, max_order=config.max_order,
                        max_reactions=config.max_reactions, forbidden=config.forbidden, required=config.required)
    evaluator = (ScoreTestEvaluator() if evaluator is None else evaluator).bind(dataset, space)
    noise_rng = np.random.default_rng(seed.spawn(1)[0])
    params = T.PuctParams(config.c_puct, config.beta, T.FPU_PARENT if config.fpu is None else config.fpu,
                          config.pw_c, config.pw_alpha)
    capacity = (config.num_simulations or 1024) + 1
    tree = T.make_tree(capacity, capacity * config.max_children)
    start_time = time.perf_counter()

    states: list[Crn] = []
    node_of_key: dict[str, int] = {}
    fits: dict[str, Candidate] = {}
    trace: list[dict[str, Any]] = []
    best: list[Candidate | None] = [None]
    refits = [0]  # cold refits of new best networks
    stage = ["tree"]  # what is fitting: "tree", "climb" or "prune" (the trace's "stage")
    screened: dict[str, float] = {}  # polishing's screening fits: canonical key -> reward

    complexities: dict[str, float] = {}  # canonical key -> complexity, computed once per network

    def score(value: float, crn: Crn, key: str) -> float:
        """A reward less ``config.simplicity`` times the complexity of the reactions (``complexity``) of
        the network ``crn`` with canonical key ``key``: networks that fit alike (equivalent ODEs, such as
        ``0 -> 3 X`` and ``0 -> X``) are ranked by their simplicity."""
        if key not in complexities:
            complexities[key] = complexity(crn)
        return value - config.simplicity * complexities[key]

    def rank(candidate: Candidate) -> float:
        return score(candidate.reward, candidate.crn, candidate.key)

    def fit_calls() -> int:
        """Fits made so far: full fits, polishing's screening fits and cold refits."""
        return len(trace) + len(screened) + refits[0]

    # the search's clock: the wall time under a time limit; under a budget in fits alone, the fits made (so
    # the search is the same on any machine); a budget in simulations alone has none (a fixed split)
    clock: Callable[[], float] = time.perf_counter if config.time_limit is not None else fit_calls
    improved_at = [clock()]  # when the best complete network last rose in rank by polish_min_gain

    def full_fit(crn: Crn, parent_fit: FitResult | None, index: int) -> tuple:
        """The fit (``_fit_job``'s arguments) of the ``index``-th network fitted in full, warm-started from
        ``parent_fit``."""
        index_seed = np.random.SeedSequence(seed.entropy, spawn_key=seed.spawn_key + (1, index))
        return crn, fit_config, parent_fit, index_seed, False

    def fit_state(crn: Crn, parent_fit: FitResult | None, fit: FitResult | None = None,
                  key: str | None = None) -> Candidate:
        """The candidate of ``crn`` (canonical key ``key``, computed if not given): fitted once per canonical
        key (``fit``: its ``full_fit``, made ahead)."""
        key = crn.canonical_key() if key is None else key
        if key in fits:
            return fits[key]
        index = len(trace)
        if fit is None:
            fit = _fit_job(dataset, reward_config, *full_fit(crn, parent_fit, index))
        value = reward(fit, crn, dataset, config=reward_config) if fit.success else 0.0
        candidate = Candidate(crn, fit, float(value), key, index + 1)
        complete = bool(space.legal_mask(crn)[space.STOP])
        if complete and parent_fit is not None and best[0] is not None and rank(candidate) > rank(best[0]):
            # a new best network: a warm start from its parent can end in a poorer basin than a cold
            # multistart (and then loses to itself plus a spurious reaction), so it is also fitted cold
            refits[0] += 1
            cold = fit_rates(crn, dataset, config=fit_config,
                             rng=np.random.SeedSequence(seed.entropy, spawn_key=seed.spawn_key + (3, index)))
            cold_value = reward(cold, crn, dataset, config=reward_config) if cold.success else 0.0
            if cold_value > candidate.reward:
                candidate = Candidate(crn, cold, float(cold_value), key, index + 1)
        fits[key] = candidate
        trace.append({"key": key, "reactions": crn.reactions_text(), "reward": candidate.reward,
                      "loss": float(candidate.fit.loss), "num_params": int(candidate.fit.num_params),
                      "complete": complete, "success": bool(candidate.fit.success), "fit_calls": fit_calls() + 1,
                      "stage": stage[0]})
        gain = 0.0 if not complete else math.inf if best[0] is None else rank(candidate) - rank(best[0])
        if gain > 0:
            if gain > config.polish_min_gain:
                improved_at[0] = clock()
            best[0] = candidate
        return candidate

    def fit_states(requests: list[tuple[Crn, FitResult | None]],
                   stop: Callable[[], bool] = lambda: False) -> Iterator[Candidate]:
        """``fit_state`` of each (network, parent fit) in order, until ``stop()`` before one. The full fits of
        the networks not fitted before run ahead in ``config.workers`` processes; their seeds are the fit
        indices they get in this order, so the candidates and the trace are those of fitting one by one."""
        keys = [crn.canonical_key() for crn, _ in requests]
        first: dict[str, tuple[Crn, FitResult | None]] = {}
        for key, request in zip(keys, requests):
            if key not in fits:
                first.setdefault(key, request)
        results = fitter.in_order([full_fit(crn, parent_fit, len(trace) + i)
                                   for i, (crn, parent_fit) in enumerate(first.values())])
        try:
            for key, (crn, parent_fit) in zip(keys, requests):
                if stop():
                    return
                yield fit_state(crn, parent_fit, None if key in fits else next(results), key)
        finally:
            results.close()

    prior_cache = PriorCache(space, evaluator, config.max_children,
                             config.dirichlet_alpha, config.dirichlet_fraction, noise_rng)
    priors_for = prior_cache.__call__

    def playouts(starts: list[tuple[Crn, Candidate]]) -> list[float]:
        """Best reward on a greedy walk (highest prior, never STOP) of ``rollout_depth`` edits from each
        state, the walks taken in step: each step's new networks are fitted together (``fit_states``)."""
        best_values = [candidate.reward for _, candidate in starts]
        here = list(starts)
        walking = list(range(len(starts)))
        for _ in range(config.rollout_depth):
            if not walking:
                break
            edges, _ = priors_for([here[i][0] for i in walking], [here[i][1].fit for i in walking])
            steps = []
            for i, (actions, p) in zip(walking, edges):
                edits = actions != space.STOP
                if edits.any():
                    steps.append((i, space.apply(here[i][0], int(actions[edits][np.argmax(p[edits])]))))
            for (i, state), candidate in zip(steps, fit_states([(state, here[i][1].fit) for i, state in steps])):
                here[i] = (state, candidate)
                best_values[i] = max(best_values[i], candidate.reward)
            walking = [i for i, _ in steps]
        return best_values

    polish_limit = math.inf  # the fits (full and screening) polishing may reach
    polish_until: float | None = None  # the time polishing must stop by (None: no time limit)

    def out_of_budget() -> bool:
        """Polishing must stop: the time is up, or it has reached ``polish_limit`` fits, counting screening
        fits (with ``max_fits``, 98% of them; with a budget in simulations alone, as many as the tree search
        made; climbs interleaved with the tree search: the tree's share of both)."""
        if polish_until is not None and time.perf_counter() >= polish_until:
            return True
        return fit_calls() >= polish_limit

    polished: set[str] = set()
    runners_up: list[Candidate] = []
    screen_config = dataclasses.replace(fit_config, num_starts=1, holdout=False)

    def screen(crn: Crn, parent_fit: FitResult, index: int) -> tuple:
        """The screen (``_fit_job``'s arguments) of the ``index``-th network screened: a cheap reward (one fit
        warm-started from ``parent_fit``, no hold-out refit), to rank neighbours."""
        index_seed = np.random.SeedSequence(seed.entropy, spawn_key=seed.spawn_key + (2, index))
        return crn, screen_config, parent_fit, index_seed, True

    def screen_ranks(options: dict[str, tuple[Crn, Candidate]], stop) -> list[tuple[float, Crn, Candidate]]:
        """``options`` (canonical key -> network, the network it was made from) screened from their
        parents' fits (``screen``; a network fitted in full keeps its reward, one screened before its
        screen), with their ranks, best first; screening ends when ``stop()``. The screens run ahead in
        ``config.workers`` processes, seeded by the screen indices they get in this order."""
        new = [(key, crn, parent) for key, (crn, parent) in options.items()
               if key not in fits and key not in screened]
        results = fitter.in_order([screen(crn, parent.fit, len(screened) + i)
                                   for i, (_, crn, parent) in enumerate(new)])
        scores = []
        try:
            for key, (crn, parent) in options.items():
                if stop():
                    break
                if key not in fits and key not in screened:
                    screened[key] = next(results)
                value = fits[key].reward if key in fits else screened[key]
                scores.append((score(value, crn, key), len(scores), crn, parent))
        finally:
            results.close()
        scores.sort(key=lambda item: (-item[0], item[1]))
        return [(value, crn, parent) for value, _, crn, parent in scores]

    def by_screen(options: dict[str, tuple[Crn, Candidate]], stop) -> list[tuple[Crn, Candidate]]:
        """``screen_ranks`` without the ranks."""
        return [(crn, parent) for _, crn, parent in screen_ranks(options, stop)]

    def moves_from(beam: list[Candidate], moves_of: Callable[[Candidate], list[Crn]]
                   ) -> dict[str, tuple[Crn, Candidate]]:
        """The admissible networks ``moves_of`` gives from the members of ``beam``, by canonical key, each
        with the first member that gave it; the members themselves left out."""
        options: dict[str, tuple[Crn, Candidate]] = {}
        for member in beam:
            for crn in moves_of(member):
                if space.admissible(crn):
                    options.setdefault(crn.canonical_key(), (crn, member))
        for member in beam:
            options.pop(member.key, None)
        return options

    def proposals(member: Candidate, stalled: bool) -> list[Crn]:
        """The moves tried from ``member``: ``moves.neighbours`` and the ``polish_additions`` additions of
        highest prior, or, once no neighbour improves, the single and pair removals, the swaps and the
        catalyst moves (``moves.catalysts``)."""
        if stalled:
            pairs = moves.pair_removals(member.crn) if member.crn.num_reactions >= 3 else []
            return (moves.removals(member.crn) + pairs + moves.swaps(member.crn)
                    + moves.catalysts(member.crn, config.max_order))
        options = moves.neighbours(member.crn, member.fit.rates, max_order=config.max_order,
                                   max_latent=config.max_latent)
        if member.crn.num_reactions < config.max_reactions:
            (actions, _), = priors_for([member.crn], [member.fit])[0]
            adds = actions[actions < space.num_reaction_actions][:config.polish_additions]
            options += [space.apply(member.crn, int(a)) for a in adds]
        return options

    def polish(candidate: Candidate) -> Iterator[None]:
        """Hill climbing from a finished network that widens into a beam search where it stalls; a
        generator that pauses before every step (``polish_phase`` shares the time among climbs).

        Every move from every member of the beam (``proposals``) is screened (``screen``), the
        ``polish_refits`` best per member are fitted in full, and the beam becomes the best of itself and
        them, while that changes it. When nothing changes it, every single removal is fitted in full and
        removing two reactions at once, exchanging one molecule of a reaction (``moves.swaps``) and
        adding or removing a species on both sides of one (``moves.catalysts``) are tried;
        when that fails too, the beam widens from one network to the ``polish_beam`` best of it and those
        fits (moves that lower the reward are kept, to pass between two good networks: a swap that makes a
        reaction spurious, then its removal), and narrows again to its best network once
        that beats the network where the climb stalled."""
        logger.info("polish from %s (reward %.4f)", "; ".join(candidate.crn.reactions_text()), candidate.reward)
        beam, stalled, width, stalled_at, wide_steps = [candidate], False, 1, -math.inf, 0
        while True:
            polished.update(member.key for member in beam)
            if out_of_budget():
                return
            yield
            members = {member.key for member in beam}
            options = moves_from(beam, lambda member: proposals(member, stalled))
            refits = by_screen(options, out_of_budget)[:config.polish_refits * len(beam)]
            if stalled:
                # every single removal in full: a screen from the parent's rates can hide a spurious reaction
                refits = [option for option in options.values()
                          if option[0].num_reactions == option[1].crn.num_reactions - 1] + refits
            fitted: list[Candidate] = []
            for candidate in fit_states([(crn, member.fit) for crn, member in refits],
                                        lambda: bool(fitted) and out_of_budget()):
                fitted.append(candidate)
            pool = {c.key: c for c in beam + fitted}
            new_beam = sorted(pool.values(), key=lambda c: (-rank(c), c.fit_index))[:width]
            if width == 1:
                moved = _climbs(rank(new_beam[0]) - rank(beam[0]), beam[0].crn, new_beam[0].crn,
                                config.polish_min_gain)
            else:
                wide_steps += 1
                moved = {c.key for c in new_beam} != members and wide_steps <= config.polish_beam_steps
            if not moved:
                if not stalled:
                    stalled = True  # no single move changes the beam: full removals, pairs, swaps, catalysts
                elif width < config.polish_beam:
                    width, stalled, stalled_at = config.polish_beam, False, rank(beam[0])
                    # the beam widens into the best of the stall's fits (removals, pairs, swaps, catalysts)
                    beam = sorted(pool.values(), key=lambda c: (-rank(c), c.fit_index))[:width]
                else:
                    return
                continue
            stalled = False
            if width > 1 and rank(new_beam[0]) > stalled_at + config.polish_min_gain:
                new_beam, width, wide_steps = new_beam[:1], 1, 0  # past the stall: climb from the best again
            kept = {c.key for c in new_beam}
            runners_up.extend(c for c in fitted if c.key not in kept and rank(c) > rank(beam[0]))
            if new_beam[0].key != beam[0].key:
                logger.info("  polished to %s (reward %.4f)", "; ".join(new_beam[0].crn.reactions_text()),
                            new_beam[0].reward)
            beam = new_beam

    def polish_phase() -> None:
        """Polish the ``polish`` best finished networks. With a time limit, ``polish_climbs`` climbs share
        the time (``_share_time``; with ``max_fits`` and no time limit, the fits): the best network's climb
        first, then, as climbs end, in turn, the best unpolished network of the size whose best mechanism
        move (a new latent species with its reactions, ``moves.mechanisms``) gains most by its screen, and
        the best runner-up of earlier climbs (an improving move that was not taken: greedy climbs diverge
        early), until the time is up. A budget in simulations alone climbs from the ``polish`` best in
        turn, up to as many fits as the tree search made. A climb
        from a large network takes long steps; sharing keeps it from using all the time while a core one
        mechanism move from the truth waits (within-host malaria's best five-reaction network gains 0.14
        in one step, a free stage, and 0.52 in four, while a climb from its best network gains 0.005 a
        step)."""
        def finished() -> list[Candidate]:
            return sorted((c for c in fits.values() if trace[c.fit_index - 1]["complete"]),
                          key=lambda c: (-rank(c), c.fit_index))

        nonlocal polish_limit, polish_until
        polish_until = polish_end
        polish_limit = math.inf
        if config.max_fits is not None:
            polish_limit = (1.0 - PRUNE_SHARE) * config.max_fits
        if end_time is None and config.max_fits is None:
            polish_limit = min(polish_limit, 2 * fit_calls())
            for candidate in finished()[:config.polish]:
                if candidate.key not in polished:
                    for _ in polish(candidate):
                        pass
            return
        turn = 0
        gains: dict[str, float] = {}

        def lookahead(start: Candidate) -> float:
            """How much the best mechanism move (``moves.mechanisms``: a new latent species with its
            reactions) from ``start`` gains by its screen (a climb from ``start`` reuses the screens);
            -inf where none is left (every latent species used)."""
            if start.key not in gains:
                options = moves_from([start], lambda member: moves.mechanisms(member.crn, config.max_order,
                                                                              config.max_latent))
                ranked = screen_ranks(options, out_of_budget)  # the climb from start reuses these screens
                gains[start.key] = (ranked[0][0] if ranked else -math.inf) - rank(start)
            return gains[start.key]

        def next_start() -> Candidate | None:
            nonlocal turn
            ranked = [c for c in finished() if c.key not in polished]
            if not ranked:
                return None
            if best[0].key not in polished:
                return best[0]  # the best network first (no climb has reached it)
            sizes: dict[int, Candidate] = {}
            for c in ranked:
                sizes.setdefault(c.crn.num_reactions, c)
            pending = sorted((c for c in runners_up if c.key not in polished), key=rank, reverse=True)
            turn += 1
            if turn % 2 == 1 or not pending:
                # the best network of the size whose best mechanism move gains most (ties: the smaller)
                return max(sorted(sizes.items()), key=lambda item: lookahead(item[1]))[1]
            return pending[0]

        def next_climb() -> Iterator[None] | None:
            if out_of_budget():
                return None
            start = next_start()
            return None if start is None else polish(start)

        _share_time(next_climb, config.polish_climbs, polish_limit if end_time is None else polish_end, clock=clock)

    interleaved = {"climb": None, "fits": 0}

    def interleave() -> None:
        """Climb steps while the climbs' fits are below ``polish_interleave`` of all fits made in the tree
        search (``SearchConfig.polish_interleave``); a climb that ends is followed by one from the best
        complete network so far, if no climb has reached it."""
        while (interleaved["fits"] < config.polish_interleave * fit_calls() and not out_of_budget()):
            if interleaved["climb"] is None:
                if best[0] is None or best[0].key in polished:
                    return
                interleaved["climb"] = polish(best[0])
            before, stage[0] = fit_calls(), "climb"
            if next(interleaved["climb"], StopIteration) is StopIteration:
                interleaved["climb"] = None
            interleaved["fits"] += fit_calls() - before
            stage[0] = "tree"

    def prune() -> None:
        """Single removals from the best network, screened, the ``polish_refits`` best fitted in full, while
        one ranks higher (a spurious reaction in a best network found as the polishing time ran out), within
        the budgets of time and fits."""
        def out_of_time() -> bool:
            return ((end_time is not None and time.perf_counter() >= end_time)
                    or (config.max_fits is not None and fit_calls() >= config.max_fits))

        while best[0] is not None:
            current = best[0]
            options = {crn.canonical_key(): (crn, current) for crn in moves.removals(current.crn)
                       if space.admissible(crn)}
            for _ in fit_states([(crn, current.fit) for crn, _ in by_screen(options, out_of_time)
                                 [:config.polish_refits]], out_of_time):
                pass
            if best[0] is current or out_of_time():
                return

    def leaf_values(leaves: list[tuple[Crn, Candidate, float]]) -> list[float]:
        """The values of new leaves (network, candidate, the evaluator's predicted value): the best reward of
        their playouts (``playouts``), mixed with the prediction where there is one."""
        values = (playouts([(state, candidate) for state, candidate, _ in leaves]) if config.rollout_depth > 0
                  else [candidate.reward for _, candidate, _ in leaves])
        return [(1 - config.value_weight) * value + config.value_weight * float(predicted)
                if math.isfinite(predicted) else value for value, (_, _, predicted) in zip(values, leaves)]

    root_state = space.initial_state()
    root_candidate = fit_state(root_state, None)
    (root_edges,), root_values = priors_for([root_state], [root_candidate.fit], root=True)
    states.append(root_state)
    T.add_root(tree, 0, leaf_values([(root_state, root_candidate, root_values[0])])[0],
               terminal=len(root_edges[0]) == 0)
    node_of_key[root_candidate.key] = T.ROOT
    if len(root_edges[0]):
        T.expand_node(tree, T.ROOT, *root_edges)

    show = (sys.stderr.isatty() if progress is None else progress)
    bar = None
    if show:
        from tqdm import tqdm

        bar = tqdm(total=config.num_simulations, desc="search", unit="sim", leave=False)
    num_simulations = 0
    # with a time budget, polishing keeps polish_fraction of it, or more: tree_patience ends a stalled tree early
    end_time = None if config.time_limit is None else start_time + config.time_limit
    # polishing stops a little early: the last 2% of the time prunes the best network
    polish_end = None if end_time is None else end_time - PRUNE_SHARE * config.time_limit
    tree_share = 1.0 - (config.polish_fraction if config.polish else 0.0)
    deadline = None if end_time is None else start_time + tree_share * config.time_limit
    tree_fits = math.inf if config.max_fits is None else tree_share * config.max_fits
    polish_limit, polish_until = tree_fits, deadline  # climbs interleaved with the tree search stay within it
    # a stalled tree hands over to polishing after this much of the clock (seconds, or fits) without a gain
    budget = config.time_limit if config.time_limit is not None else config.max_fits
    patience = (config.tree_patience * budget
                if budget is not None and config.polish and config.tree_patience > 0 else math.inf)
    # under a budget in fits alone, simulations that make no fit (transpositions, stopped networks) do not move
    # the clock: a tree that keeps choosing networks it has fitted would run on without end
    stall = (max(MIN_STALL, config.max_fits) if config.max_fits is not None and config.time_limit is None
             and config.num_simulations is None else math.inf)
    fitted_at = (0, fit_calls())  # (simulations, fits) when the fits made last grew
    while True:
        if config.num_simulations is not None and num_simulations >= config.num_simulations:
            break
        if fit_calls() > fitted_at[1]:
            fitted_at = (num_simulations, fit_calls())
        elif num_simulations - fitted_at[0] >= stall:
            logger.info("tree search ends after %d fits: its last %d simulations made no new fit", fit_calls(),
                        num_simulations - fitted_at[0])
            break
        now = time.perf_counter()
        if deadline is not None and now >= deadline:
            break
        if clock() - improved_at[0] >= patience:
            logger.info("tree search ends after %d fits (%.1f s): its best network has not improved for %g %s",
                        fit_calls(), now - start_time, clock() - improved_at[0],
                        "s" if config.time_limit is not None else "fits")
            break
        if fit_calls() >= tree_fits:
            break
        want = config.batch_size
        if config.num_simulations is not None:
            want = min(want, config.num_simulations - num_simulations)
        # room for every leaf of the batch and its edges
        if (tree.node_count[0] + want > len(tree.visits)
                or tree.edge_count[0] + want * config.max_children > len(tree.edge_action)):
            tree = _grow(tree, 2 * len(tree.visits), 2 * len(tree.edge_action))
        try:
            batch = T.select_batch(tree, want, params)
        except ValueError as error:  # every eligible edge pending / tree exhausted
            logger.info("search stops early: %s", error)
            break
        if len(batch.leaves) == 0:
            break
        values = np.zeros(len(batch.leaves))
        new_nodes: list[tuple[int, int, Crn, Candidate, bool, str]] = []
        created: dict[str, int] = {}
        children: list[tuple[int, int, Crn, bool, FitResult]] = []
        for b, (leaf, edge) in enumerate(zip(batch.leaves.tolist(), batch.edges.tolist())):
            if edge == T.NO_EDGE:
                values[b] = tree.node_value[leaf]
                continue
            action = int(tree.edge_action[edge])
            parent = states[tree.state[leaf]]
            children.append((b, edge, space.apply(parent, action), action == space.STOP,
                             fits[parent.canonical_key()].fit))
        # the batch's new networks are fitted together (in config.workers processes)
        for (b, edge, child, terminal, _), candidate in zip(
                children, fit_states([(child, parent_fit) for _, _, child, _, parent_fit in children])):
            key = candidate.key + (STOP_SUFFIX if terminal else "")
            new_nodes.append((b, edge, child, candidate, terminal, key))
        expandable = [(i, n) for i, n in enumerate(new_nodes)
                      if not n[4] and n[5] not in node_of_key]
        unique: dict[str, tuple[int, Any]] = {}
        for i, n in expandable:
            unique.setdefault(n[5], (i, n))
        priors: dict[str, tuple] = {}
        if unique:
            keys = list(unique)
            edges_and_values = priors_for([unique[k][1][2] for k in keys], [unique[k][1][3].fit for k in keys])
            for k, e, v in zip(keys, edges_and_values[0], edges_and_values[1]):
                priors[k] = (e, v)
        # the new leaves' values, their playouts walked together
        value_of = dict(zip(priors, leaf_values([(unique[k][1][2], unique[k][1][3], priors[k][1]) for k in priors])))
        for b, edge, child, candidate, terminal, key in new_nodes:
            leaf = int(batch.leaves[b])
            if key in node_of_key or key in created:
                node = node_of_key.get(key, created.get(key))
                T.attach_child(tree, edge, node)
                values[b] = tree.node_value[node]
                continue
            if terminal:
                value = candidate.reward
                node = T.add_node(tree, leaf, edge, len(states), value, terminal=True)
            else:
                (actions, p), _ = priors[key]
                value = value_of[key]
                node = T.add_node(tree, leaf, edge, len(states), value, terminal=len(actions) == 0)
                if len(actions):
                    status = T.expand_node(tree, node, actions, p)
                    if status != T.OK:
                        raise RuntimeError(f"tree expansion failed: {T.STATUS_MESSAGES.get(status, status)}")
            if node < 0:
                raise RuntimeError(f"tree node allocation failed: {T.STATUS_MESSAGES.get(node, node)}")
            states.append(child)
            created[key] = node
            node_of_key[key] = node
            values[b] = value
        T.backup_batch(tree, batch, values)
        num_simulations += len(batch.leaves)
        if bar is not None:
            bar.update(len(batch.leaves))
            if best[0] is not None:
                bar.set_postfix(fits=len(trace), best=f"{best[0].reward:.3f}")
        if config.polish and config.polish_interleave > 0:
            interleave()
        if callback is not None:
            callback(num_simulations, best[0])
    if bar is not None:
        bar.close()
    if config.polish:
        stage[0] = "climb"
        polish_phase()
        stage[0] = "prune"
        prune()

    complete = sorted((c for c in fits.values() if trace[c.fit_index - 1]["complete"]),
                      key=lambda c: (-rank(c), c.fit.num_params, c.fit_index))
    stats = T.child_statistics(tree, T.ROOT) if tree.expanded[T.ROOT] else None
    root_statistics = [] if stats is None else [
        {"action": space.describe(int(a)), "prior": float(p), "visits": int(v), "mean": float(m), "best": float(bb)}
        for a, p, v, m, bb in zip(stats.actions, stats.priors, stats.visits, stats.mean, stats.best)]
    best_candidate = complete[0] if complete else None
    return SearchResult(
        best=best_candidate, alternatives=complete[1:1 + config.top_k], num_fits=len(trace),
        num_fits_to_best=best_candidate.fit_index if best_candidate else 0, num_simulations=num_simulations,
        trace=trace, root_statistics=root_statistics, seed_entropy=int(seed.entropy), config=config,
        elapsed=time.perf_counter() - start_time, tree=tree, states=states, space=space,
        num_fit_calls=fit_calls())
