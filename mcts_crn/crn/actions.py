"""The graph-edit MDP: an action codec and legality masks.

A state is a ``Crn`` whose species are the observed ones (in data order) followed by the latent ones in the
order they were added (``X1, X2, ...``). The action space of one search is fixed: every candidate reaction over
the largest species set the search can reach (``num_observed + max_latent`` species, at most ``max_order``
molecules a side), then ``ADD_LATENT``, then ``STOP``. A reaction action is legal in a state when

- it touches only species the state has, is not present already, and is not forbidden;
- the state has fewer than ``max_reactions`` reactions.

``ADD_LATENT`` is legal while fewer than ``max_latent`` latent species exist (a mechanism such as an enzyme
and its complex needs both latent species before any of its reactions can be written). ``STOP`` is legal when the state has at least one reaction, every latent species is complete and every
required reaction is present. A state with no legal action is terminal.
"""
from __future__ import annotations

import dataclasses
from typing import Sequence

import numpy as np

from mcts_crn.crn.network import Crn, candidate_reactions
from mcts_crn.crn.text import format_reaction, parse_reactions


def latent_name(index: int) -> str:
    """Name of the ``index``-th latent species added by the search (0-based): ``X1, X2, ...``."""
    return f"X{index + 1}"


def latent_complete(crn: Crn) -> np.ndarray:
    """Whether each species is made by some reaction and used by some reaction, bool [S].

    A species is made where ``products > reactants`` and used where ``reactants > products``; taking part
    as a catalyst (equal on both sides) counts as neither.
    """
    net = crn.stoichiometry
    return (net > 0).any(axis=0) & (net < 0).any(axis=0) if crn.num_reactions else np.zeros(crn.num_species, bool)


@dataclasses.dataclass(frozen=True, eq=False)
class ActionSpace:
    """Codec between integer actions and edits of a CRN, with the user's constraints.

    Parameters
    ----------
    observed : tuple of str
        Observed species, in data order (the first species of every state).
    max_latent : int
        Largest number of latent species the search may add.
    max_order : int
        Largest number of molecules on either side of a reaction.
    max_reactions : int
        Largest number of reactions in a state.
    forbidden, required : tuple of str
        Reaction texts over the observed species and ``X1 .. X{max_latent}``; forbidden reactions are never
        legal, required ones must be present before ``STOP``.
    """

    observed: tuple[str, ...]
    max_latent: int = 0
    max_order: int = 2
    max_reactions: int = 12
    forbidden: tuple[str, ...] = ()
    required: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        object.__setattr__(self, "observed", tuple(self.observed))
        object.__setattr__(self, "forbidden", tuple(self.forbidden))
        object.__setattr__(self, "required", tuple(self.required))
        if self.max_latent < 0 or self.max_reactions < 1:
            raise ValueError("need max_latent >= 0 and max_reactions >= 1")
        reactants, products = candidate_reactions(self.max_species, self.max_order)
        object.__setattr__(self, "reactants", reactants)
        object.__setattr__(self, "products", products)
        index = {(r.tobytes(), p.tobytes()): k for k, (r, p) in enumerate(zip(reactants, products))}
        object.__setattr__(self, "_index", index)
        object.__setattr__(self, "_forbidden_ids", self._parse_constraints(self.forbidden, "forbidden"))
        object.__setattr__(self, "_required_ids", self._parse_constraints(self.required, "required"))
        # number of species each candidate needs: 1 + the largest species index it touches
        touches = (reactants > 0) | (products > 0)
        needs = np.where(touches.any(axis=1), self.max_species - np.argmax(touches[:, ::-1], axis=1), 0)
        object.__setattr__(self, "_needs_species", needs.astype(np.int32))

    # ------------------------------------------------------------------ codec
    @property
    def species(self) -> tuple[str, ...]:
        """Species of the largest reachable state, [S_max]: observed, then ``X1 .. X{max_latent}``."""
        return self.observed + tuple(latent_name(j) for j in range(self.max_latent))

    @property
    def max_species(self) -> int:
        return len(self.observed) + self.max_latent

    @property
    def num_reaction_actions(self) -> int:
        return int(self.reactants.shape[0])

    @property
    def ADD_LATENT(self) -> int:  # noqa: N802 - sentinel action index
        return self.num_reaction_actions

    @property
    def STOP(self) -> int:  # noqa: N802 - sentinel action index
        return self.num_reaction_actions + 1

    @property
    def num_actions(self) -> int:
        return self.num_reaction_actions + 2

    def _parse_constraints(self, texts: Sequence[str], what: str) -> np.ndarray:
        ids = []
        names = self.species
        for text in texts:
            seen, reactions = parse_reactions(text)
            unknown = [s for s in seen if s not in names]
            if unknown:
                raise ValueError(f"{what} reaction {text!r}: unknown species {unknown}; known: {list(names)}")
            for lhs, rhs in reactions:
                r = np.array([lhs.get(s, 0) for s in names], dtype=np.int32)
                p = np.array([rhs.get(s, 0) for s in names], dtype=np.int32)
                k = self._index.get((r.tobytes(), p.tobytes()))
                if k is None:
                    raise ValueError(f"{what} reaction {text!r} exceeds order {self.max_order}")
                ids.append(k)
        return np.array(sorted(set(ids)), dtype=np.int64)

    def encode_reaction(self, reactants: np.ndarray, products: np.ndarray) -> int:
        """The action of the reaction with these coefficient vectors (length <= S_max, padded with 0)."""
        r = np.zeros(self.max_species, dtype=np.int32)
        p = np.zeros(self.max_species, dtype=np.int32)
        r[: len(reactants)] = reactants
        p[: len(products)] = products
        try:
            return self._index[(r.tobytes(), p.tobytes())]
        except KeyError:
            raise ValueError(f"reaction {format_reaction(r, p, self.species)} is not in the action space") from None

    def reaction_actions(self, crn: Crn) -> np.ndarray:
        """The actions of the reactions present in ``crn``, int64 [R]."""
        self.check_state(crn)
        return np.array([self.encode_reaction(crn.reactants[r], crn.products[r])
                         for r in range(crn.num_reactions)], dtype=np.int64)

    def describe(self, action: int) -> str:
        """Human-readable action: reaction text, ``add latent species`` or ``stop``."""
        if action == self.STOP:
            return "stop"
        if action == self.ADD_LATENT:
            return "add latent species"
        return format_reaction(self.reactants[action], self.products[action], self.species)

    # ------------------------------------------------------------------ states
    def initial_state(self) -> Crn:
        """The start of every search: the observed species and no reactions."""
        return Crn.empty(self.observed)

    def check_state(self, crn: Crn) -> None:
        """Raise ValueError unless ``crn`` is a state of this space (species order and names)."""
        expected = self.observed + tuple(latent_name(j) for j in range(crn.num_latent))
        if crn.species != expected or crn.latent.tolist() != [False] * len(self.observed) + [True] * crn.num_latent:
            raise ValueError(f"state species {crn.species} do not match the action space's {expected}")

    def legal_mask(self, crn: Crn) -> np.ndarray:
        """Legal actions of a state, bool [A]."""
        self.check_state(crn)
        mask = np.zeros(self.num_actions, dtype=bool)
        if crn.num_reactions < self.max_reactions:
            mask[: self.num_reaction_actions] = self._needs_species <= crn.num_species
            mask[self.reaction_actions(crn)] = False
            mask[self._forbidden_ids] = False
        complete = latent_complete(crn)[crn.latent].all()
        mask[self.ADD_LATENT] = crn.num_latent < self.max_latent
        present = set(self.reaction_actions(crn).tolist())
        mask[self.STOP] = (crn.num_reactions > 0 and complete
                           and all(k in present for k in self._required_ids.tolist()))
        return mask

    def admissible(self, crn: Crn) -> bool:
        """Whether ``crn`` is a finished network this search may reach or report: a state of the space (its
        latent species within ``max_latent``), every reaction a candidate of the space and none forbidden, at
        most ``max_reactions`` reactions, and ``STOP`` legal (latent species complete, required reactions
        present). Networks edited outside the MDP (``mcts_crn.search.moves``) are checked with this."""
        if crn.num_latent > self.max_latent or not 0 < crn.num_reactions <= self.max_reactions:
            return False
        try:
            actions = self.reaction_actions(crn)
        except ValueError:  # species not of this space, or a reaction beyond max_order
            return False
        if np.isin(actions, self._forbidden_ids).any():
            return False
        return bool(self.legal_mask(crn)[self.STOP])

    def apply(self, crn: Crn, action: int) -> Crn:
        """The state after ``action`` (which must be legal; ``STOP`` returns the same state)."""
        if not self.legal_mask(crn)[action]:
            raise ValueError(f"action {action} ({self.describe(action)}) is not legal in {crn}")
        if action == self.STOP:
            return crn
        if action == self.ADD_LATENT:
            return crn.add_species(latent_name(crn.num_latent), latent=True)
        s = crn.num_species
        return crn.add_reaction((self.reactants[action, :s], self.products[action, :s]))
