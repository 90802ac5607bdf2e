"""Polishing moves: published mechanisms are one move away from their latent-free cores."""
import re

import numpy as np
import pytest

from mcts_crn.crn import ActionSpace, Crn
from mcts_crn.examples import EXAMPLES
from mcts_crn.search import moves


def as_searched(name: str) -> Crn:
    """An example's true network with its latent species renamed ``X1, X2, ...`` in order of appearance,
    as the search names them."""
    model = EXAMPLES[name]
    text = model.crn.to_text()
    latent = [s for s in model.crn.species if s not in model.observed]
    for i, s in enumerate(latent):
        text = re.sub(rf"\b{s}\b", f"X{i + 1}", text)
    return Crn.from_text(text, observed=list(model.observed),
                         species=list(model.observed) + [f"X{i + 1}" for i in range(len(latent))])


def keys(crns: list[Crn]) -> set[str]:
    return {c.canonical_key() for c in crns}


def test_seir_is_sir_with_an_exposed_class_inserted():
    sir = Crn.from_text("S + I -> 2 I\nI -> R", observed=["S", "I", "R"])
    assert as_searched("seir").canonical_key() in keys(moves.insertions(sir, max_order=2, max_latent=1))
    assert moves.insertions(sir, max_order=2, max_latent=0) == []


def test_hiv_is_the_target_cell_model_with_an_infected_producer():
    core = Crn.from_text("0 -> T\nT -> 0\nT + V -> 2 V\nV -> 0", observed=["T", "V"])
    out = moves.producers(core, max_order=2, max_latent=1)
    assert as_searched("hiv").canonical_key() in keys(out)
    assert len(out) == 2  # from the two reactions that make something: 0 -> T and T + V -> 2 V
    assert moves.producers(core, max_order=2, max_latent=0) == []


def test_michaelis_menten_is_a_latent_enzyme_on_s_to_p():
    core = Crn.from_text("S -> P", observed=["S", "P"])
    found = moves.enzymes(core, max_order=2, max_latent=2)
    assert as_searched("michaelis_menten").canonical_key() in keys(found)
    # the irreversible variant as well, and nothing with fewer than two free latent slots
    assert Crn.from_text("S + X1 -> X2\nX2 -> P + X1", observed=["S", "P"]).canonical_key() in keys(found)
    assert moves.enzymes(core, max_order=2, max_latent=1) == []


def test_phosphorylation_cycle_is_two_complexes_and_their_unbinding():
    core = Crn.from_text("E + S -> E + Sp\nF + Sp -> F + S", observed=["S", "Sp", "E", "F"])
    step = [c for c in moves.complexes(core, max_order=2, max_latent=2) if c.num_reactions == 4]
    two = [d for c in step for d in moves.complexes(c, max_order=2, max_latent=2)]
    assert as_searched("phosphorylation_cycle").canonical_key() in keys(two)


def test_tumour_immune_killing_through_a_complex():
    core = Crn.from_text("0 -> E\nE -> 0\nT -> 2 T\n2 T -> T\nE + T -> E", observed=["E", "T"])
    bound = moves.complexes(core, max_order=2, max_latent=1)
    target = as_searched("tumour_immune").canonical_key()
    # binding without unbinding (5 - 1 + 2 reactions), then the complex releasing T (the effector dies)
    irreversible = [c for c in bound if c.num_reactions == 6]
    assert any(c.add_reaction("X1 -> T").canonical_key() == target for c in irreversible)


def test_merges_join_equal_reactant_pairs_at_their_rate_weighted_mean():
    crn = Crn.from_text("I -> 0\nI -> I + R\nS + I -> 2 I", observed=["S", "I", "R"])
    merged = moves.merges(crn, np.array([0.3, 0.3, 1.0]), max_order=2)
    assert keys(merged) == {Crn.from_text("I -> R\nS + I -> 2 I", observed=["S", "I", "R"]).canonical_key()}
    # 0.3 (I -> 0) + 0.1 (I -> I + R) changes (I, R) by (-0.3, 0.1): the reaction I -> ... + R with I -3: none
    assert moves.merges(crn, np.array([0.3, 0.1, 1.0]), max_order=2) == []
    # 0.2 (I -> 0) + 0.4 (I -> I + R) is 0.2 (I -> 2 R)... with I -1, R +2
    assert keys(moves.merges(crn, np.array([0.2, 0.4, 1.0]), max_order=2)) == {
        Crn.from_text("I -> 2 R\nS + I -> 2 I", observed=["S", "I", "R"]).canonical_key()}


def test_reversals_and_removals():
    crn = Crn.from_text("2 M -> D", observed=["M", "D"])
    assert keys(moves.reversals(crn)) == {Crn.from_text("2 M <-> D", observed=["M", "D"]).canonical_key()}
    assert moves.reversals(Crn.from_text("2 M <-> D", observed=["M", "D"])) == []
    assert [c.num_reactions for c in moves.removals(crn)] == [0]


def test_pair_removals_drop_every_pair_once():
    """The SEIR climb that ends at the truth plus two compensating reactions: only removing both at once
    gives the truth."""
    truth = as_searched("seir")
    stuck = truth.add_reaction("I -> I + X1").add_reaction("I + R -> 2 R")
    out = moves.pair_removals(stuck)
    assert len(out) == 10 and {c.num_reactions for c in out} == {3}
    assert len(keys(out)) == 10
    assert truth.canonical_key() in keys(out)
    assert truth.canonical_key() not in keys(moves.removals(stuck))


@pytest.mark.parametrize("name", sorted(EXAMPLES))
def test_every_neighbour_is_a_new_well_formed_state(name):
    crn = as_searched(name)
    budget = crn.num_latent + 2
    space = ActionSpace(crn.observed_species, max_latent=budget, max_order=3, max_reactions=20)
    out = moves.neighbours(crn, np.ones(crn.num_reactions), max_order=3, max_latent=budget)
    assert out
    for c in out:
        space.check_state(c)  # species are the observed ones, then X1, X2, ... in order
        assert c.canonical_key() != crn.canonical_key()
        assert abs(c.num_reactions - crn.num_reactions) <= 2
        assert (c.reactants.sum(axis=1) <= 3).all() and (c.products.sum(axis=1) <= 3).all()


def test_admissible_applies_the_users_constraints():
    sir = Crn.from_text("S + I -> 2 I\nI -> R", observed=["S", "I", "R"])
    plain = ActionSpace(("S", "I", "R"), max_latent=1, max_reactions=3)
    assert plain.admissible(sir)
    assert not ActionSpace(("S", "I", "R"), max_reactions=1).admissible(sir)
    assert not ActionSpace(("S", "I", "R"), forbidden=("I -> R",)).admissible(sir)
    assert not ActionSpace(("S", "I", "R"), required=("S -> 0",)).admissible(sir)
    seir = moves.insertions(sir, max_order=2, max_latent=1)
    assert all(plain.admissible(c) for c in seir)
    assert not any(ActionSpace(("S", "I", "R"), max_latent=0).admissible(c) for c in seir)
    unfinished = Crn.from_text("S -> X1", observed=["S", "I", "R"])  # X1 made, never used
    assert not plain.admissible(unfinished)
    assert not plain.admissible(Crn.empty(("S", "I", "R")))


def test_mutations_change_one_coefficient_by_one():
    crn = Crn.from_text("S + I -> I\nI -> 0", observed=["S", "I"], species=["S", "I", "X1"])
    out = moves.mutations(crn, max_order=2)
    target = Crn.from_text("S + I -> I + X1\nI -> 0", observed=["S", "I"], species=["S", "I", "X1"])
    assert target.canonical_key() in keys(out)
    for c in out:
        changed = (np.abs(c.reactants.sum(0) - crn.reactants.sum(0)).sum()
                   + np.abs(c.products.sum(0) - crn.products.sum(0)).sum())
        assert c.num_reactions == crn.num_reactions and changed == 1
        assert (c.reactants.sum(1) <= 2).all() and (c.products.sum(1) <= 2).all()


def test_swaps_exchange_one_molecule_for_a_species_of_the_other_side():
    """``B + C -> 2 A`` (Robertson's ``B + C -> A + C`` with C consumed, its loss made up elsewhere): each
    molecule exchanged for a species of the other side, orders kept; ``A + C`` on the right is the
    published catalytic form. ``A -> B`` gives only ``B -> B`` and ``A -> A``, which change nothing."""
    crn = Crn.from_text("B + C -> 2 A\nA -> B", observed=["A", "B", "C"])
    out = moves.swaps(crn)
    first = ["A + C -> 2 A", "A + B -> 2 A", "B + C -> A + B", "B + C -> A + C"]
    expected = [f"{r}\nA -> B" for r in first]
    assert keys(out) == keys([Crn.from_text(text, observed=["A", "B", "C"]) for text in expected])
    assert len(out) == len(expected)


def test_catalysts_add_or_remove_one_species_on_both_sides():
    """``2 A -> A + B`` loses its catalytic A (``A -> B``) and gains nothing (its reactant side is full);
    ``B -> C`` gains each species on both sides. The net changes stay; orders stay within the limit."""
    species = ["A", "B", "C"]
    crn = Crn.from_text("2 A -> A + B\nB -> C", observed=species)
    out = moves.catalysts(crn, max_order=2)
    expected = ["A -> B\nB -> C", "2 A -> A + B\nA + B -> A + C", "2 A -> A + B\n2 B -> B + C",
                "2 A -> A + B\nB + C -> 2 C"]
    assert keys(out) == keys([Crn.from_text(text, observed=species) for text in expected])
    assert len(out) == len(expected)
    net = sorted(map(tuple, crn.stoichiometry))
    for c in out:
        assert sorted(map(tuple, c.stoichiometry)) == net
        assert (c.reactants.sum(1) <= 2).all() and (c.products.sum(1) <= 2).all()
    assert keys(moves.catalysts(crn, max_order=1)) == keys([Crn.from_text("A -> B\nB -> C", observed=species)])


@pytest.mark.parametrize("core", ["0 -> X\nX -> 0\nX -> Y\nY -> 0", "0 -> X\nX -> 0\nX + Y -> 2 Y\nY -> 0"])
def test_malaria_is_a_conversion_driven_by_a_bursting_free_stage(core):
    crn = Crn.from_text(core, observed=["X", "Y"])
    out = moves.free_stages(crn, max_order=2, max_latent=1)
    assert as_searched("malaria").canonical_key() in keys(out)
    shedding = Crn.from_text("0 -> X\nX -> 0\nY -> 0\nX + X1 -> Y\nY -> Y + X1\nX1 -> 0", observed=["X", "Y"])
    assert shedding.canonical_key() in keys(out)
    assert len(out) == 2  # only the one reaction that turns one X into one Y qualifies
    assert moves.free_stages(crn, max_order=2, max_latent=0) == []
    assert moves.free_stages(crn, max_order=1, max_latent=1) == []
