"""Slow, obviously correct reference implementations for the crn layer."""
from __future__ import annotations

import itertools

import numpy as np


def reaction_multiset(crn, names):
    """Reactions as a sorted list of (reactant multiset, product multiset) over the given species names."""
    out = []
    for r in range(crn.num_reactions):
        sides = []
        for row in (crn.reactants[r], crn.products[r]):
            sides.append(tuple(sorted(n for n, c in zip(names, row) for _ in range(int(c)))))
        out.append(tuple(sides))
    return sorted(out)


def isomorphic(a, b) -> bool:
    """Whether two CRNs are equal up to reaction order, species order and latent-species names.

    Brute force over every bijection between the latent species of ``a`` and ``b``.
    """
    if sorted(a.observed_species) != sorted(b.observed_species) or a.num_latent != b.num_latent:
        return False
    if a.num_reactions != b.num_reactions:
        return False
    target = reaction_multiset(b, list(b.species))
    latent_a, latent_b = a.latent_species, b.latent_species
    for perm in itertools.permutations(latent_b):
        rename = dict(zip(latent_a, perm))
        names = [rename.get(s, s) for s in a.species]
        if reaction_multiset(a, names) == target:
            return True
    return False


def mass_action_rhs(crn, rates, x):
    """dx/dt = (B - A)^T (k * prod_i x_i^a_ri), written with plain loops."""
    dx = np.zeros(crn.num_species)
    for r in range(crn.num_reactions):
        flux = rates[r]
        for i in range(crn.num_species):
            flux *= x[i] ** crn.reactants[r, i]
        for i in range(crn.num_species):
            dx[i] += (crn.products[r, i] - crn.reactants[r, i]) * flux
    return dx


def all_complexes(num_species, max_order):
    """Every multiset of at most max_order species, by brute force over count vectors."""
    out = []
    for counts in itertools.product(range(max_order + 1), repeat=num_species):
        if sum(counts) <= max_order:
            out.append(counts)
    return out
