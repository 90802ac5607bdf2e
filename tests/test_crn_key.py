"""Canonical key: invariant under reaction order and latent names, and distinct for distinct networks."""
import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from mcts_crn.crn import Crn, candidate_reactions
from tests.reference.crn_reference import all_complexes, isomorphic


@st.composite
def networks(draw, max_species=5, max_reactions=6):
    num_observed = draw(st.integers(1, 3))
    num_latent = draw(st.integers(0, max_species - num_observed))
    names = [f"O{i}" for i in range(num_observed)] + [f"L{i}" for i in range(num_latent)]
    reactants, products = candidate_reactions(len(names), 2)
    picks = draw(st.lists(st.integers(0, len(reactants) - 1), min_size=0, max_size=max_reactions, unique=True))
    latent = np.array([n.startswith("L") for n in names])
    return Crn(tuple(names), latent, reactants[picks], products[picks])


@st.composite
def relabelled(draw, crn):
    """The same network with reactions permuted, species permuted and latent species renamed."""
    order = draw(st.permutations(range(crn.num_reactions)))
    species_order = draw(st.permutations(range(crn.num_species)))
    fresh = draw(st.permutations([f"Z{i}" for i in range(crn.num_species)]))
    rename = {}
    for i, name in enumerate(crn.species):
        rename[name] = fresh[i] if crn.latent[i] else name
    names = tuple(rename[crn.species[i]] for i in species_order)
    return Crn(names, crn.latent[species_order], crn.reactants[order][:, species_order],
               crn.products[order][:, species_order])


@settings(max_examples=200, deadline=None)
@given(st.data())
def test_relabelling_keeps_the_key(data):
    crn = data.draw(networks())
    other = data.draw(relabelled(crn))
    assert other.canonical_key() == crn.canonical_key()


@settings(max_examples=300, deadline=None)
@given(networks(), networks())
def test_keys_equal_exactly_for_isomorphic_networks(a, b):
    assert (a.canonical_key() == b.canonical_key()) == isomorphic(a, b)


@settings(max_examples=300, deadline=None)
@given(st.data())
def test_one_edit_changes_the_key_unless_isomorphic(data):
    a = data.draw(networks())
    reactants, products = candidate_reactions(a.num_species, 2)
    if a.num_reactions and data.draw(st.booleans()):
        b = a.remove_reaction(data.draw(st.integers(0, a.num_reactions - 1)))
    else:
        k = data.draw(st.integers(0, len(reactants) - 1))
        b = a.add_reaction((reactants[k], products[k]))
    assert (a.canonical_key() == b.canonical_key()) == isomorphic(a, b)


def test_latent_names_and_observed_names_matter_differently():
    mm = "E + S -> C\nC -> E + S\nC -> E + P"
    hidden = Crn.from_text(mm, observed=["S", "P"])
    renamed = Crn.from_text(mm.replace("E", "Q"), observed=["S", "P"])
    assert hidden.canonical_key() == renamed.canonical_key()
    all_observed = Crn.from_text(mm)
    all_observed_renamed = Crn.from_text(mm.replace("E", "Q"))
    assert all_observed.canonical_key() != all_observed_renamed.canonical_key()
    assert hidden.canonical_key() != all_observed.canonical_key()


def test_symmetric_latent_species_are_handled():
    # Two interchangeable latent species: the refinement cannot split them, permutations must.
    a = Crn.from_text("A -> X\nA -> Y\nX -> B\nY -> B\nX + Y -> 0", observed=["A", "B"])
    b = Crn.from_text("A -> Q\nQ -> B\nA -> R\nR + Q -> 0\nR -> B", observed=["A", "B"])
    c = Crn.from_text("A -> X\nA -> Y\nX -> B\nY -> B\n2 X -> 0", observed=["A", "B"])
    assert a.canonical_key() == b.canonical_key() != c.canonical_key()


@given(st.integers(0, 4), st.integers(1, 3))
def test_candidate_set_is_every_ordered_pair_of_distinct_complexes(num_species, max_order):
    reactants, products = candidate_reactions(num_species, max_order)
    complexes = all_complexes(num_species, max_order)
    expected = {(a, b) for a in complexes for b in complexes if a != b}
    got = {(tuple(r), tuple(p)) for r, p in zip(reactants.tolist(), products.tolist())}
    assert len(got) == len(reactants) == len(expected)
    assert got == expected
    if num_species:
        assert reactants.sum(axis=1).max() <= max_order and products.sum(axis=1).max() <= max_order
