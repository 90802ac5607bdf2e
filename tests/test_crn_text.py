import numpy as np
import pytest

from mcts_crn.crn import Crn
from mcts_crn.examples import EXAMPLES


def test_parses_every_form():
    crn = Crn.from_text("E + S -> C  # binding\n2 A -> B\nA + A -> B\n0 -> T\nV -> 0\n\n# only a comment\n"
                        "2*A + B -> C\n3A -> 0")
    assert crn.species == ("E", "S", "C", "A", "B", "T", "V")
    expected = {
        0: ({"E": 1, "S": 1}, {"C": 1}),
        1: ({"A": 2}, {"B": 1}),
        2: ({"A": 2}, {"B": 1}),
        3: ({}, {"T": 1}),
        4: ({"V": 1}, {}),
        5: ({"A": 2, "B": 1}, {"C": 1}),
        6: ({"A": 3}, {}),
    }
    assert crn.num_reactions == len(expected)
    for r, (lhs, rhs) in expected.items():
        for name in crn.species:
            i = crn.species_index(name)
            assert crn.reactants[r, i] == lhs.get(name, 0)
            assert crn.products[r, i] == rhs.get(name, 0)
    assert crn.reactants.dtype == np.int32 and crn.products.dtype == np.int32
    assert not crn.latent.any()


def test_reversible_shorthand_gives_two_reactions():
    crn = Crn.from_text("A <-> B")
    assert crn.reactions_text() == ["A -> B", "B -> A"]


def test_observed_marks_the_rest_latent_and_adds_unused_observed():
    crn = Crn.from_text("E + S -> C\nC -> E + P", observed=["S", "P", "Q"])
    assert crn.latent_species == ("E", "C")
    assert crn.observed_species == ("S", "P", "Q")
    assert crn.species[-1] == "Q" and not crn.reactants[:, -1].any()


@pytest.mark.parametrize("text, line", [
    ("A -> B\nA B -> C", 2),
    ("A -> B\n\n# c\nA -> B -> C", 4),
    ("A + -> B", 1),
    ("A -> A", 1),
    ("A => B", 1),
    ("0A -> B", 1),
    ("A -> 1B+", 1),
])
def test_bad_text_names_the_line(text, line):
    with pytest.raises(ValueError, match=rf"^line {line}:"):
        Crn.from_text(text)


@pytest.mark.parametrize("name", sorted(EXAMPLES))
def test_text_round_trip_every_example(name):
    model = EXAMPLES[name]
    crn = model.crn
    again = Crn.from_text(crn.to_text(), observed=model.observed)
    assert again == crn
    assert again.canonical_key() == crn.canonical_key()
    assert again.to_text() == crn.to_text()


def test_edits_return_new_networks():
    crn = Crn.from_text("A -> B", observed=["A", "B"])
    bigger = crn.add_species().add_reaction("B + X1 -> A")
    assert crn.num_species == 2 and crn.num_reactions == 1
    assert bigger.species == ("A", "B", "X1") and bigger.latent.tolist() == [False, False, True]
    assert bigger.reactions_text() == ["A -> B", "B + X1 -> A"]
    assert bigger.remove_reaction(1).reactions_text() == ["A -> B"]
    vector_form = crn.add_reaction(([0, 1], [1, 0]))
    mapping_form = crn.add_reaction(({"B": 1}, {"A": 1}))
    assert vector_form == mapping_form == Crn.from_text("A -> B\nB -> A")
    with pytest.raises(KeyError):
        crn.add_reaction("A -> Z")
    with pytest.raises(ValueError):
        crn.add_species("A")
    with pytest.raises(ValueError):
        crn.add_reaction("A -> A")


def test_arrays_are_read_only():
    crn = Crn.from_text("A -> B")
    with pytest.raises(ValueError):
        crn.reactants[0, 0] = 2
