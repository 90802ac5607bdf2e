"""Training targets from a finished search: visit distributions, outcomes, and edits toward a network."""
from __future__ import annotations

import itertools

import numpy as np

from mcts_crn.crn import ActionSpace, Crn


def visit_distribution(tree, node: int, actions: np.ndarray, *, temperature: float = 1.0) -> np.ndarray:
    """The search's policy at a node: ``pi(a) = N(a) ** (1 / T) / sum_b N(b) ** (1 / T)`` over ``actions``.

    Parameters
    ----------
    tree : Tree
        A finished search tree (``mcts_crn.search.tree``).
    node : int
        An expanded node.
    actions : int [A]
        The node's legal actions (the search keeps edges for the ``max_children`` most likely ones only;
        the others get 0).
    temperature : float

    Returns
    -------
    float32 [A]
        Sums to 1, or all zeros when no edge of the node was visited.
    """
    start, count = int(tree.edge_start[node]), int(tree.num_edges[node])
    counts = np.zeros(len(actions))
    position = {int(a): i for i, a in enumerate(np.asarray(actions).tolist())}
    for e in range(start, start + count):
        i = position.get(int(tree.edge_action[e]))
        if i is not None:
            counts[i] += max(int(tree.edge_visits[e]), 0)
    if counts.sum() <= 0:
        return np.zeros(len(actions), dtype=np.float32)
    counts = counts ** (1.0 / temperature)
    return (counts / counts.sum()).astype(np.float32)


def best_below(tree, node_rewards: np.ndarray) -> np.ndarray:
    """The largest reward at or below each node (the search outcome the value head learns).

    With transpositions the tree is a DAG (every edit adds a reaction or a species, so there is no
    cycle); each node's best is the maximum over itself and its children's bests.

    Parameters
    ----------
    tree : Tree
    node_rewards : float64 [N]
        Each node's own reward (NaN counts as -inf).

    Returns
    -------
    float64 [N]
    """
    num_nodes = int(tree.node_count[0])
    rewards = np.where(np.isfinite(node_rewards[:num_nodes]), node_rewards[:num_nodes], -np.inf)
    best = np.full(num_nodes, np.nan)
    # iterative post-order over the DAG
    for root in range(num_nodes):
        if not np.isnan(best[root]):
            continue
        stack = [(root, False)]
        while stack:
            node, children_done = stack.pop()
            if not np.isnan(best[node]):
                continue
            start, count = int(tree.edge_start[node]), int(tree.num_edges[node])
            children = [int(c) for c in tree.edge_child[start:start + count] if c >= 0] if tree.expanded[node] else []
            if children_done:
                values = [rewards[node]] + [best[c] for c in children]
                best[node] = max(values)
                continue
            stack.append((node, True))
            stack.extend((c, False) for c in children if np.isnan(best[c]))
    return best


def toward_actions(state: Crn, target: Crn, space: ActionSpace, actions: np.ndarray) -> np.ndarray:
    """Which of ``actions`` keep ``state`` on a way to ``target``.

    ``state`` lies on a way to ``target`` when, for some injective map of its latent species to the
    target's, every reaction of ``state`` is a reaction of ``target``. Then the edits toward it are: each
    target reaction not yet present whose latent species all exist (mapped back), ``ADD_LATENT`` while
    the target has more latent species, and ``STOP`` once the state is the target.

    Parameters
    ----------
    state : Crn
        A state of ``space``.
    target : Crn
        A network over the same observed species (any order, any latent names); one with more than
        ``space.max_latent`` latent species cannot be reached and gets no edit.
    space : ActionSpace
    actions : int [A]
        Candidate actions (usually the state's legal ones).

    Returns
    -------
    bool [A]
    """
    actions = np.asarray(actions, dtype=np.int64)
    out = np.zeros(len(actions), dtype=bool)
    observed = [target.species_index(name) for name in space.observed]
    target_latent = [i for i in range(target.num_species) if target.latent[i]]
    num_state_latent = state.num_latent
    if (num_state_latent > len(target_latent) or len(target_latent) > space.max_latent
            or len(observed) != target.num_species - len(target_latent)):
        return out  # not reachable in this space
    state_set = {(state.reactants[r].tobytes(), state.products[r].tobytes()) for r in range(state.num_reactions)}
    wanted: set[int] = set()
    for image in itertools.permutations(target_latent, num_state_latent):
        # target species index -> state species index
        mapping = {t: s for s, t in enumerate(observed)}
        mapping.update({t: len(observed) + j for j, t in enumerate(image)})
        mapped = []
        for r in range(target.num_reactions):
            touched = np.flatnonzero((target.reactants[r] > 0) | (target.products[r] > 0))
            if all(int(t) in mapping for t in touched):
                a = np.zeros(state.num_species, dtype=np.int32)
                b = np.zeros(state.num_species, dtype=np.int32)
                for t in touched:
                    a[mapping[int(t)]] = target.reactants[r, t]
                    b[mapping[int(t)]] = target.products[r, t]
                mapped.append((a, b))
        mapped_set = {(a.tobytes(), b.tobytes()) for a, b in mapped}
        if not state_set <= mapped_set:
            continue
        missing = [(a, b) for a, b in mapped if (a.tobytes(), b.tobytes()) not in state_set]
        for a, b in missing:
            try:
                wanted.add(space.encode_reaction(a, b))
            except ValueError:
                pass
        if num_state_latent < len(target_latent):
            wanted.add(space.ADD_LATENT)
        elif not missing and len(state_set) == target.num_reactions:
            wanted.add(space.STOP)
    if wanted:
        out = np.isin(actions, np.array(sorted(wanted), dtype=np.int64))
    return out


def build_order(target: Crn, space: ActionSpace, rng: np.random.Generator) -> list[int]:
    """A random sequence of actions that builds ``target`` from the space's initial state, then STOP.

    Reactions are added in random order and each latent species (``ADD_LATENT``) once the reactions
    without it are in, so that every latent species is complete before the next is added (legal under
    any version of the action space; ``target``'s latent species in the order of
    ``mcts_crn.learn.tasks.buildable_order``).
    """
    state = space.initial_state()
    sequence: list[int] = []
    while True:
        legal = np.flatnonzero(space.legal_mask(state))
        toward = legal[toward_actions(state, target, space, legal)]
        if len(toward) == 0:
            raise ValueError(f"{target} cannot be built in this action space from {state}")
        reactions = toward[toward < space.num_reaction_actions]
        if len(reactions):
            action = int(rng.choice(reactions))
        elif space.ADD_LATENT in toward:
            action = space.ADD_LATENT
        else:
            action = space.STOP
        sequence.append(action)
        if action == space.STOP:
            return sequence
        state = space.apply(state, action)
