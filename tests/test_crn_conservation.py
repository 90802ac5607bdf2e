import numpy as np
import pytest
import sympy
from hypothesis import given, settings

from mcts_crn.crn import Crn
from mcts_crn.examples import EXAMPLES
from tests.test_crn_key import networks


def check_basis(crn):
    basis = crn.conservation_laws()
    assert basis.dtype == np.int64 and basis.shape[1] == crn.num_species
    net = crn.stoichiometry.astype(np.int64)
    # every vector is a conservation law: w . (products_r - reactants_r) = 0 for all r
    assert not (net @ basis.T).any()
    # and they span the left null space: independent, and as many as its dimension
    rank_net = sympy.Matrix(net.tolist()).rank() if crn.num_reactions else 0
    assert len(basis) == crn.num_species - rank_net
    assert sympy.Matrix(basis.tolist()).rank() == len(basis) if len(basis) else True
    return basis


@pytest.mark.parametrize("name", sorted(EXAMPLES))
def test_conservation_laws_of_every_example(name):
    check_basis(EXAMPLES[name].crn)


def test_michaelis_menten_laws_are_enzyme_and_substrate_totals():
    crn = Crn.from_text("E + S -> C\nC -> E + S\nC -> E + P")
    basis = check_basis(crn)
    enzyme = np.array([1, 0, 1, 0])
    substrate = np.array([0, 1, 1, 1])
    # both totals lie in the integer span of the basis (exact rational solve)
    for target in (enzyme, substrate):
        solution = sympy.Matrix(basis.T.tolist()).gauss_jordan_solve(sympy.Matrix(target.tolist()))[0]
        assert all(v.is_rational for v in solution)


@settings(max_examples=100, deadline=None)
@given(networks())
def test_conservation_basis_of_random_networks(crn):
    check_basis(crn)
