"""Local moves on a finished network, for polishing the search's best networks.

The MDP builds a network one reaction at a time, so a mechanism whose parts are poor networks alone (an
enzyme and its complex, an exposed class between infection and infectiousness) is hard to reach by single
additions. These moves edit a network as a modeller would, several reactions at once:

- ``removals``: drop one reaction; ``pair_removals``: drop two (not among ``neighbours``: polishing
  tries them when no neighbour improves);
- ``merges``: two reactions with the same reactants whose rate-weighted net change is an integer vector
  become one reaction;
- ``insertions``: a reaction goes through a new latent intermediate (``A -> B`` becomes ``A -> X``,
  ``X -> B``; catalysts stay outside: ``S + I -> 2 I`` becomes ``S + I -> I + X``, ``X -> I``);
- ``producers``: a reaction makes a latent producer that makes its products for its lifetime
  (``T + V -> 2 V`` becomes ``T + V -> V + X``, ``X -> X + V``, ``X -> 0``: infected cells);
- ``free_stages``: a conversion is driven by a new latent free stage that its product releases
  (``X -> Y`` becomes ``X + M -> Y``, ``M -> 0``, with ``Y -> Y + M`` (shedding) or ``Y -> 0`` turned
  into ``Y -> 2 M`` (bursting): merozoites from infected red cells, virions from lysed cells);
- ``complexes``: the reactants bind into a new latent complex that then gives the products
  (``E + T -> E`` becomes ``E + T -> X``, ``X -> E``), with and without the complex falling apart again;
- ``enzymes``: a first-order reaction is catalysed by a new latent enzyme through a new latent complex
  (``S -> P`` becomes ``X1 + S -> X2``, ``X2 -> X1 + P``, with and without ``X2 -> X1 + S``);
- ``mechanisms``: the five moves above that add a latent species (polishing chooses which small network
  to climb from by the best of them);
- ``reversals``: the reverse of a reaction is added;
- ``mutations``: one reaction gains or loses one molecule of a species on one side (``S + I -> I``
  becomes ``S + I -> I + X``: a loss becomes a conversion);
- ``swaps``: one molecule on one side of a reaction is exchanged for one of a species on the other side
  (``B + C -> 2 A`` becomes ``B + C -> A + C``: a consumed species becomes a catalyst, or a catalyst is
  consumed; not among ``neighbours``: polishing tries them with the removals when no neighbour improves);
- ``catalysts``: one species joins or leaves both sides of one reaction, so the net change stays and the
  order of the rate law changes (``2 A -> A + B`` becomes ``A -> B``; not among ``neighbours``: tried with
  the swaps).

Each move that adds a latent species is a motif with a name in the modelling literature, used well beyond the
example that first needed it: an intermediate is a delay stage (the exposed class of SEIR, an eclipse phase,
a transit compartment in pharmacokinetics); a producer is a species made by something that lives for a while
(infected cells making virions in target-cell models of HIV, hepatitis and influenza; an mRNA making its
protein); a free stage is an agent released by one form that converts another (merozoites in within-host
malaria, phages bursting from lysed bacteria, spores); a complex is reversible binding before a reaction; an
enzyme is Michaelis-Menten catalysis with its complex. Each is a rule over any reaction of the right shape
(a conversion of one molecule into one, any reaction with products, any first-order reaction), not a
template of one example.

New latent species are named as the search names them (``X{n+1}``, ``mcts_crn.crn.latent_name``), so every
move gives a state of the search's action space; whether the space admits it (orders, the number of
reactions, forbidden and required reactions) is checked by ``ActionSpace.admissible``.
"""
from __future__ import annotations

import numpy as np

from mcts_crn.crn import Crn, latent_name


def _with(crn: Crn, drop: tuple[int, ...], add: list[tuple[np.ndarray, np.ndarray]]) -> Crn | None:
    """``crn`` without the reactions ``drop`` and with ``add`` (None if one of them is present already or is
    ``0 -> 0``-like: no net change)."""
    keep = np.ones(crn.num_reactions, dtype=bool)
    keep[list(drop)] = False
    out = Crn(crn.species, crn.latent, crn.reactants[keep], crn.products[keep])
    for reactants, products in add:
        reactants, products = np.asarray(reactants, np.int32), np.asarray(products, np.int32)
        if np.array_equal(reactants, products) or out.has_reaction(reactants, products):
            return None
        out = out.add_reaction((reactants, products))
    return out


def _add_latent(crn: Crn) -> tuple[Crn, np.ndarray]:
    """``crn`` with the next latent species, and that species' unit vector."""
    bigger = crn.add_species(latent_name(crn.num_latent), latent=True)
    unit = np.zeros(bigger.num_species, dtype=np.int32)
    unit[-1] = 1
    return bigger, unit


def removals(crn: Crn) -> list[Crn]:
    """Every network with one reaction fewer."""
    return [crn.remove_reaction(r) for r in range(crn.num_reactions)]


def pair_removals(crn: Crn) -> list[Crn]:
    """Every network with two reactions fewer (for a climb that no single move improves: two spurious
    reactions that compensate each other must go together)."""
    out = []
    for r in range(crn.num_reactions):
        for q in range(r + 1, crn.num_reactions):
            keep = np.ones(crn.num_reactions, dtype=bool)
            keep[[r, q]] = False
            out.append(Crn(crn.species, crn.latent, crn.reactants[keep], crn.products[keep]))
    return out


def merges(crn: Crn, rates: np.ndarray, max_order: int) -> list[Crn]:
    """Networks where two reactions with the same reactants ``A`` become one that moves the amounts alike.

    ``k1 (A -> B1) + k2 (A -> B2)`` changes the amounts by ``v = k1 (B1 - A) + k2 (B2 - A)`` per unit of
    the monomial; when ``v`` is (within 5%) ``K n`` for a small integer vector ``n`` (the smallest multiple
    of ``v / min |v_i|`` that is integral), the pair is the single reaction ``A -> A + n`` at rate ``K``
    (e.g. ``I -> 0`` and ``I -> I + R`` at equal rates are ``I -> R``).
    """
    out = []
    for r1 in range(crn.num_reactions):
        for r2 in range(r1 + 1, crn.num_reactions):
            if not np.array_equal(crn.reactants[r1], crn.reactants[r2]):
                continue
            k1, k2 = float(rates[r1]), float(rates[r2])
            if not (k1 > 0 and k2 > 0):
                continue
            v = k1 * crn.stoichiometry[r1] + k2 * crn.stoichiometry[r2]
            size = np.abs(v)
            if size.max() <= 0.05 * (k1 + k2) * np.abs(crn.stoichiometry[[r1, r2]]).max():
                continue  # the two cancel
            unit = v / size[size > 0.05 * size.max()].min()
            for multiple in range(1, max_order + 1):
                net = multiple * unit
                rounded = np.round(net)
                if (np.abs(net - rounded) <= 0.05 * np.maximum(1.0, np.abs(rounded))).all():
                    break
            else:
                continue
            products = crn.reactants[r1] + rounded
            if (products < 0).any() or products.sum() > max_order or not rounded.any():
                continue
            merged = _with(crn, (r1, r2), [(crn.reactants[r1], products)])
            if merged is not None:
                out.append(merged)
    return out


def _through_latent(crn: Crn, max_order: int, max_latent: int, *, producer: bool) -> list[Crn]:
    """Networks where one reaction ``A -> B`` makes a new latent species ``X`` instead of its products:
    ``A -> C + X`` (``C`` the catalysts, species on both sides), then ``X -> B - C`` (an intermediate) or,
    with ``producer``, ``X -> X + (B - C)`` and ``X -> 0``."""
    if crn.num_latent >= max_latent:
        return []
    bigger, x = _add_latent(crn)
    out = []
    for r in range(crn.num_reactions):
        net = bigger.stoichiometry[r]
        made = np.maximum(net, 0)
        if not made.any():
            continue
        first = bigger.reactants[r] - np.maximum(-net, 0) + x
        steps = [(x, x + made), (x, 0 * x)] if producer else [(x, made)]
        if first.sum() > max_order or any(products.sum() > max_order for _, products in steps):
            continue
        new = _with(bigger, (r,), [(bigger.reactants[r], first), *steps])
        if new is not None:
            out.append(new)
    return out


def insertions(crn: Crn, max_order: int, max_latent: int) -> list[Crn]:
    """Networks where one reaction goes through a new latent intermediate ``X``: ``A -> B`` becomes
    ``A -> C + X`` and ``X -> B - C`` (``C`` the catalysts, species on both sides)."""
    return _through_latent(crn, max_order, max_latent, producer=False)


def producers(crn: Crn, max_order: int, max_latent: int) -> list[Crn]:
    """Networks where one reaction makes a new latent producer ``X`` instead of its products, and ``X``
    makes them at a rate for its lifetime: ``A -> B`` becomes ``A -> C + X``, ``X -> X + (B - C)`` and
    ``X -> 0`` (``C`` the catalysts; an infected cell releasing virions, an mRNA making protein)."""
    return _through_latent(crn, max_order, max_latent, producer=True)


def free_stages(crn: Crn, max_order: int, max_latent: int) -> list[Crn]:
    """Networks where a reaction that turns one ``A`` into one ``B`` (``A -> B``, or ``A + C -> B + C``
    with catalysts ``C``) is driven instead by a new latent free stage ``M`` that ``B`` releases:
    ``A + M -> B`` and ``M -> 0``, with ``M`` made either by shedding, ``B -> B + M``, or by bursting: each
    first-order loss ``B -> P`` becomes ``B -> P + 2 M`` (``B -> 2 M`` where ``B`` has no loss).

    Within-host malaria is ``X -> Y`` (or ``X + Y -> 2 Y``) this way: red cells ``X`` are invaded by
    merozoites ``M``, and infected cells ``Y`` burst into merozoites."""
    if crn.num_latent >= max_latent or max_order < 2:
        return []
    bigger, m = _add_latent(crn)
    out = []
    for r in range(crn.num_reactions):
        net = bigger.stoichiometry[r]
        if np.abs(net).sum() != 2 or net.min() != -1 or net.max() != 1:
            continue
        a, b = (net == -1).astype(np.int32), (net == 1).astype(np.int32)
        losses = [q for q in range(crn.num_reactions)
                  if q != r and np.array_equal(bigger.reactants[q], b) and bigger.stoichiometry[q] @ b < 0]
        burst_products = [bigger.products[q] + 2 * m for q in losses] or [2 * m]
        variants = [((), [(b, b + m)])]
        if all(products.sum() <= max_order for products in burst_products):
            variants.append((tuple(losses), [(b, products) for products in burst_products]))
        for drop, release in variants:
            new = _with(bigger, (r, *drop), [(a + m, b), *release, (m, 0 * m)])
            if new is not None:
                out.append(new)
    return out


def complexes(crn: Crn, max_order: int, max_latent: int) -> list[Crn]:
    """Networks where a reaction's reactants bind into a new latent complex ``X`` that gives its products:
    ``A + B -> P`` becomes ``A + B -> X``, ``X -> P``, and also with ``X -> A + B`` (reversible binding)."""
    if crn.num_latent >= max_latent:
        return []
    bigger, x = _add_latent(crn)
    out = []
    for r in range(crn.num_reactions):
        reactants, products = bigger.reactants[r], bigger.products[r]
        if not reactants.any() or products.sum() > max_order:
            continue
        for steps in ([(reactants, x), (x, products)], [(reactants, x), (x, reactants), (x, products)]):
            new = _with(bigger, (r,), steps)
            if new is not None:
                out.append(new)
    return out


def enzymes(crn: Crn, max_order: int, max_latent: int) -> list[Crn]:
    """Networks where a first-order reaction ``A -> P`` is catalysed by a new latent enzyme ``E`` through a
    new latent complex ``C``: ``E + A -> C``, ``C -> E + P``, and also with ``C -> E + A`` (Michaelis-Menten)."""
    if crn.num_latent + 2 > max_latent or max_order < 2:
        return []
    bigger, e = _add_latent(crn)
    bigger, c = _add_latent(bigger)
    e = np.append(e, 0).astype(np.int32)
    out = []
    for r in range(crn.num_reactions):
        reactants, products = bigger.reactants[r], bigger.products[r]
        if reactants.sum() != 1 or products.sum() + 1 > max_order:
            continue
        for steps in ([(e + reactants, c), (c, e + products)],
                      [(e + reactants, c), (c, e + reactants), (c, e + products)]):
            new = _with(bigger, (r,), steps)
            if new is not None:
                out.append(new)
    return out


def reversals(crn: Crn) -> list[Crn]:
    """Networks with the reverse of one reaction added."""
    out = []
    for r in range(crn.num_reactions):
        new = _with(crn, (), [(crn.products[r], crn.reactants[r])])
        if new is not None:
            out.append(new)
    return out


def mutations(crn: Crn, max_order: int) -> list[Crn]:
    """Networks where one reaction has one molecule of one species more or fewer on one side (each side
    keeps at most ``max_order`` molecules; a reaction with no net change is not made)."""
    out = []
    for r in range(crn.num_reactions):
        for side in (0, 1):
            for i in range(crn.num_species):
                for step in (1, -1):
                    sides = [crn.reactants[r].copy(), crn.products[r].copy()]
                    sides[side][i] += step
                    if sides[side][i] < 0 or sides[side].sum() > max_order:
                        continue
                    new = _with(crn, (r,), [(sides[0], sides[1])])
                    if new is not None:
                        out.append(new)
    return out


def swaps(crn: Crn) -> list[Crn]:
    """Networks where one molecule on one side of one reaction is exchanged for one of a species on the
    other side: a consumed species becomes a catalyst or a catalyst is consumed (orders unchanged; a
    reaction with no net change is not made)."""
    out = []
    for r in range(crn.num_reactions):
        for side in (0, 1):
            other = (crn.reactants, crn.products)[1 - side][r]
            for i in np.flatnonzero((crn.reactants, crn.products)[side][r]):
                for j in np.flatnonzero(other):
                    if j == i:
                        continue
                    sides = [crn.reactants[r].copy(), crn.products[r].copy()]
                    sides[side][i] -= 1
                    sides[side][j] += 1
                    new = _with(crn, (r,), [(sides[0], sides[1])])
                    if new is not None:
                        out.append(new)
    return out


def catalysts(crn: Crn, max_order: int) -> list[Crn]:
    """Networks where one molecule of one species joins or leaves both sides of one reaction: the net
    change is kept and the rate law's order changes (``2 A -> A + B`` becomes ``A -> B``; ``A -> B`` becomes
    ``A + C -> B + C``, catalysed by ``C``, or ``2 A -> A + B``; each side keeps at most ``max_order``
    molecules)."""
    units = np.eye(crn.num_species, dtype=np.int32)
    out = []
    for r in range(crn.num_reactions):
        reactants, products = crn.reactants[r], crn.products[r]
        room = reactants.sum() < max_order and products.sum() < max_order
        for i, unit in enumerate(units):
            steps = ([-1] if reactants[i] and products[i] else []) + ([1] if room else [])
            for step in steps:
                new = _with(crn, (r,), [(reactants + step * unit, products + step * unit)])
                if new is not None:
                    out.append(new)
    return out


def mechanisms(crn: Crn, max_order: int, max_latent: int) -> list[Crn]:
    """The moves that add a latent species with the reactions it takes part in: ``insertions``,
    ``producers``, ``free_stages``, ``complexes`` and ``enzymes``, in that order."""
    return (insertions(crn, max_order, max_latent) + producers(crn, max_order, max_latent)
            + free_stages(crn, max_order, max_latent) + complexes(crn, max_order, max_latent)
            + enzymes(crn, max_order, max_latent))


def neighbours(crn: Crn, rates: np.ndarray, *, max_order: int, max_latent: int) -> list[Crn]:
    """Every move above from ``crn`` (with fitted ``rates``, for the merges), in that order."""
    return (removals(crn) + merges(crn, rates, max_order) + mechanisms(crn, max_order, max_latent)
            + reversals(crn) + mutations(crn, max_order))
