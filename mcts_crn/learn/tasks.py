"""Random tasks for self-play and evaluation: a hidden reaction network and noisy data from it.

A task is a random mass-action CRN of 2 to 6 species (some of them latent), random rate constants and
initial amounts, simulated on an even time grid in one or more experiments and observed with relative
Gaussian noise of 1 to 10%. Draws are rejected until the dynamics are worth modelling:

- the simulation succeeds and stays bounded (no species above ``max_growth`` times the largest initial
  amount): no blow-up;
- every species changes by at least ``min_variation`` of its largest value: nothing flat;
- every species takes part in a reaction, every latent species is made by one reaction and used by
  another, and the latent species can be completed one after the other (``buildable_order``: a stricter
  condition than the action space's, kept so that the task sets of a seed do not change);
- the network is none of the example models (``mcts_crn.examples``): its canonical key differs from every
  example's key, from the key of every example with all species observed, and, with all species made
  anonymous, from every example's anonymous key (no relabelling of an example either).
"""
from __future__ import annotations

import dataclasses
import functools
import itertools
import logging
import math

import numpy as np

from mcts_crn.config import TaskConfig
from mcts_crn.crn import ActionSpace, Crn, candidate_reactions, latent_complete, latent_name
from mcts_crn.data import Dataset, Experiment

logger = logging.getLogger(__name__)

OBSERVED_NAMES = ("A", "B", "C", "D", "E", "F", "G", "H")
"""Names of a task's observed species, in order; latent species are ``X1, X2, ...`` (the search's names)."""

# Probability of each (reactant order, product count) class of reactions: simple conversions, decays,
# bindings and catalytic steps are common in biology, 2 -> 2 exchanges and 0 -> 2 sources rare.
REACTION_CLASSES = {
    (1, 0): 0.14, (0, 1): 0.08, (1, 1): 0.24, (1, 2): 0.22, (2, 1): 0.22, (2, 0): 0.03, (0, 2): 0.02,
    (2, 2): 0.05,
}


@dataclasses.dataclass(frozen=True, eq=False)
class Task:
    """One task: the hidden network, its parameters and the data it made.

    Attributes
    ----------
    crn : Crn
        The true network: observed species first (the data columns), then latent ``X1, X2, ...``.
    rates : float64 [R]
    x0 : float64 [X, S]
        Initial amounts per experiment.
    dataset : Dataset
        Noisy observations of the observed species (known initial amounts of the observed species
        stored with each experiment when ``TaskConfig.known_initial``).
    noise : float
        Relative noise level.
    key : str
        ``crn.canonical_key()``.
    seed : str
        The seed that made the task, ``entropy/spawn.key`` (the same seed makes the same task).
    """

    crn: Crn
    rates: np.ndarray
    x0: np.ndarray
    dataset: Dataset
    noise: float
    key: str
    seed: str

    @property
    def num_latent(self) -> int:
        return self.crn.num_latent

    @property
    def num_reactions(self) -> int:
        return self.crn.num_reactions


def anonymous_key(crn: Crn) -> str:
    """Canonical key of ``crn`` with every species made latent: equal for networks equal up to any
    relabelling of species."""
    return Crn(crn.species, np.ones(crn.num_species, bool), crn.reactants, crn.products).canonical_key()


def all_observed(crn: Crn) -> Crn:
    """The same network with every species observed."""
    return Crn(crn.species, np.zeros(crn.num_species, bool), crn.reactants, crn.products)


def _shape(crn: Crn) -> tuple:
    """A cheap invariant under species relabelling (a pre-filter before the anonymous key)."""
    touches = (crn.reactants > 0) | (crn.products > 0)
    sides = sorted(zip(crn.reactants.sum(axis=1).tolist(), crn.products.sum(axis=1).tolist()))
    return crn.num_species, tuple(sides), tuple(sorted(touches.sum(axis=0).tolist()))


@functools.lru_cache(maxsize=1)
def example_keys() -> frozenset[str]:
    """Canonical keys a task must never have: each example's key and the key of it with all species observed.

    (``is_example`` also compares anonymous keys, computed only for networks shaped like an example.)
    """
    from mcts_crn.examples import EXAMPLES

    keys = set()
    for model in EXAMPLES.values():
        keys.update({model.crn.canonical_key(), all_observed(model.crn).canonical_key()})
    return frozenset(keys)


@functools.lru_cache(maxsize=1)
def _example_shapes() -> dict[tuple, tuple[str, ...]]:
    from mcts_crn.examples import EXAMPLES

    shapes: dict[tuple, tuple[str, ...]] = {}
    for name, model in EXAMPLES.items():
        shape = _shape(model.crn)
        shapes[shape] = shapes.get(shape, ()) + (name,)
    return shapes


@functools.lru_cache(maxsize=None)
def _example_anonymous_key(name: str) -> str:
    from mcts_crn.examples import EXAMPLES

    return anonymous_key(EXAMPLES[name].crn)


def is_example(crn: Crn) -> bool:
    """Whether ``crn`` is an example model under any relabelling of species and any observation pattern.

    True when its canonical key, or that of it with all species observed, is an example's
    (``example_keys``), or when its anonymous key (``anonymous_key``) equals an example's.
    """
    keys = example_keys()
    if crn.canonical_key() in keys or all_observed(crn).canonical_key() in keys:
        return True
    names = _example_shapes().get(_shape(crn), ())
    if not names:
        return False
    key = anonymous_key(crn)
    return any(_example_anonymous_key(name) == key for name in names)


def buildable_order(crn: Crn) -> list[int] | None:
    """An order of the latent species in which the search can build ``crn``, or None.

    Latent species ``l_1, l_2, ...`` work in this order when each ``l_j`` is complete (made by one
    reaction, used by another) using only the reactions that touch no later latent species. (The action
    space once required this order, adding a latent species only when the previous ones were complete;
    it now lets them be added at any time, so this is a sufficient condition, kept for reproducibility
    of the task sets. Tasks name their latent species ``X1, X2, ...`` in this order.)
    """
    hidden = [i for i in range(crn.num_species) if crn.latent[i]]
    touches = (crn.reactants > 0) | (crn.products > 0)
    for order in itertools.permutations(hidden):
        ok = True
        for j, species in enumerate(order):
            later = list(order[j + 1:])
            rows = ~touches[:, later].any(axis=1) if later else np.ones(crn.num_reactions, bool)
            net = crn.products[rows, species].astype(int) - crn.reactants[rows, species]
            if not ((net > 0).any() and (net < 0).any()):
                ok = False
                break
        if ok:
            return list(order)
    return None


def _draw_reactions(num_species: int, num_reactions: int, max_order: int, rng: np.random.Generator
                    ) -> tuple[np.ndarray, np.ndarray]:
    reactants, products = candidate_reactions(num_species, max_order)
    orders, sizes = reactants.sum(axis=1), products.sum(axis=1)
    classes = [c for c in REACTION_CLASSES if c[0] <= max_order and c[1] <= max_order]
    weights = np.array([REACTION_CLASSES[c] for c in classes])
    chosen: list[int] = []
    while len(chosen) < num_reactions:
        a, b = classes[rng.choice(len(classes), p=weights / weights.sum())]
        members = np.flatnonzero((orders == a) & (sizes == b))
        k = int(rng.choice(members))
        if k not in chosen:
            chosen.append(k)
    return reactants[chosen], products[chosen]


def _simulate(crn: Crn, rates: np.ndarray, x0: np.ndarray, times: np.ndarray) -> np.ndarray | None:
    from mcts_crn.simulate import simulate_with_status

    states, status = simulate_with_status(crn, rates, x0, times, rtol=1e-8, atol=1e-10, max_steps=50_000)
    if status != 0 or not np.isfinite(states).all():
        return None
    return np.maximum(states, 0.0)


def _draw(config: TaskConfig, rng: np.random.Generator, exclude: frozenset[str]) -> tuple | None:
    """One draw; None when it is rejected."""
    num_species = int(rng.integers(config.min_species, config.max_species + 1))
    num_latent = 0
    if config.max_latent > 0 and num_species > 1 and rng.random() < config.latent_probability:
        num_latent = int(rng.integers(1, min(config.max_latent, num_species - 1) + 1))
    num_observed = num_species - num_latent
    # enough reactions to involve every species (each reaction touches at most 2 * max_order species)
    low = max(config.min_reactions, math.ceil(num_species / (2 * config.max_order)), 2 * num_latent)
    if low > config.max_reactions:
        return None
    num_reactions = int(rng.integers(low, config.max_reactions + 1))
    reactants, products = _draw_reactions(num_species, num_reactions, config.max_order, rng)
    names = OBSERVED_NAMES[:num_observed] + tuple(latent_name(j) for j in range(num_latent))
    latent = np.array([False] * num_observed + [True] * num_latent)
    crn = Crn(names, latent, reactants, products)
    if not ((crn.reactants > 0) | (crn.products > 0)).any(axis=0).all():
        return None
    if num_latent:
        if not latent_complete(crn)[latent].all():
            return None
        order = buildable_order(crn)
        if order is None:
            return None
        # rename the latent species X1, X2, ... in a buildable order (the search's order of adding them)
        perm = list(range(num_observed)) + order
        crn = Crn(names, latent, crn.reactants[:, perm], crn.products[:, perm])
    key = crn.canonical_key()
    if key in exclude or is_example(crn):
        return None
    # rates: first-order-equivalent values around 1 / (time scale), amounts around 1
    low_rate, high_rate = config.rate_range
    rates = np.exp(rng.uniform(math.log(low_rate), math.log(high_rate), num_reactions))
    rates = rates * (10.0 / config.t_end)
    num_experiments = int(rng.integers(1, config.max_experiments + 1))
    latent_x0 = np.where(rng.random(num_latent) < 0.5, 0.0, rng.uniform(0.2, 2.0, num_latent))
    x0 = np.zeros((num_experiments, num_species))
    for e in range(num_experiments):
        observed_x0 = np.where(rng.random(num_observed) < 0.25, 0.0, rng.uniform(0.2, 2.0, num_observed))
        if not observed_x0.any():
            observed_x0[rng.integers(num_observed)] = rng.uniform(0.2, 2.0)
        x0[e] = np.concatenate([observed_x0, latent_x0])
    times = np.linspace(0.0, config.t_end, config.num_times)
    trajectories = []
    limit = config.max_growth * max(float(x0.max()), 1.0)
    for e in range(num_experiments):
        states = _simulate(crn, rates, x0[e], times)
        if states is None or states.max() > limit:
            return None
        trajectories.append(states)
    stacked = np.concatenate(trajectories)
    peak = stacked.max(axis=0)
    change = np.max([t.max(axis=0) - t.min(axis=0) for t in trajectories], axis=0)
    if (peak <= 0).any() or (change < config.min_variation * peak).any():
        return None
    return crn, rates, x0, times, trajectories, key


def seed_label(seed: np.random.SeedSequence) -> str:
    """``entropy/k1.k2...``: a seed sequence as text (``seed_from_label`` reads it back)."""
    return f"{seed.entropy}/{'.'.join(str(k) for k in seed.spawn_key)}"


def seed_from_label(label: str) -> np.random.SeedSequence:
    """The seed sequence ``seed_label`` wrote."""
    entropy, _, keys = label.partition("/")
    return np.random.SeedSequence(int(entropy), spawn_key=tuple(int(k) for k in keys.split(".") if k))


def generate_task(rng: np.random.SeedSequence | int | None = None, *, config: TaskConfig | None = None,
                  exclude: frozenset[str] | set[str] = frozenset()) -> Task:
    """Draw a task (a network, its parameters and noisy data), rejecting trivial ones and examples.

    Parameters
    ----------
    rng : SeedSequence or int, optional
        The task's seed; the same seed gives the same task.
    config : TaskConfig, optional
    exclude : set of str
        Canonical keys the task must not have (for example the keys of training tasks, for held-out
        evaluation tasks), beside the example models' keys which are always excluded.

    Returns
    -------
    Task

    Raises
    ------
    RuntimeError
        If ``config.max_tries`` draws are all rejected.
    """
    config = TaskConfig() if config is None else config
    seed = rng if isinstance(rng, np.random.SeedSequence) else np.random.SeedSequence(0 if rng is None else rng)
    generator = np.random.default_rng(seed)
    exclude = frozenset(exclude)
    for _ in range(config.max_tries):
        drawn = _draw(config, generator, exclude)
        if drawn is None:
            continue
        crn, rates, x0, times, trajectories, key = drawn
        noise = float(np.exp(generator.uniform(*np.log(config.noise_range))))
        num_observed = crn.num_species - crn.num_latent
        experiments = []
        for e, states in enumerate(trajectories):
            clean = states[:, :num_observed]
            noisy = np.maximum(0.0, clean * (1.0 + noise * generator.standard_normal(clean.shape)))
            initial = ({s: float(v) for s, v in zip(crn.species[:num_observed], x0[e, :num_observed])}
                       if config.known_initial else {})
            experiments.append(Experiment(name=str(e + 1), times=times, values=noisy, initial_values=initial))
        dataset = Dataset(species=crn.species[:num_observed], experiments=tuple(experiments),
                          noise=np.full(num_observed, noise), noise_model="relative", noise_given=True,
                          source=f"task:{seed_label(seed)}")
        return Task(crn, rates, x0, dataset, noise, key, seed_label(seed))
    raise RuntimeError(f"no acceptable task in {config.max_tries} draws; loosen the TaskConfig")


def task_space(task: Task, *, max_order: int = 2, extra_reactions: int = 2) -> ActionSpace:
    """The action space a search on ``task`` uses: its latent count, reactions up to truth + extra."""
    return ActionSpace(task.dataset.species, max_latent=task.num_latent, max_order=max_order,
                       max_reactions=task.num_reactions + extra_reactions)
