"""The chemical reaction network (CRN) as arrays.

A CRN over species ``x_1 .. x_S`` is a list of reactions ``r``, each with reactant and product
stoichiometric coefficients ``a_r, b_r`` (non-negative integers). Under mass action, reaction ``r`` runs
at rate ``v_r = k_r * prod_i x_i ** a_ri`` and the ODE system is ``dx/dt = (B - A)^T v``.
"""
from __future__ import annotations

import dataclasses
import itertools
import math
from functools import lru_cache
from typing import Iterable, Mapping, Sequence

import numpy as np

from mcts_crn.crn.text import format_reaction, parse_reactions

ReactionLike = "str | tuple[Sequence[int], Sequence[int]] | tuple[Mapping[str, int], Mapping[str, int]]"


def _frozen(array: np.ndarray, dtype: type) -> np.ndarray:
    out = np.array(array, dtype=dtype, copy=True)
    out.setflags(write=False)
    return out


@dataclasses.dataclass(frozen=True, eq=False)
class Crn:
    """A reaction network: species (observed or latent) and mass-action reactions.

    Parameters
    ----------
    species : tuple of str, [S]
        Species names, unique Python identifiers.
    latent : np.ndarray, bool [S]
        True for a species that is not measured (its trajectory is never compared with data).
    reactants, products : np.ndarray, int32 [R, S]
        Stoichiometric coefficients of each reaction's left and right side.

    A ``Crn`` is immutable: ``add_reaction``, ``add_species`` and ``remove_reaction`` return a new one.
    Equality and hashing are structural and exact (same names, same order); use ``canonical_key`` to
    identify networks up to reaction order and latent-species names.
    """

    species: tuple[str, ...]
    latent: np.ndarray
    reactants: np.ndarray
    products: np.ndarray

    def __post_init__(self) -> None:
        species = tuple(str(s) for s in self.species)
        if len(set(species)) != len(species):
            raise ValueError(f"duplicate species names in {species}")
        for name in species:
            if not name.isidentifier():
                raise ValueError(f"species name {name!r} is not an identifier")
        num_species = len(species)
        reactants = np.asarray(self.reactants).reshape(-1, num_species)
        products = np.asarray(self.products).reshape(-1, num_species)
        latent = np.asarray(self.latent, dtype=bool).reshape(-1)
        if latent.shape != (num_species,):
            raise ValueError(f"latent has shape {latent.shape}, expected ({num_species},)")
        if reactants.shape != products.shape:
            raise ValueError(f"reactants {reactants.shape} and products {products.shape} differ in shape")
        if (reactants < 0).any() or (products < 0).any():
            raise ValueError("stoichiometric coefficients must be non-negative")
        if (reactants == products).all(axis=1).any():
            raise ValueError("a reaction with equal sides changes nothing")
        object.__setattr__(self, "species", species)
        object.__setattr__(self, "latent", _frozen(latent, bool))
        object.__setattr__(self, "reactants", _frozen(reactants, np.int32))
        object.__setattr__(self, "products", _frozen(products, np.int32))

    # ------------------------------------------------------------------ construction
    @classmethod
    def from_text(cls, text: str, *, observed: Iterable[str] | None = None,
                  species: Sequence[str] | None = None) -> "Crn":
        """Build a CRN from reaction text (see ``mcts_crn.crn.text``).

        Parameters
        ----------
        text : str
            One reaction a line, e.g. ``"E + S -> C\\nC -> E + S\\nC -> E + P"``.
        observed : iterable of str, optional
            Names of measured species; every other species is latent. Observed species that take part in
            no reaction are added. Default: every species is observed.
        species : sequence of str, optional
            Species order to use; must contain every species of the text. Default: order of first
            appearance in the text, then observed species that do not appear.

        Raises
        ------
        ValueError
            With the 1-based line number for text that cannot be read.
        """
        seen, reactions = parse_reactions(text)
        observed_list = None if observed is None else list(dict.fromkeys(observed))
        if species is None:
            names = list(seen) + [s for s in (observed_list or []) if s not in seen]
        else:
            names = list(species)
            missing = [s for s in seen + (observed_list or []) if s not in names]
            if missing:
                raise ValueError(f"species {missing} appear in the text but not in species={names}")
        index = {name: i for i, name in enumerate(names)}
        reactants = np.zeros((len(reactions), len(names)), dtype=np.int32)
        products = np.zeros_like(reactants)
        for r, (lhs, rhs) in enumerate(reactions):
            for name, c in lhs.items():
                reactants[r, index[name]] = c
            for name, c in rhs.items():
                products[r, index[name]] = c
        latent = np.zeros(len(names), dtype=bool)
        if observed_list is not None:
            latent = np.array([name not in observed_list for name in names], dtype=bool)
        return cls(tuple(names), latent, reactants, products)

    @classmethod
    def empty(cls, observed: Sequence[str], latent: Sequence[str] = ()) -> "Crn":
        """A CRN with the given species and no reactions (the start state of the search)."""
        names = tuple(observed) + tuple(latent)
        flags = np.array([False] * len(observed) + [True] * len(latent), dtype=bool)
        zeros = np.zeros((0, len(names)), dtype=np.int32)
        return cls(names, flags, zeros, zeros)

    # ------------------------------------------------------------------ views
    @property
    def num_species(self) -> int:
        return len(self.species)

    @property
    def num_reactions(self) -> int:
        return int(self.reactants.shape[0])

    @property
    def num_latent(self) -> int:
        return int(self.latent.sum())

    @property
    def observed_species(self) -> tuple[str, ...]:
        return tuple(s for s, hidden in zip(self.species, self.latent) if not hidden)

    @property
    def latent_species(self) -> tuple[str, ...]:
        return tuple(s for s, hidden in zip(self.species, self.latent) if hidden)

    @property
    def stoichiometry(self) -> np.ndarray:
        """Net change ``products - reactants``, int32 [R, S]."""
        return (self.products - self.reactants).astype(np.int32)

    @property
    def orders(self) -> np.ndarray:
        """Reaction orders (number of reactant molecules), int32 [R]."""
        return self.reactants.sum(axis=1).astype(np.int32)

    def species_index(self, name: str) -> int:
        try:
            return self.species.index(name)
        except ValueError:
            raise KeyError(f"no species {name!r} in {self.species}") from None

    def reaction_text(self, index: int) -> str:
        return format_reaction(self.reactants[index], self.products[index], self.species)

    def reactions_text(self) -> list[str]:
        return [self.reaction_text(r) for r in range(self.num_reactions)]

    def to_text(self) -> str:
        """Reaction text, one reaction a line; ``Crn.from_text`` reads it back."""
        return "\n".join(self.reactions_text()) + ("\n" if self.num_reactions else "")

    def __repr__(self) -> str:
        body = "; ".join(self.reactions_text()) or "no reactions"
        hidden = f", latent={list(self.latent_species)}" if self.num_latent else ""
        return f"Crn({body}{hidden})"

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Crn):
            return NotImplemented
        return (self.species == other.species and np.array_equal(self.latent, other.latent)
                and np.array_equal(self.reactants, other.reactants)
                and np.array_equal(self.products, other.products))

    def __hash__(self) -> int:
        return hash((self.species, self.latent.tobytes(), self.reactants.tobytes(), self.products.tobytes()))

    # ------------------------------------------------------------------ edits
    def _reaction_vectors(self, reaction) -> tuple[np.ndarray, np.ndarray]:
        if isinstance(reaction, str):
            _, parsed = parse_reactions(reaction)
            if len(parsed) != 1:
                raise ValueError(f"expected one reaction, got {len(parsed)} in {reaction!r}")
            reaction = parsed[0]
        lhs, rhs = reaction
        vectors = []
        for side in (lhs, rhs):
            if isinstance(side, Mapping):
                vector = np.zeros(self.num_species, dtype=np.int32)
                for name, c in side.items():
                    vector[self.species_index(name)] += int(c)
            else:
                vector = np.asarray(side, dtype=np.int32).reshape(-1)
                if vector.shape != (self.num_species,):
                    raise ValueError(f"reaction side has shape {vector.shape}, expected ({self.num_species},)")
            vectors.append(vector)
        return vectors[0], vectors[1]

    def add_reaction(self, reaction) -> "Crn":
        """A new CRN with one more reaction.

        ``reaction`` is reaction text (``"A + B -> C"``, species must exist), or a pair of [S] int
        coefficient vectors, or a pair of ``{name: coefficient}`` mappings.
        """
        lhs, rhs = self._reaction_vectors(reaction)
        return Crn(self.species, self.latent, np.vstack([self.reactants, lhs[None]]),
                   np.vstack([self.products, rhs[None]]))

    def remove_reaction(self, index: int) -> "Crn":
        """A new CRN without reaction ``index``."""
        keep = np.arange(self.num_reactions) != index
        return Crn(self.species, self.latent, self.reactants[keep], self.products[keep])

    def add_species(self, name: str | None = None, *, latent: bool = True) -> "Crn":
        """A new CRN with one more species (latent by default) that takes part in no reaction yet.

        The default name is the first free one of ``X1, X2, ...``.
        """
        if name is None:
            name = next(f"X{i}" for i in itertools.count(1) if f"X{i}" not in self.species)
        if name in self.species:
            raise ValueError(f"species {name!r} already exists")
        zero = np.zeros((self.num_reactions, 1), dtype=np.int32)
        return Crn(self.species + (name,), np.append(self.latent, latent),
                   np.hstack([self.reactants, zero]), np.hstack([self.products, zero]))

    def has_reaction(self, reactants: np.ndarray, products: np.ndarray) -> bool:
        """Whether a reaction with these [S] coefficient vectors is present."""
        return bool(((self.reactants == reactants) & (self.products == products)).all(axis=1).any())

    def reorder_species(self, names: Sequence[str]) -> "Crn":
        """The same CRN with its species (a permutation of ``self.species``) in the given order."""
        if sorted(names) != sorted(self.species):
            raise ValueError(f"{list(names)} is not a permutation of {list(self.species)}")
        perm = [self.species.index(n) for n in names]
        return Crn(tuple(names), self.latent[perm], self.reactants[:, perm], self.products[:, perm])

    # ------------------------------------------------------------------ identity
    def canonical_key(self) -> str:
        """A string that is equal for CRNs differing only in reaction order, species order or latent names.

        Observed species are identified by name; latent species are anonymous. Each reaction is written
        as sorted multisets of species labels, the reactions are sorted, and the latent labels are chosen
        to give the lexicographically smallest reaction list. Latent species are first split into classes
        by a colour refinement (Weisfeiler-Lehman on the species-reaction graph), so only relabellings
        inside a class are tried.

        Returns
        -------
        str
            For example ``"P,S|2|S+_0>_1;_1>P+_0;_1>S+_0"`` (observed names, number of latent species,
            reactions with latent labels ``_0, _1, ...``).
        """
        observed = sorted(self.observed_species)
        latent_idx = [i for i in range(self.num_species) if self.latent[i]]
        base_label = {self.species.index(name): o for o, name in enumerate(observed)}
        num_observed = len(observed)
        colours = _refine_latent_colours(self, latent_idx)
        classes: dict[tuple, list[int]] = {}
        for i in latent_idx:
            classes.setdefault(colours[i], []).append(i)
        ordered_classes = [classes[c] for c in sorted(classes)]
        best = None
        for perms in itertools.product(*(itertools.permutations(members) for members in ordered_classes)):
            label = dict(base_label)
            next_label = num_observed
            for perm in perms:
                for i in perm:
                    label[i] = next_label
                    next_label += 1
            encoded = sorted(self._encode_reactions(label))
            if best is None or encoded < best:
                best = encoded
        names = observed + [f"_{j}" for j in range(len(latent_idx))]

        def side(labels: tuple[int, ...]) -> str:
            return "+".join(names[j] for j in labels) or "0"

        reactions = ";".join(f"{side(lhs)}>{side(rhs)}" for lhs, rhs in best or [])
        return f"{','.join(observed)}|{len(latent_idx)}|{reactions}"

    def _encode_reactions(self, label: Mapping[int, int]) -> list[tuple[tuple[int, ...], tuple[int, ...]]]:
        out = []
        for r in range(self.num_reactions):
            sides = []
            for row in (self.reactants[r], self.products[r]):
                sides.append(tuple(sorted(label[i] for i in np.flatnonzero(row) for _ in range(row[i]))))
            out.append((sides[0], sides[1]))
        return out

    # ------------------------------------------------------------------ structure
    def conservation_laws(self) -> np.ndarray:
        """Integer basis of the conservation laws, int64 [C, S].

        Each row ``w`` satisfies ``w . (products_r - reactants_r) = 0`` for every reaction ``r``, so
        ``w . x(t)`` is constant along every trajectory. The rows span the left null space of the
        stoichiometric matrix ``N = (B - A)^T`` [S, R] (exact rational arithmetic with sympy, each vector
        scaled to coprime integers with a positive first non-zero entry).
        """
        if self.num_reactions == 0:
            return np.eye(self.num_species, dtype=np.int64)
        import sympy

        basis = sympy.Matrix(self.stoichiometry.tolist()).nullspace()
        rows = []
        for vector in basis:
            denominators = [sympy.fraction(v)[1] for v in vector]
            scale = math.lcm(*[int(d) for d in denominators])
            ints = [int(v * scale) for v in vector]
            divisor = math.gcd(*ints) or 1
            ints = [v // divisor for v in ints]
            if next(v for v in ints if v != 0) < 0:
                ints = [-v for v in ints]
            rows.append(ints)
        return np.array(rows, dtype=np.int64).reshape(len(rows), self.num_species)

    def candidate_reactions(self, max_order: int = 2) -> tuple[np.ndarray, np.ndarray]:
        """All elementary reactions over this CRN's species, present ones included.

        See ``candidate_reactions`` (module function); returns int32 [K, S] reactants and products.
        """
        return candidate_reactions(self.num_species, max_order)


def _refine_latent_colours(crn: Crn, latent_idx: list[int]) -> dict[int, tuple]:
    """Colour latent species by iterated neighbourhood signatures (names of observed species are colours)."""
    colour: dict[int, object] = {i: ("obs", crn.species[i]) for i in range(crn.num_species) if not crn.latent[i]}
    for i in latent_idx:
        colour[i] = ("lat",)
    for _ in range(max(1, len(latent_idx))):
        new = {}
        for i in latent_idx:
            signature = []
            for r in range(crn.num_reactions):
                a, b = crn.reactants[r], crn.products[r]
                if a[i] == 0 and b[i] == 0:
                    continue
                lhs = tuple(sorted((repr(colour[j]), int(a[j])) for j in np.flatnonzero(a)))
                rhs = tuple(sorted((repr(colour[j]), int(b[j])) for j in np.flatnonzero(b)))
                signature.append((int(a[i]), int(b[i]), lhs, rhs))
            new[i] = ("lat", tuple(sorted(signature)))
        if all(repr(new[i]) == repr(colour[i]) for i in latent_idx):
            break
        colour.update(new)
    return {i: (repr(colour[i]),) for i in latent_idx}


@lru_cache(maxsize=64)
def _complexes(num_species: int, max_order: int) -> np.ndarray:
    rows = []
    for order in range(max_order + 1):
        for combo in itertools.combinations_with_replacement(range(num_species), order):
            row = np.zeros(num_species, dtype=np.int32)
            for i in combo:
                row[i] += 1
            rows.append(row)
    return np.array(rows, dtype=np.int32).reshape(len(rows), num_species)


@lru_cache(maxsize=64)
def _candidates(num_species: int, max_order: int) -> tuple[np.ndarray, np.ndarray]:
    complexes = _complexes(num_species, max_order)
    left, right = np.meshgrid(np.arange(len(complexes)), np.arange(len(complexes)), indexing="ij")
    keep = left != right
    reactants = _frozen(complexes[left[keep]], np.int32)
    products = _frozen(complexes[right[keep]], np.int32)
    return reactants, products


def candidate_reactions(num_species: int, max_order: int = 2) -> tuple[np.ndarray, np.ndarray]:
    """Every elementary reaction over ``num_species`` species with at most ``max_order`` molecules a side.

    The complexes (multisets of at most ``max_order`` species, the empty one included) are ordered by size,
    then lexicographically; a candidate is an ordered pair of distinct complexes, so no-ops are excluded.
    With ``C = sum_{k<=m} binom(S+k-1, k)`` complexes there are ``K = C (C - 1)`` candidates.

    Returns
    -------
    reactants, products : np.ndarray, int32 [K, S]
        Read-only, cached per ``(num_species, max_order)``.
    """
    if num_species < 0 or max_order < 1:
        raise ValueError(f"need num_species >= 0 and max_order >= 1, got {num_species}, {max_order}")
    return _candidates(int(num_species), int(max_order))
